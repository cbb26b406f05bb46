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
from .states import all_states, global_index, local_ranks, rank_counts

__all__ = ["Chain", "build_chain", "estimate_cost", "agent_laws"]

_INT64_SAFE = 2**62


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
    """

    system: System
    exact: bool
    agent_ranks: np.ndarray
    local_counts: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    denominator: object
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

    def index(self, state):
        """State number of a state given as one count vector per agent."""
        state = self.system.check_state(state)
        ranks = rank_counts(np.array(state, dtype=np.int64), self.system.memory)
        return int(global_index(ranks, self.system.n_local_states))

    def vertex_labels(self):
        """``(n, m)`` array: the label an agent holds if its memory is at a
        vertex (one label only), else -1."""
        counts = self.local_counts[self.agent_ranks]  # (n, m, K)
        at_vertex = counts.max(axis=2) == self.system.memory
        return np.where(at_vertex, counts.argmax(axis=2), -1)


def estimate_cost(system, table=None):
    """Predicted size of a full build: states, transitions and bytes (an upper
    estimate), without building the chain."""
    if table is None:
        table = replacement_table(system.memory, system.components, system.replace, system.prune)
    E = table.successors.shape[1]
    n = system.n_states
    m = system.agents
    per_row = E**m if system.schedule == "sync" else m * E
    transitions = n * per_row
    # indices (8) + values (8) + construction temporaries (about 3x)
    return {"states": n, "transitions": transitions, "bytes": transitions * 16 * 4 + n * m * 8}


def build_chain(system, exact=True, memory_limit=None):
    """Build the chain of ``system`` (every state, all transitions).

    Parameters
    ----------
    system : System
    exact : bool
        Exact integer numerators over a common denominator (default), or float64.
    memory_limit : int, optional
        Refuse (with :class:`~markovgmm.errors.TooLargeError`) before building
        when the estimate exceeds this many bytes (default: 60% of RAM).

    Returns
    -------
    Chain

    Notes
    -----
    Running time and memory are ``O(L^m * E^m)`` (sync) or ``O(L^m * m E)``
    (async) where ``L = C(N+K-1, K-1)`` and ``E`` is the number of possible
    next memories of one agent.

    Examples
    --------
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> chain.n_states, chain.probability(chain.index(((2, 2), (2, 2))), chain.index(((3, 1), (3, 1))))
    (25, Fraction(1, 16))
    """
    if exact and not system.exact_supported:
        raise InputError(f"exact: ownership={system.ownership} has irrational transition probabilities; use the float path")
    table = replacement_table(system.memory, system.components, system.replace, system.prune)
    cost = estimate_cost(system, table)
    limit = memory_limit if memory_limit is not None else int(0.6 * _total_memory())
    if cost["bytes"] > limit:
        raise TooLargeError(
            f"{system.describe()}: {cost['states']:,} states and about {cost['transitions']:,} transitions need "
            f"about {cost['bytes'] / 2**30:.1f} GiB, over the {limit / 2**30:.1f} GiB limit; "
            "use fewer agents or a smaller memory"
        )
    m, L = system.agents, system.n_local_states
    ranks = all_states(L, m)
    succ, vals, denom = agent_laws(system, ranks, exact, table)
    if system.schedule == "sync":
        rows, cols, data = _sync_entries(ranks, succ, vals, L)
        denominator = denom**m if exact else 1.0
    else:
        rows, cols, data = _async_entries(ranks, succ, vals, L)
        denominator = denom * m if exact else 1.0
        if not exact:
            data = data / m
    if exact and data.dtype != object and denominator >= _INT64_SAFE:
        data = data.astype(object)
    indptr, indices, values = _coo_to_csr(rows, cols, data, len(ranks))
    return Chain(system, exact, ranks, table.counts, indptr, indices, values, denominator)


def _total_memory():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def agent_laws(system, ranks, exact, table=None):
    """Per-agent laws at every state in ``ranks`` (shape ``(n, m)``).

    Returns ``succ`` (n, m, E) next local ranks, ``vals`` (n, m, E) their
    probabilities (integer numerators over ``denom`` when exact, floats
    otherwise) and ``denom``.
    """
    m, K, N, r = system.agents, system.components, system.memory, system.replace
    if table is None:
        table = replacement_table(N, K, r, system.prune)
    counts = table.counts[ranks]  # (n, m, K)
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
    kernel = labelling_kernel(system, table.counts)
    if kernel.dtype.kind == "f":
        if exact:
            raise InputError(f"exact: ownership={system.ownership} is not rational")
        p = np.einsum("nik,nikl->nil", q_num / D, kernel[ranks])
    else:
        p = np.einsum("nik,nikl->nil", q_num, kernel[ranks].astype(q_num.dtype))
        if not exact:
            p = p.astype(np.float64) / D
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


def _coo_to_csr(rows, cols, data, n):
    """CSR with duplicates summed; works for int64, object (big ints) and float."""
    order = np.lexsort((cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    if len(rows):
        start = np.ones(len(rows), dtype=bool)
        start[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        heads = np.flatnonzero(start)
        data = np.add.reduceat(data, heads)
        rows, cols = rows[heads], cols[heads]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols, data

