"""Decay in N (issue 11 item 3): the full run of ``markovgmm.analysis.decay``.

For m = 2 (N = 2..200) and m = 3 (N = 2..40 and pairs N, N+1 up to 80 by
default), K = 2, r = 1, sync, support, complete graph, balanced start, on the
exact lumped chain: the certified interval of P_N = P(polarisation) and of
E_N = E[absorption time] (rtol 1e-9), the certified ratios P_{N+1}/P_N and
E_{N+1}/E_N (interval division), the proven lower bounds L_N and
(N^2 - m [N odd])/(2m) and, for m = 2, the proven upper bounds U_N and E upper
(Theorems 4-5) checked against every interval, exact rationals for
N <= 10 (the intervals must contain them), the estimated limit of the ratio,
and a plot of log10 P_N and E_N / N^2 against N.

Every point is cached as one JSON line (``--cache``, default
``/tmp/decay_cache.jsonl``) as soon as it is done, so a long run can be
stopped and resumed and the tables rewritten from partial results
(``--report-only``).  Writes ``benchmarks/results_decay.md`` and
``benchmarks/decay.png``.

Run: ``nice -n 10 python benchmarks/run_decay.py`` (m = 2 to N = 200 takes
a few minutes; m = 3 at N = 70, 80 several minutes each).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from markovgmm.analysis.decay import (  # noqa: E402
    decay_point,
    growth_estimate,
    interval_ratio,
    path_rate,
    polarisation_upper_bound,
    ratio_limit_estimate,
    time_lower_bound,
    time_upper_bound,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def _frac(text):
    return Fraction(text)


def compute(m, N, rtol):
    p = decay_point(m, N, rtol=rtol, exact=N <= 10)
    return {
        "m": m, "N": N, "states": p["states"], "seconds": p["seconds"],
        "P": [str(p["P"].lower), str(p["P"].upper)], "E": [str(p["E"].lower), str(p["E"].upper)],
        "P_exact": None if p["P_exact"] is None else str(p["P_exact"]),
        "E_exact": None if p["E_exact"] is None else str(p["E_exact"]),
        "exact_contained": p["exact_contained"], "L": str(p["L"]),
        "P_bound_holds": p["P_bound_holds"], "E_bound_holds": p["E_bound_holds"],
        "converged": [p["P"].converged, p["E"].converged],
    }


def load(cache):
    out = {}
    if os.path.exists(cache):
        with open(cache) as handle:
            for line in handle:
                line = line.strip()
                if line:
                    rec = json.loads(line)
                    out[(rec["m"], rec["N"])] = rec
    return out


def sci(x, digits=10):
    """A positive Fraction as decimal text (floats underflow nowhere here: P_N > 1e-300)."""
    return f"{float(x):.{digits}e}"


def fmt_interval(lo, hi, digits=10):
    return f"[{sci(lo, digits)}, {sci(hi, digits)}]"


MIRROR_CASES = [(4, r) for r in range(2, 9)] + [(5, r) for r in range(2, 7)]


def compute_mirror(n, r):
    """Exact P(polarisation) and E[absorption time] of the mirroring chain (MODEL.md 6.2; K = 2, k = 1,
    p = 1/2, line, clipped ties), every agent starting at the balanced store ``balanced_counts(r, 2)``."""
    from markovgmm import System, build_chain
    from markovgmm.analysis import absorb
    from markovgmm.system import balanced_counts

    began = time.perf_counter()
    chain = build_chain(System(model="mirror", agents=n, components=2, memory=r), lump=True)
    rep = absorb(chain, tuple(balanced_counts(r, 2) for _ in range(n)))
    return {"n": n, "r": r, "states": int(chain.n_states), "P": str(rep["polarization"]),
            "E": str(rep["expected_steps"]), "seconds": round(time.perf_counter() - began, 2)}


def mirror_section(mirror):
    lines = ["## Mirroring chain: store size r (optional part)", "",
             "Exact rationals (`absorb`, lumped chain): `--model mirror`, K = 2, k = 1, p = 1/2, line geometry, "
             "clipped ties, every agent starting at the balanced store (`balanced_counts(r, 2)`).  "
             "Over these r (n = 4: r <= 8; n = 5: r <= 6) P(polarisation) shows no decay: it alternates with the "
             "parity of r and stays between 0.12 and 0.63, while the expected absorption time grows roughly "
             "linearly in r; so no decay bound is attempted for this chain (measured only).", "",
             "| agents n | r | orbits | P(polarisation) | E[absorption time] | s |", "|---|---|---|---|---|---|"]
    for rec in sorted(mirror, key=lambda x: (x["n"], x["r"])):
        lines.append(f"| {rec['n']} | {rec['r']} | {rec['states']:,} | {float(Fraction(rec['P'])):.10f} | "
                     f"{float(Fraction(rec['E'])):.6f} | {rec['seconds']:.2f} |")
    return lines + [""]


def report(records, path_md, path_png, rtol, mirror=None):
    lines = ["# Decay in N (issue 11 item 3)", ""]
    lines.append(
        "`nice -n 10 python benchmarks/run_decay.py`: K = 2, r = 1, sync, support ownership, complete graph, "
        f"balanced start, exact lumped chain, certified intervals with rtol = {rtol:g} "
        "(`certified_absorption`, `certified_expected_time`); ratio intervals by exact interval division "
        "`[a, b] / [c, d] = [a/d, b/c]`.  Every interval is proven.  `L_N` is the proven lower bound "
        "(`path_lower_bound`, `proofs/decay_rate.md` Theorem 1); `E lower` the proven "
        "`(N^2 - m [N odd])/(2m)` (Theorem 3); for m = 2 also the proven upper bounds `U_N` "
        "(`polarisation_upper_bound`, Theorem 4) and `E upper` (`time_upper_bound`, Theorem 5), checked against the "
        "certified lower ends.  For N <= 10 the exact rationals (`absorb`) were computed and "
        "each lies in its interval (column `exact`)."
    )
    lines.append("")
    summary = []
    for m in sorted({k[0] for k in records}):
        recs = {k[1]: v for k, v in records.items() if k[0] == m}
        Ns = sorted(recs)
        P = {N: (_frac(recs[N]["P"][0]), _frac(recs[N]["P"][1])) for N in Ns}
        E = {N: (_frac(recs[N]["E"][0]), _frac(recs[N]["E"][1])) for N in Ns}
        upper = {N: (polarisation_upper_bound(m, N), time_upper_bound(m, N)) for N in Ns} if m == 2 else {}
        bad = [N for N in Ns if not (recs[N]["P_bound_holds"] and recs[N]["E_bound_holds"])
               or recs[N]["exact_contained"] is False
               or (N in upper and (P[N][0] > upper[N][0] or E[N][0] > upper[N][1]))]
        lines += [f"## m = {m}", "",
                  "| N | orbits | P_N in | P_{N+1}/P_N in | E_N in | E_{N+1}/E_N in | L_N | P_N / L_N | E lower "
                  "| U_N | E upper | exact | s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for N in Ns:
            rp = interval_ratio(P[N + 1], P[N]) if N + 1 in P else None
            re = interval_ratio(E[N + 1], E[N]) if N + 1 in E else None
            L = _frac(recs[N]["L"])
            exact = {True: "in", False: "OUTSIDE", None: "-"}[recs[N]["exact_contained"]]
            lines.append(
                f"| {N} | {recs[N]['states']:,} | {fmt_interval(*P[N])} | "
                f"{fmt_interval(*rp, 8) if rp else '-'} | {fmt_interval(*E[N], 9)} | "
                f"{fmt_interval(*re, 8) if re else '-'} | {sci(L, 3)} | {float(P[N][0] / L):.3g} | "
                f"{float(time_lower_bound(m, N)):.4g} | {sci(upper[N][0], 3) if N in upper else '-'} | "
                f"{f'{float(upper[N][1]):.4g}' if N in upper else '-'} | {exact} | {recs[N]['seconds']:.2f} |"
            )
        mids = {N: float((P[N][0] + P[N][1]) / 2) for N in Ns}
        emids = {N: float((E[N][0] + E[N][1]) / 2) for N in Ns}
        est = ratio_limit_estimate(mids)
        grow = growth_estimate(emids)
        alpha = path_rate(m)
        lines += ["", f"* Proven bounds violated: {bad if bad else 'none'} (every N above checked)."]
        if upper:
            lines.append(f"* Proven (m = 2, Theorems 4-5): liminf -(1/N) log P_N >= (2/3) log 2 = {2 * math.log(2) / 3:.4f}; "
                         f"at N = {Ns[-1]} U_N / P_N = {float(upper[Ns[-1]][0] / P[Ns[-1]][1]):.3g} and "
                         f"E upper / E_N = {float(upper[Ns[-1]][1] / E[Ns[-1]][1]):.3g} (the upper bounds are far from tight).")
        lines += [
                  f"* Proven: limsup -(1/N) log P_N <= alpha_{m} = {alpha:.6f} (the rate of L_N).  Measured at "
                  f"N = {Ns[-1]}: -(1/N) log P_N = {-math.log(mids[Ns[-1]]) / Ns[-1]:.4f}."]
        if est:
            lines.append(f"* Estimate (not proven) of lim P_(N+1)/P_N: {est['ratio_limit_estimate']:.4f} "
                         f"(rate {est['rate_estimate']:.4f}; {est['method']}; the fit on the top half of those N "
                         f"differs by {est['rate_spread']:.3f} in the rate; last local rate "
                         f"{est['last_local_rate'] if est['last_local_rate'] is None else round(est['last_local_rate'], 4)}).")
            if est["ratio_fit"]:
                lines.append(f"* Second estimate (not proven): {est['ratio_fit']['method']}: limit "
                             f"{est['ratio_fit']['limit']:.5f}, c = {est['ratio_fit']['c']:.3f}.")
            pairs = [N for N in Ns if N + 1 in P and N >= 20]
            if pairs:
                picks = sorted({pairs[0], pairs[len(pairs) // 2], pairs[-1]})
                lines.append("* Measured: (P_(N+1)/P_N - 1/4) N = " + ", ".join(
                    f"{float((P[N + 1][0] + P[N + 1][1]) / (P[N][0] + P[N][1])) * N - N / 4:.4f} (N = {N})" for N in picks) + ".")
        if grow:
            lines.append(f"* E_N (measured; proven only the columns E lower and, for m = 2, E upper): E_N / N^2 = {grow['E_over_N2_last']:.4f} at "
                         f"N = {Ns[-1]}, local exponent d log E / d log N = {grow['last_local_exponent']:.4f}; "
                         f"{grow['method']}: a = {grow['fit_a']:.4f}, b = {grow['fit_b']:.4f}.")
        lines.append("")
        summary.append((m, Ns, mids, emids))
    lines += ["![log10 P_N and E_N / N^2 against N](decay.png)", ""]
    if mirror:
        lines += mirror_section(mirror)
    with open(path_md, "w") as handle:
        handle.write("\n".join(lines))
    plot(summary, records, path_png)


def plot(summary, records, path_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {2: "tab:blue", 3: "tab:orange", 4: "tab:green"}
    for m, Ns, mids, emids in summary:
        col = colours.get(m)
        ax1.plot(Ns, [math.log10(mids[N]) for N in Ns], "o-", ms=2.5, color=col, label=f"m = {m}: certified P_N")
        Ls = [math.log10(_frac(records[(m, N)]["L"]).numerator) - math.log10(_frac(records[(m, N)]["L"]).denominator)
              for N in Ns]
        ax1.plot(Ns, Ls, "--", lw=1, color=col, label=f"m = {m}: proven lower bound L_N")
        if m == 2:
            Us = [math.log10(polarisation_upper_bound(2, N).numerator) - math.log10(polarisation_upper_bound(2, N).denominator)
                  for N in Ns]
            ax1.plot(Ns, Us, "-.", lw=1, color=col, label="m = 2: proven upper bound U_N (Theorem 4)")
        ax2.plot(Ns, [emids[N] / N**2 for N in Ns], "o-", ms=2.5, color=col, label=f"m = {m}: certified E_N / N^2")
        ax2.plot(Ns, [float(time_lower_bound(m, N)) / N**2 for N in Ns], "--", lw=1, color=col,
                 label=f"m = {m}: proven lower bound (N^2 - m[N odd])/(2m N^2)")
    top = max(max(Ns) for _, Ns, _, _ in summary)
    ref = [N for N in range(2, top + 1)]
    ax1.plot(ref, [-N * math.log10(4) for N in ref], ":", color="grey", lw=1, label="slope of 4^-N (reference)")
    ax1.set_xlabel("memory N")
    ax1.set_ylabel("log10 P(polarisation)")
    ax1.set_ylim(bottom=max(-300, ax1.get_ylim()[0]), top=5)
    ax1.legend(fontsize=7)
    ax1.set_title("P(polarisation) from the balanced start")
    ax2.set_xlabel("memory N")
    ax2.set_ylabel("E[absorption time] / N^2")
    ax2.set_ylim(bottom=0)
    ax2.legend(fontsize=7)
    ax2.set_title("expected absorption time")
    fig.tight_layout()
    fig.savefig(path_png, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m2-max", type=int, default=200)
    parser.add_argument("--m3", default="2-40,50,51,60,61,70,71,80,81,100",
                        help="m = 3 memories: comma list of N and ranges a-b")
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--cache", default="/tmp/decay_cache.jsonl")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--mirror", action="store_true", help="also the mirroring chain against r (exact, ~1 min)")
    parser.add_argument("--out", default=os.path.join(HERE, "results_decay.md"))
    parser.add_argument("--png", default=os.path.join(HERE, "decay.png"))
    args = parser.parse_args(argv)
    m3 = []
    for part in args.m3.split(","):
        if "-" in part:
            a, b = part.split("-")
            m3 += list(range(int(a), int(b) + 1))
        elif part:
            m3.append(int(part))
    todo = [(2, N) for N in range(2, args.m2_max + 1)] + [(3, N) for N in m3]
    records = load(args.cache)
    if not args.report_only:
        for m, N in todo:
            if (m, N) in records:
                continue
            began = time.perf_counter()
            rec = compute(m, N, args.rtol)
            records[(m, N)] = rec
            with open(args.cache, "a") as handle:
                handle.write(json.dumps(rec) + "\n")
            print(f"m={m} N={N} states={rec['states']} P>={float(Fraction(rec['P'][0])):.6e} "
                  f"{time.perf_counter() - began:.1f}s", flush=True)
            if N % 10 == 0 or time.perf_counter() - began > 30:
                report(records, args.out, args.png, args.rtol)
    mirror_cache = args.cache + ".mirror.json"
    mirror = json.load(open(mirror_cache)) if os.path.exists(mirror_cache) else []
    if args.mirror and not args.report_only:
        done = {(x["n"], x["r"]) for x in mirror}
        for n, r in MIRROR_CASES:
            if (n, r) not in done:
                mirror.append(compute_mirror(n, r))
                print(f"mirror n={n} r={r} P={float(Fraction(mirror[-1]['P'])):.6f}", flush=True)
                with open(mirror_cache, "w") as handle:
                    json.dump(mirror, handle)
    report(records, args.out, args.png, args.rtol, mirror)


if __name__ == "__main__":
    main()
