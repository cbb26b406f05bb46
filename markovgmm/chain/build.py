"""Build the transition matrix of the memory-replacement chain (MODEL.md 2).

Building is a pure function from a :class:`~markovgmm.system.System` to a
:class:`Chain`: the states (local ranks per agent), and the transition matrix
in CSR form.  With ``exact=True`` the entries are integer numerators over one
common denominator (so every probability is an exact rational and every row
sums to exactly 1); with ``exact=False`` they are float64.  Both come from the
same tables (:mod:`markovgmm.chain.laws`) through the same code; only the
value type differs.

Under ``sync`` every agent updates independently given the state, so a row is
the (row-wise Kronecker) product of the agents' laws; under ``async`` it is
``1/m`` times the sum over agents of "agent ``i`` moves, the others stay".

Rows are assembled in chunks of states (:func:`assemble_rows`): the
per-agent laws of a chunk (:func:`agent_laws`), their outer product (sync) or
sum (async), an optional map of the successor states (the lumped chain of
:mod:`markovgmm.chain.lumped` maps each successor to its orbit), and one
sort per chunk to merge duplicate targets.  Memory is the final CSR arrays
plus one chunk's temporaries.  ``build_chain(system, lump=True)`` builds the
chain lumped by the agents' symmetry group instead (never the full chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, TooLargeError
from ..system import System
from .laws import labelling_kernel, replacement_table
from .states import all_states, global_index, rank_counts

__all__ = ["Chain", "build_chain", "estimate_cost", "agent_laws", "incoming_label_laws", "assemble_rows"]

_INT64_SAFE = 2**62
#: Transitions expanded per chunk of rows before merging duplicates (bounds the temporaries).
_CHUNK_ENTRIES = 1 << 22


@dataclass
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
            data = self.values.astype(np.float64) if self.values.dtype != object else np.array(
                [float(Fraction(int(v), self.denominator)) for v in self.values]
            )
            if self.exact and self.values.dtype != object:
                data = data / float(self.denominator)
            self._float = sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_states, self.n_states))
        return self._float

    def structure(self):
        """Boolean adjacency (``P[s, t] > 0``) as a CSR matrix."""
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
            from .lumped import orbit_index

            return int(orbit_index(self, ranks[None, :])[0])
        return int(global_index(ranks, self.system.n_local_states))

    def vertex_labels(self):
        """``(n, m)`` array: the label an agent holds if its memory is at a
        vertex (one label only), else -1."""
        counts = self.local_counts[self.agent_ranks]  # (n, m, K)
        at_vertex = counts.max(axis=2) == self.system.memory
        return np.where(at_vertex, counts.argmax(axis=2), -1)


def estimate_cost(system, table=None, lumped=False, group=None):
    """Predicted size of a build: states, transitions and bytes (an upper
    estimate), without building the chain.

    With ``lumped=True`` the states are the orbits of the agents' symmetry
    group (``group``, found from ``system`` if not given) and each row still
    expands every successor before merging, so ``transitions`` bounds the
    lumped chain's row length from above.

    >>> from markovgmm.system import System
    >>> estimate_cost(System(agents=3, components=2, memory=40))["transitions"]
    1860867
    >>> estimate_cost(System(agents=3, components=2, memory=40), lumped=True)["states"]
    12341
    """
    if table is None:
        table = replacement_table(system.memory, system.components, system.replace, system.prune)
    E = table.successors.shape[1]
    m = system.agents
    if lumped:
        from .symmetry import agent_group, n_orbits

        group = group if group is not None else agent_group(system)
        n = n_orbits(group, system.n_local_states)
    else:
        n = system.n_states
    per_row = E**m if system.schedule == "sync" else m * E
    transitions = n * per_row
    # Final CSR: indices (8) + values (8, or a Python int ~40 when the denominator is big), with slack.
    value_bytes = 8 if _exact_denominator_bound(system, table) < _INT64_SAFE else 48
    chunk = _CHUNK_ENTRIES * 8 * 6
    return {"states": n, "transitions": transitions, "bytes": int(transitions * (8 + value_bytes) * 1.5) + n * m * 8 + chunk}


def _exact_denominator_bound(system, table):
    """Common denominator of the exact chain (before any merging)."""
    w_den = 1
    for row in system.W:
        for x in row:
            w_den = lcm(w_den, x.denominator)
    per_agent = table.denominator * (w_den * system.memory) ** system.replace
    return per_agent**system.agents if system.schedule == "sync" else per_agent * system.agents


def build_chain(system, exact=True, memory_limit=None, lump=False, progress=None, kernel=None):
    """Build the chain of ``system`` (every state, all transitions), or the
    chain lumped by the agents' symmetry group.

    Parameters
    ----------
    system : System
    exact : bool
        Exact integer numerators over a common denominator (default), or float64.
    memory_limit : int, optional
        Refuse (with :class:`~markovgmm.errors.TooLargeError`) before building
        when the estimate exceeds this many bytes (default: 60% of RAM).
    lump : bool or "auto"
        False (default): every state.  True: the lumped chain on orbits of
        the automorphism group of ``W`` (:func:`~markovgmm.chain.lumped.build_lumped_chain`).
        ``"auto"``: lumped when that group is nontrivial.  Lumping keeps every
        permutation-invariant result (closed-class kinds, P(polarisation),
        P(consensus on k), expected absorption time) exactly; quantities of
        one named agent (``E[pi_1 - pi_2]``) need the full chain.
    progress : callable, optional
        Called with the number of rows assembled so far.
    kernel : (L, K, K) float array, optional
        A labelling kernel replacing the ownership rule's (float path only;
        the certified Gaussian path builds chains from kernel bounds).

    Returns
    -------
    Chain

    Notes
    -----
    Running time and memory are ``O(L^m * E^m)`` (sync) or ``O(L^m * m E)``
    (async) where ``L = C(N+K-1, K-1)`` and ``E`` is the number of possible
    next memories of one agent; temporaries are bounded by one chunk of
    rows (:func:`assemble_rows`).

    Examples
    --------
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> chain.n_states, chain.probability(chain.index(((2, 2), (2, 2))), chain.index(((3, 1), (3, 1))))
    (25, Fraction(1, 16))
    >>> build_chain(System(agents=2, components=2, memory=4), lump=True).n_states
    15
    """
    if exact and not system.exact_supported:
        raise InputError(f"exact: ownership={system.ownership} has irrational transition probabilities; use the float path")
    if lump not in (True, False, "auto"):
        raise InputError(f"lump must be True, False or 'auto', got {lump!r}")
    table = replacement_table(system.memory, system.components, system.replace, system.prune)
    if lump:
        from .lumped import build_lumped_chain
        from .symmetry import agent_group

        group = agent_group(system)
        if lump is True or not group.trivial:
            return build_lumped_chain(
                system, exact=exact, memory_limit=memory_limit, group=group, progress=progress, table=table, kernel=kernel
            )
    check_cost(system, table, memory_limit)
    m, L = system.agents, system.n_local_states
    ranks = all_states(L, m)
    indptr, indices, values, denominator = assemble_rows(system, ranks, exact, table, progress=progress, kernel=kernel)
    return Chain(system, exact, ranks, table.counts, indptr, indices, values, denominator)


def check_cost(system, table, memory_limit=None, lumped=False, group=None):
    """Raise :class:`~markovgmm.errors.TooLargeError` (naming the state count
    and the memory estimate, and suggesting the lumped path when it helps)
    when a build would not fit in ``memory_limit`` bytes (default 60% of RAM)."""
    cost = estimate_cost(system, table, lumped=lumped, group=group)
    limit = memory_limit if memory_limit is not None else int(0.6 * _total_memory())
    if cost["bytes"] <= limit:
        return cost
    what = "orbits (lumped)" if lumped else "states"
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
    raise TooLargeError(
        f"{system.describe()}: {cost['states']:,} {what} and about {cost['transitions']:,} transitions need "
        f"about {cost['bytes'] / 2**30:.2f} GiB, over the {limit / 2**30:.2f} GiB limit; {advice}"
    )


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
        table = replacement_table(system.memory, system.components, system.replace, system.prune)
    n = len(ranks)
    E = table.successors.shape[1]
    per_row = E**m if system.schedule == "sync" else m * E
    rows_per_chunk = max(1, _CHUNK_ENTRIES // per_row)
    big = exact and _exact_denominator_bound(system, table) >= _INT64_SAFE
    if kernel is None:  # once per build, not per chunk (quadrature under gaussian ownership)
        kernel = labelling_kernel(system, table.counts)
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
        key = rows * ncols + cols
        order = np.argsort(key, kind="stable")
        key, data = key[order], data[order]
        if len(key):
            heads = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            data = np.add.reduceat(data, heads)
            key = key[heads]
        rows, cols = key // ncols, key % ncols
        lengths[first : first + len(chunk)] = np.bincount(rows, minlength=len(chunk))
        pieces.append((cols, data))
        if progress:
            progress(first + len(chunk))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, np.int64)
    values = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0)
    if exact and values.dtype != object and denominator >= _INT64_SAFE:
        values = values.astype(object)
    return indptr, indices.astype(np.int64), values, denominator


def _total_memory():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def incoming_label_laws(system, ranks, exact, kernel=None, local_counts=None):
    """Source laws ``q_i`` and incoming label laws ``p_i = q_i O[c_i]`` of every
    agent at every state in ``ranks`` (MODEL.md 2, steps 1-2).

    Parameters
    ----------
    system : System
    ranks : (n, m) int array
        Local ranks of the states.
    exact : bool
    kernel : (L, K, K) array, optional
        Labelling kernel to use instead of the ownership rule's (default
        :func:`~markovgmm.chain.laws.labelling_kernel`); the certified
        Gaussian path passes bounds on the kernel here.
    local_counts : (L, K) int array, optional
        Count vector of each local rank (default: every local state).

    Returns
    -------
    q, p : (n, m, K) arrays
        Integer numerators over ``D`` (exact; int64 or object) or floats.
    D : int
        ``lcm(denominators of W) * N`` on the exact path, 1 on the float path.

    Examples
    --------
    >>> q, p, D = incoming_label_laws(System(agents=2, components=2, memory=2), np.array([[0, 1]]), exact=True)
    >>> q.tolist(), p.tolist(), D
    ([[[3, 1], [3, 1]]], [[[4, 0], [3, 1]]], 4)
    """
    m, N = system.agents, system.memory
    if local_counts is None:
        from .states import local_states

        local_counts = local_states(N, system.components)
    counts = local_counts[ranks]  # (n, m, K)
    # Step 1: q_i = sum_j W[i,j] c_j / N, as integers over D = lcm(W denominators) * N.
    w_den = 1
    for row in system.W:
        for x in row:
            w_den = lcm(w_den, x.denominator)
    W_num = np.array([[int(x * w_den) for x in row] for row in system.W], dtype=object)
    small = w_den * N * m < _INT64_SAFE
    W_num = W_num.astype(np.int64) if small else W_num
    q_num = np.einsum("ij,njk->nik", W_num, counts if small else counts.astype(object))
    D = w_den * N
    # Step 2: ownership, p_i = q_i O[c_i].
    if kernel is None:
        kernel = labelling_kernel(system, local_counts)
    if kernel.dtype.kind == "f":
        if exact:
            raise InputError(f"exact: ownership={system.ownership} is not rational")
        q = q_num.astype(np.float64) / D
        return q, np.einsum("nik,nikl->nil", q, kernel[ranks]), 1
    p = np.einsum("nik,nikl->nil", q_num, kernel[ranks].astype(q_num.dtype))
    if not exact:
        return q_num.astype(np.float64) / D, p.astype(np.float64) / D, 1
    return q_num, p, D


def agent_laws(system, ranks, exact, table=None, kernel=None):
    """Per-agent laws at every state in ``ranks`` (shape ``(n, m)``).

    Returns ``succ`` (n, m, E) next local ranks, ``vals`` (n, m, E) their
    probabilities (integer numerators over ``denom`` when exact, floats
    otherwise) and ``denom``.  ``kernel`` replaces the ownership rule's
    labelling kernel (see :func:`incoming_label_laws`).
    """
    K, N, r = system.components, system.memory, system.replace
    if table is None:
        table = replacement_table(N, K, r, system.prune)
    _, p, D = incoming_label_laws(system, ranks, exact, kernel=kernel, local_counts=table.counts)
    # Step 3-4: sum_A coef[c, e, A] p^A, monomials p^A = prod_k p_k^{A_k}.
    A = table.monomials
    if exact:
        denom = table.denominator * D**r
        use_object = denom >= _INT64_SAFE or p.dtype == object or table.numerators.dtype == object
        base = p.astype(object) if use_object else p
        mono = np.ones(p.shape[:2] + (len(A),), dtype=object if use_object else np.int64)
        coef = table.numerators.astype(object) if use_object else table.numerators
    else:
        denom = 1.0
        base = p
        mono = np.ones(p.shape[:2] + (len(A),), dtype=np.float64)
        coef = table.float_coefficients()
    for k in range(K):
        for power in range(1, r + 1):
            sel = A[:, k] == power
            if sel.any():
                mono[:, :, sel] = mono[:, :, sel] * (base[:, :, k] ** power)[:, :, None]
    vals = np.einsum("nieA,niA->nie", coef[ranks], mono) if not (exact and mono.dtype == object) else _object_contract(coef[ranks], mono)
    succ = table.successors[ranks]
    return succ, vals, denom


def _object_contract(coef, mono):
    # einsum does not take object arrays; contract the monomial axis by hand.
    out = np.zeros(coef.shape[:3], dtype=object)
    for a in range(mono.shape[-1]):
        out = out + coef[..., a] * mono[..., a][:, :, None]
    return out


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
