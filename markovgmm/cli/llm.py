"""``markovgmm llm silos|embed|compare``: real LLM interaction runs (seed 000's
mirroring experiment) measured like the GMM mirroring system (docs/model.md 6)."""

from __future__ import annotations

import json

from ..errors import InputError
from ..numbers import jsonable
from ._options import print_json

__all__ = ["register"]

_DATA_HELP = (
    "folder of LLM runs (output*.csv.gz pairs or *.jsonl); default $MARKOVGMM_LLM_DATA, "
    "else ../shared/data/mirroring_llm from the repository root"
)


def register(subparsers):
    parser = subparsers.add_parser(
        "llm",
        help="real LLM mirroring runs: silos, embedding metric, comparison with the GMM proxy and the chain",
        description=(
            "Read the LLM runs of seed 000's mirroring experiment (30 agents, 80 steps, p x k grid), assign silos by "
            "the flower each response names first, and compare them with the continuous GMM mirroring system and "
            "the mirroring chain (docs/model.md 6)."
        ),
    )
    sub = parser.add_subparsers(dest="llm_command", metavar="ACTION")
    sub.required = True

    silos = sub.add_parser("silos", help="silo observables of every run (S_t, stability, t*, unassigned)")
    silos.add_argument("--data", default=None, metavar="DIR", help=_DATA_HELP)
    silos.add_argument("--vocabulary", default=None, metavar="FILE", help="silo names, one per line (default: the README's 30 flowers)")
    silos.add_argument("--json", action="store_true", help="print one JSON object")
    silos.set_defaults(func=run_silos)

    embed = sub.add_parser("embed", help="embedding metric: ||D_t||_F per step and classical MDS (offline stand-in model)")
    embed.add_argument("--data", default=None, metavar="DIR", help=_DATA_HELP)
    embed.add_argument("--cache", default=None, metavar="DIR", help="embedding cache (default $MARKOVGMM_CACHE or ~/.cache/markovgmm)")
    embed.add_argument("--run", default="0.5,5,0", metavar="P,K,V", help="run whose MDS is reported and drawn (default 0.5,5,0)")
    embed.add_argument("--mds-steps", default="0,10,40,79", metavar="T,...", help="steps of the MDS (default 0,10,40,79)")
    embed.add_argument("--figure", default=None, metavar="FILE", help="write the MDS figure (PNG)")
    embed.add_argument("--json", action="store_true", help="print one JSON object")
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    embed.set_defaults(func=run_embed)

    compare = sub.add_parser("compare", help="final silos per (p, k): LLM runs vs GMM mirroring system vs mirroring chain")
    compare.add_argument("--data", default=None, metavar="DIR", help=_DATA_HELP)
    compare.add_argument("--replicates", "-R", type=int, default=50, help="GMM and chain replicates per cell (default 50)")
    compare.add_argument("--memory", "-r", type=int, default=5, help="store size r of the GMM system and chain (default 5, the authors')")
    compare.add_argument(
        "--tie-order", default="random", choices=("random", "index"), help="GMM partner ties (docs/model.md 6.1; default random)"
    )
    compare.add_argument("--seed", type=int, default=0, help="root seed of the simulations (default 0)")
    compare.add_argument("--level", type=float, default=0.05, help="level of the Mann-Whitney test (default 0.05)")
    compare.add_argument("--cells", default=None, metavar="P:K,...", help="only these cells, e.g. 0.2:1,0.7:25 (default all)")
    compare.add_argument("--no-chain", action="store_true", help="skip the mirroring chain's Monte Carlo")
    compare.add_argument("--figures", default=None, metavar="DIR", help="write silo_trajectories.png and silo_counts.png to DIR")
    compare.add_argument("--out", default=None, metavar="FILE", help="write the JSON object to FILE")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.set_defaults(func=run_compare)


def _vocabulary(path):
    from ..llm.runs import FLOWERS

    if path is None:
        return FLOWERS
    try:
        with open(path, encoding="utf-8") as handle:
            names = [line.strip() for line in handle if line.strip()]
    except OSError as err:
        raise InputError(f"vocabulary: cannot read {path!r} ({err.strerror})") from None
    return tuple(names)


def run_silos(args):
    from ..llm.runs import cell_summary, read_runs, run_observables

    vocabulary = _vocabulary(args.vocabulary)
    runs = read_runs(args.data)
    observables = [run_observables(run, vocabulary) for run in runs]
    report = {
        "data": str(runs[0].sources[0].rsplit("/", 1)[0]) if runs[0].sources else None,
        "vocabulary": list(vocabulary),
        "silo_rule": "first-named vocabulary entry, case-insensitive, longer name wins at equal position, -1 if none",
        "runs": observables,
        "cells": cell_summary(observables),
    }
    if args.json:
        print_json(report)
        return 0
    print(f"data        {report['data']}  ({len(runs)} runs)")
    print(f"{'p':>4} {'k':>3} {'rep':>3} {'S_0':>4} {'S_40':>4} {'S_T':>4} {'t*':>3} {'stab_T':>6} {'unasg':>5}  final silo sizes")
    for obs in observables:
        s = obs["silo_counts"]
        p = f"{obs['p']:g}" if obs["p"] is not None else "-"
        print(
            f"{p:>4} {obs['k'] if obs['k'] is not None else '-':>3} {obs['replicate'] if obs['replicate'] is not None else '-':>3} "
            f"{s[0]:>4} {s[min(40, len(s) - 1)]:>4} {s[-1]:>4} {obs['t_star']:>3} {obs['stability'][-1] if obs['stability'] else 1:>6.3f} "
            f"{obs['unassigned']:>5}  {','.join(map(str, obs['final_silo_sizes']))}"
        )
    print()
    print(f"{'p':>4} {'k':>3} {'runs':>4} {'mean S_T':>8}  final silo law")
    for cell in report["cells"]:
        law = ", ".join(f"{s}: {f:.3f}" for s, f in cell["final_silo_law"].items())
        p = f"{cell['p']:g}" if cell["p"] is not None else "-"
        print(f"{p:>4} {cell['k'] if cell['k'] is not None else '-':>3} {cell['runs']:>4} {cell['mean_final_silos']:>8.3f}  {law}")
    return 0


