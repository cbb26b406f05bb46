"""Assembly of a chain's transition matrix from per-agent laws (MODEL.md 2, 6.2).

Shared by every model family: a model supplies its *local table* (the count
vector of every local state and the local states one update can lead to) and
its *per-agent laws* (the probability of each of those moves for every agent
at every state, agents independent given the state); this module turns them
into the CSR transition matrix of the chain: under ``sync`` the row of a
state is the row-wise Kronecker product of its agents' laws, under ``async``
``1/m`` times the sum over agents of "agent ``i`` moves, the others stay".

- the pool chain of MODEL.md 2: :mod:`markovgmm.chain.laws`;
- the mirroring chain of MODEL.md 6.2: :mod:`markovgmm.chain.mirror`.

:func:`local_table` and :func:`agent_laws` are the only places that choose
between them; exact and float builds share every line below them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm

import numpy as np

from ..errors import TooLargeError
from ..system import System
from . import laws, mirror
from .states import global_index, rank_counts
from .symmetry import orbit_numbers

__all__ = ["Chain", "estimate_cost", "check_cost", "assemble_rows", "agent_laws", "local_table", "int64_limbs", "numerators_to_float",
           "sum_by_key"]

_INT64_SAFE = laws.INT64_SAFE
#: Transitions expanded per chunk of rows before merging duplicates (bounds the temporaries).
_CHUNK_ENTRIES = 1 << 22


def local_table(system):
    """The local table of ``system``'s model: ``counts`` (L, K), ``successors``
    (L, E) and the model's own coefficients (pool: the replacement table of
    MODEL.md 2 steps 3-4; mirror: the farthest rule of MODEL.md 6.2)."""
    if system.model == "mirror":
        return mirror.mirror_table(system)
    return laws.replacement_table(system.memory, system.components, system.replace, system.prune)


def agent_laws(system, ranks, exact, table=None, kernel=None):
    """Per-agent laws at every state in ``ranks`` (shape ``(n, m)``), for the
    model of ``system``.

    Returns ``succ`` (n, m, E) next local ranks, ``vals`` (n, m, E) their
    probabilities (integer numerators over ``denom`` when exact, floats
    otherwise) and ``denom``.  ``kernel`` replaces the pool model's labelling
    kernel (:func:`~markovgmm.chain.laws.incoming_label_laws`).
    """
    table = table if table is not None else local_table(system)
    if system.model == "mirror":
        return mirror.mirror_agent_laws(system, ranks, exact, table)
    return laws.pool_agent_laws(system, ranks, exact, table, kernel=kernel)


#: Bits of each int64 storage limb of a big numerator (:func:`int64_limbs`).
LIMB_BITS = 48


def int64_limbs(values, bits=LIMB_BITS, bound=None):
    """Integers as int64 limbs: ``values == sum_j limbs[j] * 2**(bits*j)``
    exactly, every limb but the last in ``[0, 2**bits)``, the last signed.

    ``values`` is an int64 array (returned as the one limb) or an object
    array of Python integers (any size; a few vectorised object operations
    per element, no Python-level loop).  ``bound`` (e.g. the denominator of a
    stochastic matrix's numerators) only sets the number of limbs, saving a
    pass over the values; exactness never rests on it: a last limb that does
    not fit int64 raises ``OverflowError``.

    >>> [l.tolist() for l in int64_limbs(np.array([2**100 + 5, -3], dtype=object))]
    [[5, 281474976710653], [4503599627370496, -1]]
    """
    if values.dtype != object:
        return [np.asarray(values, dtype=np.int64)]
    if not len(values):
        return [np.zeros(0, dtype=np.int64)]
    if bound is not None:
        top = int(bound).bit_length()
    else:
        top = max(int(values.max()).bit_length(), int(values.min()).bit_length())  # bit_length ignores the sign
    count = max(1, -(-(top + 1 - 62) // bits) + 1) if top >= 62 else 1
    mask, limbs, rest = (1 << bits) - 1, [], values
    for _ in range(count - 1):
        limbs.append((rest & mask).astype(np.int64))
        rest = rest >> bits
    limbs.append(rest.astype(np.int64))  # |rest| < 2^(top - bits*(count-1)) <= 2^62: fits (astype raises otherwise)
    return limbs


def numerators_to_float(values, denominator, limbs=None):
    """``values / denominator`` as float64 (relative error a few ulp, not
    correctly rounded: for the float side of a computation, never the exact
    one); ``values`` int64 or Python-integer object array, any size, or
    ``None`` with its :func:`int64_limbs` given as ``limbs``.

    >>> numerators_to_float(np.array([3 * 2**200, 2**199], dtype=object), 2**201).tolist()
    [1.5, 0.25]
    """
    d = int(denominator)
    shift = max(0, d.bit_length() - 60)  # d = d_top * 2^shift + (lower bits, dropped: relative 2^-59)
    d_top = float(d >> shift)
    if limbs is None:
        if values.dtype != object and shift == 0:
            return np.asarray(values, dtype=np.float64) / d_top
        limbs = int64_limbs(values, bound=d)
    out = np.zeros(len(limbs[0]), dtype=np.float64)
    for j, limb in enumerate(limbs):
        out += np.ldexp(limb.astype(np.float64), LIMB_BITS * j - shift) / d_top
    return out


@dataclass(repr=False)
class Chain:
    """A built chain: states and transition matrix (CSR).

    Attributes
    ----------
    system : System
    exact : bool
        Values are integer numerators over ``denominator`` (True) or floats.
    agent_ranks : (n, m) int array
        Local rank of each agent's memory in state ``s`` (row ``s``).
    local_counts : (L, K) int array
        Count vector of each local rank.
    indptr, indices, values : arrays
        CSR structure of the transition matrix; ``P[s, t] = values / denominator``.
    denominator : int or float
        Common denominator (1.0 on the float path).
    lumped : bool
        True for a chain on orbits of the agents' symmetry group
        (:mod:`markovgmm.chain.lumped`): state ``s`` is then an orbit,
        ``agent_ranks[s]`` its canonical representative, and
        ``P[s, t]`` the probability of moving from any state of orbit ``s``
        into orbit ``t`` (the same for every state of ``s``).
    group : AgentGroup or None
        The symmetry group of a lumped chain.
    orbit_size : (n,) int array or None
        Number of states in each orbit of a lumped chain.
    representatives : (n,) int array or None
        Global index (full chain numbering) of each orbit's representative,
        increasing.
    exact_rows : ExactRows or None
        On a float chain from :func:`~markovgmm.chain.lumped.build_streamed_chain`:
        the exact rows, regenerated chunk by chunk on demand
        (:class:`~markovgmm.chain.population.ExactRows`), for the streamed
        certificate; None otherwise.
    """

    system: System
    exact: bool
    agent_ranks: np.ndarray
    local_counts: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    denominator: object
    lumped: bool = False
    group: object = field(default=None, repr=False)
    orbit_size: np.ndarray | None = field(default=None, repr=False)
    representatives: np.ndarray | None = field(default=None, repr=False)
    exact_rows: object = field(default=None, repr=False)
    _float: object = field(default=None, repr=False)

    @property
    def n_states(self):
        return len(self.agent_ranks)

    @property
    def n_transitions(self):
        return len(self.indices)

    def matrix(self):
        """The transition matrix as a float64 ``scipy.sparse.csr_matrix``."""
        if self._float is None:
            import scipy.sparse as sp

            data = numerators_to_float(self.values, self.denominator) if self.exact else self.values.astype(np.float64, copy=False)
            self._float = sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_states, self.n_states))
        return self._float

    def exact_matrix(self, max_entries=2_000_000):
        """The transition matrix as an exact sparse ``sympy`` ``DomainMatrix``
        over ``QQ`` (``.to_Matrix()`` for a SymPy Matrix, ``.rep`` for the
        dict-of-dicts); refuses with :class:`~markovgmm.errors.TooLargeError`
        above ``max_entries`` stored transitions.  Exact chains only.

        >>> from markovgmm.system import System
        >>> from markovgmm.chain.build import build_chain
        >>> M = build_chain(System(agents=2, components=2, memory=2)).exact_matrix()
        >>> M.shape, str(M.to_Matrix()[4, 4])
        ((9, 9), '1/4')
        """
        if not self.exact:
            raise TooLargeError("exact_matrix: this chain is a float build; build it with exact=True")
        if self.n_transitions > max_entries:
            raise TooLargeError(
                f"exact_matrix: {self.n_transitions:,} transitions exceed max_entries={max_entries:,}; use matrix() or the CSR arrays"
            )
        from sympy import QQ
        from sympy.polys.matrices import DomainMatrix

        d = int(self.denominator)
        rows = {}
        for s in range(self.n_states):
            lo, hi = int(self.indptr[s]), int(self.indptr[s + 1])
            if hi > lo:
                rows[s] = {int(t): QQ(int(v), d) for t, v in zip(self.indices[lo:hi].tolist(), self.values[lo:hi].tolist())}
        return DomainMatrix(rows, (self.n_states, self.n_states), QQ)

    def __repr__(self):
        kind = "lumped " + self.group.describe() if self.lumped and self.group is not None else "full"
        return (
            f"<Chain {self.system.model} m={self.system.agents} K={self.system.components} N={self.system.memory} "
            f"{self.system.schedule}, {kind}: {self.n_states:,} states, {self.n_transitions:,} transitions, "
            f"{'exact' if self.exact else 'float'}>"
        )

    def structure(self):
        """Boolean adjacency (``P[s, t] > 0``) as a CSR matrix."""
        import scipy.sparse as sp

        return sp.csr_matrix(
            (np.ones(len(self.indices), dtype=np.int8), self.indices, self.indptr), shape=(self.n_states, self.n_states)
        )

    def probability(self, source, target):
        """``P[source, target]`` as a Fraction (exact) or float."""
        lo, hi = self.indptr[source], self.indptr[source + 1]
        hit = np.flatnonzero(self.indices[lo:hi] == target)
        if len(hit) == 0:
            return Fraction(0) if self.exact else 0.0
        value = self.values[lo + hit[0]]
        return Fraction(int(value), self.denominator) if self.exact else float(value)

    def counts(self, state):
        """Count vectors (one per agent) of state number ``state``."""
        return tuple(tuple(int(x) for x in self.local_counts[r]) for r in self.agent_ranks[state])

    @property
    def n_full_states(self):
        """Number of states of the unlumped chain (``n_states`` unless lumped)."""
        return self.system.n_states

    def index(self, state):
        """State number of a state given as one count vector per agent (on a
        lumped chain: the number of its orbit)."""
        state = self.system.check_state(state)
        ranks = rank_counts(np.array(state, dtype=np.int64), self.system.memory)
        if self.lumped:
            return int(orbit_numbers(self.group, self.representatives, ranks[None, :], self.system.n_local_states)[0])
        return int(global_index(ranks, self.system.n_local_states))

    def vertex_labels(self):
        """``(n, m)`` array: the label an agent holds if its memory is at a
        vertex (one label only), else -1."""
        counts = self.local_counts[self.agent_ranks]  # (n, m, K)
        at_vertex = counts.max(axis=2) == self.system.memory
        return np.where(at_vertex, counts.argmax(axis=2), -1)


def estimate_cost(system, table=None, lumped=False, group=None, streamed=False):
    """Predicted size of a build: states, transitions and bytes, without
    building the chain (closed form in the parameters plus the exact row
    lengths of a fixed sample of at most 256 rows; no allocation beyond them).

    ``transitions`` is ``states`` times the mean stored row length of the
    sample: for the full chain (and the lumped chain of any group other than
    ``S_m``) a row's length is bounded by the product of the agents' numbers
    of possible moves (sync) or ``1 +`` their sum (async); for the ``S_m``
    lumped sync chain (:mod:`markovgmm.chain.population`) the sampled orbits'
    rows are merged exactly.  ``bytes`` is the build's peak above the running
    interpreter: the CSR arrays twice (pieces and their concatenation), the
    representatives and one chunk of temporaries (on the population path:
    the last agent's expanded partials of one chunk, in int64 limb columns
    when the numerators exceed int64), all stored arrays costed at 1.15
    times the sampled transition count (the sample has been 5-13% low);
    Python-integer numerators (a denominator of 2^62 or more) are costed at
    their size.  Checked against the measured peak in
    ``tests/test_population.py`` and ``tests/test_exact_kernel.py``.

    ``streamed=True`` (population path only): the float chain of
    :func:`~markovgmm.chain.lumped.build_streamed_chain` and its streamed
    certificate instead: the float build's peak (16-byte entries, twice) or,
    if larger, the certificate's (the stored 16-byte entries, the graph
    copies of the class search, and one exact chunk in 31-bit limb
    columns), costed per transition as measured; no Python-integer
    numerators are ever stored.

    >>> from markovgmm.system import System
    >>> estimate_cost(System(agents=3, components=2, memory=40))["states"]
    68921
    >>> estimate_cost(System(agents=3, components=2, memory=40), lumped=True)["states"]
    12341
    """
    if table is None:
        table = local_table(system)
    E = table.successors.shape[1]
    m, L = system.agents, system.n_local_states
    population_path = False
    if lumped:
        from . import population
        from .symmetry import agent_group, n_orbits

        group = group if group is not None else agent_group(system)
        n = n_orbits(group, L)
        population_path = population.applies(system, group)
    else:
        n = system.n_states
    per_row = _sampled_row_length(system, table, n, population_path)
    transitions = int(np.ceil(n * per_row))
    bits = _exact_denominator_bound(system, table).bit_length()
    int_bytes = 0 if bits < 62 else 28 + 4 * (bits // 30 + 1)  # one Python int per stored value
    stored = transitions * 16  # index + value (or pointer); copied once when the chunks are concatenated
    if population_path:
        from .population import chunk_rows

        # the last agent's step of one chunk: rows x mean row length x E expanded partials; int64 limb
        # columns (31 bits) for numerators beyond int64 (measured ~64 + 24 per column bytes each), or
        # Python integers on the object path
        expanded = min(chunk_rows(system, table, n, per_row), n) * per_row * E
        if bits < 62:
            per_partial = 64
        elif bits > 31 * m or (m + 1) ** L * chunk_rows(system, table, n, per_row) >= 2**62:
            per_partial = 72 + 2 * int_bytes  # Python-integer convolution
        else:
            per_partial = 64 + 24 * -(-bits // 31) + int_bytes
        per_partial += 0 if (m + 1) ** L < 2**40 else (m + 4) * 10  # rank tuples instead of occupation keys
        chunk = int(expanded * per_partial)
    else:
        expanded = E**m if system.schedule == "sync" else m * E
        chunk = min(_CHUNK_ENTRIES, max(expanded, 1) * n) * (8 * 7 + int_bytes)
    if streamed and population_path:
        limbs = 0 if bits < 62 else -(-bits // 31)
        exact_chunk = int(expanded * (64 + 24 * limbs)) if bits >= 62 else chunk
        # measured (VmHWM, m = 8..12): the build ~38 bytes per transition (pieces and their concatenation), the
        # certificate ~41 (the chain's 16, the 0/1 structure, csgraph's float64 copy of it, scipy's index copy)
        # plus ~20 MiB of fixed first-use cost
        build = 1.15 * 36 * transitions + expanded * 64
        certify = 1.15 * 42 * transitions + exact_chunk + n * 8 * 64
        total = int(max(build, certify)) + n * m * 8 * 4 + 24 * 2**20
    else:
        total = int(1.15 * (2 * stored + transitions * (8 + int_bytes))) + n * m * 8 * 4 + chunk
    return {"states": n, "transitions": transitions, "bytes": int(total)}


def _sampled_row_length(system, table, n, population_path, sample=256):
    """Mean stored row length over a fixed pseudo-random sample of rows (an
    upper bound per row except on the population path, where it is exact)."""
    m, L = system.agents, system.n_local_states
    rng = np.random.default_rng(20261201)
    if population_path:
        # Uniform multisets by stars and bars: m distinct sorted values of 0..L+m-2, minus 0..m-1.
        count = min(sample, n)
        picks = np.array([np.sort(rng.choice(L + m - 1, size=m, replace=False)) for _ in range(count)], dtype=np.int64)
        ranks = picks - np.arange(m)
    else:
        ranks = rng.integers(0, L, size=(min(sample, n), m)).astype(np.int64)
    kernel = None
    if system.model == "pool":
        # Structure only: a label may go to any support component (covers support, open and gaussian).
        counts = table.counts
        kernel = np.broadcast_to((counts > 0)[:, None, :].astype(np.float64), (L, system.components, system.components)).copy()
        if system.ownership == "open":
            kernel = np.broadcast_to(np.eye(system.components), kernel.shape).copy()
    succ, vals, _ = agent_laws(system, ranks, False, table, kernel=kernel)
    moves = (vals != 0).sum(axis=2)  # (S, m)
    if population_path:
        from .population import _convolve

        rows, _key, _data = _convolve(succ, (vals != 0).astype(np.float64), L)
        return len(rows) / len(ranks)
    if system.schedule == "sync":
        return float(np.prod(moves.astype(np.float64), axis=1).mean())
    return float((1 + (moves - 1).clip(min=0).sum(axis=1)).mean())


def _exact_denominator_bound(system, table):
    """Common denominator of the exact chain (before any merging)."""
    if system.model == "mirror":
        per_agent = table.agent_denominator
    else:
        w_den = 1
        for row in system.W:
            for x in row:
                w_den = lcm(w_den, x.denominator)
        per_agent = table.denominator * (w_den * system.memory) ** system.replace
    return per_agent**system.agents if system.schedule == "sync" else per_agent * system.agents


def check_cost(system, table, memory_limit=None, lumped=False, group=None, streamed=False):
    """Raise :class:`~markovgmm.errors.TooLargeError` (naming the state count
    and the memory estimate, and suggesting the lumped path when it helps)
    when a build would not fit in ``memory_limit`` bytes (default 60% of RAM)."""
    cost = estimate_cost(system, table, lumped=lumped, group=group, streamed=streamed)
    limit = memory_limit if memory_limit is not None else int(0.6 * _total_memory())
    if cost["bytes"] <= limit:
        return cost
    what = "orbits (lumped)" if lumped else "states"
    if streamed:
        what = "orbits (lumped, exact rows streamed)"
    advice = "use fewer agents or a smaller memory"
    if not lumped:
        from .symmetry import agent_group

        group = agent_group(system)
        if not group.trivial:
            lumped_cost = estimate_cost(system, table, lumped=True, group=group)
            advice = (
                f"the lumped chain (symmetry group {group.describe()}: {lumped_cost['states']:,} orbits, about "
                f"{lumped_cost['bytes'] / 2**30:.2f} GiB) gives the same absorption results: use --lump on "
                f"(build_chain(..., lump=True)), or {advice}"
            )
    smaller = _largest_memory_that_fits(system, limit, lumped, group, streamed=streamed)
    if smaller is not None:
        advice += f"; the largest memory that fits here is memory={smaller[0]} ({smaller[1]:,} {what}, about {smaller[2] / 2**30:.2f} GiB)"
    raise TooLargeError(
        f"{system.describe()}: {cost['states']:,} {what} and about {cost['transitions']:,} transitions need "
        f"about {cost['bytes'] / 2**30:.2f} GiB, over the {limit / 2**30:.2f} GiB limit; {advice}"
    )


def _largest_memory_that_fits(system, limit, lumped, group, seconds=5.0, streamed=False):
    """``(memory, states, bytes)`` of the largest memory below ``system``'s
    whose build fits in ``limit`` (same everything else; bisection on the
    estimate, at most ``seconds``), or None."""
    import dataclasses
    import time

    began = time.perf_counter()
    low = max(system.replace if system.model == "pool" else 1, system.components * system.prune + 1, 1)
    high = system.memory - 1
    best = None
    while low <= high and time.perf_counter() - began < seconds:
        mid = (low + high) // 2
        try:
            candidate = dataclasses.replace(system, memory=mid)
            cost = estimate_cost(candidate, lumped=lumped, group=group, streamed=streamed)
        except Exception:  # an invalid combination: look lower
            high = mid - 1
            continue
        if cost["bytes"] <= limit:
            best, low = (mid, cost["states"], cost["bytes"]), mid + 1
        else:
            high = mid - 1
    return best


def assemble_rows(system, ranks, exact, table=None, column_map=None, progress=None, kernel=None):
    """CSR transition rows of the states ``ranks`` (shape ``(n, m)``).

    Parameters
    ----------
    system : System
    ranks : (n, m) int array
        Local ranks of the row states.
    exact : bool
    table : LocalTable, optional
    column_map : callable, optional
        Maps an array of successor global indices to column numbers (the
        lumped chain maps a state to its orbit); duplicates after the map
        are summed.  Default: the global index itself.
    progress : callable, optional
        Called with the number of rows done.
    kernel : (L, K, K) array, optional
        Labelling kernel replacing the ownership rule's (:func:`incoming_label_laws`).

    Returns
    -------
    indptr, indices, values, denominator

    Notes
    -----
    Rows are processed in chunks of about ``2^22`` expanded transitions; per
    chunk the successors are the mixed-radix outer sum of the agents'
    successor ranks and the values the outer product of their probabilities
    (sync), or the per-agent moves with the others fixed (async), then sorted
    once on ``row * ncols + column`` and merged.  When the exact common
    denominator is ``>= 2^62`` the numerators are Python integers (object
    arrays) from the start, so no int64 product can overflow.
    """
    m, L = system.agents, system.n_local_states
    if table is None:
        table = local_table(system)
    n = len(ranks)
    E = table.successors.shape[1]
    per_row = E**m if system.schedule == "sync" else m * E
    rows_per_chunk = max(1, _CHUNK_ENTRIES // per_row)
    big = exact and _exact_denominator_bound(system, table) >= _INT64_SAFE
    if kernel is None and system.model == "pool":  # once per build, not per chunk (quadrature under gaussian)
        kernel = laws.labelling_kernel(system, table.counts)
    pieces, lengths = [], np.zeros(n, dtype=np.int64)
    denominator = 1.0
    for first in range(0, n, rows_per_chunk):
        chunk = ranks[first : first + rows_per_chunk]
        succ, vals, denom = agent_laws(system, chunk, exact, table, kernel=kernel)
        if big and vals.dtype != object:
            vals = vals.astype(object)
        if system.schedule == "sync":
            rows, cols, data = _sync_entries(chunk, succ, vals, L)
            denominator = denom**m if exact else 1.0
        else:
            rows, cols, data = _async_entries(chunk, succ, vals, L)
            denominator = denom * m if exact else 1.0
            if not exact:
                data = data / m
        if column_map is not None:
            cols = column_map(cols)
        ncols = int(cols.max()) + 1 if len(cols) else 1
        key, data = sum_by_key(rows * ncols + cols, data)
        rows, cols = key // ncols, key % ncols
        lengths[first : first + len(chunk)] = np.bincount(rows, minlength=len(chunk))
        pieces.append((cols, data))
        if progress:
            progress(first + len(chunk))
    return csr_from_pieces(lengths, pieces, exact, denominator)


def sum_by_key(key, *values):
    """Merge duplicate keys: ``(keys, *sums)`` with ``keys`` sorted and unique and
    each ``sums[j][i]`` the sum of ``values[j]`` over the entries with key
    ``keys[i]`` (int64, float or Python-object arrays; stable sort).

    The one place where (row, column) duplicates of a sparse build are summed.

    >>> k, v = sum_by_key(np.array([3, 1, 3]), np.array([1, 2, 4]))
    >>> k.tolist(), v.tolist()
    ([1, 3], [2, 5])
    """
    order = np.argsort(key, kind="stable")
    key = key[order]
    if not len(key):
        return (key, *(np.asarray(v)[order] for v in values))
    heads = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return (key[heads], *(np.add.reduceat(np.asarray(v)[order], heads) for v in values))


def csr_from_pieces(lengths, pieces, exact, denominator):
    """CSR arrays ``indptr, indices, values, denominator`` from per-row lengths
    and the chunks' ``(columns, values)`` in row order (Python integers when
    the exact common denominator is ``>= 2^62``)."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, np.int64)
    values = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0)
    if exact and values.dtype != object and denominator >= _INT64_SAFE:
        values = values.astype(object)
    return indptr, indices.astype(np.int64, copy=False), values, denominator


