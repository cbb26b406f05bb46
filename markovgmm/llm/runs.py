"""Read LLM interaction runs, assign silos, measure them (MODEL.md 6.1 observables).

Formats
-------
*Shipped format* (``../shared/data/mirroring_llm``, see its README): one run
is ``output{P}_{k}_{v}.csv.gz`` (steps ``0..39``) plus
``output{P}_{k}_{v}_2nd.csv.gz`` (steps ``40..79``, row numbers restarting at
0), ``P = 10 p``.  Each is a CSV with header ``,0,1,...,n-1``; a data row is
its row number then one cell per agent, a Python list literal holding one
response string (read with :func:`ast.literal_eval`).  The halves are joined.

*Plain format* (bring your own runs): a JSON-lines file, one object per
response, ``{"step": t, "agent": i, "response": "..."}``, every ``(t, i)``
for ``t = 0..T``, ``i = 0..n-1`` exactly once, in any order.  Optional keys
``"p"``, ``"k"``, ``"replicate"`` label the run; when present they must be
the same on every line.

Either reader returns a whole :class:`LLMRun` or raises
:class:`~markovgmm.errors.InputError` with one line naming the file, the row
and the column (or line) at fault; nothing is half-loaded.

Silos
-----
An agent's silo at a step is the index in the vocabulary (default
:data:`FLOWERS`, the README's 30 flowers, index = silo) of the name its
response mentions first: matching is case-insensitive substring matching,
the earliest starting position wins, and at equal positions the longer name
wins (``"calla lily"`` over ``"lily"``); no name -> ``-1`` (no silo, never
counted by the observables).  The authors' own notebook looked for the first
position in the original-case text, which misplaces capitalised names
("The Orchid ... rose" goes to rose there); this module matches on the
case-folded text as the README asks.

Data folder
-----------
:func:`default_data_dir`: ``$MARKOVGMM_LLM_DATA`` if set, else
``../shared/data/mirroring_llm`` relative to the repository root that holds
this package (the folder above ``markovgmm/``), else the same folder found
from the working directory upwards (an installed, non-editable copy).  The
CLI's ``--data DIR`` overrides all of them.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..observables import changed_agents, last_split_time, silo_counts, silo_sizes, stability

__all__ = [
    "FLOWERS",
    "DATA_ENV",
    "LLMRun",
    "default_data_dir",
    "read_csv_half",
    "read_shipped_run",
    "read_jsonl",
    "read_runs",
    "silo_matcher",
    "assign_silos",
    "run_observables",
    "cell_summary",
]

FLOWERS = (
    "rose", "orchid", "tulip", "lily", "sunflower", "lotus", "peony", "hydrangea", "dahlia", "magnolia",
    "iris", "gardenia", "poppy", "hyacinth", "wisteria", "daffodil", "daisy", "chrysanthemum", "lavender",
    "carnation", "marigold", "hibiscus", "bluebell", "zinnia", "anemone", "azalea", "calla lily",
    "cherry blossom", "bird of paradise", "gerbera daisy",
)  # fmt: skip
"""The README's silo vocabulary: index = silo number; agent ``i`` starts in silo ``i``."""

DATA_ENV = "MARKOVGMM_LLM_DATA"
"""Environment variable naming the LLM data folder (overridden by ``--data``)."""

_SHIPPED = re.compile(r"^output(\d+)_(\d+)_(\d+)\.csv\.gz$")


@dataclass(frozen=True)
class LLMRun:
    """One LLM interaction run: ``responses[t][i]`` is agent ``i``'s response at step ``t``.

    ``p``, ``k``, ``replicate`` label the run (``None`` when unknown);
    ``sources`` are the files it was read from.
    """

    responses: tuple
    p: float | None = None
    k: int | None = None
    replicate: int | None = None
    sources: tuple = field(default=())

    @property
    def steps(self):
        """Number of recorded steps (``T + 1``; 80 for the shipped runs)."""
        return len(self.responses)

    @property
    def agents(self):
        return len(self.responses[0]) if self.responses else 0

    def silos(self, vocabulary=FLOWERS):
        """Silo array ``(steps, agents)``, ``-1`` where a response names no silo."""
        return assign_silos(self.responses, vocabulary)

    def label(self):
        return f"p={self.p:g}, k={self.k}, replicate {self.replicate}"


# ---------------------------------------------------------------- data folder


