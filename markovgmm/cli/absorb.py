"""``markovgmm absorb``: absorption, polarisation and consensus from one start state."""

from __future__ import annotations

from ..analysis.absorption import absorb
from ..chain.build import build_chain
from ..errors import InputError
from ..numbers import fraction_str
from ..progress import progress_bar
from ..system import state_text
from ._options import add_chain_options, announce_cost, print_json, start_from_args, system_from_args

__all__ = ["register", "run", "run_certified", "run_certified_gaussian", "format_value"]


def register(subparsers):
    parser = subparsers.add_parser(
        "absorb",
        help="P(polarisation), P(consensus), closed classes and absorption time from a start state",
        description=(
            "Build the memory-replacement chain (MODEL.md 2), or with --model mirror the mirroring chain "
            "(MODEL.md 6.2), and report its absorption (MODEL.md 3, 6.2)."
        ),
    )
    add_chain_options(parser)
    parser.add_argument("--exact", action="store_true", help="exact rational arithmetic (default: float64)")
    parser.add_argument("--horizon", type=int, default=None, help="also report P(absorbed by step t), t <= HORIZON")
    parser.add_argument(
        "--lump",
        choices=("auto", "on", "off"),
        default="auto",
        help="lump states by the agents' symmetry group (auto: when W has a nontrivial symmetry; same results)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost line")
    parser.add_argument(
        "--certified",
        action="store_true",
        help="report intervals that provably contain P(polarisation) and P(consensus) (exact chain, float solves, "
        "exact certificate; keeps relative accuracy for tiny probabilities) instead of point values",
    )
    parser.set_defaults(func=run)


def format_value(value, exact):
    """Human form: floats to 12 digits; exact values as decimal and fraction."""
    if not exact:
        return f"{value:.12g}"
    text = fraction_str(value)
    if "/" not in text:
        return text
    if len(text) > 60:
        text = f"{text[:28]}...{text[-28:]}"
    return f"{float(value):.12g}  [{text}]"


def run(args):
    if args.horizon is not None and args.horizon < 0:
        raise InputError(f"horizon must be a nonnegative integer, got {args.horizon}")
    system = system_from_args(args)
    start_state = start_from_args(system, args)
    lump = {"auto": "auto", "on": True, "off": False}[args.lump]
    announce_cost(system, args.quiet, lump=lump)
    if args.certified and not system.exact_supported:
        return run_certified_gaussian(args, system, start_state)
    chain = build_chain(system, exact=args.exact or args.certified, lump=lump)
    if args.certified:
        return run_certified(args, chain, start_state)
    with progress_bar(None, "solving", quiet=args.quiet, unit="states") as bar:
        report = absorb(chain, start_state, horizon=args.horizon, progress=lambda done: bar.update(done - bar.n))
    if args.json:
        print_json(report)
        return 0
    fmt = lambda v: format_value(v, chain.exact)  # noqa: E731
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    print(f"arithmetic  {'exact (rational)' if chain.exact else 'float64'}")
    print(f"states      {report['states']:,} ({report['transient']:,} transient, {report['transitions']:,} transitions)")
    if chain.lumped:
        print(f"lumped      {report['lumped_states']:,} orbits of the agents' symmetry group {chain.group.describe()} "
              "(transient, transitions and classes counted on orbits)")
    print(f"P(polarisation)       {fmt(report['polarization'])}")
    print(f"P(consensus)          {fmt(report['consensus'])}")
    for k, value in enumerate(report["consensus_by_component"]):
        print(f"  on component {k:<6} {fmt(value)}")
    if report["other"]:
        print(f"P(other)              {fmt(report['other'])}")
    print(f"E[absorption steps]   {fmt(report['expected_steps'])}")
    mirror = chain.system.model == "mirror"
    if mirror:
        print("silos at absorption   " + ", ".join(f"{s}: {fmt(v)}" for s, v in report["silos_law"].items()))
    print("closed classes:")
    print(f"  {'kind':<10} {'silo sizes' if mirror else 'camp sizes':<12} {'probability':<24} state")
    for cls in report["classes"]:
        sizes = cls["silo_sizes"] if mirror else cls["camp_sizes"]
        sizes = ",".join(map(str, sizes)) if sizes else "-"
        state = state_text(cls["states"][0]) + (" ..." if len(cls["states"]) > 1 else "")
        value = f"{float(cls['probability']):.12g}"
        print(f"  {cls['kind']:<10} {sizes:<12} {value:<24} {state}")
    if args.horizon is not None:
        print("P(absorbed by step t):")
        for t, value in enumerate(report["absorption_time_cdf"]):
            print(f"  t={t:<5} {float(value):.12g}")
    return 0


