"""Which graph polarises most: the full grid (issue 11 item 2).

P(polarisation) from the balanced start on every connected graph of
networkx's atlas on m = 2..5 agents, N = 4..8 (K = 2, r = 1, sync, support
ownership, closed neighbourhoods), ranked per (m, N); the conjecture "the
complete graph minimises it" per (m, N) and overall; the maximiser per (m, N).

Two passes, written to ``docs/graphs_grid.json`` after every entry (so the
run is resumable: rerunning skips what is there):

1. every entry certified (:func:`markovgmm.analysis.certified.certified_absorption`,
   relative width <= 1e-12): the whole grid;
2. entries the plan marks exact are recomputed in exact rational arithmetic;
   each exact value is checked to lie in the certified interval of pass 1,
   and replaces it.

(In stages by cost: certified where cheap, exact where cheap, certified at
m = 5, N >= 7, the costly exact ones last.)

Then ``benchmarks/results_graphs_grid.md`` and ``docs/graphs_grid.png``.

Run (background, nice; about an hour on the loaded 2-core machine):
``nice -n 10 python benchmarks/run_graphs_grid.py``;
``--report`` only rewrites the JSON's summary (with the default plan), the
markdown and the PNG from the JSON's entries;
``--exact M:N,...`` overrides the exact plan; ``--only certified|exact``
runs one kind of stage (two such runs may write the file at the same time:
every save merges with the file under a lock); ``--deadline HH:MM`` (UTC) stops
pass 2 cleanly before that time (what is not exact stays certified, and says so).
"""

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from markovgmm.analysis.certified import decimal_bounds  # noqa: E402
from markovgmm.analysis.theorems import atlas_connected, complete_minimises, graph_entry, read_graph_grid  # noqa: E402
from markovgmm.numbers import fraction_str, jsonable  # noqa: E402

JSON_PATH = os.path.join(ROOT, "docs", "graphs_grid.json")
PNG_PATH = os.path.join(ROOT, "docs", "graphs_grid.png")
MD_PATH = os.path.join(HERE, "results_graphs_grid.md")
MEMORIES = (4, 5, 6, 7, 8)
MAX_AGENTS = 5
#: (m, N) solved exactly by default: every m <= 4, and m = 5 at N = 4 (m = 5, N = 5 exact took > 5 min per graph).
DEFAULT_EXACT = {(m, N) for m in (2, 3, 4) for N in MEMORIES} | {(5, 4)}


def key(e):
    return (e["m"], e["N"], e["atlas"])


def entry_json(e, seconds):
    out = {k: e[k] for k in ("atlas", "m", "N", "name", "edges", "arithmetic")}
    if e["arithmetic"] == "exact":
        p = e["polarization"]
        out["polarization"] = fraction_str(p)
        out["polarization_decimal"] = list(decimal_bounds(p, p, 17))
    else:
        lo, hi = e["polarization_interval"]
        out["polarization_interval"] = [fraction_str(lo), fraction_str(hi)]
        out["polarization_decimal"] = list(decimal_bounds(lo, hi, 17))
        out["relative_width"] = e["relative_width"]
    out["seconds"] = round(seconds, 2)
    for extra in ("certified_contains_exact",):
        if extra in e:
            out[extra] = e[extra]
    return out


def load():
    if not os.path.exists(JSON_PATH):
        return {}
    with open(JSON_PATH, encoding="utf-8") as handle:
        data = json.load(handle)
    return {key(e): e for e in data["graphs"]}