def _int_list(text, name):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{name}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise InputError(f"{name}: expected at least one integer")
    return values


def run_embed(args):
    from ..llm.embed import embedding_report, plot_mds
    from ..llm.runs import read_runs

    try:
        p, k, v = args.run.split(",")
        chosen = (float(p), int(k), int(v))
    except ValueError:
        raise InputError(f"run: expected P,K,V such as 0.5,5,0, got {args.run!r}") from None
    steps = _int_list(args.mds_steps, "mds-steps")
    runs = read_runs(args.data)
    report = embedding_report(runs, chosen=chosen, mds_steps=steps, cache=args.cache, quiet=args.quiet)
    if args.figure:
        plot_mds(report["mds"], args.figure)
    if args.json:
        print_json(report)
        return 0
    print(f"model       {report['model']} (stand-in; {report['note']})")
    print(f"embedded    {report['responses']} responses, {report['unique_responses']} distinct, {report['newly_embedded']} new")
    print(f"{'p':>4} {'k':>3} {'rep':>3} {'||D_0||_F':>10} {'||D_40||_F':>10} {'||D_T||_F':>10}")
    for row in report["runs"]:
        f = row["frobenius"]
        print(f"{row['p']:>4g} {row['k']:>3} {row['replicate']:>3} {f[0]:>10.3f} {f[min(40, len(f) - 1)]:>10.3f} {f[-1]:>10.3f}")
    m = report["mds"]
    print(f"mds         run p={m['p']:g}, k={m['k']}, replicate {m['replicate']} at steps {m['steps']}")
    if args.figure:
        print(f"wrote       {args.figure}")
    return 0


def _cells(text):
    if text is None:
        return None
    cells = []
    for item in text.split(","):
        try:
            p, k = item.split(":")
            cells.append((float(p), int(k)))
        except ValueError:
            raise InputError(f"cells: expected P:K,... such as 0.2:1,0.7:25, got {item!r}") from None
    return cells


def run_compare(args):
    from ..llm.compare import compare, plot_silo_counts, plot_trajectories
    from ..llm.runs import read_runs

    if args.replicates < 2:
        raise InputError(f"replicates must be at least 2, got {args.replicates}")
    if not 0 < args.level < 1:
        raise InputError(f"level must be in (0, 1), got {args.level}")
    if args.seed < 0:
        raise InputError(f"seed must be a nonnegative integer, got {args.seed}")
    runs = read_runs(args.data)
    report = compare(
        runs, replicates=args.replicates, seed=args.seed, level=args.level, cells=_cells(args.cells), chain=not args.no_chain, quiet=args.quiet,
        memory=args.memory, tie_order=args.tie_order,
    )  # fmt: skip
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    written = []
    if args.figures:
        import os

        os.makedirs(args.figures, exist_ok=True)
        written.append(plot_trajectories(report, os.path.join(args.figures, "silo_trajectories.png")))
        written.append(plot_silo_counts(report, os.path.join(args.figures, "silo_counts.png")))
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as handle:
                json.dump(jsonable(public), handle, indent=2)
        except OSError as err:
            raise InputError(f"out: cannot write {args.out!r} ({err.strerror})") from None
    if args.json:
        print_json(public)
        return 0
    print(f"gmm         {report['gmm']['description']}")
    print(f"chain       {report['chain']['description']}")
    print(f"test        {report['test']} at level {report['level']}; intervals: {report['interval']}")
    print(f"final step  t = {report['final_step']}; chain@abs = chain run to absorption (mean silos, median steps)")
    print(
        f"{'p':>4} {'k':>3} | {'LLM S_T':>17} | {'GMM S_T':>17} | {'chain S_T':>17} | {'chain@abs':>12} | "
        f"{'LLM t*':>6} | {'p-value':>8}  verdict"
    )
    for cell in report["cells"]:

        def fmt(summary):
            if summary is None:
                return f"{'-':>17}"
            return f"{summary['mean']:5.2f} [{summary['mean_ci'][0]:5.2f},{summary['mean_ci'][1]:5.2f}]"

        absorbed = cell.get("chain_absorbed")
        steps = cell.get("chain_absorption_steps")
        at_abs = f"{absorbed['mean']:5.2f} @{steps['median']:5.0f}" if absorbed else "-"
        print(
            f"{cell['p']:>4g} {cell['k']:>3} | {fmt(cell['llm'])} | {fmt(cell['gmm'])} | {fmt(cell['chain'])} | "
            f"{at_abs:>12} | {cell['llm_t_star']['median']:>6.0f} | {cell['p_value']:>8.2g}  {cell['verdict']}"
        )
    for path in written:
        print(f"wrote       {path}")
    if args.out:
        print(f"wrote       {args.out}")
    return 0