def run_certified(args, chain, start_state):
    """``absorb --certified``: certified intervals (:func:`~markovgmm.analysis.certified.certified_absorb`)."""
    from ..analysis.certified import certified_absorb

    if args.horizon is not None:
        raise InputError("horizon: not available with --certified (the time distribution is exact with --exact)")
    targets = chain.system.components + 3  # polarisation, consensus, each component, other
    with progress_bar(targets, "certifying", quiet=args.quiet, unit="targets") as bar:
        intervals = certified_absorb(chain, chain.index(start_state), progress=lambda done: bar.update(done - bar.n))
    report = {
        "system": chain.system.describe(),
        "start": start_state,
        "arithmetic": "certified",
        "states": chain.n_full_states,
        "lumped_states": chain.n_states if chain.lumped else None,
        "transitions": chain.n_transitions,
        **intervals,
    }
    if args.json:
        print_json(report)
        return 0
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    print("arithmetic  certified (float solves, exact integer certificate; bounds rounded outward)")
    lumped = f", solved on {report['lumped_states']:,} orbits" if chain.lumped else ""
    print(f"states      {report['states']:,}{lumped}")

    def show(label, decimal, width):
        text = "exact" if width == 0 else ("unbounded" if width is None else f"{width:.2g}")
        print(f"{label:<22}[{decimal[0]}, {decimal[1]}]  relative width {text}")

    show("P(polarisation)", report["polarization_decimal"], report["relative_width"])
    show("P(consensus)", report["consensus_decimal"], report["consensus_relative_width"])
    for k, box in enumerate(report["consensus_by_component"]):
        show(f"  on component {k}", box["decimal"], box["relative_width"])
    if report["other"]["interval"] != ["0", "0"]:
        show("P(other)", report["other"]["decimal"], report["other"]["relative_width"])
    if not report["converged"]:
        print("note        refinement stopped before the requested width; the intervals are still valid")
    return 0


def run_certified_gaussian(args, system, start_state):
    """``absorb --certified --ownership gaussian``: interval value iteration over
    the box of chains allowed by a kernel enclosure
    (:func:`~markovgmm.chain.gaussian.gaussian_polarization_interval`)."""
    from ..chain.gaussian import gaussian_polarization_interval

    if args.horizon is not None:
        raise InputError("horizon: not available with --certified")
    box = gaussian_polarization_interval(system, start_state)
    width = box["upper"] - box["lower"]
    report = {
        "system": system.describe(),
        "start": start_state,
        "arithmetic": "certified",
        "polarization_interval": [box["lower"], box["upper"]],
        "relative_width": (width / box["lower"]) if box["lower"] > 0 else None,
        **{key: box[key] for key in ("iterations", "kernel_width", "states")},
    }
    if args.json:
        print_json(report)
        return 0
    print(f"system      {report['system']}")
    print(f"start       {state_text(start_state)}")
    print("arithmetic  certified (kernel enclosure + interval value iteration; float64 with a rounding margin)")
    print(f"P(polarisation)       [{box['lower']:.12g}, {box['upper']:.12g}]")
    return 0