def _candidates():
    env = os.environ.get(DATA_ENV)
    if env:
        yield Path(env)
        return
    tail = Path("shared") / "data" / "mirroring_llm"
    yield Path(__file__).resolve().parents[2] / ".." / tail  # a checkout or editable install
    starts = [Path.cwd()]
    parent = os.environ.get("JPY_PARENT_PID")  # a notebook: where its Jupyter process was started
    if parent and Path(f"/proc/{parent}/cwd").exists():
        try:
            starts.append(Path(os.readlink(f"/proc/{parent}/cwd")))
        except OSError:
            pass
    for start in starts:
        for folder in (start, *start.parents):
            yield folder / ".." / tail
            yield folder / tail


def default_data_dir():
    """The LLM data folder: ``$MARKOVGMM_LLM_DATA`` if set; else
    ``<repository root>/../shared/data/mirroring_llm`` with the repository
    root taken from this package's location; else (an installed copy) the
    first ``../shared/data/mirroring_llm`` or ``shared/data/mirroring_llm``
    found from the working directory upwards (for a notebook kernel, also
    from the directory Jupyter was started in).  When none exists, the
    first candidate is returned, for the error message."""
    candidates = list(_candidates())
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    return candidates[0].resolve()


def _data_dir(data):
    path = Path(data) if data is not None else default_data_dir()
    if not path.is_dir():
        hint = f"pass --data DIR or set {DATA_ENV}"
        raise InputError(f"data: LLM run folder {str(path)!r} does not exist ({hint})")
    return path


# ---------------------------------------------------------------- readers


