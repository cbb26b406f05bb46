"""Component symmetry against Storm's bisimulation (issue 12 item 4).

For each case, in one process: markovgmm's exact P(polarisation) end to end
(build + closed classes + solve) on the chain lumped by agents only and by
agents x components (``build_lumped_chain(system, components=True)``), and
Storm's exact engine on the agent-lumped chain's DRN, with and without its
bisimulation quotient (``stormpy.perform_bisimulation``; Storm's time
counts parsing the DRN, the quotient and the check, not our export).  Every
exact value is compared with every other; a disagreement stops the script.

Writes ``benchmarks/results_component_symmetry.md``.  Run:
``python benchmarks/bench_component_symmetry.py`` (a few minutes).
"""

import os
import sys
import tempfile
import time
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout, not an installed copy

from markovgmm.analysis.absorption import absorption_probabilities  # noqa: E402
from markovgmm.chain.lumped import build_lumped_chain  # noqa: E402
from markovgmm.io import write_drn  # noqa: E402
from markovgmm.system import System, balanced_counts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [(3, 10), (3, 12), (2, 40)]
REPEATS = 3


def ours(system, components):
    began = time.perf_counter()
    chain = build_lumped_chain(system, exact=True, components=components)
    start = chain.index((balanced_counts(system.memory, system.components),) * system.agents)
    p = absorption_probabilities(chain, start).polarization()
    return p, time.perf_counter() - began, chain.n_states


def storm(system, bisimulation):
    import stormpy
    from stormpy.transformations import perform_bisimulation

    chain = build_lumped_chain(system, exact=True)
    start = chain.index((balanced_counts(system.memory, system.components),) * system.agents)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chain.drn")
        write_drn(chain, start, path)
        began = time.perf_counter()
        # stormpy 2.0 quotients sparse models over double or RationalFunction, not Rational: exact Storm
        # with bisimulation is the RationalFunction engine (no parameters, so its values are rationals).
        model = stormpy.build_model_from_drn[stormpy.RationalFunction if bisimulation else stormpy.Rational](path)
        prop = stormpy.parse_properties('P=? [F "polar"]')
        if bisimulation:
            model = perform_bisimulation(model, prop)
        value = stormpy.model_checking(model, prop[0]).get_value(model.initial_states[0])
        seconds = time.perf_counter() - began
    return Fraction(str(value)), seconds, model.nr_states


def best(fn, *args, repeats=REPEATS):
    """The fastest of ``repeats`` runs (the machine is shared: the minimum is the least disturbed)."""
    runs = [fn(*args) for _ in range(repeats)]
    return min(runs, key=lambda r: r[1])


def main():
    rows = []
    for m, N in CASES:
        system = System(agents=m, components=2, memory=N)
        p_agents, t_agents, n_agents = best(ours, system, False)
        p_comp, t_comp, n_comp = best(ours, system, True)
        p_storm, t_storm, _ = best(storm, system, False, repeats=1)  # the slow reference: one run
        p_bisim, t_bisim, n_bisim = best(storm, system, True)
        if not p_agents == p_comp == p_storm == p_bisim:
            raise SystemExit(f"m={m}, N={N}: exact values disagree")
        rows.append((m, N, n_agents, n_comp, n_bisim, t_agents, t_comp, t_storm, t_bisim, float(p_comp)))
        print(rows[-1], flush=True)
    lines = [
        "# Component symmetry against Storm's bisimulation (issue 12 item 4)",
        "",
        "`python benchmarks/bench_component_symmetry.py`: exact P(polarisation), K = 2, r = 1, sync, complete graph,",
        f"balanced start; best of {REPEATS} runs each (Storm exact without bisimulation: one run), all in one process on the shared 2-core machine. markovgmm times are",
        "build + closed classes + solve; Storm's are DRN parse + (bisimulation) + exact check of the agent-lumped chain.",
        "All four exact values agreed in every row.",
        "",
        "| m, N | agent orbits | agent x component orbits | Storm bisimulation quotient | markovgmm agents | markovgmm agents x components | Storm exact | Storm exact + bisimulation | Storm+bisim / markovgmm (components) | P(polarisation) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, N, na, nc, nb, ta, tc, ts, tb, p in rows:
        lines.append(f"| {m}, {N} | {na:,} | {nc:,} | {nb:,} | {ta:.3f} s | {tc:.3f} s | {ts:.3f} s | {tb:.3f} s | {tb / tc:.1f} | {p:.6e} |")
    with open(os.path.join(HERE, "results_component_symmetry.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
