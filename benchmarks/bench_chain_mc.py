"""Chain Monte Carlo benchmark (issue 4): absorbed runs per minute for m=3,
K=2, N=10 (sync, complete graph, balanced start (5,5) for every agent).

Target: at least 10^5 absorbed runs per minute.  The reference in the same
run is a plain per-run Python loop making the same draws with the same
Generator (one run at a time, no vectorisation), so the ratio means
something on a shared machine.  The estimate is also checked against the
float chain's P(polarisation).  Writes ``benchmarks/results_chain_mc.md``.

Run: ``python benchmarks/bench_chain_mc.py [RUNS]``
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout, not an installed copy
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.chain.build import build_chain
from markovgmm.simulate.chain_mc import simulate_chain
from markovgmm.system import System


def scalar_reference(system, start, runs, seed):
    """One run at a time, one agent at a time (support ownership, r=1, K=2, complete graph)."""
    rng = np.random.default_rng(seed)
    m, N = system.agents, system.memory
    polarised, steps_total = 0, 0
    for _ in range(runs):
        c = [list(s) for s in start]
        steps = 0
        while not all(max(ci) == N for ci in c):
            new = []
            for i in range(m):
                author = int(rng.integers(0, m))
                true = 0 if rng.integers(0, N) < c[author][0] else 1
                label = true if c[i][true] > 0 else 1 - true
                ci = list(c[i])
                gone = 0 if rng.integers(0, N) < ci[0] else 1
                ci[gone] -= 1
                ci[label] += 1
                new.append(ci)
            c = new
            steps += 1
        labels = {ci.index(N) for ci in c}
        polarised += len(labels) > 1
        steps_total += steps
    return polarised, steps_total


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    lines = ["# Chain Monte Carlo benchmark (issue 4)", ""]
    lines.append(f"Machine: {os.cpu_count()} cores, shared with other jobs; numpy {np.__version__}.")
    lines.append("")
    lines.append("| case | runs | seconds | absorbed runs / minute | P(polarisation) estimate [99.9% CI] | chain value | mean steps |")
    lines.append("|---|---|---|---|---|---|---|")
    for schedule in ("sync", "async"):
        system = System(agents=3, components=2, memory=10, schedule=schedule)
        start = ((5, 5),) * 3
        chain = build_chain(system, exact=False)
        value = absorption_probabilities(chain, chain.index(start))
        n = runs if schedule == "sync" else runs // 4
        began = time.perf_counter()
        result = simulate_chain(system, start, runs=n, seed=1)
        seconds = time.perf_counter() - began
        lo, hi = result.interval_of(result.polarized)
        rate = result.absorbed / seconds * 60
        lines.append(
            f"| m=3, K=2, N=10, {schedule}, vectorised | {n:,} | {seconds:.1f} | {rate:,.0f} | "
            f"{result.polarized / n:.5f} [{lo:.5f}, {hi:.5f}] | {value.polarization():.5f} | "
            f"{result.mean_steps:.2f} (exact {value.expected_steps[0]:.2f}) |"
        )
        print(lines[-1], flush=True)
        if schedule == "sync":
            ref_runs = 2000
            began = time.perf_counter()
            polarised, steps = scalar_reference(system, start, ref_runs, seed=1)
            ref_seconds = time.perf_counter() - began
            ref_rate = ref_runs / ref_seconds * 60
            lines.append(
                f"| same, plain per-run Python loop (reference) | {ref_runs:,} | {ref_seconds:.1f} | {ref_rate:,.0f} | "
                f"{polarised / ref_runs:.5f} | | {steps / ref_runs:.2f} |"
            )
            print(lines[-1], flush=True)
            speedup = rate / ref_rate
    lines.append("")
    lines.append(f"Vectorised / per-run loop speed ratio (sync): {speedup:.0f}x.  Target 10^5 absorbed runs per minute (sync).")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_chain_mc.md")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