def save(done, plan, note=None):
    """Merge ``done`` with what is on disk (another run may be writing too; an exact entry beats a
    certified one) and rewrite the file atomically, under a lock."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), "markovgmm_graphs_grid.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for k, e in load().items():
            if k not in done or (e["arithmetic"] == "exact" and done[k]["arithmetic"] != "exact"):
                done[k] = e
        _write(done, plan, note)


def _write(done, plan, note):
    entries = sorted(done.values(), key=lambda e: (e["N"], e["m"], e["atlas"]))
    if note is None:
        short = [e for e in entries if (e["m"], e["N"]) in plan and e["arithmetic"] != "exact"]
        if short:
            note = (f"{len(short)} entries planned exact are certified only (out of time): "
                    + ", ".join(f"m={m} N={N}: {sum(1 for e in short if (e['m'], e['N']) == (m, N))}"
                                for m, N in sorted({(e["m"], e["N"]) for e in short})))
    summary = complete_minimises(_as_entries(entries))
    summary = {k: v for k, v in summary.items() if k != "graphs"}
    data = {
        "description": (
            "P(polarisation) from the balanced start, every connected graph of networkx's graph atlas on m agents "
            "(edge list; 'atlas' is the index in networkx.graph_atlas_g()), K=2, r=1, sync, support ownership, "
            "closed neighbourhoods, lumped by the graph's automorphism group. arithmetic 'exact': 'polarization' "
            "is the exact rational; 'certified': 'polarization_interval' = [lower, upper], exact rationals with "
            "lower <= P <= upper (certified_absorption, relative width <= 1e-12), never an exact value. "
            "polarization_decimal: the value or interval rounded outward to 17 digits. Written by "
            "benchmarks/run_graphs_grid.py."
        ),
        "parameters": {"components": 2, "replace": 1, "schedule": "sync", "ownership": "support",
                       "closed_neighbourhood": True, "start": "balanced", "memories": sorted({e["N"] for e in entries}),
                       "agents": sorted({e["m"] for e in entries})},
        "exact_plan": sorted(list(p) for p in plan),
        "note": note,
        "graphs": entries,
        "summary": jsonable(summary),
    }
    tmp = JSON_PATH + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, JSON_PATH)


def _as_entries(json_entries):
    tmp = JSON_PATH + ".read.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"graphs": json_entries}, handle)
    try:
        return read_graph_grid(tmp)
    finally:
        os.remove(tmp)


def log(text):
    print(f"{datetime.datetime.utcnow():%H:%M:%S} {text}", flush=True)


def run(plan, memories, max_agents, deadline, only=None):
    sys.set_int_max_str_digits(0)
    done = load()
    graphs = atlas_connected(max_agents)
    tasks = [(N, index, g) for N in memories for index, g in graphs]
    tasks.sort(key=lambda t: (t[2].number_of_nodes(), t[0]))
    # Stages, cheapest first (each entry is written as soon as it is done, so a stop loses at most one):
    # certified where cheap, exact where planned and cheap, certified m=5 at N>=7, then the costly exact ones.
    cheap = lambda m, N: m <= 4 or N <= 6  # noqa: E731
    cheap_exact = lambda m, N: m <= 3 or (m == 4 and N <= 6) or (m, N) == (5, 4)  # noqa: E731
    stages = [("certified", lambda m, N: cheap(m, N)), ("exact", lambda m, N: (m, N) in plan and cheap_exact(m, N)),
              ("certified", lambda m, N: not cheap(m, N)), ("exact", lambda m, N: (m, N) in plan)]
    for arithmetic, wanted in stages:
        if only and arithmetic != only:
            continue
        for N, index, g in tasks:
            k = (g.number_of_nodes(), N, index)
            if not wanted(k[0], N) or (k in done and (done[k]["arithmetic"] == "exact" or arithmetic == "certified")):
                continue
            if arithmetic == "exact" and deadline and datetime.datetime.utcnow() >= deadline:
                log(f"deadline reached: m={k[0]} N={N} atlas={index} stays certified")
                continue
            began = time.perf_counter()
            e = graph_entry(g, N, arithmetic=arithmetic, atlas=index)
            if arithmetic == "exact" and k in done:  # the certified interval of the earlier stage must contain it
                lo, hi = read_graph_grid_entry(done[k])["polarization_interval"]
                e["certified_contains_exact"] = lo <= e["polarization"] <= hi
                if not e["certified_contains_exact"]:
                    raise SystemExit(f"exact value outside its certified interval at {k}")
            done[k] = entry_json(e, time.perf_counter() - began)
            save(done, plan)
            log(f"{arithmetic} m={k[0]} N={N} atlas={index}: {done[k]['polarization_decimal']} ({done[k]['seconds']} s)")
    save(done, plan)


def read_graph_grid_entry(e):
    return _as_entries([e])[0]


def fmt(e, digits=6):
    lo, hi = (float(x) for x in [e["polarization_decimal"][0], e["polarization_decimal"][1]])
    text = f"{(lo + hi) / 2:.{digits}f}"
    return text if e["arithmetic"] == "exact" else text + "*"


def report():
    with open(JSON_PATH, encoding="utf-8") as handle:
        data = json.load(handle)
    entries = data["graphs"]
    summary = data["summary"]
    memories = data["parameters"]["memories"]
    by = {(e["m"], e["atlas"], e["N"]): e for e in entries}
    graphs = sorted({(e["m"], e["atlas"]) for e in entries})
    lines = [
        "# Which graph polarises most (issue 11 item 2)",
        "",
        "Written by `benchmarks/run_graphs_grid.py` from `docs/graphs_grid.json`. P(polarisation) from the balanced "
        "start, K = 2, r = 1, sync, support ownership, closed neighbourhoods, every connected graph of networkx's "
        "atlas. Values without a mark are exact rationals (shown to 6 decimals); `*` marks a certified interval "
        "(relative width <= 1e-12; its midpoint shown) - never called exact. Rank 1 = least polarising within (m, N).",
        "",
        f"**Conjecture \"the complete graph minimises P(polarisation)\": {summary['verdict'].upper()}** overall "
        f"({len(summary['counterexamples'])} counterexamples).",
        "",
    ]
    rank = {}
    for group in summary["ranking"]:
        for i, e in enumerate(group["order"]):
            rank[(group["m"], e["atlas"], group["N"])] = i + 1
    header = "| m | atlas | name | edges | " + " | ".join(f"N={N} (rank)" for N in memories) + " |"
    lines += [header, "|" + "---|" * (4 + len(memories))]
    for m, a in graphs:
        any_e = next(by[(m, a, N)] for N in memories if (m, a, N) in by)
        cells = [f"{fmt(by[(m, a, N)])} ({rank[(m, a, N)]})" if (m, a, N) in by else "-" for N in memories]
        edges = " ".join(f"{u}{v}" for u, v in any_e["edges"])
        lines.append(f"| {m} | {a} | {any_e['name'] or ''} | {edges} | " + " | ".join(cells) + " |")
    lines += ["", "## Verdict and maximiser per (m, N)", "",
              "Gaps: the smallest certain separation from the runner-up (lower end of the larger minus upper end "
              "of the smaller, exact on the 17-digit outward roundings, then shown to 3 digits).", "",
              "| m | N | graphs | arithmetic | verdict | ranking certain | minimiser | gap to 2nd (lower bound) | maximiser | gap to 2nd |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    maxi = {(x["m"], x["N"]): x for x in summary["maximisers"]}
    ranking = {(r["m"], r["N"]): r for r in summary["ranking"]}
    for p in summary["per_size"]:
        m, N = p["m"], p["N"]
        mx, r = maxi[(m, N)], ranking[(m, N)]
        mn = r["order"][0]
        name = lambda e: f"{e['name']} (atlas {e['atlas']})" if e["name"] else f"atlas {e['atlas']}"  # noqa: E731
        order = [by[(m, e["atlas"], N)] for e in r["order"]]
        gap = lambda a, b: "-" if a is b else f"{float(Fraction(b['polarization_decimal'][0]) - Fraction(a['polarization_decimal'][1])):.3g}"  # noqa: E731
        lines.append(f"| {m} | {N} | {p['graphs']} | {', '.join(p.get('arithmetic', []))} | {p['verdict']} | "
                     f"{r['certain']} | {name(mn)} | {gap(order[0], order[min(1, len(order) - 1)])} | "
                     f"{name(mx)}{'' if mx['certain'] else ' (not certain)'} | {gap(order[max(len(order) - 2, 0)], order[-1])} |")
    if summary["counterexamples"]:
        lines += ["", "## Counterexamples", ""]
        for c in summary["counterexamples"]:
            lines.append(f"- m={c['m']} N={c['N']} atlas {c['atlas']} edges {c['edges']}: below the complete graph")
    seconds = [e["seconds"] for e in entries]
    exact = [e for e in entries if e["arithmetic"] == "exact"]
    lines += ["", "## Cost", "",
              f"{len(entries)} entries, {len(exact)} exact, {len(entries) - len(exact)} certified; "
              f"{sum(seconds):.0f} s of solves in total (loaded 2-core machine). Slowest entries:", ""]
    for e in sorted(entries, key=lambda e: -e["seconds"])[:8]:
        lines.append(f"- m={e['m']} N={e['N']} atlas {e['atlas']} ({e['arithmetic']}): {e['seconds']} s")
    if data.get("note"):
        lines += ["", f"Note: {data['note']}."]
    with open(MD_PATH, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    plot(entries, memories)


def plot(entries, memories):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = sorted({e["m"] for e in entries if e["m"] >= 3})
    fig, axes = plt.subplots(1, len(ms), figsize=(4.2 * len(ms), 4.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, m in zip(axes, ms):
        atlases = sorted({e["atlas"] for e in entries if e["m"] == m})
        for a in atlases:
            pts = sorted((e["N"], float(e["polarization_decimal"][0])) for e in entries if e["m"] == m and e["atlas"] == a)
            name = next(e["name"] for e in entries if e["m"] == m and e["atlas"] == a)
            xs, ys = zip(*pts)
            if name == "complete":
                ax.plot(xs, ys, "k-o", lw=3, label="complete", zorder=5)
            elif name in ("star", "path", "ring"):
                ax.plot(xs, ys, "-o", lw=1.5, label=name)
            else:
                ax.plot(xs, ys, "-", color="0.7", lw=0.8)
        ax.set_title(f"m = {m} ({len(atlases)} connected graphs)")
        ax.set_xlabel("memory N")
        ax.set_xticks(memories)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("P(polarisation), balanced start")
    fig.suptitle("P(polarisation) per connected graph (grey: other graphs); complete graph in black")
    fig.tight_layout()
    fig.savefig(PNG_PATH, dpi=110)


def _plan(text):
    return {tuple(int(x) for x in p.split(":")) for p in text.split(",") if p}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="only rewrite the summary, the markdown and the PNG")
    parser.add_argument("--memories", default=",".join(map(str, MEMORIES)))
    parser.add_argument("--max-agents", type=int, default=MAX_AGENTS)
    parser.add_argument("--exact", default=None, help="exact plan as M:N,M:N,... (default: m<=4 all N, and 5:4)")
    parser.add_argument("--only", choices=("certified", "exact"), default=None,
                        help="run only the certified or only the exact stages (two runs may share the file)")
    parser.add_argument("--deadline", default=None, help="HH:MM UTC: start no exact solve after it")
    args = parser.parse_args()
    if args.report:  # the JSON's summary, plan and note rewritten from its entries (after runs with other plans)
        save(load(), DEFAULT_EXACT if args.exact is None else _plan(args.exact))
    else:
        plan = DEFAULT_EXACT if args.exact is None else _plan(args.exact)
        deadline = None
        if args.deadline:
            h, mi = (int(x) for x in args.deadline.split(":"))
            deadline = datetime.datetime.utcnow().replace(hour=h, minute=mi, second=0, microsecond=0)
        run(plan, tuple(int(x) for x in args.memories.split(",")), args.max_agents, deadline, args.only)
    report()


if __name__ == "__main__":
    main()
