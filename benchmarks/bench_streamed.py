"""Streamed certificate at many agents (issue 12, item 2): m = 9..12 at N = 8.

For each m, in a fresh child process (so peak memory is that run's alone):
the streamed path (``build_streamed_chain`` + ``certified_absorb``: the float
lumped chain stored, the exact rows regenerated for every exact product,
the adjoint certificate, the expected absorption time included) from the balanced start, with build and certify
times, exact passes, peak resident memory (VmHWM) and the memory estimate
(``estimate_cost(..., streamed=True)``).  Where the stored exact chain fits
(m = 9, 10) the stored certificate (``build_chain(exact=True, lump=True)``
+ ``certified_absorb``) runs too, and the two proven intervals must overlap.
The next memory at m = 12 is asked for too, to show the up-front refusal.
Writes ``benchmarks/results_streamed.md``.

Run: ``python benchmarks/bench_streamed.py`` (about 20 minutes on 2 quiet cores,
10 GB at m = 12; ``--agents 9,10`` for a shorter run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's markovgmm, not an installed copy
OUT = os.path.join(HERE, "results_streamed.md")
MEMORY = 8


def _peak_gib():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def child(mode, m):
    from markovgmm.analysis.certified import certified_absorb
    from markovgmm.chain.assembly import estimate_cost
    from markovgmm.chain.build import build_chain
    from markovgmm.chain.lumped import build_streamed_chain
    from markovgmm.system import System, balanced_counts

    system = System(agents=m, components=2, memory=MEMORY)
    start = (balanced_counts(MEMORY, 2),) * m
    estimate = estimate_cost(system, lumped=True, streamed=mode == "streamed")["bytes"] / 2**30
    began = time.perf_counter()
    chain = build_streamed_chain(system) if mode == "streamed" else build_chain(system, exact=True, lump=True)
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    report = certified_absorb(chain, chain.index(start))
    certify_s = time.perf_counter() - began
    return {
        "orbits": chain.n_states,
        "transitions": chain.n_transitions,
        "build_s": build_s,
        "certify_s": certify_s,
        "interval": report["polarization_interval"],
        "decimal": report["polarization_decimal"],
        "relative_width": report["relative_width"],
        "consensus_decimal": report["consensus_decimal"],
        "solves": report["refinements"]["polarised"],
        "peak_gib": _peak_gib(),
        "estimate_gib": estimate,
    }


def _run_child(mode, m):
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", mode, str(m)], capture_output=True, text=True, timeout=3 * 3600
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _refusal(m, memory):
    from markovgmm.chain.lumped import build_streamed_chain
    from markovgmm.errors import TooLargeError
    from markovgmm.system import System

    try:
        build_streamed_chain(System(agents=m, components=2, memory=memory))
    except TooLargeError as err:
        return str(err)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "M"), help=argparse.SUPPRESS)
    parser.add_argument("--agents", default="9,10,11,12", help="values of m (comma-separated)")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    rows, failures = [], []
    for m in [int(x) for x in args.agents.split(",")]:
        streamed = _run_child("streamed", m)
        stored = _run_child("stored", m) if m <= 10 else None
        rows.append((m, streamed, stored))
        print(m, json.dumps(streamed), json.dumps(stored), flush=True)
        if "error" in streamed:
            failures.append(f"m={m}: streamed run failed: {streamed['error']}")
            continue
        if streamed["peak_gib"] > streamed["estimate_gib"] + 0.2:  # VmHWM includes the interpreter (~0.1-0.2 GiB)
            failures.append(f"m={m}: peak {streamed['peak_gib']:.2f} GiB above the estimate {streamed['estimate_gib']:.2f} GiB")
        if stored and "error" not in stored:
            lo, hi = (Fraction(v) for v in streamed["interval"])
            slo, shi = (Fraction(v) for v in stored["interval"])
            if max(lo, slo) > min(hi, shi):
                failures.append(f"m={m}: streamed and stored intervals do not overlap")
    refusal = _refusal(12, MEMORY + 1)
    lines = [
        "# Streamed certificate at many agents (issue 12, item 2)",
        "",
        f"Generated by `python benchmarks/bench_streamed.py` on {platform.node()} ({os.cpu_count()} cores), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; K = 2, N = {MEMORY}, r = 1, sync, support, complete graph, "
        "balanced start, lumped by S_m.  One fresh process per row; peak = VmHWM (includes the interpreter).",
        "",
        "| m | orbits | transitions | path | build | certify | float solves | P(polarisation) in | rel. width | peak | estimate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, streamed, stored in rows:
        for name, r in (("streamed", streamed), ("stored", stored)):
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {m} | | | {name} | | | | {r['error']} | | | |")
                continue
            lines.append(
                f"| {m} | {r['orbits']:,} | {r['transitions']:,} | {name} | {r['build_s']:.1f} s | {r['certify_s']:.1f} s | "
                f"{r['solves']} | [{r['decimal'][0]}, {r['decimal'][1]}] | {r['relative_width']:.1e} | "
                f"{r['peak_gib']:.2f} GiB | {r['estimate_gib']:.2f} GiB |"
            )
    lines += [
        "",
        "Streamed: the float chain is stored (16 bytes a transition); every exact product of the adjoint certificate "
        "regenerates the exact rows (31-bit int64 limbs) chunk by chunk and checks their pattern against the float chain's; "
        "one refined solve of `A^T y = e_s` bounds every target (`proofs/certified_enclosure.md`, Claims 8-10), and one "
        "more forward float solve and exact pass bound the expected absorption time (Claim 11): `certify` includes it.  "
        "`float solves`: those of the probabilities.  "
        "Stored: the exact chain in memory, the certificate of Claims 1-5.  Where both ran, the intervals overlap "
        "(checked in this run).",
        "",
        f"m = 12, N = {MEMORY + 1}: {refusal or 'not refused'}",
        "",
        "Checks: " + ("all passed" if not failures else "; ".join(failures)),
    ]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
