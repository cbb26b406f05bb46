"""``markovgmm demo``: the polarisation table of a small built-in family, exact and float."""

from __future__ import annotations

import time

from ._options import print_json

__all__ = ["register", "run", "demo_table", "DEFAULT_FAMILY"]

#: (agents, memory) pairs of the built-in family; K=2, r=1, sync, support, complete graph.
DEFAULT_FAMILY = tuple((m, N) for m in (2, 3) for N in range(4, 9))


def register(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="polarisation table of a small built-in family (exact and float side by side)",
        description="P(polarisation) from the most balanced start for m = 2..3 agents, N = 4..8, "
        "K = 2, r = 1, sync, support ownership, complete graph: exact rational and float64.",
    )
    parser.add_argument("--json", action="store_true", help='print {"version": ..., "rows": [...]} as JSON')
    parser.set_defaults(func=run)


def demo_table(family=DEFAULT_FAMILY):
    """Rows of the demo table: exact and float P(polarisation) and E[steps];
    ``polarization_abs_difference`` is ``|float - exact|``, the float path's
    actual error."""
    from ..analysis.absorption import absorption_probabilities
    from ..chain.build import build_chain
    from ..system import System, balanced_counts

    rows = []
    for m, N in family:
        system = System(agents=m, components=2, memory=N)
        start_counts = tuple(balanced_counts(N, 2) for _ in range(m))
        row = {"agents": m, "memory": N, "states": system.n_states}
        for exact in (True, False):
            began = time.perf_counter()
            chain = build_chain(system, exact=exact, lump="auto")  # exchangeable agents: solve on orbits
            row["lumped_states"] = chain.n_states if chain.lumped else None
            result = absorption_probabilities(chain, chain.index(start_counts))
            key = "exact" if exact else "float"
            row[f"polarization_{key}"] = result.polarization()
            row[f"expected_steps_{key}"] = result.expected_steps[0]
            row[f"seconds_{key}"] = round(time.perf_counter() - began, 4)
        row["polarization_abs_difference"] = abs(float(row["polarization_exact"]) - row["polarization_float"])
        rows.append(row)
    return rows


def run(args):
    from .. import __version__
    from ..numbers import fraction_str

    rows = demo_table()
    if args.json:
        print_json({"version": __version__, "rows": rows})
        return 0
    print("P(polarisation), K=2, r=1, sync, support ownership, complete graph, most balanced start")
    print(f"{'m':>2} {'N':>2} {'states':>6}  {'exact':<34} {'float64':<22} {'|diff|':<9} {'E[steps]':>9}")
    for row in rows:
        exact = row["polarization_exact"]
        fraction = fraction_str(exact)
        if len(fraction) > 24:
            fraction = f"{fraction[:10]}...{fraction[-10:]}"
        print(
            f"{row['agents']:>2} {row['memory']:>2} {row['states']:>6}  {float(exact):<.12f} {fraction:<23} "
            f"{row['polarization_float']:<22.17g} {row['polarization_abs_difference']:<9.1e} {float(row['expected_steps_exact']):>9.3f}"
        )
    print("exact: rational arithmetic (python-flint); float64: sparse LU; both on the chain lumped by the agents'")
    print("symmetry (exact, proofs/lumpability.md). Storm's exact engine agrees (tests).")
    return 0
