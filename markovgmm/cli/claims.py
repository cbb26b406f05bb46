"""``markovgmm claims``: check the convergence claims A1-A3 (docs/model.md 4) on one chain.

Exact rational arithmetic is the default here (the claims are identities and
limits that should be decided exactly); ``--float`` switches to float64.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import InputError
from ..numbers import to_fraction
from ..progress import progress_bar
from ..system import state_text
from ._options import add_chain_options, announce_cost, check_horizon, print_json, start_from_args, system_from_args
from .absorb import format_value

__all__ = ["register", "run"]


def register(subparsers):
    parser = subparsers.add_parser(
        "claims",
        help="check the convergence claims A1-A3 (one-step identity, iterated identity, limit of E||D_t||_F)",
        description=(
            "Build the memory-replacement chain (docs/model.md 2) and check seed 002's Appendix A claims (docs/model.md 4): "
            "A1 the one-step identity at every state, A2 the iterated identity up to the horizon, A3 the exact "
            "limit of E||D_t||_F and the Markov bound P(||D_t||_F > eps) <= E||D_t||_F / eps.  Exact by default."
        ),
    )
    add_chain_options(parser)
    arithmetic = parser.add_mutually_exclusive_group()
    arithmetic.add_argument("--exact", dest="exact", action="store_true", default=True, help="exact rational arithmetic (default)")
    arithmetic.add_argument("--float", dest="exact", action="store_false", help="float64 arithmetic (equalities up to 1e-12)")
    parser.add_argument("--horizon", type=int, default=50, help="steps of the per-step series (default 50)")
    parser.add_argument("--epsilon", default="1/2", help="eps of the Markov bound, a rational (default 1/2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (exact values as \"p/q\")")
    parser.add_argument(
        "--series",
        choices=("exact", "float", "none"),
        default="exact",
        help="per-step series in the JSON (series and A3.markov): exact rationals (default; megabytes for long horizons), floats, or none",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost line")
    parser.set_defaults(func=run)


def _short(value, exact):
    if isinstance(value, str):  # an exact radical form
        return value if len(value) <= 60 else f"{value[:28]}...{value[-28:]}"
    return format_value(value, exact)


def _as_floats(obj):
    """Fractions to floats, recursively (the ``--series float`` JSON)."""
    if isinstance(obj, Fraction):
        return float(obj)
    if isinstance(obj, dict):
        return {k: _as_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_as_floats(v) for v in obj]
    return obj


def run(args):
    from ..analysis.claims import claims_report
    from ..chain.build import build_chain

    check_horizon(args.horizon)
    epsilon = to_fraction(args.epsilon, "epsilon")
    if epsilon <= 0:
        raise InputError(f"epsilon must be a positive rational, got {args.epsilon}")
    system = system_from_args(args)
    if system.model != "pool":
        raise InputError("model: the claims A1-A3 are about the pool chain (docs/model.md 4); use absorb or bounds for --model mirror")
    start_state = start_from_args(system, args)
    announce_cost(system, args.quiet)
    chain = build_chain(system, exact=args.exact)
    start = chain.index(start_state)
    with progress_bar(args.horizon, "propagating", quiet=args.quiet, unit="steps") as bar:
        report = claims_report(chain, start, horizon=args.horizon, epsilon=epsilon, progress=lambda t: bar.update(t - bar.n))
    if args.json:
        # A3's per-step Markov rows are a series too: the same choice applies to them
        if args.series == "none":
            report.pop("series")
            report["A3"].pop("markov", None)
        elif args.series == "float":
            report["series"] = _as_floats(report["series"])
            if "markov" in report["A3"]:
                report["A3"]["markov"] = _as_floats(report["A3"]["markov"])
        print_json(report)
        return 0
    exact = chain.exact
    fmt = lambda v: _short(v, exact)  # noqa: E731
    a1, a2, a3 = report["A1"], report["A2"], report["A3"]
    print(f"system      {report['system']}")
    print(f"start       {state_text(report['start'])}")
    print(f"arithmetic  {'exact (rational)' if exact else 'float64'}")
    print()
    print(f"A1 one-step identity E[pi_i' - pi_j' | s] = {a1['factor']} (pi_i - pi_j)")
    print(f"  symbolic (sympy, N, r, m, counts as symbols): {'holds' if a1['symbolic']['holds'] else 'FAILS'}; "
          f"residual sync {a1['symbolic']['sync']['residual']}, async {a1['symbolic']['async']['residual']}")
    print(f"  on this chain: {'holds at every state' if a1['holds'] else 'fails'} "
          f"({a1['n_failing']:,} of {a1['n_states']:,} states fail; by reason: "
          + ", ".join(f"{k} {v:,}" for k, v in a1["reason_counts"].items())
          + (f"; UNEXPLAINED {a1['unexplained']}" if a1["unexplained"] else "")
          + ")")
    for item in a1["failing_states"][:5]:
        state = state_text(item["state"])
        print(f"    {state:<24} {'; '.join(item['reasons'])}")
    if a1["n_failing"] > 5:
        print(f"    ... {a1['n_failing'] - 5:,} more (--json lists all)")
    print()
    print(f"A2 iterated identity E[pi_i^t - pi_j^t] = ({a2['factor']})^t (pi_i^0 - pi_j^0), t <= {a2['horizon']}")
    if a2["holds"]:
        print("  holds at every step up to the horizon")
    else:
        t = a2["first_failure"]
        print(f"  first fails at t = {t}; largest gap at t={t}: {fmt(a2['gap'][t])}, at t={a2['horizon']}: {fmt(a2['gap'][-1])}")
    print()
    print("A3 lim E||D_t||_F = sum over closed classes P(class) ||D(class)||_F")
    print(f"  P(polarisation)        {fmt(a3['polarization'])}")
    print(f"  lim E||D_t||_F         {fmt(a3['limit_expected_frobenius'])}")
    if exact and a3["limit_expected_frobenius_interval"] is not None and not isinstance(a3["limit_expected_frobenius"], Fraction):
        print(f"    certified interval   [{a3['limit_expected_frobenius_interval'][0]}, {a3['limit_expected_frobenius_interval'][1]}]")
    if not a3["converges"]:
        print("  note: a periodic closed class with varying ||D||_F has positive probability; the value is the Cesaro limit")
    for group in a3["classes"]:
        squared = ", ".join(format_value(v, exact).split("  ")[0] for v in group["frobenius_squared"])
        print(f"    {group['kind']:<10} {group['n_classes']:>3} class(es)  ||D||_F^2 = {squared:<10} probability {format_value(group['probability'], exact)}")
    print(f"  {a3['verdict']}")
    print(f"  Markov bound P(||D_t||_F > {args.epsilon}) <= E||D_t||_F / {args.epsilon}:")
    print(f"    {'t':>5} {'exact probability':<22} {'bound':<22} holds")
    rows = a3["markov"]
    shown = sorted({0, 1, 2, 5, 10, 20, 50, 100, 200, len(rows) - 1} & set(range(len(rows))))
    for t in shown:
        row = rows[t]
        print(f"    {t:>5} {float(row['probability']):<22.12g} {row['bound_float']:<22.12g} {row['holds']}")
    series = report["series"]
    print()
    print(f"  {'t':>5} {'E||D_t||_F':<22} {'E||D_t||_F^2':<22}")
    for t in shown:
        row = series[t]
        print(f"  {t:>5} {row['expected_frobenius']['float']:<22.12g} {float(row['expected_frobenius_squared']):<22.12g}")
    return 0
