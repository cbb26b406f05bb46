"""LLM runs benchmark (issue 10): reading the shipped runs, the silo
observables, embedding every response with the offline stand-in model (cold
and warm cache), and the full comparison (12 cells x R GMM and chain
replicates + the chain run to absorption).  Writes
``benchmarks/results_llm.md`` (the findings table included).

The comparison runs at the authors' store size ``r = 5`` with random GMM
ties (MODEL.md 6.1's default), with ``index`` ties (the authors' code), and
at ``r = 2`` (a finding: it is much nearer the LLM at ``t = 79``).

Run: ``python benchmarks/bench_llm.py [R]`` (default 50).
"""

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout, not an installed copy
from _shared import timed
from markovgmm.llm.compare import compare
from markovgmm.llm.embed import MODEL_ID, embedding_report
from markovgmm.llm.runs import default_data_dir, read_runs, run_observables


KEEP = "<!-- hand-written below: kept by reruns -->"


def main():
    replicates = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    runs, t_read = timed(lambda: read_runs())
    _, t_obs = timed(lambda: [run_observables(r) for r in runs])
    responses = sum(r.steps * r.agents for r in runs)
    with tempfile.TemporaryDirectory() as cache:
        cold, t_cold = timed(lambda: embedding_report(runs, cache=cache))
        warm, t_warm = timed(lambda: embedding_report(runs, cache=cache))
    settings = ((5, "random"), (5, "index"), (2, "random"))
    compared = {s: timed(lambda: compare(runs, replicates=replicates, seed=0, memory=s[0], tie_order=s[1])) for s in settings}

    numpy_version = np.__version__
    lines = [
        "# LLM runs benchmark (issue 10)",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other jobs; numpy {numpy_version}. Data: {default_data_dir()}.",
        f"Wall seconds, one process (`python benchmarks/bench_llm.py {replicates}`).",
        "",
        "| step | size | seconds |",
        "|---|---|---|",
        f"| read all runs (CSV halves joined, `ast.literal_eval` per cell) | {len(runs)} runs, {responses:,} responses | {t_read:.1f} |",
        f"| silo observables of every run | {len(runs)} runs | {t_obs:.1f} |",
        f"| embed every response, cold cache ({MODEL_ID}) | {cold['responses']:,} responses, {cold['unique_responses']:,} distinct | {t_cold:.1f} |",
        f"| same, warm cache (content hash) | {warm['newly_embedded']} new | {t_warm:.1f} |",
    ]
    for (memory, ties), (rep, seconds) in compared.items():
        lines.append(
            f"| full comparison: 12 cells x {replicates} GMM + {replicates} chain to t=80 + {replicates} chain to absorption, "
            f"r={memory}, GMM ties {ties} | {len(rep['cells'])} cells | {seconds:.1f} |"
        )
    for (memory, ties), (report, _) in compared.items():
        lines += table(report, memory, ties, replicates)
    lines.append("")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_llm.md")
    kept = ""
    if os.path.exists(out):  # hand-written text below the marker survives a rerun
        with open(out, encoding="utf-8") as handle:
            text = handle.read()
        if KEEP in text:
            kept = text[text.index(KEEP) :]
    lines.append(kept)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {out}")


def table(report, memory, ties, replicates):
    lines = [
        "",
        f"## Final silos at t = {report['final_step']} (r = {memory}, GMM tie order {ties}, seed 0)",
        "",
        f"Mean over replicates with a 95% t-interval of the mean; LLM: 8 runs per cell, GMM and chain: {replicates}. "
        f"Test: {report['test']}, level {report['level']}. chain@abs: the chain run to absorption (mean silos; median steps).",
        "",
        "| p | k | LLM | GMM | chain (t=79) | chain@abs | abs. steps (median) | LLM t* (median) | stability t<=10 LLM / GMM "
        "| MW p | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report["cells"]:

        def f(s):
            return f"{s['mean']:.2f} [{s['mean_ci'][0]:.2f}, {s['mean_ci'][1]:.2f}]"

        lines.append(
            f"| {c['p']:g} | {c['k']} | {f(c['llm'])} | {f(c['gmm'])} | {f(c['chain'])} | {c['chain_absorbed']['mean']:.2f} | "
            f"{c['chain_absorption_steps']['median']:.0f} | {c['llm_t_star']['median']:.0f} | "
            f"{c['early_stability']['llm']:.2f} / {c['early_stability']['gmm']:.2f} | {c['p_value']:.2g} | {c['verdict']} |"
        )
    return lines


if __name__ == "__main__":
    main()
