"""The per-agent law of the mirroring chain (MODEL.md 6.2; seed 000's system in
the well-separated limit).

Agent ``i`` holds a store of ``r`` points, summarised by its composition
``c_i in N^K`` (``sum c_i = r``, weights ``w_i = c_i / r``).  One update of
``i`` at the global state ``(c_1, ..., c_n)``:

1. *partner* ``j``: ``i`` itself with probability ``p`` (mirroring);
   otherwise the other agents are ranked by distance to ``i``
   (:func:`partner_keys`), the ``L`` strictly nearer than the ``k``-th get
   ``(1 - p)/k`` each and the ``E`` tied at the ``k``-th distance share
   ``(1 - p)(k - L)/k`` equally (:func:`partner_law`);
2. *query*: ``x``'s component ``a ~ c_i / r``;
3. *pseudo-update*: the partner's temporary composition is
   ``c_j - e_b + e_a`` with ``b`` drawn by the *farthest rule* on ``c_j``
   (among the present components farthest from ``mu_a``, in proportion to
   their counts; :func:`farthest_rule`);
4. *answer*: ``y ~ (c_j - e_b + e_a) / r``;
5. *own update*: ``c_i' = c_i - e_b' + e_y`` with ``b'`` from the farthest
   rule on ``c_i`` for ``y``.

Steps 2-5 depend on the state only through ``(c_i, c_j)``, so they are
tabulated per local state once (:func:`mirror_table`):
``answer[c, a, y] = P(y | a arrives at a partner holding c)`` and
``farthest[c, a, b] = P(b removed | a arrives at c)``.  An agent's law is then
``P(c_i -> c_i - e_b' + e_y) = sum_j pi_i(j) sum_a (c_i[a]/r)
answer[c_j, a, y] * farthest[c_i, y, b']``, evaluated for every agent of every
state in a chunk at once (:func:`mirror_agent_laws`).

Every probability is rational: the law is computed as integer numerators
over the per-agent denominator ``D = p_den * k * lcm(1..n-1) * r^2 *
lcm(1..r)^2`` (the exact path keeps them, the float path divides once), so
the exact and float chains come from the same numbers.
"""

from __future__ import annotations

from fractions import Fraction
from functools import reduce
from math import lcm

import numpy as np

from .states import local_states, rank_counts

__all__ = [
    "GEOMETRIES",
    "TIE_RULES",
    "MirrorTable",
    "mirror_table",
    "distance_order",
    "farthest_rule",
    "partner_keys",
    "partner_law",
    "mirror_agent_laws",
]

GEOMETRIES = ("line", "circle", "simplex")
TIE_RULES = ("clipped", "uniform")
_INT64_SAFE = 2**62


def _lcm_upto(n):
    return reduce(lcm, range(1, n + 1), 1)


def distance_order(geometry, K):
    """``(K, K)`` integers ordered as the distances ``||mu_a - mu_b||`` of the
    geometry's means (only the order matters to the farthest rule).

    ``line``: ``|a - b|``; ``circle``: ``min(|a - b|, K - |a - b|)`` (the chord
    ``2R sin(pi d / K)`` increases with that ``d <= K/2``); ``simplex``:
    ``1`` for ``a != b`` (all pairs equally far).

    >>> distance_order("circle", 4).tolist()[0]
    [0, 1, 2, 1]
    """
    index = np.arange(K)
    gap = np.abs(index[:, None] - index[None, :])
    if geometry == "line":
        return gap
    if geometry == "circle":
        return np.minimum(gap, K - gap)
    if geometry == "simplex":
        return (gap > 0).astype(np.int64)
    raise ValueError(f"unknown geometry {geometry!r}")