def _total_memory():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30



def _sync_entries(ranks, succ, vals, L):
    n, m, E = succ.shape
    cols = np.zeros((n, 1), dtype=np.int64)
    data = np.ones((n, 1), dtype=vals.dtype)
    for i in range(m):
        cols = (cols[:, :, None] * L + succ[:, i, None, :]).reshape(n, -1)
        data = (data[:, :, None] * vals[:, i, None, :]).reshape(n, -1)
    rows = np.repeat(np.arange(n, dtype=np.int64), cols.shape[1])
    cols, data = cols.ravel(), data.ravel()
    nonzero = data != 0
    return rows[nonzero], cols[nonzero], data[nonzero]


def _async_entries(ranks, succ, vals, L):
    n, m, E = succ.shape
    here = global_index(ranks, L)
    rows, cols, data = [], [], []
    for i in range(m):
        place = L ** (m - 1 - i)
        cols.append((here[:, None] + (succ[:, i, :] - ranks[:, i, None]) * place).ravel())
        rows.append(np.repeat(np.arange(n, dtype=np.int64), E))
        data.append(vals[:, i, :].ravel())
    rows, cols, data = np.concatenate(rows), np.concatenate(cols), np.concatenate(data)
    nonzero = data != 0
    return rows[nonzero], cols[nonzero], data[nonzero]
