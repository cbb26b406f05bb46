"""Claims benchmark (issue 3, part A): ``markovgmm claims`` with horizon 200 on
m=3, K=2, N=10 (1,331 states), exact, and its parts.

Reference run in the same script: the naive exact propagation (a dict of
Python Fractions pushed through the CSR rows, one transition at a time) over
a shorter horizon, against ``propagate`` over the same horizon, so the ratio
means something on a shared machine.  Writes ``benchmarks/results_claims.md``.

Run: ``python benchmarks/bench_claims.py``
"""

import os
import platform
import subprocess
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout, not an installed copy
from markovgmm import System, build_chain
from markovgmm.analysis.claims import a1_check, a3_limit, claims_report, moment_series
from markovgmm.analysis.propagation import propagate

from _shared import timed

HORIZON = 200
REFERENCE_HORIZON = 30


def naive_propagation(chain, start, horizon):
    law = {start: Fraction(1)}
    for _ in range(horizon):
        new = {}
        for s, p in law.items():
            for e in range(chain.indptr[s], chain.indptr[s + 1]):
                t = int(chain.indices[e])
                new[t] = new.get(t, 0) + p * Fraction(int(chain.values[e]), chain.denominator)
        law = new
    return law


def main():
    system = System(agents=3, components=2, memory=10)
    start_state = ((5, 5), (5, 5), (5, 5))
    chain, t_build = timed(lambda: build_chain(system))
    start = chain.index(start_state)
    _, t_prop = timed(lambda: list(propagate(chain, start, HORIZON))[-1])
    _, t_moments = timed(lambda: moment_series(chain, start, HORIZON))
    _, t_a1 = timed(lambda: a1_check(chain))
    _, t_a3 = timed(lambda: a3_limit(chain, start))
    report, t_report = timed(lambda: claims_report(chain, start, horizon=HORIZON))
    naive, t_naive = timed(lambda: naive_propagation(chain, start, REFERENCE_HORIZON))
    ours, t_ours = timed(lambda: list(propagate(chain, start, REFERENCE_HORIZON))[-1])
    same = {s: Fraction(int(w), ours.scale) for s, w in zip(ours.states.tolist(), ours.weights.tolist())} == {s: p for s, p in naive.items() if p}
    float_chain = build_chain(system, exact=False)
    _, t_float = timed(lambda: claims_report(float_chain, start, horizon=HORIZON))
    cli = [sys.executable, "-m", "markovgmm", "claims", "-m", "3", "-N", "10", "--horizon", str(HORIZON), "--quiet", "--json"]
    _, t_cli = timed(lambda: subprocess.run(cli, check=True, capture_output=True))
    last = list(propagate(chain, start, HORIZON))[-1]
    a3 = report["A3"]
    lines = [
        "# Claims benchmark (issue 3, part A)",
        "",
        f"python {platform.python_version()}, {os.cpu_count()} cores (shared machine: compare ratios, not seconds)",
        "",
        f"## Exact: m=3, K=2, N=10, sync, support, complete graph, start 5,5;5,5;5,5, horizon {HORIZON}",
        "",
        f"{chain.n_states:,} states, {chain.n_transitions:,} transitions, build {t_build:.2f} s.",
        "",
        "| run | seconds |",
        "|---|---|",
        f"| `markovgmm claims -m 3 -N 10 --horizon {HORIZON} --json` (whole command: build, A1-A3, JSON) | {t_cli:.2f} |",
        f"| `claims_report` (exact) | {t_report:.2f} |",
        f"| of which: propagation p_t = p_0 P^t, t <= {HORIZON} | {t_prop:.2f} |",
        f"| of which: per-step moments (includes the propagation) | {t_moments:.2f} |",
        f"| of which: A1 state-by-state check | {t_a1:.2f} |",
        f"| of which: A3 limit (exact absorption solve, all closed classes) | {t_a3:.2f} |",
        f"| `claims_report` on the float chain | {t_float:.2f} |",
        "",
        f"Reference in the same run, horizon {REFERENCE_HORIZON}: naive Fraction propagation {t_naive:.2f} s, "
        f"`propagate` {t_ours:.2f} s (ratio {t_naive / max(t_ours, 1e-9):.1f}); identical laws: {same}.",
        "",
        f"At t={HORIZON} the common denominator of p_t has {len(str(last.scale))} digits "
        f"(chain denominator {chain.denominator}, so {len(str(chain.denominator ** HORIZON))} digits before reduction).",
        "",
        "Values: A1 fails at "
        f"{report['A1']['n_failing']} of {report['A1']['n_states']} states (all ownership distortion); "
        f"A2 first failure: {report['A2']['first_failure']} (symmetric start); "
        f"P(polarisation) = {float(a3['polarization']):.15g}; "
        f"lim E||D_t||_F = {a3['limit_expected_frobenius'] if isinstance(a3['limit_expected_frobenius'], Fraction) else 'c*sqrt(2)'} "
        f"in [{a3['limit_expected_frobenius_interval'][0]}, {a3['limit_expected_frobenius_interval'][1]}]; "
        f"E||D_{HORIZON}||_F = {report['series'][-1]['expected_frobenius']['float']:.12g}.",
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_claims.md")
    with open(out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
