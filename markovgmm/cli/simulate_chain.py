"""``markovgmm simulate-chain``: Monte Carlo of the memory-replacement chain (docs/model.md 2-3)."""

from __future__ import annotations


from ..errors import InputError
from ..numbers import fraction_str
from ..progress import progress_bar
from ..system import state_text
from ._options import add_chain_options, check_count, check_seed, print_json, start_from_args, system_from_args

__all__ = ["register", "run", "run_mirror", "chain_value", "EXACT_STATE_LIMIT", "FLOAT_STATE_LIMIT"]

#: Largest chain (states) whose exact P(polarisation) is computed for comparison.
EXACT_STATE_LIMIT = 1500
#: Largest chain (states) whose float P(polarisation) is computed for comparison.
FLOAT_STATE_LIMIT = 20_000
#: Caps on the Monte Carlo's size: runs, steps per run, and their product times the agents.
MAX_RUNS = 10**8
MAX_STEPS = 10**8
MAX_WORK = 10**11


def register(subparsers):
    parser = subparsers.add_parser(
        "simulate-chain",
        help="Monte Carlo of the chain by actual draws: polarisation/consensus frequencies with intervals",
        description=(
            "Simulate the memory-replacement chain (docs/model.md 2) run by run, by actual draws, until absorption "
            "(docs/model.md 3), and compare with the exact value when the chain is small enough to solve."
        ),
    )
    add_chain_options(parser)
    parser.add_argument("--runs", type=int, default=10_000, help="number of runs (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--level", type=float, default=0.999, help="confidence level of the intervals (default 0.999)")
    parser.add_argument(
        "--interval", default="clopper-pearson", help="clopper-pearson (default, exact binomial) or wilson"
    )
    parser.add_argument("--max-steps", type=int, default=100_000, help="stop runs not absorbed after this many steps")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def chain_value(system, start_state):
    """P(polarisation) from the chain itself: ``(exact Fraction or None, float or None)``.

    Exact when the probabilities are rational and the chain has at most
    :data:`EXACT_STATE_LIMIT` states; float (also under ``gaussian``, on the
    quadrature kernel) up to :data:`FLOAT_STATE_LIMIT` states; else neither.
    """
    from ..system import log10_states
    import math

    if log10_states(system.agents, system.components, system.memory) > math.log10(FLOAT_STATE_LIMIT) + 1e-9:
        return None, None
    if system.n_states > FLOAT_STATE_LIMIT:
        return None, None
    from ..analysis.absorption import absorption_probabilities
    from ..chain.build import build_chain

    exact = system.exact_supported and system.n_states <= EXACT_STATE_LIMIT
    # On the orbits of the agents' symmetry group when it is nontrivial: the same
    # value (strong lumpability, proofs/lumpability.md) from far fewer states.
    chain = build_chain(system, exact=exact, lump="auto")
    value = absorption_probabilities(chain, chain.index(start_state)).polarization()
    if chain.exact:
        return value, float(value)
    return None, float(value)


def run(args):
    from ..simulate.chain_mc import simulate_chain

    if not 0 < args.level < 1:
        raise InputError(f"level must be in (0, 1), got {args.level}")
    check_count(args.runs, "runs", 1, MAX_RUNS)
    check_count(args.max_steps, "max-steps", 1, MAX_STEPS)
    check_seed(args.seed)
    if args.interval not in ("clopper-pearson", "wilson"):
        raise InputError(f"interval must be clopper-pearson or wilson, got {args.interval!r}")
    # The Monte Carlo enumerates no states: no cap on the chain's size, only on the work,
    # checked before System builds the m x m reading matrix.
    agents = args.agents if isinstance(args.agents, int) and args.agents > 0 else 1
    work = args.runs * args.max_steps * agents
    if work > MAX_WORK:
        raise InputError(
            f"runs: runs x max-steps x agents must be at most {MAX_WORK:.0e}, got {args.runs:,} x {args.max_steps:,} x "
            f"{agents} = {work:.1e}; lower --runs or --max-steps"
        )
    system = system_from_args(args, max_states=None)
    start_state = start_from_args(system, args)
    if system.model == "mirror":
        return run_mirror(args, system, start_state)
    with progress_bar(args.runs, "simulating", quiet=args.quiet, unit="runs") as bar:
        result = simulate_chain(
            system,
            start_state,
            runs=args.runs,
            seed=args.seed,
            max_steps=args.max_steps,
            level=args.level,
            interval=args.interval,
            progress=lambda done: bar.update(done - bar.n),
        )
    exact, value = chain_value(system, start_state)
    report = {"system": system.describe(), "start": [list(c) for c in start_state]}
    report.update(result.to_dict())
    lo, hi = report["polarization_ci"]
    report.update(_chain_keys(exact, value, lo, hi))
    if args.json:
        print_json(report)
        return 0
    print(f"system      {report['system']}")
    print(f"start       {state_text(start_state)}")
    print(f"runs        {result.runs:,} (seed {args.seed}), {result.unabsorbed:,} unabsorbed after {args.max_steps:,} steps")
    pct = f"{100 * args.level:g}%"
    print(f"P(polarisation)  {report['polarization_frequency']:.6g}   {pct} CI [{lo:.6g}, {hi:.6g}]")
    clo, chi = report["consensus_ci"]
    print(f"P(consensus)     {report['consensus_frequency']:.6g}   {pct} CI [{clo:.6g}, {chi:.6g}]")
    for k, f in enumerate(report["consensus_by_component_frequency"]):
        print(f"  on component {k:<3} {f:.6g}")
    if result.other:
        print(f"P(other)         {report['other_frequency']:.6g}")
    print(f"mean absorption steps  {report['mean_steps']:.6g} +- {report['mean_steps_standard_error']:.2g} (s.e.)")
    if exact is not None:
        verdict = "inside" if report["polarization_in_ci"] else "OUTSIDE"
        print(f"exact P(polarisation)  {float(exact):.12g}  [{fraction_str(exact)}]  {verdict} the interval")
    elif value is not None:
        verdict = "inside" if report["polarization_in_ci"] else "OUTSIDE"
        kind = "quadrature kernel, float" if system.ownership == "gaussian" else "float chain"
        print(f"chain P(polarisation)  {value:.12g} ({kind})  {verdict} the interval")
    return 0


