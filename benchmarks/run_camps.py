"""Camps at absorption against the mean-field prediction, m = 2..8 (issue 11 item 4).

Run: ``python benchmarks/run_camps.py`` (a few minutes; writes
``benchmarks/results_camps.md`` and ``benchmarks/camps.png``).  Every table
value is computed exactly (Fractions); floats only print them and fit the
measured slopes.  Timings are wall clock, given as ratios to the reference
run ``m = 2, K = 2, N = 2`` measured in the same script.
"""

import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from markovgmm import System  # noqa: E402
from markovgmm.analysis import camps  # noqa: E402

SYSTEMS = ([(2, N, tuple(range(2, 9))) for N in (2, 3, 4)] + [(2, 5, tuple(range(2, 7)))]
           + [(3, 3, (2, 3, 4, 5))])
HORIZON = 12


def fmt(x, digits=4):
    if x is None:
        return "-"
    return f"{float(x):.{digits}g}"


def main():
    camps.camps_compare(System(agents=2, components=2, memory=2), horizon=HORIZON)  # warm-up (imports)
    t0 = time.perf_counter()
    camps.camps_compare(System(agents=2, components=2, memory=2), horizon=HORIZON)
    reference = time.perf_counter() - t0
    rows, limits = [], {}
    for K, N, ms in SYSTEMS:
        limits[(K, N)] = camps.mean_field_limit(System(agents=1, components=K, memory=N))
        for m in ms:
            began = time.perf_counter()
            row = camps.camps_compare(System(agents=m, components=K, memory=N), limit=limits[(K, N)], horizon=HORIZON)
            row["seconds"] = time.perf_counter() - began
            rows.append(row)
            print(K, N, m, f"{row['seconds']:.2f}s", fmt(row["tv"]["occupation"]), flush=True)
    began = time.perf_counter()
    fam = camps.camps_family()
    family_seconds = time.perf_counter() - began

    out = ["# Camps at absorption and the mean-field recursion (issue 11, item 4)", "",
           f"python {sys.version.split()[0]}, 2 shared cores; times are wall clock, as ratios to the reference run "
           f"(m=2, K=2, N=2, {reference:.2f} s here).", "",
           "Complete graph, `support`, sync, r = 1, balanced start (every agent at `balanced_counts(N, K)`). "
           "Exact laws from the S_m-lumped chain; prediction `Multinomial(m, Q)` with `Q` the mean-field limit "
           "(exact for symmetric K=2 starts, else a certified box; `tv radius` bounds the effect of the box on every TV; "
           "the point is `box_point`, a probability vector inside the box; `Q` itself is a probability vector in the box, "
           "`proofs/camps_mean_field.md` (4b)). "
           "All numbers below are exact values printed as floats; slopes are **measured** (least squares on log-log), "
           "not proven.", "",
           "## Mean-field limits Q", "", "| K | N | start | Q (point) | box width | exact | steps |", "|---|---|---|---|---|---|---|"]
    for (K, N), lim in limits.items():
        width = max(b - a for a, b in zip(lim["lower"], lim["upper"]))
        start = ",".join(str(x) for x in camps.balanced_counts(N, K))
        out.append(f"| {K} | {N} | {start} | {', '.join(fmt(x, 10) for x in lim['point'])} | {fmt(width, 2)} | "
                   f"{lim['exact']} | {lim['steps']} |")
    out += ["", "## Exact camp laws against the prediction", "",
            "| K | N | m | orbits | TV occupation | TV camp sizes | TV #camps | tv radius | P(one camp) | predicted | "
            "E[n_0]/m | Q_0 | pair corr. | Var ratio | max_t pool gap | time ratio |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lim = limits[(r["components"], r["memory"])]
        out.append(
            f"| {r['components']} | {r['memory']} | {r['agents']} | {r['law']['orbits']} | {fmt(r['tv']['occupation'])} | "
            f"{fmt(r['tv']['camp_sizes'])} | {fmt(r['tv']['camps'])} | {fmt(r['tv_radius'], 2)} | {fmt(r['one_camp'])} | "
            f"{fmt(r['one_camp_predicted'])} | {fmt(r['marginal'][0], 6)} | {fmt(lim['point'][0], 6)} | "
            f"{fmt(r['pair_correlation'][0])} | {fmt(r['variance_ratio'])} | {fmt(r['pool']['max_gap'])} | "
            f"{r['seconds'] / reference:.1f} |")
    out += ["", "## Measured rates (log-log slope in m; all m, and the last three)", "",
            "| K | N | TV occupation | TV #camps | marginal gap | marginal gap (last 3) | pair corr. | pair corr. (last 3) | "
            "pool gap | P(one camp) ratio m->m+1 (exact, last) | predicted |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for K, N, ms in SYSTEMS:
        sub = [r for r in rows if r["components"] == K and r["memory"] == N]
        xs = [r["agents"] for r in sub]

        def slope(vals, last=None):
            v = list(zip(xs, vals))[-last:] if last else list(zip(xs, vals))
            return camps._fit([a for a, _ in v], [b for _, b in v])

        ratio = float(sub[-1]["one_camp"] / sub[-2]["one_camp"])
        pred = float(sub[-1]["one_camp_predicted"] / sub[-2]["one_camp_predicted"])
        out.append(f"| {K} | {N} | {fmt(slope([r['tv']['occupation'] for r in sub]), 3)} | "
                   f"{fmt(slope([r['tv']['camps'] for r in sub]), 3)} | {fmt(slope([r['marginal_gap'] for r in sub]), 3)} | "
                   f"{fmt(slope([r['marginal_gap'] for r in sub], 3), 3)} | "
                   f"{fmt(slope([abs(r['pair_correlation'][0]) for r in sub]), 3)} | "
                   f"{fmt(slope([abs(r['pair_correlation'][0]) for r in sub], 3), 3)} | "
                   f"{fmt(slope([r['pool']['max_gap'] for r in sub]), 3)} | {ratio:.4f} | {pred:.4f} |")
    out += ["", f"## `camps_family()` (the default of `verify --theorem camps`)", "",
            f"verdict `{fam['verdict']}`, max_deviation {fam['max_deviation']}, {len(fam['checked'])} systems, "
            f"{len(fam['checks'])} exact checks all holding: {all(c['holds'] for c in fam['checks'])}; "
            f"{family_seconds:.1f} s ({family_seconds / reference:.0f} x the reference run).", ""]
    (HERE / "results_camps.md").write_text("\n".join(out) + "\n")
    plot(rows, limits)
    print("\n".join(out))


def plot(rows, limits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 6.0))
    for index, (K, N, _) in enumerate(SYSTEMS):
        color = f"C{index}"
        sub = [r for r in rows if r["components"] == K and r["memory"] == N]
        ms = [r["agents"] for r in sub]
        label = f"K={K}, N={N}"
        axes[0].plot(ms, [float(r["tv"]["occupation"]) for r in sub], "o-", color=color, label=label)
        gaps = [float(r["marginal_gap"]) for r in sub]
        if any(gaps):
            axes[1].loglog(ms, gaps, "o-", color=color, label=f"{label}: |E n_0/m - Q_0|")
        axes[1].loglog(ms, [abs(float(r["pair_correlation"][0])) for r in sub], "s--", color=color,
                       label=f"{label}: pair corr.")
        axes[2].semilogy(ms, [float(r["one_camp"]) for r in sub], "o-", color=color, label=f"{label} exact")
        axes[2].semilogy(ms, [float(r["one_camp_predicted"]) for r in sub], ":", color=color)
    xs = [2, 8]
    axes[1].loglog(xs, [0.3 / x for x in xs], "k:", label="slope -1")
    axes[0].set(xlabel="agents m", ylabel="TV(exact occupation law, Multinomial(m, Q))",
                title="whole camp law vs Multinomial(m, Q) (exact)")
    axes[1].set(xlabel="agents m", title="o: |E n_0/m - Q_0|, s: pair correlation (exact)")
    axes[2].set(xlabel="agents m", ylabel="P(one camp)", title="P(one camp): exact (solid) vs mean field (dotted)")
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    axes[1].xaxis.set_major_locator(FixedLocator(range(2, 9)))  # agents are integers, also on the log axis
    axes[1].xaxis.set_minor_locator(NullLocator())
    axes[1].xaxis.set_major_formatter(ScalarFormatter())
    for ax in axes:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # below the axes, off the data
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(HERE / "camps.png", dpi=110)


if __name__ == "__main__":
    main()
