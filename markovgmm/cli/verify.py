"""``markovgmm verify``: claims A1-A3 and bounds LB1-LB3 over a family of systems (docs/model.md 4)."""

from __future__ import annotations

import json
import os

from ..errors import InputError
from ..numbers import to_fraction
from ..progress import progress_bar
from ..system import state_text
from ..system import check_table_size, parse_start
from ._options import check_count, check_horizon, print_json
from .bounds import MAX_PATHS

__all__ = ["register", "run", "read_config", "format_table"]


def register(subparsers):
    parser = subparsers.add_parser(
        "verify",
        help="check claims A1-A3 and bounds LB1-LB3 over a family of systems",
        description=(
            "For each system of a family (a small built-in one, or --config FILE), check the convergence claims "
            "A1-A3 of seed 002 and the lower bounds LB1-LB3 on P(polarisation) against the exact value, and print "
            "a table of holds / fails / bound tightness, and where seed 002's Appendix A argument breaks "
            "(docs/model.md 4).  Exact rational arithmetic unless an entry says \"exact\": false."
        ),
    )
    parser.add_argument(
        "--config",
        default=None,
        help='JSON file: a list of systems, e.g. [{"agents": 2, "components": 2, "memory": 4, "start": "2,2;2,2"}]',
    )
    parser.add_argument("--horizon", type=int, default=20, help="horizon of A2 and LB1 (default 20)")
    parser.add_argument("--paths", type=int, default=5, help="k of the LB2 path bound (default 5)")
    parser.add_argument("--epsilon", default="1/2", help="eps of A3's Markov bound (default 1/2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--full", action="store_true", help="with --json, include the full claims and bounds reports")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--theorem",
        default=None,
        metavar="NAME",
        help=(
            "instead of the family table, check one theorem family (issue 11): voter, graphs, order, rate, "
            "decay (P(polarisation) and absorption time against N; --memories up to 400) or camps (camp laws "
            "for m = 2..8 against the mean field); see markovgmm.analysis.theorems, .decay, .camps"
        ),
    )
    parser.add_argument(
        "--max-agents",
        type=int,
        default=4,
        help="graphs: connected atlas graphs on 2..NUM agents, recomputed exactly (default 4: a few seconds at "
        "the default N=4; 5 adds 21 graphs, from 0.5 s to over 15 min each at N=4 and more than 5 min each at N=5 "
        "on the loaded 2-core machine; the full m<=5, N=4..8 grid is precomputed: --grid)",
    )
    parser.add_argument(
        "--grid",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="graphs: instead of recomputing, read the precomputed grid (default docs/graphs_grid.json, written by "
        "benchmarks/run_graphs_grid.py: m=2..5, N=4..8, exact or certified per entry) and rank it, verdict and "
        "counterexamples per (m, N), without solving anything; --max-agents and --memories are then ignored",
    )
    parser.add_argument(
        "--certified",
        action="store_true",
        help="graphs: recompute with certified float intervals (relative width 1e-12) instead of exact rationals; "
        "m=5, N=8 up to 90 s per graph on the loaded 2-core machine",
    )
    parser.add_argument(
        "--memories",
        default=None,
        help="graphs / order: comma-separated memory sizes N (default graphs 4, order 2,3,4,5,6; "
        "graphs exact at m=4 cost up to 26 s per graph at N=6 and more at N=7, 8 on the loaded 2-core machine; "
        "--max-agents 5 --memories 4,5,6,7,8 recomputes the whole grid: exact it is out of reach (m=5: over 5 min "
        "per graph at N=5), with --certified about 20 min; --grid reads it instead)",
    )
    parser.set_defaults(func=run)


#: Defaults of a config entry, as on the command line (``--agents 2 --components 2 --memory 4``).
ENTRY_DEFAULTS = {"agents": 2, "components": 2, "memory": 4}
#: Most systems one config may list, and largest config file read (bytes).
MAX_ENTRIES = 1000
MAX_CONFIG_BYTES = 16 * 2**20


def read_config(path):
    """The list of system entries in a JSON config file, each checked (and
    ``agents``, ``components``, ``memory`` defaulted as on the command line)
    before any chain is built."""
    try:
        if os.path.isdir(path):
            raise InputError(f"config: must be a JSON file, got the directory {path!r}")
        if os.path.exists(path) and os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise InputError(f"config: must be a JSON file of at most {MAX_CONFIG_BYTES // 2**20} MiB, got {path!r}")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as err:
        raise InputError(f"config: cannot read {path!r} ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"config: {path} is not valid JSON ({err.msg} at line {err.lineno})") from None
    except (UnicodeDecodeError, RecursionError):
        raise InputError(f"config: must be a UTF-8 JSON file, got unreadable data in {path!r}") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"config: {path} must hold a non-empty JSON list of system objects")
    if len(data) > MAX_ENTRIES:
        raise InputError(f"config: {path} may list at most {MAX_ENTRIES:,} systems, got {len(data):,}")
    return [check_entry(entry, f"config: {path}: system {i}") for i, entry in enumerate(data)]