def _chain_keys(exact, value, lo, hi):
    """The chain's own P(polarisation) beside the Monte Carlo (docs/json.md):
    ``polarization_exact`` (a Fraction, or None when not solved exactly),
    ``polarization_float`` (float64, or None when not solved), and
    ``polarization_in_ci``: whether the chain's value lies in the Monte Carlo's
    ``polarization_ci`` ``[lo, hi]`` (compared exactly when the value is exact;
    None when neither is known)."""
    from fractions import Fraction

    if exact is not None:
        inside = bool(Fraction(lo) <= exact <= Fraction(hi))
    elif value is not None:
        inside = bool(lo <= value <= hi)
    else:
        inside = None
    return {"polarization_exact": exact, "polarization_float": value, "polarization_in_ci": inside}


def mirror_chain_value(system, start_state):
    """Exact P(polarisation) of the mirroring chain from the lumped chain when it
    has at most :data:`EXACT_STATE_LIMIT` orbits, else None."""
    import math

    from ..chain.symmetry import agent_group, n_orbits
    from ..system import log10_states

    # orbits >= states / n!: skip the count when even that lower bound is over the limit
    if log10_states(system.agents, system.components, system.memory) - math.lgamma(system.agents + 1) / math.log(10) > 12:
        return None
    if n_orbits(agent_group(system), system.n_local_states) > EXACT_STATE_LIMIT:
        return None
    from ..analysis.absorption import absorption_probabilities
    from ..chain.build import build_chain

    chain = build_chain(system, exact=True, lump=True)
    return absorption_probabilities(chain, chain.index(start_state)).polarization()


def run_mirror(args, system, start_state):
    """``simulate-chain --model mirror``: the mirroring chain by actual draws
    (:func:`~markovgmm.simulate.mirror_chain_mc.simulate_mirror_chain`, which
    shares no code with the transition matrix), compared with the exact value
    when the lumped chain is small enough to solve."""
    from ..simulate.mirror_chain_mc import simulate_mirror_chain

    result = simulate_mirror_chain(
        system.agents, system.components, system.memory, system.neighbours, system.mirror,
        geometry=system.geometry, ties=system.ties, start=start_state, replicates=args.runs,
        max_steps=args.max_steps, seed=args.seed, quiet=args.quiet, level=args.level, interval=args.interval,
    )
    exact = mirror_chain_value(system, start_state)
    report = result.to_dict()
    report["parameters"] = report.pop("system")
    report = {"system": system.describe(), "start": [list(c) for c in start_state], **report}
    lo, hi = report["polarization_ci"]
    report.update(_chain_keys(exact, None if exact is None else float(exact), lo, hi))
    if args.json:
        print_json(report)
        return 0
    pct = f"{100 * args.level:g}%"
    print(f"system      {report['system']}")
    print(f"start       {state_text(start_state)}")
    print(f"runs        {result.replicates:,} (seed {args.seed}), {result.unabsorbed:,} unabsorbed after {args.max_steps:,} steps")
    print(f"P(polarisation)  {report['polarization_frequency']:.6g}   {pct} CI [{lo:.6g}, {hi:.6g}]")
    clo, chi = report["consensus_ci"]
    print(f"P(consensus)     {report['consensus_frequency']:.6g}   {pct} CI [{clo:.6g}, {chi:.6g}]")
    print(f"mean absorption steps  {report['mean_steps']:.6g} +- {report['mean_steps_standard_error']:.2g} (s.e.)")
    print("silos at absorption    " + ", ".join(f"{s}: {c}" for s, c in report["silos_at_absorption"].items()))
    if exact is not None:
        verdict = "inside" if report["polarization_in_ci"] else "OUTSIDE"
        print(f"exact P(polarisation)  {float(exact):.12g}  [{fraction_str(exact)}]  {verdict} the interval")
    return 0
