"""Parameter sweeps on Dask: a grid of systems, one tidy CSV table.

A sweep config (JSON) lists values for each parameter of a
:class:`~markovgmm.system.System` and for the start state; the grid is their
Cartesian product.  Each *cell* (one system and one start) is computed with
the library's own functions -- :func:`~markovgmm.chain.build.build_chain` and
:func:`~markovgmm.analysis.absorption.absorption_probabilities` (MODEL.md 2
and 3), the symmetry-lumped chain and certified enclosures when the config
asks for them -- on a ``dask.distributed`` cluster, and written as one row of
a CSV table as soon as it finishes.

Config keys (every grid key takes one value or a non-empty list of values)::

    {
      "agents": [2, 3], "components": [2], "memory": [4, 6, 8],
      "replace": [1], "schedule": ["sync", "async"], "ownership": ["support"],
      "graph": ["complete", "path"], "prune": [0], "lumped": ["auto"],
      "starts": ["balanced", "3,1;1,3"],
      "results": ["exact", "float"],
      "max_states": 1000000, "max_exact_states": 20000, "memory_limit_mib": 4096
    }

Grid keys and their defaults: ``agents`` 2, ``components`` 2, ``memory`` 4,
``replace`` 1, ``schedule`` sync, ``ownership`` support, ``graph`` complete
(or an edge-list file, relative to the config's folder), ``prune`` 0,
``lumped`` "auto" (build on orbits of the agents' symmetry group when it is
nontrivial; true/false force it), ``starts`` "balanced" (or explicit counts
``"c11,c12;c21,c22;..."``).  Options: ``results`` (default exact and float;
``certified`` when :mod:`markovgmm.analysis.certified` is installed),
``max_states`` (largest chain built, counted in orbits when lumped; default
10^6), ``max_exact_states`` (largest chain solved exactly; default 20,000),
``memory_limit_mib`` (per cell; default 60% of a worker's memory).

The table has one row per cell, columns :data:`COLUMNS`: the parameters, the
resolved ``start``, ``states``/``transitions``/``transient`` of the chain
built (orbits when lumped) and ``full_states``; for each arithmetic
``polarization_*``, ``consensus_*``, ``other_*``, ``expected_steps_*``
(``*_exact`` as ``"p/q"``, ``*_float`` as shortest round-trip reprs),
``polarization_lower``/``_upper``/``_relative_width`` (certified), times in
seconds, and ``error``.

Method
------
1. *Expand*: every combination of the grid values is a cell; a cell is keyed
   by a stable hash (SHA-256 of its canonical JSON, start state resolved,
   edge-list files by content) so the same cell always has the same key.
2. *Resume*: keys already in the output table are not computed again; a row
   cut short by an interruption is dropped and its cell recomputed.
3. *Refuse early*: each remaining cell's chain is sized with
   :func:`~markovgmm.chain.build.estimate_cost` (and the lumped orbit count
   when lumping) before anything is submitted; cells over ``max_states`` or
   the memory limit get a row with the reason in ``error`` and are never
   built, and exact results are skipped (with a note) over
   ``max_exact_states``.
4. *Compute*: the other cells are submitted to Dask, cheapest first; each row
   is appended and flushed (``fsync``) as its future completes, with a tqdm
   progress bar over cells.

Cells that fail cleanly (:class:`~markovgmm.errors.InputError`, e.g. a prune
threshold too large for that memory, a start that does not fit, a
:class:`~markovgmm.errors.TooLargeError` from a solver) get a row with the
one-line message; they are deterministic, so resuming does not retry them.
Any other failure (a bug, a killed worker) writes no row: it is reported and
the cell is retried on the next run.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field

from .errors import InputError
from .numbers import fraction_str
from .progress import progress_bar
from .system import (
    GRAPH_NAMES,
    MAX_AGENTS,
    MAX_COMPONENTS,
    MAX_MEMORY,
    OWNERSHIPS,
    SCHEDULES,
    System,
    check_table_size,
    parse_start,
    read_edge_list,
    state_text,
)

__all__ = [
    "COLUMNS",
    "RESULTS",
    "SweepSummary",
    "load_config",
    "expand_cells",
    "cell_key",
    "plan_cell",
    "compute_cell",
    "finished_cells",
    "run_sweep",
]

#: Grid keys: parameter -> (element type, default values).
GRID = {
    "agents": (int, [2]),
    "components": (int, [2]),
    "memory": (int, [4]),
    "replace": (int, [1]),
    "schedule": (str, ["sync"]),
    "ownership": (str, ["support"]),
    "graph": (str, ["complete"]),
    "prune": (int, [0]),
    "lumped": ((bool, str), ["auto"]),
    "starts": (str, ["balanced"]),
}
#: What a cell can compute.
RESULTS = ("exact", "float", "certified")
#: Scalar options: name -> default.
OPTIONS = {"results": ["exact", "float"], "max_states": 1_000_000, "max_exact_states": 20_000, "memory_limit_mib": None}
_LOWEST = {"agents": 1, "components": 2, "memory": 1, "replace": 1, "prune": 0}
_HIGHEST = {"agents": MAX_AGENTS, "components": MAX_COMPONENTS, "memory": MAX_MEMORY, "replace": MAX_MEMORY, "prune": MAX_MEMORY}
#: Largest grid (cells) one sweep expands; a larger one is refused before anything is planned or written.
MAX_CELLS = 10_000
#: Largest config file read (bytes).
MAX_CONFIG_BYTES = 16 * 2**20
#: Seconds to wait for a ``--scheduler`` to answer.
CONNECT_TIMEOUT = 10

#: Columns of the output table, in order.
COLUMNS = [
    "cell",
    "agents",
    "components",
    "memory",
    "replace",
    "schedule",
    "ownership",
    "graph",
    "prune",
    "lumped",
    "start",
    "results",
    "states",
    "full_states",
    "transitions",
    "transient",
    "polarization_exact",
    "polarization_float",
    "polarization_lower",
    "polarization_upper",
    "polarization_lower_exact",
    "polarization_upper_exact",
    "polarization_relative_width",
    "consensus_exact",
    "consensus_float",
    "other_exact",
    "other_float",
    "expected_steps_exact",
    "expected_steps_float",
    "seconds_exact",
    "seconds_float",
    "seconds_certified",
    "seconds",
    "error",
]


# ---------------------------------------------------------------------------
# Optional engines written elsewhere in the package (lumping, certified).
# ---------------------------------------------------------------------------
def certified_available():
    """Whether :mod:`markovgmm.analysis.certified` is installed."""
    try:
        from .analysis import certified  # noqa: F401
    except ImportError:
        return False
    return hasattr(certified, "certified_absorption")


# ---------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------
def load_config(config, base_dir=None):
    """Read and check a sweep config.

    Parameters
    ----------
    config : str, os.PathLike or dict
        Path of a JSON file, or the parsed object itself.
    base_dir : str, optional
        Folder that relative edge-list paths in ``graph`` are read from
        (default: the config file's folder, or the working directory).

    Returns
    -------
    dict
        Every grid key as a list of values, every option with its default
        filled in, and ``base_dir``.

    Raises
    ------
    InputError
        One line naming the key: unknown key, empty list, wrong type, value
        out of range, unknown schedule/ownership/graph, a start that is
        neither ``"balanced"`` nor ``"c11,c12;c21,c22;..."``.

    Examples
    --------
    >>> config = load_config({"agents": [2, 3], "memory": 4})
    >>> config["agents"], config["memory"], config["results"]
    ([2, 3], [4], ['exact', 'float'])
    >>> load_config({"agent": [2]})
    Traceback (most recent call last):
    ...
    markovgmm.errors.InputError: config: unknown key 'agent'; allowed keys: agents, components, memory, replace, schedule, ownership, graph, prune, lumped, starts, results, max_states, max_exact_states, memory_limit_mib
    """
    if not isinstance(config, dict):
        path = os.fspath(config)
        try:
            if os.path.isdir(path):
                raise InputError(f"config: must be a JSON file, got the directory {path!r}")
            if os.path.exists(path) and os.path.getsize(path) > MAX_CONFIG_BYTES:
                raise InputError(f"config: must be a JSON file of at most {MAX_CONFIG_BYTES // 2**20} MiB, got {path!r}")
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
        except OSError as err:
            raise InputError(f"config: cannot read {path!r} ({err.strerror})") from None
        except (UnicodeDecodeError, RecursionError):
            raise InputError(f"config: must be a UTF-8 JSON file, got unreadable data in {path!r}") from None
        except json.JSONDecodeError as err:
            raise InputError(f"config: {path!r} is not valid JSON ({err.msg} at line {err.lineno})") from None
        if base_dir is None:
            base_dir = os.path.dirname(os.path.abspath(path))
        if not isinstance(config, dict):
            raise InputError(f"config: {path!r} must hold a JSON object, got {type(config).__name__}")
    base_dir = base_dir if base_dir is not None else os.getcwd()
    allowed = list(GRID) + list(OPTIONS)
    for key in config:
        if key not in allowed:
            raise InputError(f"config: unknown key {key!r}; allowed keys: {', '.join(allowed)}")
    out = {"base_dir": base_dir}
    cells = 1
    for key, (_kind, default) in GRID.items():
        values = config.get(key, default)
        cells *= max(1, len(values)) if isinstance(values, list) else 1
    if cells > MAX_CELLS:
        raise InputError(
            f"config: the grid must have at most {MAX_CELLS:,} cells (the product of the list lengths), got {cells:,}; "
            "split it into several sweeps"
        )
    for key, (kind, default) in GRID.items():
        values = config.get(key, default)
        values = list(values) if isinstance(values, list) else [values]
        if not values:
            raise InputError(f"config: {key} must be a value or a non-empty list, got []")
        for value in values:
            _check_value(key, kind, value, base_dir)
        out[key] = values
    results = config.get("results", OPTIONS["results"])
    results = list(results) if isinstance(results, list) else [results]
    if not results or any(r not in RESULTS for r in results):
        raise InputError(f"config: results must be a non-empty list drawn from {', '.join(RESULTS)}, got {results!r}")
    if "certified" in results and not certified_available():
        raise InputError("config: results 'certified' needs markovgmm.analysis.certified, which is not installed here")
    out["results"] = [r for r in RESULTS if r in results]
    for key in ("max_states", "max_exact_states", "memory_limit_mib"):
        value = config.get(key, OPTIONS[key])
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"config: {key} must be a positive integer (or null), got {value!r}")
        out[key] = value
    return out


def _check_value(key, kind, value, base_dir):
    if key == "lumped":
        if value not in (True, False, "auto") or not isinstance(value, (bool, str)):
            raise InputError(f"config: lumped values must be true, false or \"auto\", got {value!r}")
        return
    type_ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not type_ok:
        raise InputError(f"config: {key} values must be {kind.__name__}s, got {value!r} ({type(value).__name__})")
    if key in _LOWEST and not _LOWEST[key] <= value <= _HIGHEST[key]:
        shown = value if abs(value) < 10**30 else f"about 10^{len(str(abs(value))) - 1}"
        raise InputError(f"config: {key} values must be integers >= {_LOWEST[key]} and <= {_HIGHEST[key]:,}, got {shown}")
    if key == "schedule" and value not in SCHEDULES:
        raise InputError(f"config: schedule values must be one of {', '.join(SCHEDULES)}, got {value!r}")
    if key == "ownership" and value not in OWNERSHIPS:
        raise InputError(f"config: ownership values must be one of {', '.join(OWNERSHIPS)}, got {value!r}")
    if key == "graph" and value not in GRAPH_NAMES and not os.path.isfile(os.path.join(base_dir, value)):
        raise InputError(f"config: graph values must be one of {', '.join(GRAPH_NAMES)} or an edge-list file, got {value!r}")
    if key == "starts" and value != "balanced":
        parts = [p.split(",") for p in value.split(";")]
        if len(value) > 100_000 or not all(x.strip().isascii() and x.strip().isdigit() for part in parts for x in part):
            raise InputError(f"config: starts values must be 'balanced' or 'c11,c12;c21,c22;...', got {value!r}")


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------
def expand_cells(config):
    """The grid's cells, in config order, duplicates removed.

    Each cell is a dict with the grid parameters, ``start`` (the resolved
    state as ``"c11,c12;c21,c22"``, or the text as given when it does not
    parse for that cell's agents and components), ``results``, and ``key``.

    Examples
    --------
    >>> cells = expand_cells(load_config({"agents": [2, 3], "memory": [4]}))
    >>> [(c["agents"], c["start"]) for c in cells]
    [(2, '2,2;2,2'), (3, '2,2;2,2;2,2')]
    """
    names = [k for k in GRID if k != "starts"]
    cells, seen = [], set()
    for values in itertools.product(*(config[k] for k in names), config["starts"]):
        cell = dict(zip(names, values[:-1]))
        cell["start"] = _resolve_start(values[-1], cell)
        cell["results"] = list(config["results"])
        graph = cell["graph"]
        if graph not in GRAPH_NAMES:
            cell["graph_file"] = os.path.join(config["base_dir"], graph)
        cell["key"] = cell_key(cell)
        if cell["key"] not in seen:
            seen.add(cell["key"])
            cells.append(cell)
    return cells


def _resolve_start(text, cell):
    m, K, N = cell["agents"], cell["components"], cell["memory"]
    try:
        state = parse_start(None if text == "balanced" else text, m, K, N)
    except InputError:
        return text
    return state_text(state)


def cell_key(cell):
    """Stable 16-hex-digit key of a cell's parameters (edge-list files by content).

    >>> cell_key({"agents": 2, "graph": "complete", "start": "2,2;2,2"}) == cell_key({"start": "2,2;2,2", "graph": "complete", "agents": 2})
    True
    """
    payload = {k: v for k, v in cell.items() if k not in ("key", "graph_file")}
    if cell.get("graph_file"):
        with open(cell["graph_file"], "rb") as handle:
            payload["graph_sha256"] = hashlib.sha256(handle.read()).hexdigest()
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _system(cell):
    graph = cell["graph"]
    if cell.get("graph_file"):
        graph = read_edge_list(cell["graph_file"])
    return System(
        agents=cell["agents"],
        components=cell["components"],
        memory=cell["memory"],
        replace=cell["replace"],
        schedule=cell["schedule"],
        ownership=cell["ownership"],
        prune=cell["prune"],
        graph=graph,
    )


def _base_row(cell):
    row = dict.fromkeys(COLUMNS, "")
    row.update({k: cell[k] for k in GRID if k != "starts"})
    row.update(cell=cell["key"], start=cell["start"], results="+".join(cell["results"]))
    return row


def plan_cell(cell, memory_limit, max_states=None, max_exact_states=None):
    """Size a cell before computing it.

    Parameters
    ----------
    cell : dict
        From :func:`expand_cells`.
    memory_limit : int
        Bytes one cell may use (compared with the build estimate).
    max_states, max_exact_states : int, optional
        Largest chain (states actually built: orbits when lumped) computed at
        all, and with exact arithmetic.

    Returns
    -------
    (cost, row) : (dict or None, dict or None)
        ``cost`` holds ``states``, ``full_states``, ``transitions``, ``bytes``
        and the ``results`` still to compute; ``row`` is a finished table row
        when the cell is refused (``error`` says why), else None.

    Examples
    --------
    >>> cell = expand_cells(load_config({"agents": 3, "memory": 40, "lumped": False}))[0]
    >>> cost, row = plan_cell(cell, memory_limit=2**30, max_states=10_000)
    >>> cost is None, row["error"]
    (True, 'skipped: m=3, K=2, N=40, r=1, sync, support, graph=complete: 68,921 states over max_states=10,000; try lumped=true (symmetry group S_3)')
    >>> cost, row = plan_cell(cell, memory_limit=2**30, max_exact_states=20_000)
    >>> row is None, cost["states"], cost["results"], cost["note"]
    (True, 68921, ['float'], 'exact skipped: 68,921 states over max_exact_states=20,000')
    """
    from .chain.build import estimate_cost
    from .chain.symmetry import agent_group

    try:
        system = _system(cell)
        system.check_state(parse_start(cell["start"], system.agents, system.components, system.memory))
    except InputError as err:
        row = _base_row(cell)
        row["error"] = _one_line(err)
        return None, row
    try:
        check_table_size(system)  # closed form, before estimate_cost tabulates one agent
    except InputError as err:
        row = _base_row(cell)
        row["error"] = f"skipped: {_one_line(err)}"
        return None, row
    group = agent_group(system)
    lumped = cell["lumped"] is True or (cell["lumped"] == "auto" and not group.trivial)
    cost = dict(estimate_cost(system, lumped=lumped, group=group if lumped else None))
    cost["full_states"] = system.n_states
    results = list(cell["results"])
    notes = []
    if max_states is not None and cost["states"] > max_states:
        notes.append(f"{cost['states']:,} states over max_states={max_states:,}")
    if cost["bytes"] > memory_limit:
        notes.append(
            f"{cost['states']:,} states and about {cost['transitions']:,} transitions need about "
            f"{cost['bytes'] / 2**30:.2f} GiB, over the {memory_limit / 2**30:.2f} GiB per-cell limit"
        )
    if notes:
        hint = "" if lumped or group.trivial else f"; try lumped=true (symmetry group {group.describe()})"
        row = _base_row(cell)
        row.update(states=cost["states"], full_states=cost["full_states"])
        row["error"] = f"skipped: {system.describe()}: {'; '.join(notes)}{hint}"
        return None, row
    if "exact" in results and max_exact_states is not None and cost["states"] > max_exact_states:
        results.remove("exact")
        cost["note"] = f"exact skipped: {cost['states']:,} states over max_exact_states={max_exact_states:,}"
    if not system.exact_supported and ("exact" in results or "certified" in results):
        skipped = [r for r in results if r != "float"]
        results = [r for r in results if r == "float"]
        cost["note"] = f"{' and '.join(skipped)} skipped: ownership={system.ownership} has irrational transition probabilities"
    if not results:
        row = _base_row(cell)
        row.update(states=cost["states"], full_states=cost["full_states"], error=cost["note"])
        return None, row
    cost["results"] = results
    return cost, None


def _one_line(err):
    return " ".join(str(err).split())


def _build(system, exact, lumped, memory_limit):
    from .chain.build import build_chain

    return build_chain(system, exact=exact, lump=lumped, memory_limit=memory_limit)


def compute_cell(cell, results=None, note="", memory_limit=None):
    """Compute one cell and return its table row (a dict over :data:`COLUMNS`).

    Parameters
    ----------
    cell : dict
        From :func:`expand_cells`.
    results : list of str, optional
        What to compute (default ``cell["results"]``): ``exact`` (rational
        P(polarisation), P(consensus), P(other) and expected steps, written
        ``"p/q"``), ``float`` (the same in float64) and ``certified`` (an
        interval ``[lo, hi]`` containing the exact P(polarisation)).
    note : str
        Written to ``error`` when nothing else goes wrong (e.g. why exact was
        skipped).
    memory_limit : int, optional
        Bytes a build may use (default: 60% of the machine's memory).

    Returns
    -------
    dict
        Numbers as exact strings or shortest round-trip float reprs;
        ``error`` holds the one-line message of a clean failure
        (:class:`~markovgmm.errors.InputError`), and the row keeps what was
        computed before it.

    Notes
    -----
    The chain is built once per arithmetic (exact integers over a common
    denominator, or float64; MODEL.md 2) and solved from the start state
    only (states reachable from it), MODEL.md 3.  ``states``,
    ``transitions`` and ``transient`` describe the chain built (orbits when
    lumped), ``full_states`` the unlumped count ``C(N+K-1, K-1)^m``.

    Examples
    --------
    >>> cell = expand_cells(load_config({"agents": 2, "memory": 4, "results": ["exact"]}))[0]
    >>> row = compute_cell(cell)
    >>> row["polarization_exact"], row["states"], row["full_states"]
    ('139813/1630674', 15, 25)
    """
    from .analysis.absorption import absorption_probabilities
    from .analysis.classes import closed_classes

    results = list(cell["results"] if results is None else results)
    row = _base_row(cell)
    began = time.perf_counter()
    try:
        system = _system(cell)
        state = system.check_state(parse_start(cell["start"], system.agents, system.components, system.memory))
        row["full_states"] = system.n_states
        chains = {}  # one build per value type: the certified enclosure reuses the exact chain
        for arithmetic in results:
            t0 = time.perf_counter()
            exact = arithmetic != "float"
            if exact not in chains:
                chain = _build(system, exact, cell["lumped"], memory_limit)
                chains[exact] = (chain, chain.index(state), closed_classes(chain))
            chain, start, structure = chains[exact]
            row.update(states=chain.n_states, transitions=chain.n_transitions, transient=int(len(structure.transient)))
            if arithmetic == "certified":
                _certified_columns(row, chain, start)
            else:
                result = absorption_probabilities(chain, start, structure=structure)
                text = fraction_str if exact else repr
                row[f"polarization_{arithmetic}"] = text(result.polarization())
                row[f"consensus_{arithmetic}"] = text(result.consensus())
                row[f"other_{arithmetic}"] = text(result.other())
                row[f"expected_steps_{arithmetic}"] = text(result.expected_steps[0])
            row[f"seconds_{arithmetic}"] = f"{time.perf_counter() - t0:.3f}"
        row["error"] = note
    except InputError as err:  # TooLargeError included: a clean, deterministic refusal
        row["error"] = _one_line(err)
    except MemoryError:
        row["error"] = f"out of memory: {row['full_states'] or '?'} states did not fit this worker"
    row["seconds"] = f"{time.perf_counter() - began:.3f}"
    return row


def _certified_columns(row, chain, start):
    """P(polarisation) enclosed by :func:`~markovgmm.analysis.certified.certified_absorption`
    (exact chain).  ``polarization_lower/upper``: decimals of float64 numbers rounded
    outward (:func:`float_outward`), so that any reader that parses them as
    float64 (``pandas.read_csv``, ``float()``) still holds an enclosure;
    ``polarization_lower_exact/upper_exact``: the bounds as exact rationals ``p/q``."""
    from .analysis.certified import CertificationError, certified_absorption

    try:
        box = certified_absorption(chain, start)
    except CertificationError as err:  # deterministic: the float solver could not certify this chain
        raise InputError(f"certified: {_one_line(err)}") from None
    row["polarization_lower"] = repr(float_outward(box.lower, up=False))
    row["polarization_upper"] = repr(float_outward(box.upper, up=True))
    row["polarization_lower_exact"], row["polarization_upper_exact"] = fraction_str(box.lower), fraction_str(box.upper)
    row["polarization_relative_width"] = repr(float(box.relative_width))


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------
def float_outward(value, up):
    """The float64 nearest to the rational ``value`` on the safe side: the
    largest float ``<= value`` (``up=False``) or the smallest ``>= value``.
    Its ``repr`` is the shortest decimal that parses back to exactly it.

    >>> from fractions import Fraction
    >>> float_outward(Fraction(1, 10), up=False) < Fraction(1, 10) < float_outward(Fraction(1, 10), up=True)
    True
    """
    import math
    from fractions import Fraction

    value = Fraction(value)
    f = float(value)
    if up and Fraction(f) < value:
        f = math.nextafter(f, math.inf)
    elif not up and Fraction(f) > value:
        f = math.nextafter(f, -math.inf)
    return f


def finished_cells(path):
    """Keys of the cells already in the table at ``path`` (empty if absent).

    A last row cut short by an interruption (no final newline) is removed
    from the file, so that its cell is computed again.

    Raises
    ------
    InputError
        When the file exists but is not a sweep table with these columns.
    """
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return set()
    not_table = InputError(f"out: must be a new file or a sweep table of this version, got {path!r}, which is not a sweep table; choose another --out")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_table from None
    except OSError as err:
        raise InputError(f"out: cannot read {path!r} ({err.strerror})") from None
    first = text.split("\n", 1)[0]
    header = next(csv.reader([first]), [])
    if header != COLUMNS or "\n" not in text:
        raise not_table  # checked before anything is cut: never truncate someone else's file
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as handle:
            handle.truncate(cut)
        text = text[: len(data[:cut].decode("utf-8"))]
    lines = text.splitlines()
    return {row["cell"] for row in csv.DictReader(lines) if row.get("cell")}


@dataclass
class SweepSummary:
    """What a run did: cells in the grid, already in the table, computed now,
    refused up front (too large), and failed without a row (retried next run)."""

    out: str
    cells: int
    already: int
    computed: int
    refused: int
    failed: int
    failures: list = field(default_factory=list)


def run_sweep(config, out, scheduler=None, workers=2, quiet=False, processes=True, client=None):
    """Compute every cell of a sweep not yet in the table at ``out``.

    Parameters
    ----------
    config : str, os.PathLike or dict
        A config file or object (see :func:`load_config`).
    out : str
        CSV table; created with a header, or appended to (resume).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler
        (``tcp://host:8786``); default: a LocalCluster.
    workers : int
        Workers of the LocalCluster (one thread each; default 2).
    quiet : bool
        No progress bar.
    processes : bool
        LocalCluster workers are processes (default) or threads in this
        process (fast to start; used by the tests).
    client : dask.distributed.Client, optional
        Use this client instead of starting one.

    Returns
    -------
    SweepSummary

    Notes
    -----
    The memory limit per cell is ``memory_limit_mib`` from the config, else
    60% of the smallest worker's memory limit as the scheduler reports it,
    else 60% of this machine's memory divided by the number of workers.  The
    table is written by this process only (workers return rows), each row
    flushed to disk as its cell finishes; never point two sweeps at one file.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    cpus = _cpu_count()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1 or (scheduler is None and client is None and workers > cpus):
        raise InputError(f"workers must be an integer from 1 to {cpus} (the CPUs available here), got {workers!r}")
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    config = load_config(config) if not (isinstance(config, dict) and "base_dir" in config) else config
    check_out_path(out)
    cells = expand_cells(config)
    done = finished_cells(out)
    todo = [c for c in cells if c["key"] not in done]
    summary = SweepSummary(out=out, cells=len(cells), already=len(cells) - len(todo), computed=0, refused=0, failed=0)
    if not todo:
        return summary
    own_cluster = own_client = None
    try:
        if client is None:
            with _sigint_deferred():  # no Ctrl-C half-way through start-up; workers never print tracebacks
                if scheduler is not None:
                    try:
                        client = own_client = Client(scheduler, timeout=CONNECT_TIMEOUT)
                    except (OSError, TimeoutError, ValueError) as err:
                        raise InputError(
                            f"scheduler: must be the address of a running dask scheduler, got {scheduler!r} "
                            f"(no answer within {CONNECT_TIMEOUT} s: {type(err).__name__})"
                        ) from None
                else:
                    own_cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=processes,
                        dashboard_address=":0",  # any free port: never clash with another cluster's 8787
                        silence_logs=logging.CRITICAL,  # failures are reported once, by run_sweep
                    )
                    client = own_client = Client(own_cluster)
        limit = _memory_limit(config, client, workers)
        with _table(out) as write:
            planned = []
            for cell in todo:
                cost, row = plan_cell(cell, limit, config["max_states"], config["max_exact_states"])
                if row is not None:
                    write(row)
                    summary.refused += 1
                else:
                    planned.append((cost, cell))
            planned.sort(key=lambda item: item[0]["bytes"])
            run = uuid.uuid4().hex[:8]  # task keys unique per run: a long-lived cluster must not reuse an erred task
            futures = {
                client.submit(
                    compute_cell, cell, cost["results"], cost.get("note", ""), limit, key=f"sweep-{cell['key']}-{run}"
                ): cell
                for cost, cell in planned
            }
            with progress_bar(len(futures), "sweep", quiet=quiet, unit="cells") as bar:
                for future in as_completed(futures):
                    cell = futures[future]
                    try:
                        row = future.result()
                    except Exception as err:  # noqa: BLE001 - reported, no row: retried next run
                        summary.failed += 1
                        summary.failures.append(f"cell {cell['key']} ({_describe(cell)}): {type(err).__name__}: {_one_line(err)}")
                    else:
                        write(row)
                        summary.computed += 1
                    bar.update(1)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return summary


def _cpu_count():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?[A-Za-z0-9_.\-\[\]:]+:([0-9]{1,5})$")


def check_scheduler_address(address):
    """A ``--scheduler`` address, checked before connecting: ``[tcp://]HOST:PORT``
    (or a Dask ``inproc://`` address)."""
    if isinstance(address, str) and address.startswith("inproc://") and len(address) > 9 and not any(c.isspace() for c in address):
        return address
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(1)) < 65536:
        raise InputError(f"scheduler: must be an address such as tcp://HOST:PORT, got {address!r}")
    return address


def check_out_path(path):
    """Refuse an output table that cannot be written, before any cluster starts
    or anything is written: empty, a directory, a folder that does not exist or
    cannot be written, an existing file that cannot be opened for appending."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(f"out: must be a CSV file path, got {path!r}")
    if os.path.isdir(path):
        raise InputError(f"out: must be a CSV file, got the directory {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"out: must be in an existing folder, got {path!r} ({folder} does not exist)")
    if os.path.exists(path):
        if not os.path.isfile(path):
            raise InputError(f"out: must be a regular file, got {path!r}")
        try:
            with open(path, "ab"):
                pass
        except OSError as err:
            raise InputError(f"out: cannot write {path!r} ({err.strerror})") from None
        return
    try:  # a probe file in the same folder, removed at once: the table itself is not created yet
        import tempfile

        fd, probe = tempfile.mkstemp(dir=folder, prefix=".markovgmm-sweep-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"out: cannot write in {folder!r} ({err.strerror})") from None


class _sigint_deferred:
    """Ignore SIGINT while a Dask cluster or client starts.

    An interrupt in the middle of ``LocalCluster(...)`` leaves workers in
    ``Status.init`` (Dask's exit hook then fails with an AssertionError), and
    worker processes spawned meanwhile print import tracebacks when Ctrl-C
    reaches the whole process group.  So SIGINT is ignored for the few seconds
    of start-up: the worker processes inherit the ignored signal and never
    react to Ctrl-C (the cluster is closed by :func:`run_sweep`), and this
    process takes its handler back once start-up is over, so the next Ctrl-C
    stops the sweep with one line (``interrupted``) and a closed cluster.
    """

    def __enter__(self):
        import signal
        import threading

        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.active:
            import signal

            signal.signal(signal.SIGINT, self.previous)
        return False


def _describe(cell):
    return ", ".join(f"{k}={cell[k]}" for k in ("agents", "components", "memory", "schedule", "ownership", "graph", "start"))


def _memory_limit(config, client, workers):
    if config["memory_limit_mib"] is not None:
        return config["memory_limit_mib"] * 2**20
    try:
        limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
        limits = [x for x in limits if x > 0]
    except Exception:  # noqa: BLE001 - fall back to this machine's memory
        limits = []
    if limits:
        return int(0.6 * min(limits))
    from .chain.build import _total_memory

    return int(0.6 * _total_memory() / workers)


class _table:
    """Append rows to the CSV table, header first if new, each row flushed to disk."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self.handle = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            self.writer.writeheader()
            self._sync()
        return self.write

    def write(self, row):
        self.writer.writerow({k: _cell_text(row.get(k, "")) for k in COLUMNS})
        self._sync()

    def _sync(self):
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def __exit__(self, *exc):
        self.handle.close()
        return False


def _cell_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).split())

