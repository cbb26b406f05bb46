"""Chain options shared by every command that builds a chain (absorb, claims, bounds, ...)."""

from __future__ import annotations

import json
import os
import re
import sys

from ..errors import InputError
from ..numbers import jsonable
from ..system import (
    GEOMETRIES,
    GRAPH_NAMES,
    MODELS,
    TIE_RULES,
    System,
    check_table_size,
    default_start,
    parse_start,
    read_edge_list,
)

__all__ = [
    "add_chain_options",
    "graph_from_args",
    "system_from_args",
    "start_from_args",
    "print_json",
    "announce_cost",
    "check_horizon",
    "check_seed",
    "check_count",
    "allow_negative_values",
    "MAX_HORIZON",
]

#: Largest horizon (steps of a time series, A2, LB1, the absorption-time CDF).
MAX_HORIZON = 10_000
#: Largest seed (numpy's SeedSequence takes any nonnegative integer; this keeps it printable).
MAX_SEED = 2**128 - 1


def check_horizon(value, name="horizon", low=0):
    """The shared validator of horizons: an integer from ``low`` to :data:`MAX_HORIZON`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_HORIZON:
        raise InputError(f"{name} must be {_integer_range(low, MAX_HORIZON)}, got {value!r}")
    return value


def check_seed(value, name="seed"):
    """A seed: ``None`` or an integer from 0 to 2^128 - 1 (numpy refuses negative seeds)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise InputError(f"{name} must be an integer from 0 to 2^128-1, got {value!r}")
    return value