def check_entry(entry, where):
    """One config entry with the CLI's defaults filled in, validated in closed
    form (parameters, start, table size) before anything is built."""
    from ..analysis.verify import system_from_dict

    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object of system parameters, got {type(entry).__name__}")
    entry = {**ENTRY_DEFAULTS, **entry}
    start = entry.get("start")
    try:
        if start is not None and not isinstance(start, str) and not (
            isinstance(start, list) and all(isinstance(c, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in c) for c in start)
        ):
            raise InputError(f"start: must be 'c11,c12;c21,c22;...' or a list of count lists, got {start!r}")
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    no_start = {k: v for k, v in entry.items() if k != "start"}
    system, _, _ = system_from_dict(no_start, where=where)  # System's own checks (caps, closed-form state count)
    try:
        check_table_size(system)
        if start is not None:
            state = parse_start(start, system.agents, system.components, system.memory) if isinstance(start, str) else tuple(
                tuple(c) for c in start
            )
            system.check_state(state)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    return entry


def run(args):
    from ..analysis.verify import DEFAULT_FAMILY, verify_family

    if args.theorem is not None:
        return run_theorem_command(args)
    check_horizon(args.horizon)
    check_count(args.paths, "paths", 1, MAX_PATHS)
    epsilon = to_fraction(args.epsilon, "epsilon")
    if epsilon <= 0:
        raise InputError(f"epsilon must be positive, got {args.epsilon}")
    family = read_config(args.config) if args.config else list(DEFAULT_FAMILY)
    with progress_bar(len(family), "verifying", quiet=args.quiet, unit="systems") as bar:
        report = verify_family(
            family, horizon=args.horizon, paths=args.paths, epsilon=epsilon, progress=lambda done: bar.update(done - bar.n)
        )
    if args.json:
        if not args.full:
            report = {k: v for k, v in report.items() if k not in ("claims", "bounds")}
        print_json(report)
        return 0
    print(format_table(report))
    return 0


#: Largest memory size of a theorem family (``--memories``), and of ``decay``'s.
MAX_THEOREM_MEMORY = 30
MAX_DECAY_MEMORY = 400


def _memories(text, largest=MAX_THEOREM_MEMORY):
    try:
        values = tuple(int(x) for x in str(text).split(","))
    except ValueError:
        raise InputError(f"memories must be comma-separated integers, got {text!r}") from None
    if not values or any(not 1 <= v <= largest for v in values) or len(values) > 20:
        raise InputError(f"memories must be up to 20 comma-separated integers from 1 to {largest}, got {text!r}")
    return values


def run_theorem_command(args):
    """``verify --theorem NAME``: one theorem family of :mod:`markovgmm.analysis.theorems`."""
    from ..analysis.theorems import run_theorem

    options = {}
    if args.theorem == "graphs":
        check_count(args.max_agents, "max-agents", 2, 6)
        options["max_agents"] = args.max_agents
        if args.grid is not None:
            from ..analysis.theorems import GRAPHS_GRID

            options["grid"] = args.grid or GRAPHS_GRID
        if args.certified:
            options["arithmetic"] = "certified"
    if args.memories is not None:
        options["memories"] = _memories(args.memories, MAX_DECAY_MEMORY if args.theorem == "decay" else MAX_THEOREM_MEMORY)
    if args.theorem == "rate":
        options["horizon"] = args.horizon if args.horizon != 20 else 40
    if args.theorem in ("decay", "camps"):
        if args.theorem == "decay":
            from ..analysis.decay import decay_plan as plan
        else:
            from ..analysis.camps import camps_plan as plan
        total = len(plan(**options))  # checks the options before any work
        with progress_bar(total, args.theorem, quiet=args.quiet, unit="systems") as bar:
            report = run_theorem(args.theorem, progress=lambda done: bar.update(done - bar.n), **options)
    else:
        report = run_theorem(args.theorem, **options)
    if args.json:
        print_json(report)
    else:
        print(format_theorem(report))
    return 0 if report["verdict"] != "fails" else 1