def _cell_text(raw, path, row, column):
    """The one response string of a cell ``"['...']"``."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)):
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise InputError(f"{path}: row {row}, column {column}: expected a list literal with one string, got {shown!r}")
    return value[0]


def read_csv_half(path):
    """Rows of one shipped CSV file: a list (one per step) of lists of response strings.

    Row and column in an error are the file's own labels: the row number in
    the first field (0-based data row) and the agent column header.
    """
    path = str(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") if path.endswith(".gz") else open(
            path, encoding="utf-8", newline=""
        ) as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read ({type(err).__name__}: {err})") from None
    try:
        table = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise InputError(f"{path}: not valid CSV ({err})") from None
    if not table:
        raise InputError(f"{path}: empty file, expected a header ',0,1,...'")
    header = table[0]
    agents = len(header) - 1
    if agents < 1 or header[0] != "" or header[1:] != [str(i) for i in range(agents)]:
        raise InputError(f"{path}: row header: expected ',0,1,...,n-1', got {','.join(header)[:60]!r}")
    rows = []
    for index, fields in enumerate(table[1:]):
        if not fields:
            continue  # a trailing blank line
        row = fields[0]
        if row != str(index):
            raise InputError(f"{path}: row {index}, column row-number: expected {index}, got {row[:20]!r}")
        if len(fields) != agents + 1:
            raise InputError(f"{path}: row {index}: expected {agents} agent columns, got {len(fields) - 1}")
        rows.append([_cell_text(raw, path, index, column) for column, raw in enumerate(fields[1:])])
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows


def read_shipped_run(first, second=None, p=None, k=None, replicate=None):
    """A run from its first-half file and (optional) ``_2nd`` file, halves joined.

    Labels default to the ones in a shipped file name ``output{P}_{k}_{v}``.
    """
    first = Path(first)
    match = _SHIPPED.match(first.name)
    if match:
        p = int(match.group(1)) / 10 if p is None else p
        k = int(match.group(2)) if k is None else k
        replicate = int(match.group(3)) if replicate is None else replicate
    rows = read_csv_half(first)
    sources = [str(first)]
    if second is not None:
        more = read_csv_half(second)
        if len(more[0]) != len(rows[0]):
            raise InputError(f"{second}: has {len(more[0])} agents, its first half {first} has {len(rows[0])}")
        rows = rows + more
        sources.append(str(second))
    return LLMRun(tuple(tuple(r) for r in rows), p=p, k=k, replicate=replicate, sources=tuple(sources))


def read_jsonl(path, p=None, k=None, replicate=None):
    """A run from the plain JSONL format (see the module docstring)."""
    path = str(path)
    cells = {}
    labels = {}
    try:
        handle = open(path, encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}: line {number}: not JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}: line {number}: expected an object {{step, agent, response}}")
            step, agent, response = record.get("step"), record.get("agent"), record.get("response")
            if not (isinstance(step, int) and step >= 0 and isinstance(agent, int) and agent >= 0):
                raise InputError(f"{path}: line {number}: step and agent must be nonnegative integers")
            if not isinstance(response, str):
                raise InputError(f"{path}: line {number}, step {step}, agent {agent}: response must be a string")
            if (step, agent) in cells:
                raise InputError(f"{path}: line {number}: step {step}, agent {agent} appears twice")
            for key in ("p", "k", "replicate"):
                if key in record:
                    if labels.setdefault(key, record[key]) != record[key]:
                        raise InputError(f"{path}: line {number}: {key} differs from earlier lines")
            cells[(step, agent)] = response
    if not cells:
        raise InputError(f"{path}: no responses")
    steps = 1 + max(s for s, _ in cells)
    agents = 1 + max(a for _, a in cells)
    for t in range(steps):
        for i in range(agents):
            if (t, i) not in cells:
                raise InputError(f"{path}: step {t}, agent {i}: missing (need every step 0..{steps - 1} x agent 0..{agents - 1})")
    responses = tuple(tuple(cells[(t, i)] for i in range(agents)) for t in range(steps))
    return LLMRun(
        responses,
        p=labels.get("p", p) if p is None else p,
        k=labels.get("k", k) if k is None else k,
        replicate=labels.get("replicate", replicate) if replicate is None else replicate,
        sources=(path,),
    )


def read_runs(data=None):
    """Every run in a folder: shipped ``output*.csv.gz`` pairs and ``*.jsonl`` files.

    Sorted by ``(p, k, replicate)``.  Raises :class:`InputError` when the
    folder is missing or holds no run.
    """
    folder = _data_dir(data)
    runs = []
    for path in sorted(folder.iterdir()):
        match = _SHIPPED.match(path.name)
        if match:
            second = path.with_name(path.name.replace(".csv.gz", "_2nd.csv.gz"))
            runs.append(read_shipped_run(path, second if second.exists() else None))
        elif path.suffix == ".jsonl":
            runs.append(read_jsonl(path))
    if not runs:
        raise InputError(f"data: no LLM runs (output*.csv.gz or *.jsonl) in {str(folder)!r}")

    def key(run):
        return (run.p if run.p is not None else -1, run.k if run.k is not None else -1, run.replicate if run.replicate is not None else -1)

    return sorted(runs, key=key)


# ---------------------------------------------------------------- silos


def silo_matcher(vocabulary=FLOWERS):
    """A function ``text -> silo index or -1`` implementing the README rule.

    >>> match = silo_matcher()
    >>> match("The prettiest flower is the Calla Lily, not the rose"), match("no flower"), match("A LILY")
    (26, -1, 3)
    """
    names = [str(v).strip().lower() for v in vocabulary]
    if not names or any(not n for n in names):
        raise InputError("vocabulary: needs at least one nonempty name")
    if len(set(names)) != len(names):
        raise InputError("vocabulary: names must be distinct (case-insensitively)")
    index = {n: i for i, n in enumerate(names)}
    # Alternation tries longer names first, so at one position the longest wins;
    # re.search returns the leftmost position.
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE)

    def match(text):
        found = pattern.search(text)
        return index[found.group(0).lower()] if found else -1

    return match


def assign_silos(responses, vocabulary=FLOWERS):
    """Silo array ``(steps, agents)`` of a response table (``-1``: no silo)."""
    match = silo_matcher(vocabulary)
    return np.array([[match(text) for text in row] for row in responses], dtype=np.int64)


def run_observables(run, vocabulary=FLOWERS):
    """MODEL.md 6.1's observables of one run, as a JSON-ready dict."""
    silos = run.silos(vocabulary)
    final = silos[-1]
    names = [str(v) for v in vocabulary]
    members = {}
    for s in final[final >= 0]:
        members[names[s]] = members.get(names[s], 0) + 1
    return {
        "p": run.p,
        "k": run.k,
        "replicate": run.replicate,
        "steps": run.steps,
        "agents": run.agents,
        "silo_counts": silo_counts(silos).tolist(),
        "stability": stability(silos).tolist(),
        "changed_agents": changed_agents(silos).tolist(),
        "t_star": int(last_split_time(silos)),
        "unassigned": int((silos < 0).sum()),
        "final_silos": int(silo_counts(final)),
        "final_silo_sizes": list(silo_sizes(final)),
        "final_silo_members": dict(sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def cell_summary(observables):
    """Per ``(p, k)`` cell: the final silo law (fraction of runs with ``S_T = s``)."""
    cells = {}
    for obs in observables:
        cells.setdefault((obs["p"], obs["k"]), []).append(obs["final_silos"])
    out = []
    for (p, k), finals in sorted(cells.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or 0)):
        values, counts = np.unique(finals, return_counts=True)
        out.append(
            {
                "p": p,
                "k": k,
                "runs": len(finals),
                "final_silos": finals,
                "final_silo_law": {int(v): int(c) / len(finals) for v, c in zip(values, counts)},
                "mean_final_silos": float(np.mean(finals)),
            }
        )
    return out
