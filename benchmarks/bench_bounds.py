"""Bounds benchmark (issue 3): ``markovgmm bounds`` on m=3, K=2, N=10 (1,331 states).

Times the whole command (exact by default: horizon 50, 5 paths) as a
subprocess, then its parts in-process (build, exact absorption solve, LB1
propagation, LB2 paths), wall clock and CPU time side by side (the machine is
shared, so CPU time is the steadier number), and the float variant.  Also
records the tightness of the LB3 closed forms for m=2 as N grows.  Writes
``benchmarks/results_bounds.md``.

Run: ``python benchmarks/bench_bounds.py``
"""

import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout, not an installed copy
from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities, polarization_probability
from markovgmm.analysis.bounds import closed_form_bound, closed_form_two_phase, horizon_bounds, path_bounds
from markovgmm.analysis.classes import closed_classes

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def command(args):
    wall = time.perf_counter()
    before = os.times()
    done = subprocess.run([sys.executable, "-m", "markovgmm", *args], capture_output=True, text=True)
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return time.perf_counter() - wall, cpu


def main():
    lines = ["# Bounds benchmark (issue 3)", ""]
    lines.append(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
                 "shared with other jobs, so CPU time is the steadier figure.")
    lines.append("")
    lines.append("## `markovgmm bounds -m 3 -N 10` (1,331 states, balanced start 5,5;5,5;5,5)")
    lines.append("")
    lines.append("| command | wall s | CPU s |")
    lines.append("|---|---|---|")
    for args in (["bounds", "-m", "3", "-N", "10", "--quiet", "--json"],
                 ["bounds", "-m", "3", "-N", "10", "--quiet", "--json", "--float"],
                 ["bounds", "-m", "3", "-N", "10", "--quiet", "--json", "--horizon", "200"]):
        wall, cpu = command(args)
        lines.append(f"| `markovgmm {' '.join(a for a in args if a not in ('--quiet', '--json'))}` | {wall:.2f} | {cpu:.2f} |")
        print(lines[-1], flush=True)
    lines.append("")
    lines.append("Parts, in-process (exact):")
    lines.append("")
    lines.append("| part | wall s | CPU s | result |")
    lines.append("|---|---|---|---|")
    system = System(agents=3, components=2, memory=10)
    chain, w, c = timed(lambda: build_chain(system))
    lines.append(f"| build | {w:.2f} | {c:.2f} | {chain.n_states} states, {chain.n_transitions} transitions |")
    start = chain.index(((5, 5), (5, 5), (5, 5)))
    structure = closed_classes(chain)
    exact, w, c = timed(lambda: absorption_probabilities(chain, start, structure=structure).polarization())
    lines.append(f"| exact solve on the full chain (P(polarisation)) | {w:.2f} | {c:.2f} | {float(exact):.12g} |")
    lumped, w, c = timed(lambda: polarization_probability(chain, start))
    assert lumped == exact
    lines.append(f"| exact solve on orbits, as `bounds` does (`polarization_probability`) | {w:.2f} | {c:.2f} | same rational |")
    lb1, w, c = timed(lambda: horizon_bounds(chain, start, 50, structure=structure))
    lines.append(f"| LB1, T = 50 | {w:.2f} | {c:.2f} | [{float(lb1['lower'][-1]):.6g}, {float(lb1['upper'][-1]):.6g}] |")
    lb2, w, c = timed(lambda: path_bounds(chain, start, k=5, structure=structure))
    lines.append(f"| LB2, k = 5 | {w:.2f} | {c:.2f} | best {float(lb2['best']):.4g} ({lb2['best_steps']} steps), top 5 {float(lb2['top_k']):.4g} |")
    state = ((5, 5), (5, 5), (5, 5))
    (cf, tp), w, c = timed(lambda: (closed_form_bound(system, state), closed_form_two_phase(system, state)))
    lines.append(f"| LB3 (m = 3 lone-agent path), both forms | {w:.3f} | {c:.3f} | {float(cf):.4g}, two-phase {float(tp):.4g} |")
    for row in lines[-5:]:
        print(row, flush=True)
    lines.append("")
    lines.append("## LB3 tightness, m = 2, K = 2 (exact)")
    lines.append("")
    lines.append("Balanced start `N/2,N/2;N/2,N/2` and a shifted one `3N/4,N/4;N/2,N/2`.")
    lines.append("")
    lines.append("| N | start | P(polarisation) | closed form / P | two-phase / P | LB2 best / P | exact solve CPU s |")
    lines.append("|---|---|---|---|---|---|---|")
    for N in (4, 8, 16, 24):
        system = System(agents=2, components=2, memory=N)
        chain = build_chain(system)
        every, _, c = timed(lambda: absorption_probabilities(chain))
        for a in (N // 2, 3 * N // 4):
            state = ((a, N - a), (N // 2, N - N // 2))
            start = chain.index(state)
            exact = every.polarization(every.row_of(start))
            best = path_bounds(chain, start, k=1)["best"]
            cf, tp = closed_form_bound(system, state), closed_form_two_phase(system, state)
            text = ";".join(",".join(map(str, x)) for x in state)
            lines.append(
                f"| {N} | {text} | {float(exact):.6g} | {float(cf / exact):.4g} | {float(tp / exact):.4g} | "
                f"{float(best / exact):.4g} | {c:.2f} (all starts) |"
            )
            print(lines[-1], flush=True)
    lines.append("")
    with open(os.path.join(HERE, "results_bounds.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print("wrote benchmarks/results_bounds.md")


if __name__ == "__main__":
    main()