def farthest_rule(counts, order):
    """``F[c, a, b]``: integer numerators over ``lcm(1..r)`` of the probability
    that component ``b`` is removed from a store of composition ``c`` when a
    point of component ``a`` arrives (MODEL.md 6.2).

    The removed point's component is drawn among the present components
    (``c_b > 0``) whose mean is farthest from ``mu_a``, in proportion to
    ``c_b`` among those tied; a store holding only ``a`` loses an ``a``.

    >>> F = farthest_rule(local_states(3, 3), distance_order("line", 3))
    >>> F[rank_counts(np.array([1, 1, 1]), 3), 1].tolist()  # a point of 1 arrives in (1,1,1): 0 or 2 leaves
    [3, 0, 3]
    """
    counts = np.asarray(counts, dtype=np.int64)
    L, K = counts.shape
    r = int(counts[0].sum())
    unit = _lcm_upto(r)
    present = counts > 0  # (L, b)
    far = np.where(present[:, None, :], order[None, :, :], -1)  # (L, a, b)
    tied = far == far.max(axis=2, keepdims=True)
    weight = np.where(tied, counts[:, None, :], 0)
    return weight * (unit // weight.sum(axis=2, keepdims=True))


class MirrorTable:
    """Local table of the mirroring chain of one system.

    Attributes
    ----------
    counts : (L, K) int array
        Composition of each local rank.
    successors : (L, E) int array
        ``E = 1 + K(K-1)`` next local ranks: column 0 "unchanged" (``b' = y``),
        then ``c - e_b + e_y`` for each ordered pair ``b != y`` in :attr:`moves`
        (the rank of ``c`` itself where ``c_b = 0``; such moves have
        probability 0).
    moves : (E-1, 2) int array
        The pairs ``(b, y)`` of columns ``1..E-1``.
    farthest : (L, K, K) int array
        :func:`farthest_rule`, over ``lcm(1..r)``.
    answer : (L, K, K) int array
        ``answer[c, a, y]``: numerators over ``r * lcm(1..r)`` of the
        probability that a partner holding ``c`` answers with component ``y``
        when queried with a point of component ``a``.
    agent_denominator : int
        Common denominator of one agent's law.
    """

    def __init__(self, counts, successors, moves, farthest, answer, agent_denominator, partner_denominator):
        self.counts = counts
        self.successors = successors
        self.moves = moves
        self.farthest = farthest
        self.answer = answer
        self.agent_denominator = agent_denominator
        self.partner_denominator = partner_denominator


def mirror_table(system):
    """The :class:`MirrorTable` of a ``System(model="mirror", ...)``.

    >>> from markovgmm.system import System
    >>> t = mirror_table(System(model="mirror", agents=4, components=2, memory=3, neighbours=1, mirror="1/2"))
    >>> t.counts[t.successors[1]].tolist(), t.moves.tolist()
    ([[2, 1], [1, 2], [3, 0]], [[0, 1], [1, 0]])
    >>> t.answer[1].tolist()  # store (2,1): a 0 arrives and evicts the 1; a 1 arrives and evicts a 0
    [[18, 0], [6, 12]]
    """
    K, r = system.components, system.memory
    counts = local_states(r, K)
    L = len(counts)
    farthest = farthest_rule(counts, distance_order(system.geometry, K))
    unit = _lcm_upto(r)
    eye = np.eye(K, dtype=np.int64)
    # temp[c, a, b, y] = (c - e_b + e_a)[y], the partner's composition after the pseudo-update.
    temp = counts[:, None, None, :] - eye[None, None, :, :] + eye[None, :, None, :]
    answer = np.einsum("cab,caby->cay", farthest, temp)
    moves = np.array([(b, y) for b in range(K) for y in range(K) if b != y], dtype=np.int64).reshape(-1, 2)
    successors = np.empty((L, 1 + len(moves)), dtype=np.int64)
    successors[:, 0] = np.arange(L)
    for column, (b, y) in enumerate(moves, 1):
        moved = counts - eye[b] + eye[y]
        valid = counts[:, b] > 0
        successors[:, column] = np.where(valid, rank_counts(np.where(valid[:, None], moved, counts), r), np.arange(L))
    p = Fraction(system.mirror)
    partner_denominator = p.denominator * system.neighbours * _lcm_upto(system.agents - 1)
    agent_denominator = partner_denominator * r * r * unit * unit
    assert (answer.sum(axis=2) == r * unit).all()
    return MirrorTable(counts, successors, moves, farthest, answer, agent_denominator, partner_denominator)


def partner_keys(counts, ties="clipped"):
    """Integer ranking keys ``key[s, i, j]`` of agent ``j`` as seen from agent
    ``i`` (smaller = nearer; the diagonal is larger than every other key).

    ``uniform``: ``||c_i - c_j||^2``.  ``clipped`` (the exact well-separated
    limit of MODEL.md 6.1, whose weights are clipped to ``[eps, 1 - eps]``):
    the pair ``(||c_i - c_j||^2, (c_i - c_j) . (r delta(c_i) - r delta(c_j)))``
    lexicographically, with ``r delta_k = r`` where ``c_k = 0`` and ``-z c_k``
    elsewhere (``z`` zero counts), packed into one integer.

    >>> keys = partner_keys(np.array([[[2, 1], [1, 2], [3, 0], [0, 3]]]))
    >>> bool(keys[0, 0, 2] < keys[0, 0, 1] < keys[0, 0, 3])  # (3,0) is slightly nearer to (2,1) than (1,2)
    True
    """
    counts = np.asarray(counts, dtype=np.int64)
    K = counts.shape[-1]
    r = int(counts.reshape(-1, K)[0].sum())
    diff = counts[..., :, None, :] - counts[..., None, :, :]
    key = (diff * diff).sum(axis=-1)
    if ties == "clipped":
        zeros = (counts == 0).sum(axis=-1, keepdims=True)
        rdelta = np.where(counts == 0, r, -zeros * counts)
        second = (diff * (rdelta[..., :, None, :] - rdelta[..., None, :, :])).sum(axis=-1)
        span = 2 * K * K * r * r + 2  # |second| <= K r * K r
        key = key * span + second + span // 2
    n = counts.shape[-2]
    diagonal = np.arange(n)
    key[..., diagonal, diagonal] = np.iinfo(np.int64).max // 2
    return key


def partner_law(keys, neighbours, mirror):
    """Partner probabilities ``pi[s, i, j]`` as integer numerators over
    ``p_den * k * lcm(1..n-1)`` (MODEL.md 6.2, step 1).

    Agent ``i`` mirrors (``j = i``) with probability ``p``; otherwise the
    ``L`` agents strictly nearer than the ``k``-th smallest key get
    ``(1 - p)/k`` each and the ``E`` agents at the ``k``-th key share
    ``(1 - p)(k - L)/k``.

    >>> pi = partner_law(partner_keys(np.array([[[2, 1], [1, 2], [3, 0], [0, 3]]]), "uniform"), 1, Fraction(1, 2))
    >>> pi[0, 0].tolist(), 2 * 1 * 6  # (1,2) and (3,0) tie at the first distance
    ([6, 3, 3, 0], 12)
    """
    k = int(neighbours)
    p = Fraction(mirror)
    n = keys.shape[-1]
    unit = _lcm_upto(n - 1)
    kth = np.sort(keys, axis=-1)[..., k - 1 : k]
    nearer = keys < kth
    tied = keys == kth
    strictly = nearer.sum(axis=-1, keepdims=True)
    share = (k - strictly) * (unit // tied.sum(axis=-1, keepdims=True))
    weight = np.where(nearer, unit, 0) + np.where(tied, share, 0)
    law = (p.denominator - p.numerator) * weight
    diagonal = np.arange(n)
    law[..., diagonal, diagonal] += p.numerator * k * unit
    return law


def mirror_agent_laws(system, ranks, exact, table=None):
    """Per-agent laws of the mirroring chain at every state in ``ranks``
    (``(S, n)`` local ranks): ``succ`` (S, n, E) next local ranks, ``vals``
    (S, n, E) probabilities (integer numerators over ``denom`` when exact,
    floats otherwise) and ``denom``.  MODEL.md 6.2.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(model="mirror", agents=2, components=2, memory=1, neighbours=1, mirror=0)
    >>> succ, vals, denom = mirror_agent_laws(s, np.array([[0, 1]]), exact=True)
    >>> vals[0].tolist(), denom  # r = 1: the partner's one point becomes the query, so the answer is one's own
    ([[1, 0, 0], [1, 0, 0]], 1)
    """
    table = table if table is not None else mirror_table(system)
    ranks = np.asarray(ranks, dtype=np.int64)
    counts = table.counts[ranks]  # (S, n, K)
    big = table.agent_denominator >= _INT64_SAFE
    partner = partner_law(partner_keys(counts, system.ties), system.neighbours, system.mirror)
    answer = table.answer[ranks]  # [s, j, a, y]
    farthest = table.farthest[ranks]  # [s, i, y, b]
    if big:
        partner, answer, farthest, counts = (x.astype(object) for x in (partner, answer, farthest, counts))
    # P(y) for agent i: sum_j pi_i(j) sum_a c_i[a] answer[c_j, a, y], over partner_den * r * (r lcm(1..r)).
    heard = (counts[:, :, None, :, None] * answer[:, None, :, :, :]).sum(axis=3)  # [s, i, j, y]
    answer_law = (partner[..., None] * heard).sum(axis=2)  # [s, i, y]
    joint = answer_law[..., :, None] * farthest  # [s, i, y, b]: y arrives, b leaves
    K = counts.shape[-1]
    diagonal = np.arange(K)
    stay = joint[..., diagonal, diagonal].sum(axis=-1)
    moved = joint[..., table.moves[:, 1], table.moves[:, 0]]
    vals = np.concatenate([stay[..., None], moved], axis=-1)
    succ = table.successors[ranks]
    if exact:
        return succ, vals, table.agent_denominator
    return succ, vals.astype(np.float64) / float(table.agent_denominator), 1.0
