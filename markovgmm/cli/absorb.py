"""``markovgmm absorb``: absorption, polarisation and consensus from one start state."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

from ..errors import InputError
from ._options import add_chain_options, announce_cost, print_json, start_from_args, system_from_args

__all__ = ["register", "run", "run_certified", "run_certified_gaussian", "format_value", "float_check", "CHECK_STATE_LIMIT"]

#: ``--check auto`` checks the float answer against a certified enclosure up to this many (lumped) states.
CHECK_STATE_LIMIT = 200_000
#: A float value is replaced by the certified one when its proven relative error exceeds this.
RELIABLE_RTOL = 1e-6


def register(subparsers):
    parser = subparsers.add_parser(
        "absorb",
        help="P(polarisation), P(consensus), closed classes and absorption time from a start state",
        description=(
            "Build the memory-replacement chain (docs/model.md 2), or with --model mirror the mirroring chain "
            "(docs/model.md 6.2), and report its absorption (docs/model.md 3, 6.2)."
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
    parser.add_argument(
        "--figure",
        default=None,
        metavar="FILE",
        help="also write a PNG: bars of P(consensus on each component), P(polarisation), P(other), "
        "and with --horizon P(absorbed by step t) (not with --certified)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost line")
    parser.add_argument(
        "--certified",
        action="store_true",
        help="report intervals that provably contain P(polarisation) and P(consensus) (exact chain, float solves, "
        "exact certificate; keeps relative accuracy for tiny probabilities) instead of point values; with "
        "--ownership gaussian (means on a line): P(polarisation) only, from ball-arithmetic kernel bounds",
    )
    parser.add_argument(
        "--check",
        choices=("auto", "on", "off"),
        default="auto",
        help="float path: prove each probability's error with a certified enclosure and replace values float64 "
        f"cannot vouch for (auto: rational chains up to {CHECK_STATE_LIMIT:,} states; off: an error estimate only)",
    )
    parser.set_defaults(func=run)


def format_value(value, exact, error=None):
    """Human form.  Exact values: decimal and fraction.  Floats: only the
    digits that ``error`` (an absolute error bound or estimate) vouches for,
    with ``± error`` beside; without ``error``, 6 significant digits."""
    if not exact:
        return _float_text(float(value), error)
    from ..numbers import fraction_str

    text = fraction_str(value)
    if "/" not in text:
        return text
    if len(text) > 60:
        text = f"{text[:28]}...{text[-28:]}"
    return f"{float(value):.12g}  [{text}]"


def _float_text(value, error):
    if error is None:
        return f"{value:.6g}"
    if error == 0:
        return f"{value:.17g}"
    if abs(value) <= error:
        return f"{value:.1e} ± {error:.1e} (no digit certain)"
    digits = max(1, min(17, int(math.floor(math.log10(abs(value)) - math.log10(error))) + 1))
    return f"{value:.{digits}g} ± {error:.1e}"


def _quantities(report):
    """(name, float value) of every probability the report states from the start."""
    pairs = [("polarization", report["polarization"]), ("consensus", report["consensus"])]
    by_component = report["consensus_by_component"]
    if by_component is not None:
        pairs += [(f"consensus_on_{k}", v) for k, v in enumerate(by_component)]
    return pairs + [("other", report["other"])]


def float_check(system, chain, start_state, report, mode="auto", lump="auto", progress=None):
    """Error statement of a float ``absorb`` report (issue 13: a float value
    is never printed without one).

    Where the probabilities are rational and the chain has at most
    :data:`CHECK_STATE_LIMIT` states (``mode="auto"``; ``"on"``: any size),
    the exact chain is built and
    :func:`~markovgmm.analysis.certified.certified_absorb` encloses each
    probability; the error of the float value is then proven:
    ``max(|v - lo|, |v - hi|)`` rounded up.  A value outside ``[0, 1]`` or
    with proven relative error above :data:`RELIABLE_RTOL` is replaced in
    ``report`` by the certified midpoint, and the float value kept under
    ``<name>_float``.  Otherwise (``"off"``, Gaussian ownership, too large)
    the error is an estimate, ``64 eps (1 + E[steps])`` (the condition of
    ``I - Q`` is at most twice the largest expected absorption time), and a
    value outside ``[0, 1]`` is flagged unreliable.

    Returns a dict ``{"method": "certified" | "estimate", "errors": {name:
    float}, "unreliable": [names], "replaced": [names], "intervals": {name:
    [lo, hi]}}``; ``errors`` are absolute.
    """
    values = dict(_quantities(report))
    n = chain.n_states
    certify = system.exact_supported and (mode == "on" or (mode == "auto" and n <= CHECK_STATE_LIMIT))
    check = {"method": "certified" if certify else "estimate", "errors": {}, "unreliable": [], "replaced": [], "intervals": {}}
    if not certify:
        estimate = 64 * 2.0**-52 * (1 + abs(float(report["expected_steps"])))
        for name, value in values.items():
            check["errors"][name] = estimate
            if not 0 <= value <= 1 or 0 < abs(value) < estimate:  # an exact 0 is a sum over no class
                check["unreliable"].append(name)
        return check
    from ..analysis.certified import certified_absorb
    from ..chain.build import build_chain

    exact_chain = build_chain(system, exact=True, lump=lump)
    boxes = certified_absorb(exact_chain, start_state, rtol=1e-9, progress=progress)
    intervals = {
        "polarization": boxes["polarization_interval"],
        "consensus": boxes["consensus_interval"],
        "other": boxes["other"]["interval"],
        **{f"consensus_on_{k}": box["interval"] for k, box in enumerate(boxes["consensus_by_component"])},
    }
    for name, value in values.items():
        if name not in intervals:
            continue
        lo, hi = (Fraction(x) for x in intervals[name])
        exact_value = Fraction(value) if math.isfinite(value) else None
        error = float(max(abs(exact_value - lo), abs(exact_value - hi))) * (1 + 2.0**-50) if exact_value is not None else math.inf
        check["errors"][name] = error
        check["intervals"][name] = [str(lo), str(hi)]
        middle = (lo + hi) / 2
        if not 0 <= value <= 1 or error > RELIABLE_RTOL * float(middle):
            check["unreliable"].append(name)
            check["replaced"].append(name)
            check["errors"][name] = float(hi - lo) * (1 + 2.0**-50)
            _replace(report, name, value, float(middle))
    return check


def _replace(report, name, old, new):
    """Put the certified value ``new`` in place of the float ``old``; keep ``old`` as ``<name>_float``."""
    report[f"{name}_float"] = old
    if name.startswith("consensus_on_"):
        report["consensus_by_component"][int(name.rsplit("_", 1)[1])] = new
    else:
        report[name] = new


def run(args):
    from .. import __version__
    from ..progress import progress_bar

    if args.horizon is not None and args.horizon < 0:
        raise InputError(f"horizon must be a nonnegative integer, got {args.horizon}")
    if getattr(args, "figure", None) is not None:
        from ..plots import check_png_path

        if args.certified:
            raise InputError("figure: not available with --certified (the figure draws point values; use --exact)")
        check_png_path(args.figure)
    system = system_from_args(args)
    start_state = start_from_args(system, args)
    lump = {"auto": "auto", "on": True, "off": False}[args.lump]
    cost = announce_cost(system, args.quiet, lump=lump)
    if args.certified and not system.exact_supported:
        return run_certified_gaussian(args, system, start_state)
    from ..analysis.absorption import absorb
    from ..chain.build import build_chain

    exact = args.exact or args.certified
    if args.certified and lump and _streamed_certificate(system, cost["bytes"]):
        # the exact numerators would not fit: float chain, exact rows regenerated per exact product
        from ..chain.lumped import build_streamed_chain
        from ..chain.build import estimate_cost

        streamed_cost = estimate_cost(system, lumped=True, streamed=True)
        if not args.quiet:
            print(
                f"markovgmm: the stored exact chain and its certificate would not fit in memory; building the float chain (about "
                f"{streamed_cost['bytes'] / 2**20:,.0f} MiB) and streaming the exact rows: each exact product of the "
                "certificate is one more pass of the exact build (usually 3-4 passes)",
                file=sys.stderr,
            )
        with progress_bar(cost["states"], "building", quiet=args.quiet, unit="states") as bar:
            chain = build_streamed_chain(system, progress=lambda done: bar.update(done - bar.n))
        return run_certified(args, chain, start_state)
    with progress_bar(cost["states"], "building", quiet=args.quiet, unit="states") as bar:
        chain = build_chain(system, exact=exact, lump=lump, progress=lambda done: bar.update(done - bar.n))
    if args.certified:
        return run_certified(args, chain, start_state)
    # The total is the chain's size: the transient states reachable from the start are at most that many.
    with progress_bar(chain.n_states, "solving", quiet=args.quiet, unit="states") as bar:
        report = absorb(chain, start_state, horizon=args.horizon, progress=lambda done: bar.update(done - bar.n))
    report["version"] = __version__
    check = None
    if not chain.exact:
        targets = system.components + 3  # polarisation, consensus, each component, other
        with progress_bar(targets, "checking (certified)", quiet=args.quiet, unit="targets") as bar:
            check = float_check(
                system, chain, start_state, report, mode=args.check, lump=lump, progress=lambda done: bar.update(done - bar.n)
            )
        report["float_check"] = check
    if getattr(args, "figure", None) is not None:
        from ..plots import plot_absorption

        plot_absorption(report, path=args.figure)
    if args.json:
        print_json(report)
        return 0
    from ..system import state_text

    errors = check["errors"] if check else {}
    fmt = lambda v, name=None: format_value(v, chain.exact, errors.get(name) if check else None)  # noqa: E731
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    if chain.exact:
        print("arithmetic  exact (rational)")
    elif check["method"] == "certified":
        print("arithmetic  float64; each probability's error proven by a certified enclosure (± is that bound)")
    else:
        print("arithmetic  float64; ± is an error estimate (64 eps (1 + E[steps])), not a proof")
    print(f"states      {report['states']:,} ({report['transient']:,} transient, {report['transitions']:,} transitions)")
    if chain.lumped:
        print(f"lumped      {report['lumped_states']:,} orbits of the agents' symmetry group {chain.group.describe()} "
              "(transient, transitions and classes counted on orbits)")
    print(f"P(polarisation)       {fmt(report['polarization'], 'polarization')}")
    print(f"P(consensus)          {fmt(report['consensus'], 'consensus')}")
    for k, value in enumerate(report["consensus_by_component"] or []):
        print(f"  on component {k:<6} {fmt(value, f'consensus_on_{k}')}")
    if report["other"]:
        print(f"P(other)              {fmt(report['other'], 'other')}")
    print(f"E[absorption steps]   {fmt(report['expected_steps'])}")
    if check:
        for name in check["replaced"]:
            print(f"note        float64 gave {name} = {report[name + '_float']:.3g}, which it cannot vouch for; "
                  f"the value shown is certified, in [{_short(check['intervals'][name][0])}, {_short(check['intervals'][name][1])}]")
        for name in set(check["unreliable"]) - set(check["replaced"]):
            print(f"warning     float64 {name} is unreliable (outside [0, 1] or below its error estimate "
                  f"{check['errors'][name]:.1e}); use --exact or --certified")
    # Class probabilities come from the same float solve: their error is of the order of the largest one above.
    class_error = max(errors.values()) if errors else None
    mirror = chain.system.model == "mirror"
    if mirror:
        print("silos at absorption   " + ", ".join(f"{s}: {fmt(v)}" for s, v in report["silos_law"].items()))
    note = "" if chain.exact else f" (float64, error about {class_error:.1e})"
    print(f"closed classes{note}:")
    print(f"  {'kind':<10} {'silo sizes' if mirror else 'camp sizes':<12} {'probability':<24} state")
    for cls in report["classes"]:
        sizes = cls["silo_sizes"] if mirror else cls["camp_sizes"]
        sizes = ",".join(map(str, sizes)) if sizes else "-"
        state = state_text(cls["states"][0]) + (" ..." if len(cls["states"]) > 1 else "")
        value = f"{float(cls['probability']):.12g}" if chain.exact else _class_text(float(cls["probability"]), class_error)
        print(f"  {cls['kind']:<10} {sizes:<12} {value:<24} {state}")
    if args.horizon is not None:
        print("P(absorbed by step t):")
        for t, value in enumerate(report["absorption_time_cdf"]):
            print(f"  t={t:<5} {float(value):.12g}" if chain.exact else f"  t={t:<5} {_class_text(float(value), class_error)}")
    return 0


def _class_text(value, error):
    """A float to the absolute precision ``error``: ``0.123457``, or ``< 1e-14`` when below it."""
    if not error:
        return f"{value:.6g}"
    if abs(value) < error:
        return f"< {error:.0e}"
    places = max(0, min(17, -int(math.floor(math.log10(error)))))
    return f"{value:.{places}f}"


def _short(text):
    return text if len(text) <= 40 else f"{float(Fraction(text)):.6e}"


#: The stored certificate's peak over the stored exact build's estimate (measured 2.6x at m = 9 and 10, N = 8:
#: the exact kernel's int64 pieces, their CSR copies and the float matrix come on top of the build).
STORED_CERTIFICATE_FACTOR = 3


def _streamed_certificate(system, stored):
    """True when ``absorb --certified`` should stream the exact rows: the
    streamed build (:func:`~markovgmm.chain.lumped.build_streamed_chain`)
    applies and the stored exact lumped build (``stored`` bytes, the estimate
    :func:`~markovgmm.cli._options.announce_cost` already made: lumped
    whenever streaming applies), times :data:`STORED_CERTIFICATE_FACTOR`
    for its certificate, would exceed the memory limit (60% of RAM)."""
    from ..chain.assembly import _total_memory
    from ..chain.lumped import streaming_applies

    if not streaming_applies(system):
        return False
    return STORED_CERTIFICATE_FACTOR * stored > 0.6 * _total_memory()


def run_certified(args, chain, start_state):
    """``absorb --certified``: certified intervals (:func:`~markovgmm.analysis.certified.certified_absorb`)."""
    from .. import __version__
    from ..analysis.certified import certified_absorb
    from ..progress import progress_bar
    from ..system import state_text

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
        # JSON keys spell polarized with a z (docs/json.md); the library's targets are named by class kind
        "refinements": {("polarized" if k == "polarised" else k): v for k, v in intervals["refinements"].items()},
        "polarization_relative_width": intervals["relative_width"],
        "exact_rows": "streamed" if getattr(chain, "exact_rows", None) is not None else "stored",
        "version": __version__,
    }
    if args.json:
        print_json(report)
        return 0
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    print("arithmetic  certified (float solves, exact integer certificate; bounds rounded outward)")
    if report["exact_rows"] == "streamed":
        print("certificate adjoint, one solve for every target; exact rows streamed, never stored")
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
    if report.get("expected_steps_decimal") is not None:
        lo, hi = (Fraction(x) for x in report["expected_steps_interval"])
        show("expected steps", report["expected_steps_decimal"], float((hi - lo) / lo) if lo > 0 else (0 if hi == 0 else None))
    if not report["converged"]:
        print("note        refinement stopped before the requested width; the intervals are still valid")
    return 0


def run_certified_gaussian(args, system, start_state):
    """``absorb --certified --ownership gaussian``: interval value iteration over
    the box of chains allowed by a kernel enclosure
    (:func:`~markovgmm.chain.gaussian.gaussian_polarization_interval`)."""
    from .. import __version__
    from ..chain.gaussian import gaussian_polarization_interval
    from ..system import state_text

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
        "version": __version__,
    }
    report["polarization_relative_width"] = report["relative_width"]
    if args.json:
        print_json(report)
        return 0
    print(f"system      {report['system']}")
    print(f"start       {state_text(start_state)}")
    print("arithmetic  certified (ball-arithmetic kernel enclosure, exact transition bounds, fixed-point interval value iteration)")
    print(f"P(polarisation)       [{box['lower']:.12g}, {box['upper']:.12g}]")
    return 0