def format_theorem(report):
    """A theorem family's report as a few lines of text."""
    out = [
        f"theorem {report['theorem']}: {report['verdict'].upper()}",
        f"  statement: {report['statement']}",
        f"  systems checked: {len(report['checked'])}; largest deviation: {report['max_deviation']}",
    ]
    name = report["theorem"]
    if name == "voter":
        for r in report["results"]:
            sy = r["system"]
            out.append(
                f"  open    {sy['graph']:8} {sy['schedule']:5} m={sy['agents']} K={sy['components']} N={sy['memory']} "
                f"r={sy['replace']} closed_nbhd={sy['closed_neighbourhood']}: {r['verdict']}; consensus only: "
                f"{r['consensus_only']} (predicted {r['predicted_consensus_only']}); "
                f"|P(cons k) - M0| max {r['consensus_deviation']}"
            )
        for r in report["support_distortion"]:
            sy = r["system"]
            out.append(
                f"  support {sy['graph']:8} {sy['schedule']:5} m={sy['agents']} N={sy['memory']}: distortion max "
                f"{_short(r['consensus_deviation'])} (starts off the vertices: {_short(r['interior_deviation'])})"
            )
    elif name == "graphs":
        verdicts = {(p["m"], p["N"]): p["verdict"] for p in report["per_size"]}
        for group in report["ranking"]:
            ranked = ", ".join(f"{_graph_label(e)}={_graph_value(e)}" for e in group["order"][:6])
            more = " ..." if len(group["order"]) > 6 else ""
            top = group["order"][-1]
            out.append(f"  m={group['m']} N={group['N']} [{verdicts[(group['m'], group['N'])]}]: {ranked}{more}; "
                       f"most: {_graph_label(top)}")
        for c in report["counterexamples"]:
            out.append(f"  COUNTEREXAMPLE m={c['m']} N={c['N']} {_graph_label(c)} edges={c['edges']}: {_graph_value(c)} < complete "
                       f"{_graph_value(c['complete'])}")
        if report.get("source"):
            out.append(f"  (read from {report['source']})")
        if any(e.get("arithmetic") == "certified" for e in report["graphs"]):
            out.append("  (* = midpoint of a certified interval, relative width <= 1e-12; not an exact value)")
    elif name == "order":
        for cand, r in report["candidates"].items():
            first = r["first"][0] if r["first"] else None
            example = "" if first is None else f"; e.g. N={first['N']} {first['schedule']}: {first['smaller']} vs {first['larger']}"
            out.append(f"  {cand:28} {'holds' if r['holds'] else 'fails'} ({r['violations']} violating pairs{example})")
    elif name == "rate":
        for r in report["results"]:
            sy = r["system"]
            out.append(
                f"  m={sy['agents']} K={sy['components']} N={sy['memory']} {sy['schedule']} {sy['ownership']} "
                f"start {state_text(r['start'])}: {_short(r['rho_lower'], 8)} <= rho <= {_short(r['rho_upper'], 8)}, "
                f"C={_short(r['C'])}, gap <= C rho^T for T<={r['horizon']}: {r['bound_holds']}; "
                f"gap <= 1e-6 by T={r['steps_for'].get('1e-6')}"
            )
    out.append(f"  ({report['seconds']} s)")
    return "\n".join(out)


def _graph_label(e):
    """A graph's name, else its index in networkx's atlas, else its edge list."""
    if e.get("name"):
        return e["name"]
    return f"atlas {e['atlas']}" if e.get("atlas") is not None else str(e["edges"])


def _graph_value(e):
    """An entry's exact value, or its certified interval's midpoint marked ``*``."""
    if e.get("arithmetic", "exact") == "exact":
        return _short(e["polarization"])
    lo, hi = e["polarization_interval"]
    return _short((lo + hi) / 2) + "*"


def _short(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{float(value):.{digits}g}"


def format_table(report):
    """The verify report as text: a table and the plain statements."""
    T = report["horizon"]
    header = [
        "#", "system", "start", "P(polar)", "A1", "A2 fails at", "A3 lim E||D||_F",
        f"LB1 lo/P T={T}", "LB1 up/P", "LB2 best/P", f"LB2 top{report['paths']}/P", "LB3/P", "LB3 2ph/P", "bounds",
    ]
    lines = []
    for i, row in enumerate(report["rows"]):
        ratio = row["ratio"]
        a1 = "holds" if row["A1_holds"] else f"fails ({row['A1_failing']} st.)"
        a2 = "-" if row["A2_first_failure"] is None else f"t={row['A2_first_failure']}"
        a3 = ("0 (holds)" if row["A3_holds"] else f"{_short(row['A3_limit_float'])} (FAILS)")
        bounds = {True: "ok", False: "FAILED", None: "uncertified"}[row["bounds_hold"]]
        lines.append(
            [
                str(i), row["system"].replace(", graph=", " "), state_text(row["start"]),
                _short(row["polarization"], 6), a1, a2, a3,
                _short(ratio["horizon.lower"]), _short(ratio["horizon.upper"]), _short(ratio["path.best"]),
                _short(ratio["path.top_k"]), _short(ratio["closed_form"]), _short(ratio["closed_form_two_phase"]), bounds,
            ]
        )
    widths = [max(len(r[c]) for r in [header] + lines) for c in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in lines]
    out.append("")
    out.append("ratios are bound / exact P(polarisation) ('-': bound does not apply or P = 0); "
               "'bounds ok': every bound <= exact <= upper, compared as exact rationals.")
    verdict = report["all_bounds_hold"]
    out.append(
        "LB1-LB3: " + {True: "every bound holds on every system (exact comparisons).",
                       False: "SOME BOUND FAILS (see the bounds column).",
                       None: "not certified (float arithmetic only)."}[verdict]
    )
    if report["appendix_breaks"]:
        out.append("Where seed 002's Appendix A argument breaks (claim A3, ||D_t||_F -> 0):")
        out += [f"  - {line}" for line in report["appendix_breaks"]]
    else:
        out.append("A3: lim E||D_t||_F = 0 on every system of this family; seed 002 eq. (5) holds in expectation here.")
    return "\n".join(out)

