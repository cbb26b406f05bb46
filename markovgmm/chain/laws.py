"""The per-agent law of one update (MODEL.md 2, steps 1-4).

An updating agent ``i`` at global state ``s`` with memory ``c = c_i``:

1. draws the true component of an incoming post from
   ``q_i(k) = sum_j W[i,j] c_j[k] / N``;
2. labels it through the *labelling kernel* ``O[c, k, k']`` of its ownership
   rule, so its incoming label law is ``p_i = q_i O[c]``;
3. removes ``r`` items uniformly without replacement (multivariate
   hypergeometric) and adds ``r`` labels i.i.d. from ``p_i``;
4. prunes components with ``0 < count <= tau``, relabelling their items to
   survivors in proportion to the surviving counts.

Steps 3-4 depend on ``s`` only through ``c`` and the monomials
``p^A = prod_k p_k^{A_k}`` over compositions ``A`` of ``r``, so they are
tabulated once per local state as exact rational coefficients:
``P(c -> c'') = sum_A coef[c, c'', A] * p^A``.  The exact path evaluates the
table in integers over a common denominator, the float path in float64; both
read the same table, so they compute the same thing.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb, factorial, lcm

import numpy as np

from ..errors import InputError
from .states import local_states, rank_counts

#: Integers below this are safe in int64 products of two; above it the exact path uses Python integers.
INT64_SAFE = 2**62

__all__ = [
    "incoming_label_laws",
    "pool_agent_laws",
    "labelling_kernel",
    "nearest_support_labels",
    "replacement_table",
    "pruning_matrix",
    "compositions",
    "LocalTable",
]


def compositions(total, parts):
    """All compositions of ``total`` into ``parts`` nonnegative parts, as an array.

    >>> compositions(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    from .states import _compositions

    return _compositions(total, parts)[::-1].copy()


def _mahalanobis_sq(means, covariance, a, b):
    """``(mu_a - mu_b)^T Sigma^{-1} (mu_a - mu_b)`` exactly: solve ``Sigma y = diff``
    by Gaussian elimination over Fractions (Sigma is SPD, so no pivot is zero).

    >>> _mahalanobis_sq(((Fraction(0),), (Fraction(3),)), ((Fraction(4),),), 0, 1)
    Fraction(9, 4)
    """
    d = len(means[0])
    diff = [means[a][x] - means[b][x] for x in range(d)]
    rows = [list(covariance[x]) + [diff[x]] for x in range(d)]
    for col in range(d):
        pivot = rows[col][col]
        for below in range(col + 1, d):
            factor = rows[below][col] / pivot
            if factor:
                rows[below] = [u - factor * v for u, v in zip(rows[below], rows[col])]
    y = [Fraction(0)] * d
    for x in range(d - 1, -1, -1):
        y[x] = (rows[x][d] - sum(rows[x][j] * y[j] for j in range(x + 1, d))) / rows[x][x]
    return sum(u * v for u, v in zip(diff, y))


def nearest_support_labels(system):
    """``table[mask, k]``: the label an incoming point of component ``k`` gets
    from an agent whose support is the bit set ``mask`` (MODEL.md 2, step 2,
    ``support``): ``k`` itself if ``k`` is in the support, else the support
    component whose mean is nearest to ``mu_k`` in the Mahalanobis distance
    of ``Sigma`` (computed exactly), ties to the lowest index.

    >>> from markovgmm.system import System
    >>> nearest_support_labels(System(agents=1, components=3, memory=2))[0b101].tolist()
    [0, 0, 2]
    """
    K = system.components
    dist = [[_mahalanobis_sq(system.means, system.covariance, a, b) for b in range(K)] for a in range(K)]
    table = np.zeros((1 << K, K), dtype=np.int64)
    for mask in range(1, 1 << K):
        support = [k for k in range(K) if mask >> k & 1]
        for k in range(K):
            table[mask, k] = k if k in support else min(support, key=lambda j: (dist[k][j], j))
    return table


def labelling_kernel(system, counts=None):
    """Labelling kernel ``O[c, k, k']`` = P(label ``k'`` | true component ``k``,
    memory ``c``), for every local state ``c`` (shape ``(L, K, K)``).

    ``support`` and ``open`` give 0/1 integer kernels (rational laws);
    ``gaussian`` gives a float kernel by quadrature (MODEL.md 2, step 2).

    >>> from markovgmm.system import System
    >>> O = labelling_kernel(System(agents=1, components=2, memory=2))
    >>> O[0].tolist(), O[1].tolist()
    ([[1, 0], [1, 0]], [[1, 0], [0, 1]])
    """
    K = system.components
    if counts is None:
        counts = local_states(system.memory, K)
    L = len(counts)
    if system.ownership == "open":
        return np.broadcast_to(np.eye(K, dtype=np.int64), (L, K, K)).copy()
    if system.ownership == "support":
        masks = ((counts > 0) * (1 << np.arange(K))).sum(axis=1)
        labels = nearest_support_labels(system)[masks]  # (L, K)
        kernel = np.zeros((L, K, K), dtype=np.int64)
        rows = np.repeat(np.arange(L), K)
        kernel[rows, np.tile(np.arange(K), L), labels.ravel()] = 1
        return kernel
    if system.ownership == "gaussian":
        from . import gaussian

        return gaussian.gaussian_labelling_kernel(system, counts)
    raise InputError(f"ownership must be support, open or gaussian, got {system.ownership!r}")


def pruning_matrix(counts, tau):
    """Exact pruning kernel (MODEL.md 2, step 4) on local states, as a dict of
    rows ``{c: {c'': Fraction}}``; states with nothing to prune map to themselves.

    Components with ``0 < c_k <= tau`` are dropped and each of their items is
    relabelled independently to a surviving component (count ``> tau``) with
    probability proportional to the surviving counts.
    """
    N = int(counts[0].sum())
    rows = {}
    for index, c in enumerate(counts):
        dropped = (c > 0) & (c <= tau)
        n_drop = int(c[dropped].sum())
        if n_drop == 0:
            rows[index] = {index: Fraction(1)}
            continue
        survivors = np.flatnonzero(c > tau)
        total = int(c[survivors].sum())
        base = np.where(c > tau, c, 0)
        row = {}
        for extra in compositions(n_drop, len(survivors)):
            new = base.copy()
            new[survivors] += extra
            weight = Fraction(factorial(n_drop), int(np.prod([factorial(int(e)) for e in extra])))
            for k, e in zip(survivors, extra):
                weight *= Fraction(int(c[k]), total) ** int(e)
            target = int(rank_counts(new, N))
            row[target] = row.get(target, Fraction(0)) + weight
        rows[index] = row
    return rows


class LocalTable:
    """Replacement (+ pruning) table of one agent, shared by every global state.

    Attributes
    ----------
    counts : (L, K) int array
        Local states, row = local rank.
    successors : (L, E) int array
        Possible next local states of each local state (padded with itself).
    monomials : (nA, K) int array
        Exponent vectors ``A`` (compositions of ``r``).
    numerators : (L, E, nA) int64 or object array
        Integer coefficients; ``coef = numerators / denominator``.
    denominator : int
        Common denominator of all coefficients.
    """

    def __init__(self, counts, successors, monomials, numerators, denominator):
        self.counts = counts
        self.successors = successors
        self.monomials = monomials
        self.numerators = numerators
        self.denominator = denominator

    def float_coefficients(self):
        return self.numerators.astype(np.float64) / float(self.denominator)


def replacement_table(N, K, r, tau=0):
    """Tabulate steps 3-4 of MODEL.md 2 for one agent.

    ``P(c -> c'') = sum_A coef[c, c'', A] p^A`` where, before pruning,
    ``coef = sum_R prod_k C(c_k, R_k) / C(N, r) * r! / prod_k A_k!`` over
    removals ``R`` with ``c - R + A = c'``.

    >>> t = replacement_table(2, 2, 1)
    >>> t.counts[t.successors[1]].tolist(), t.denominator
    ([[2, 0], [1, 1], [0, 2]], 2)
    """
    counts = local_states(N, K)
    L = len(counts)
    monomials = compositions(r, K)
    multinom = [Fraction(factorial(r), int(np.prod([factorial(int(a)) for a in A]))) for A in monomials]
    removals = compositions(r, K)
    total = comb(N, r)
    raw = []  # per local state: {(successor, a): Fraction}
    for c in counts:
        row = {}
        for R in removals:
            if np.any(R > c):
                continue
            w_remove = Fraction(int(np.prod([comb(int(ck), int(rk)) for ck, rk in zip(c, R)])), total)
            middle = c - R
            targets = rank_counts(middle[None, :] + monomials, N)
            for a, target in enumerate(targets):
                key = (int(target), a)
                row[key] = row.get(key, Fraction(0)) + w_remove * multinom[a]
        raw.append(row)
    if tau > 0:
        prune = pruning_matrix(counts, tau)
        pruned = []
        for row in raw:
            new = {}
            for (target, a), coef in row.items():
                for final, w in prune[target].items():
                    new[(final, a)] = new.get((final, a), Fraction(0)) + coef * w
            pruned.append(new)
        raw = pruned
    succ_lists = [sorted({t for (t, _a) in row}) for row in raw]
    E = max(len(s) for s in succ_lists)
    denominator = 1
    for row in raw:
        for coef in row.values():
            denominator = lcm(denominator, coef.denominator)
    big = denominator >= 2**62
    numerators = np.zeros((L, E, len(monomials)), dtype=object if big else np.int64)
    successors = np.repeat(np.arange(L, dtype=np.int64)[:, None], E, axis=1)
    for c, (row, succ) in enumerate(zip(raw, succ_lists)):
        slot = {t: e for e, t in enumerate(succ)}
        successors[c, : len(succ)] = succ
        for (target, a), coef in row.items():
            numerators[c, slot[target], a] = coef.numerator * (denominator // coef.denominator)
    return LocalTable(counts, successors, monomials, numerators, denominator)


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
    >>> from markovgmm.system import System
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
    small = w_den * N * m < INT64_SAFE
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


def pool_agent_laws(system, ranks, exact, table=None, kernel=None):
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
        use_object = denom >= INT64_SAFE or p.dtype == object or table.numerators.dtype == object
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
