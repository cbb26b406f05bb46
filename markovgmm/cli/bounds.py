"""``markovgmm bounds``: lower (and upper) bounds LB1-LB3 on P(polarisation),
compared with the exact value (docs/model.md 4)."""

from __future__ import annotations

from ..errors import InputError
from ..progress import progress_bar
from ..system import state_text
from ._options import add_chain_options, announce_cost, check_count, check_horizon, print_json, start_from_args, system_from_args
from .absorb import format_value

__all__ = ["register", "run", "MAX_PATHS"]

#: Largest k of the LB2 top-k path bound.
MAX_PATHS = 10_000


def register(subparsers):
    parser = subparsers.add_parser(
        "bounds",
        help="lower bounds LB1-LB3 on P(polarisation) against the exact value",
        description=(
            "Horizon bounds (LB1), first-passage path bounds (LB2) and the closed form (LB3, m=2, K=2, r=1, "
            "sync, complete graph, support) on P(polarisation), each compared with the exact value "
            "(docs/model.md 4).  Exact rational arithmetic by default; every comparison is exact."
        ),
    )
    add_chain_options(parser)
    parser.add_argument("--horizon", type=int, default=50, help="horizon bounds for T <= HORIZON (default 50)")
    parser.add_argument("--paths", type=int, default=5, help="sum the K most probable first-passage paths (default 5)")
    parser.add_argument("--float", action="store_true", help="float64 arithmetic (faster; comparisons not certified)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost line")
    parser.set_defaults(func=run)


def run(args):
    from ..analysis.bounds import bounds_report
    from ..chain.build import build_chain

    check_horizon(args.horizon)
    check_count(args.paths, "paths", 1, MAX_PATHS)
    system = system_from_args(args)
    start_state = start_from_args(system, args)
    announce_cost(system, args.quiet)
    chain = build_chain(system, exact=not args.float)
    start = chain.index(start_state)
    with progress_bar(args.horizon, "propagating", quiet=args.quiet, unit="steps") as bar:
        report = bounds_report(
            chain, start, horizon=args.horizon, paths=args.paths, progress=lambda t: bar.update(t - bar.n)
        )
    if system.model == "mirror":
        _add_mirror_bound(report, system, start_state, chain.exact)
    if args.json:
        print_json(report)
        return 0
    print_report(report, chain.exact)
    return 0


def _add_mirror_bound(report, system, start_state, exact):
    """The mirroring chain's closed-form lower bound (proofs/mirror_lower_bound.md)
    in place of LB3, which is a statement about the pool chain: JSON
    ``mirror_closed_form`` (None with ``mirror_closed_form_applies`` saying
    why, when the start is not an all-vertex state) and its ratio to the exact
    value."""
    from ..analysis.bounds import _ratio
    from ..analysis.mirror_bounds import mirror_polarization_lower_bound

    try:
        bound = mirror_polarization_lower_bound(
            system.agents, system.components, system.memory, system.neighbours, system.mirror,
            geometry=system.geometry, ties=system.ties, start=start_state,
        )
        report["mirror_closed_form_applies"] = None
    except InputError as err:
        bound = None
        report["mirror_closed_form_applies"] = str(err)
    report["mirror_closed_form"] = bound
    report["ratio"]["mirror_closed_form"] = _ratio(bound, report["polarization"]) if bound is not None else None
    if report["checks"] is not None and bound is not None:
        report["checks"]["mirror_closed_form <= exact"] = bound <= report["polarization"]
        report["checks"]["all"] = all(v for key, v in report["checks"].items() if key != "all" and v is not None)


def _ratio_text(value):
    return "-" if value is None else f"{float(value):.6g}"


def _value_text(value, exact):
    if value is None:
        return "n/a"
    text = format_value(value, exact)
    if len(text) > 40:  # a long exact fraction: the decimal, marked exact (--json has the fraction)
        text = f"{float(value):.12g}  [exact]"
    return text


def print_report(report, exact):
    fmt = lambda v: _value_text(v, exact)  # noqa: E731
    ratio = report["ratio"]
    T = report["horizon"]["T"]
    path = report["path"]
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    print(f"arithmetic  {'exact (rational)' if exact else 'float64 (comparisons not certified)'}")
    print(f"P(polarisation) exact            {fmt(report['polarization'])}")
    print(f"{'bound':<34} {'value':<40} ratio to exact")
    rows = [
        (f"LB1 lower, T={T}", report["horizon"]["lower"][-1], ratio["horizon.lower"]),
        (f"LB1 upper, T={T}", report["horizon"]["upper"][-1], ratio["horizon.upper"]),
        (f"LB2 best path ({path['best_steps']} steps)" if path["best_steps"] is not None else "LB2 best path", path["best"], ratio["path.best"]),
        (f"LB2 top {path['k']} paths ({path['found']} found)", path["top_k"], ratio["path.top_k"]),
        ("LB3 closed form", report["closed_form"], ratio["closed_form"]),
        ("LB3 two-phase", report["closed_form_two_phase"], ratio["closed_form_two_phase"]),
    ]
    if "mirror_closed_form" in report:  # LB3 is the pool chain's; the mirroring chain has its own closed form
        rows = rows[:4] + [("mirror closed form", report["mirror_closed_form"], ratio["mirror_closed_form"])]
    for name, value, r in rows:
        print(f"{name:<34} {fmt(value):<40} {_ratio_text(r)}")
    if report.get("mirror_closed_form_applies"):
        print(f"  (mirror closed form does not apply: {report['mirror_closed_form_applies']})")
    if report["closed_form_applies"] is not None and "mirror_closed_form" not in report:
        print(f"  (LB3 does not apply: {report['closed_form_applies']})")
    checks = report["checks"]
    if checks is None:
        print("checks      not certified on the float path; run without --float to compare exactly")
    else:
        failed = [name for name, ok in checks.items() if ok is False and name != "all"]
        print("checks      " + ("all hold (exact rational comparisons)" if not failed else "FAILED: " + "; ".join(failed)))
    if T > 0:
        print("horizon bounds (T: lower .. upper):")
        lower, upper = report["horizon"]["lower"], report["horizon"]["upper"]
        step = max(1, T // 10)
        for t in sorted(set(range(0, T + 1, step)) | {T}):
            print(f"  T={t:<5} {float(lower[t]):.12g} .. {float(upper[t]):.12g}")