def check_count(value, name, low, high):
    """An integer option from ``low`` to ``high`` (a size or a count of runs)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be {_integer_range(low, high)}, got {value!r}")
    return value


def _integer_range(low, high):
    """``a positive integer up to 10,000`` (the wording of the older one-sided checks, with the cap)."""
    kind = {0: "a nonnegative integer", 1: "a positive integer"}.get(low, f"an integer >= {low:,}")
    return f"{kind} up to {high:,}"


#: argparse reads ``--start -1,5;2,2`` as a missing value followed by an unknown
#: option; with this matcher a value that starts with a digit after ``-`` is a value.
_NEGATIVE_VALUE = re.compile(r"^-[0-9.][^=]*$")


def allow_negative_values(parser):
    """Let values such as ``-1,5;2,2`` or ``-1`` follow an option (they are then
    refused by the option's own check, naming it, instead of by argparse)."""
    parser._negative_number_matcher = _NEGATIVE_VALUE


def add_chain_options(parser):
    """Add the options that describe a system (docs/model.md 2)."""
    allow_negative_values(parser)
    group = parser.add_argument_group("chain")
    group.add_argument("--agents", "-m", type=int, default=2, help="number of agents m (default 2)")
    group.add_argument("--components", "-K", type=int, default=2, help="number of components K (default 2)")
    group.add_argument("--memory", "-N", type=int, default=4, help="memory size N (default 4)")
    group.add_argument("--replace", "-r", type=int, default=1, help="items replaced per update r (default 1)")
    group.add_argument("--schedule", default="sync", help="sync (default) or async")
    group.add_argument("--ownership", default="support", help="support (default), open or gaussian (float and --certified only)")
    group.add_argument("--prune", type=int, default=0, help="pruning threshold tau (default 0 = off)")
    group.add_argument(
        "--graph",
        default="complete",
        help=f"reading graph: {', '.join(GRAPH_NAMES)} or an edge-list FILE (default complete)",
    )
    group.add_argument("--directed", action="store_true", help="read an edge-list FILE as directed (u v: v reads u)")
    group.add_argument("--open-neighbourhood", action="store_true", help="agents do not read their own posts")
    group.add_argument("--weighted", action="store_true", help="weigh authors by the edge-list FILE's third column")
    group.add_argument(
        "--start",
        default=None,
        help='start counts "c11,c12;c21,c22;..." (default: most balanced; --model mirror: agent i at vertex i mod K)',
    )
    mirror = parser.add_argument_group("mirroring network (--model mirror, docs/model.md 6.2; --memory is the store size r)")
    mirror.add_argument("--model", default="pool", choices=MODELS, help="pool (default, docs/model.md 2) or mirror (docs/model.md 6.2)")
    mirror.add_argument("--neighbours", type=int, default=1, help="k: partners among the k nearest agents (default 1)")
    mirror.add_argument("--mirror", default="0", help="p: probability of querying oneself, exact, e.g. 1/2 (default 0)")
    mirror.add_argument("--geometry", default="line", help=f"component means: {', '.join(GEOMETRIES)} (default line)")
    mirror.add_argument("--ties", default="clipped", help=f"ranking of equal distances: {', '.join(TIE_RULES)} (default clipped)")


def graph_from_args(args):
    """``--graph``: a graph name as it is, or the graph read from an edge-list file."""
    graph = args.graph
    if graph not in GRAPH_NAMES:
        if not graph or not os.path.isfile(graph):
            raise InputError(f"graph must be one of {', '.join(GRAPH_NAMES)} or an existing edge-list file, got {graph!r}")
        graph = read_edge_list(graph, directed=args.directed)
    else:
        for flag, given in (("--directed", getattr(args, "directed", False)), ("--weighted", getattr(args, "weighted", False))):
            if given:
                raise InputError(f"{flag.lstrip('-')}: applies to an edge-list FILE given as --graph only, got --graph {graph}")
    return graph


def system_from_args(args, max_states="default"):
    """The :class:`System` the chain options describe; ``max_states`` as in
    :class:`System` (``None`` for the Monte Carlo, which enumerates no states)."""
    limit = {} if max_states == "default" else {"max_states": max_states}
    # Options of the calling command checked here so every chain command refuses them the same way.
    check_horizon(getattr(args, "horizon", None))
    if getattr(args, "certified", False) and getattr(args, "exact", False) is True and "absorb" in str(getattr(args, "command", "")):
        raise InputError("certified: gives intervals from an exact chain; leave out --exact (it cannot be combined with --certified)")
    if getattr(args, "model", "pool") == "mirror":
        if args.weighted or args.directed:
            raise InputError(
                f"{'weighted' if args.weighted else 'directed'}: not a parameter of --model mirror "
                "(partners are the k nearest agents, docs/model.md 6.2)"
            )
    # One set of chain options for both models; System refuses the ones a model does not take.
    common = dict(
        agents=args.agents,
        components=args.components,
        memory=args.memory,
        replace=args.replace,
        schedule=args.schedule,
        ownership=args.ownership,
        prune=args.prune,
        closed_neighbourhood=not args.open_neighbourhood,
        edge_weight="weight" if args.weighted else None,
        **limit,
    )
    if getattr(args, "model", "pool") == "mirror":
        return System(
            model="mirror", graph=args.graph, neighbours=args.neighbours, mirror=args.mirror,
            geometry=args.geometry, ties=args.ties, **common,
        )
    return System(graph=graph_from_args(args), **common)


def start_from_args(system, args):
    if args.start is None:
        return default_start(system)
    return system.check_state(parse_start(args.start, system.agents, system.components, system.memory))


def print_json(obj):
    """Print a command's JSON object; every object gets a ``version`` field
    (the package version, docs/json.md) unless it already has one."""
    if isinstance(obj, dict) and "version" not in obj:
        from .. import __version__

        obj = {**obj, "version": __version__}
    print(json.dumps(jsonable(obj), indent=2))


def announce_cost(system, quiet=False, lump=False):
    """Say what a large build will cost before starting it (stderr); ``lump``
    as in :func:`~markovgmm.chain.build.build_chain`."""
    from ..chain.build import estimate_cost

    check_table_size(system)  # closed form, before estimate_cost tabulates one agent
    lumped, group = False, None
    if lump:
        from ..chain.symmetry import agent_group

        group = agent_group(system)
        lumped = lump is True or not group.trivial
    cost = estimate_cost(system, lumped=lumped, group=group if lumped else None)
    if cost["states"] >= 50_000 and not quiet:
        print(
            f"markovgmm: building {cost['states']:,} {'orbits' if lumped else 'states'}, up to {cost['transitions']:,} transitions "
            f"(about {cost['bytes'] / 2**20:,.0f} MiB)",
            file=sys.stderr,
        )
    return cost
