"""``markovgmm sweep``: run a grid of systems on Dask and write one tidy CSV table."""

from __future__ import annotations

import os
import sys

from ..sweep import run_sweep

__all__ = ["register", "run"]


def register(subparsers):
    parser = subparsers.add_parser(
        "sweep",
        help="run a grid of systems (agents, memory, graphs, ownership, starts) on Dask into one CSV table",
        description=(
            "Expand the grid in CONFIG (JSON), compute every cell on a dask.distributed cluster and append one row "
            "per cell to a CSV table as it finishes. Re-running resumes: cells already in the table are not "
            "recomputed. See markovgmm.sweep for the config keys and the table's columns."
        ),
    )
    parser.add_argument("config", metavar="CONFIG", help="sweep config, a JSON file")
    parser.add_argument("--out", default=None, help="CSV table to write or resume (default: CONFIG with .csv)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers, one thread each (default 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)


def run(args):
    out = args.out if args.out is not None else os.path.splitext(args.config)[0] + ".csv"
    summary = run_sweep(args.config, out, scheduler=args.scheduler, workers=args.workers, quiet=args.quiet)
    for line in summary.failures:
        print(f"markovgmm sweep: failed (no row written, retried next run): {line}", file=sys.stderr)
    if not args.quiet:
        print(
            f"sweep: {summary.cells} cells, {summary.already} already in the table, {summary.computed} computed, "
            f"{summary.refused} refused up front, {summary.failed} failed -> {out}"
        )
    return 1 if summary.failed else 0
