"""Monte Carlo of the mirroring chain (MODEL.md 6.2), by actual draws.

An agent-based simulation of the well-separated mirroring chain, written
independently of its transition-matrix code (it never builds, reads or
imports transition probabilities).  The stores of ``R`` replicates are held
as component counts, an int array of shape ``(R, n, K)`` whose rows sum to
the store size ``r``, and every synchronous step makes, for every agent ``i``
of every replicate, the five draws MODEL.md 6.2 describes (all agents use the
state at ``t``):

1. the partner ``j``: ``j = i`` with probability ``p`` (mirroring);
   otherwise the other agents are ranked by distance and ``j`` is uniform
   among the ``k`` nearest, ties at the ``k``-th distance broken uniformly at
   random.  Drawn exactly as the law says: with ``L`` agents strictly nearer
   than the ``k``-th and ``E`` tied at it, a uniform rank ``m`` in
   ``0..k-1`` picks the ``m``-th strictly nearer agent when ``m < L`` and
   otherwise a uniform one of the ``E`` tied agents, so each strictly nearer
   agent gets ``(1-p)/k`` and each tied one ``(1-p)(k-L)/(kE)``;
2. ``x``'s component ``a ~ c_i / r``;
3. the partner's removed component ``b`` by the farthest rule on ``c_j``
   (``a`` arriving); the partner's temporary store is ``c_j - e_b + e_a``;
4. ``y``'s component ``~ (c_j - e_b + e_a) / r``;
5. the agent's removed component ``b'`` by the farthest rule on ``c_i``
   (``y`` arriving); ``c_i' = c_i - e_b' + e_y``.

Ranking (``ties``).  ``"clipped"`` (default) ranks the other agents by the
pair ``(||c_i - c_j||^2, (c_i - c_j) . (delta(c_i) - delta(c_j)))``
lexicographically, ``delta_k = 1`` where ``c_k = 0`` and ``-z c_k / r``
elsewhere (``z`` zero counts); it is computed exactly in integers
(``r delta``), packed into one exactly representable key
``||.||^2 (4 K r^2 + 1) + (c_i - c_j) . (r delta_i - r delta_j)`` (the second
term is at most ``2 K r^2`` in absolute value, so the packing is
lexicographic).  ``"uniform"`` ranks by ``||c_i - c_j||^2`` alone.

Farthest rule.  When a point of component ``a`` arrives in a store ``c``, the
removed component is drawn among the present components (``c_b > 0``)
farthest from ``mu_a``, proportionally to ``c_b`` among the tied; a store
holding only ``a`` loses an ``a``.  Distances: ``line`` ``|a - b|``;
``circle`` ``min(|a - b|, K - |a - b|)`` (the chord length is increasing in
it); ``simplex`` 1 between distinct components.

Absorption test (a sufficient condition, so never a misclassification).  A
replicate stops when its state is one of these absorbing states:

- ``p = 1``: any all-vertex state (every agent mirrors itself, and a store
  ``r e_a`` receiving ``a`` loses an ``a``);
- ``r = 1``: every state (the partner's temporary store is ``{x}``, so
  ``y = x`` and ``c_i`` never changes);
- ``p < 1``: an all-vertex state in which every silo has at least ``k + 1``
  agents.  It is absorbing: agents at one vertex are at distance 0 (both
  rank keys 0) and every other agent is farther, so each agent's ``k``
  nearest sit at its own vertex ``a``; then ``x = a``, the partner's store
  stays ``r e_a``, ``y = a`` and ``c_i`` stays ``r e_a``.  A consensus
  (one silo of ``n >= k + 1`` agents) is such a state.  MODEL.md 6.2 states
  these are *exactly* the absorbing all-vertex states for ``p < 1`` (for
  ``r >= 2``); see ``proofs/mirror_closed_classes.md``.

An absorbing state stays for ever, so a replicate's outcome (consensus on
component ``a``, or polarised with ``S >= 2`` silos) is final when it passes
the test.  A replicate that never passes it (a closed class the test does not
recognise, or plain slowness) runs to ``max_steps`` and is reported as not
absorbed, never counted as either outcome; the intervals then widen
conservatively as in :mod:`markovgmm.simulate.chain_mc`.

Random numbers and reproducibility.  Replicate ``j`` has its own stream, a
:class:`numpy.random.Generator` (PCG64) seeded by the ``j``-th child of
``numpy.random.SeedSequence(seed)``, and consumes exactly ``7 n`` uniforms
per step (one per draw of each agent, in a fixed layout), read from a
per-replicate buffer refilled at steps 0, 1, 2, 4, 8, ... (chunks of
``min(t, 256)`` steps, fewer if memory asks), so that short runs draw little
beyond what they use.  Replicate ``j``'s trajectory
is therefore a function of ``seed``, ``j`` and the system only: it does not
depend on the number of replicates, on ``record_silos`` or on how the work is
batched.  Integer draws ``floor(u m)`` and the mirroring draw ``u < p`` are
exact up to the 2^-53 granularity of the uniforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import sqrt

import numpy as np

from ..errors import InputError, TooLargeError
from ..observables import silo_counts, silos_of_weights
from ..progress import progress_bar
from .chain_mc import binomial_interval

__all__ = [
    "MirrorChainMC",
    "simulate_mirror_chain",
    "step_mirror_chain",
    "mirror_partners",
    "farthest_removal",
    "component_distances",
    "is_absorbing",
]

GEOMETRIES = ("line", "circle", "simplex")
TIES = ("clipped", "uniform")
DRAWS = 7  # uniforms per agent per step: mirror, rank, tie, a, b, y, b'
MEMORY_LIMIT = 4 * 2**30  # bytes
_BUFFER_BYTES = 64 * 2**20  # random-number buffer budget
_PAIR_BUDGET = 2_000_000  # pairwise entries per step slice (bounds temporaries)
_MAX_CHUNK = 256  # steps per buffer refill


# ---------------------------------------------------------------------------
# validation


def _int_param(value, name, low, high=None):
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
        raise InputError(f"{name} must be {allowed}, got {value!r}")
    return value


def _mirror_param(mirror):
    if isinstance(mirror, bool) or not isinstance(mirror, (int, float, Fraction, np.integer, np.floating)):
        raise InputError(f"mirror (p) must be a number in [0, 1], got {mirror!r}")
    try:
        value = Fraction(mirror)
    except (ValueError, OverflowError):
        raise InputError(f"mirror (p) must be a number in [0, 1], got {mirror!r}") from None
    if not 0 <= value <= 1:
        raise InputError(f"mirror (p) must be a number in [0, 1], got {mirror!r}")
    return value


def _choice_param(value, name, allowed):
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _check_rank_range(K, r):
    if 8 * K * r**4 + 2 * K * r * r >= 2**53:
        raise InputError(f"memory {r} is too large for exact ranking keys with K = {K} (need 8 K r^4 < 2^53)")


# ---------------------------------------------------------------------------
# the draws


def component_distances(components, geometry="line"):
    """Integer matrix ranking the distances between component means (MODEL.md 6.1-6.2).

    ``line``: ``|a - b|``; ``circle``: ``min(|a - b|, K - |a - b|)`` (chord
    length is increasing in it); ``simplex``: 1 off the diagonal.  Only the
    order of the entries of each row matters.

    Examples
    --------
    >>> component_distances(4, "circle").tolist()[0]
    [0, 1, 2, 1]
    >>> component_distances(3, "simplex").tolist()[0]
    [0, 1, 1]
    """
    K = _int_param(components, "components (K)", 2)
    _choice_param(geometry, "geometry", GEOMETRIES)
    a = np.arange(K)
    gap = np.abs(a[:, None] - a[None, :])
    if geometry == "line":
        return gap
    if geometry == "circle":
        return np.minimum(gap, K - gap)
    return (gap > 0).astype(np.int64)


def _pick(weights, u):
    """Index drawn proportionally to the nonnegative integer ``weights`` (P, K) by uniforms ``u`` (P,)."""
    cum = np.cumsum(weights, axis=-1)
    total = cum[:, -1]
    target = np.minimum(np.floor(u * total), total - 1)
    return (cum <= target[:, None]).sum(axis=-1)


def _farthest(stores, arriving, dist, u):
    """Removed component (P,) when ``arriving`` (P,) enters ``stores`` (P, K) (the farthest rule)."""
    row = dist[arriving]  # (P, K)
    masked = np.where(stores > 0, row, -1)
    far = masked.max(axis=1, keepdims=True)
    return _pick(np.where(masked == far, stores, 0), u)


def _rank_keys(counts, ties, r):
    """Exact float ranking keys (B, n, n) of agent j seen from agent i (self on the diagonal, not masked)."""
    C = counts.astype(np.float64)
    sq = np.einsum("bik,bik->bi", C, C)
    d2 = sq[:, :, None] + sq[:, None, :] - 2.0 * (C @ C.transpose(0, 2, 1))
    if ties == "uniform":
        return d2
    K = counts.shape[2]
    zeros = (counts == 0).sum(axis=2, keepdims=True)
    D = np.where(counts == 0, float(r), -zeros * C)  # r * delta(c)
    G = C @ D.transpose(0, 2, 1)  # G[i, j] = c_i . D_j
    diag = np.einsum("bii->bi", G)
    s = diag[:, :, None] + diag[:, None, :] - G - G.transpose(0, 2, 1)
    return d2 * float(4 * K * r * r + 1) + s


def _partners(counts, k, p, ties, r, u_mirror, u_rank, u_tie):
    """Partner index (B, n) of every agent, from three uniforms (B, n) each."""
    B, n, _K = counts.shape
    agents = np.arange(n)
    if k == n - 1:  # every other agent is among the k nearest
        m = np.minimum(np.floor(u_rank * k), k - 1).astype(np.int64)
        partner = m + (m >= agents[None, :])
    else:
        key = _rank_keys(counts, ties, r)
        key[:, agents, agents] = np.inf
        kth = np.partition(key, k - 1, axis=2)[:, :, k - 1 : k]
        less = key < kth
        tied = key == kth
        L = less.sum(axis=2)
        E = tied.sum(axis=2)
        m = np.minimum(np.floor(u_rank * k), k - 1)
        near = m < L
        m_tie = np.minimum(np.floor(u_tie * E), E - 1)
        pick_from = np.where(near[:, :, None], less, tied)
        rank = np.where(near, m, m_tie)
        partner = (np.cumsum(pick_from, axis=2) <= rank[:, :, None]).sum(axis=2)
    if p > 0:
        partner = np.where(u_mirror < float(p), agents[None, :], partner)
    return partner


def _step(counts, u, k, p, dist, ties, r):
    """One synchronous step of ``counts`` (B, n, K) from uniforms ``u`` (B, n, 7)."""
    B, n, K = counts.shape
    new = np.empty_like(counts)
    per = max(1, _PAIR_BUDGET // (n * n))
    rows_all = np.arange(min(B, per) * n)
    for lo in range(0, B, per):
        c = counts[lo : lo + per]
        v = u[lo : lo + per]
        b_here = len(c)
        if p < 1:
            partner = _partners(c, k, p, ties, r, v[:, :, 0], v[:, :, 1], v[:, :, 2])
        else:
            partner = np.broadcast_to(np.arange(n), (b_here, n))
        rep = np.repeat(np.arange(b_here), n)
        own = c.reshape(b_here * n, K)
        other = c[rep, partner.reshape(-1)]
        w = v.reshape(b_here * n, DRAWS)
        rows = rows_all[: b_here * n]
        a = _pick(own, w[:, 3])
        temp = other.copy()
        temp[rows, _farthest(other, a, dist, w[:, 4])] -= 1
        temp[rows, a] += 1
        y = _pick(temp, w[:, 5])
        out = own.copy()
        out[rows, _farthest(own, y, dist, w[:, 6])] -= 1
        out[rows, y] += 1
        new[lo : lo + per] = out.reshape(b_here, n, K)
    return new


def _absorbed(counts, k, p, r):
    """Boolean (R,): the state passes the absorption test (module notes)."""
    R, n, K = counts.shape
    if r == 1:
        return np.ones(R, dtype=bool)
    vertex = (counts.max(axis=2) == r).all(axis=1)
    if p == 1:
        return vertex
    sizes = (counts == r).sum(axis=1)  # (R, K): agents at each vertex
    return vertex & ((sizes == 0) | (sizes >= k + 1)).all(axis=1)


def _check_counts(counts, name="counts"):
    counts = np.asarray(counts)
    if counts.ndim != 3 or counts.shape[1] < 2 or counts.shape[2] < 2 or not np.issubdtype(counts.dtype, np.integer):
        raise InputError(f"{name} must be an int array of shape (replicates, n >= 2, K >= 2), got shape {counts.shape}")
    if (counts < 0).any():
        raise InputError(f"{name} must be nonnegative")
    sums = counts.sum(axis=2)
    r = int(sums.flat[0])
    if r < 1 or (sums != r).any():
        raise InputError(f"{name}: every store must hold the same memory r >= 1 points")
    return counts.astype(np.int64, copy=False), r


def step_mirror_chain(counts, neighbours, mirror, geometry="line", ties="clipped", rng=None):
    """One synchronous step of the mirroring chain (MODEL.md 6.2), by actual draws.

    Parameters
    ----------
    counts : int array (replicates, n, K)
        Store compositions; every row sums to the memory ``r``.
    neighbours : int
        ``k`` in ``1..n-1``.
    mirror : float or Fraction
        ``p`` in ``[0, 1]``, the probability that an agent is its own partner.
    geometry : {"line", "circle", "simplex"}
    ties : {"clipped", "uniform"}
    rng : numpy.random.Generator or int, optional
        Source of the ``7 n`` uniforms per replicate.

    Returns
    -------
    int array (replicates, n, K)
        The new counts (the input is not modified).

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[[3, 0], [3, 0], [0, 3], [0, 3]]])  # two silos of k + 1 = 2 agents
    >>> step_mirror_chain(c, 1, 0.5, rng=np.random.default_rng(0)).tolist() == c.tolist()
    True
    >>> out = step_mirror_chain(np.array([[[2, 1], [1, 2], [3, 0], [0, 3]]] * 5), 1, 0.5, rng=np.random.default_rng(1))
    >>> bool((out.sum(axis=2) == 3).all() and (out >= 0).all())
    True
    """
    counts, r = _check_counts(counts)
    R, n, K = counts.shape
    k = _int_param(neighbours, "neighbours (k)", 1, n - 1)
    p = _mirror_param(mirror)
    _choice_param(geometry, "geometry", GEOMETRIES)
    _choice_param(ties, "ties", TIES)
    _check_rank_range(K, r)
    rng = np.random.default_rng(rng)
    u = rng.random((R, n, DRAWS))
    return _step(counts, u, k, p, component_distances(K, geometry), ties, r)


def mirror_partners(counts, neighbours, mirror, ties="clipped", rng=None):
    """Partner of every agent drawn by the law of MODEL.md 6.2 (step 1), shape (replicates, n).

    The partner draw that :func:`step_mirror_chain` makes, exposed for tests.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[[2, 1], [1, 2], [3, 0], [0, 3]]])
    >>> int(mirror_partners(c, 1, 0, rng=np.random.default_rng(0))[0, 0])  # (3,0) is nearer under clipping
    2
    """
    counts, r = _check_counts(counts)
    R, n, K = counts.shape
    k = _int_param(neighbours, "neighbours (k)", 1, n - 1)
    p = _mirror_param(mirror)
    _choice_param(ties, "ties", TIES)
    _check_rank_range(K, r)
    u = np.random.default_rng(rng).random((3, R, n))
    if p == 1:
        return np.broadcast_to(np.arange(n), (R, n)).copy()
    return _partners(counts, k, p, ties, r, u[0], u[1], u[2])


def farthest_removal(stores, arriving, geometry="line", rng=None):
    """Removed component when ``arriving`` enters each store (the farthest rule, MODEL.md 6.2).

    Parameters
    ----------
    stores : int array (P, K)
    arriving : int or int array (P,)
    geometry : {"line", "circle", "simplex"}
    rng : numpy.random.Generator or int, optional

    Examples
    --------
    >>> import numpy as np
    >>> farthest_removal(np.array([[1, 1, 1], [0, 3, 0]]), 0).tolist()
    [2, 1]
    """
    stores = np.atleast_2d(np.asarray(stores, dtype=np.int64))
    K = stores.shape[1]
    arriving = np.broadcast_to(np.asarray(arriving, dtype=np.int64), (len(stores),))
    if (arriving < 0).any() or (arriving >= K).any():
        raise InputError(f"arriving must be a component in 0..{K - 1}")
    if (stores < 0).any() or (stores.sum(axis=1) < 1).any():
        raise InputError("stores must be nonnegative with at least one point each")
    u = np.random.default_rng(rng).random(len(stores))
    return _farthest(stores, arriving, component_distances(K, geometry), u)


def is_absorbing(counts, neighbours, mirror):
    """The absorption test of the module notes, per replicate (a sufficient condition).

    >>> import numpy as np
    >>> is_absorbing(np.array([[[3, 0], [3, 0], [0, 3]]]), 1, 0.5).tolist()
    [False]
    """
    counts, r = _check_counts(counts)
    k = _int_param(neighbours, "neighbours (k)", 1, counts.shape[1] - 1)
    return _absorbed(counts, k, _mirror_param(mirror), r)


# ---------------------------------------------------------------------------
# result


@dataclass
class MirrorChainMC:
    """Outcome of :func:`simulate_mirror_chain`.

    Attributes
    ----------
    replicates : int
    polarized : int
        Replicates absorbed in an all-vertex state with at least two silos
        (spelt with ``z`` like every JSON key, docs/json.md).
    consensus_by_component : list of int
        Replicates absorbed in the consensus at vertex ``a``.
    unabsorbed : int
        Replicates that had not passed the absorption test after ``max_steps``.
    steps : int array (replicates,)
        Absorption step of each replicate (-1 if not absorbed).
    final_silos : int array (replicates,)
        Number of silos ``S`` of each replicate at the recorded horizon
        ``record_silos`` if given, else at absorption (at ``max_steps`` for
        an unabsorbed replicate).
    silos : int array (replicates, T+1, n) or None
        Silo trajectories (``argmax``, lowest index on ties) when recorded.
    silos_at_absorption : dict
        ``{S: replicates}`` over the absorbed replicates (``S = 1``: consensus).
    level, interval, max_steps, seed, parameters
        ``seed`` is the entropy of the SeedSequence actually used.
    """

    replicates: int
    polarized: int
    consensus_by_component: list
    unabsorbed: int
    steps: np.ndarray
    final_silos: np.ndarray
    silos_at_absorption: dict
    max_steps: int
    seed: object
    parameters: dict
    silos: object = None
    level: float = 0.999
    interval: str = "clopper-pearson"
    extra: dict = field(default_factory=dict)

    @property
    def absorbed(self):
        return self.replicates - self.unabsorbed

    @property
    def consensus(self):
        return int(sum(self.consensus_by_component))

    @property
    def polarization_frequency(self):
        return self.polarized / self.replicates

    @property
    def consensus_frequency(self):
        return self.consensus / self.replicates

    def interval_of(self, count):
        """Interval for P(event) from ``count`` replicates that ended in it; the
        unabsorbed replicates widen the upper end (they might all end in it)."""
        lo, _ = binomial_interval(count, self.replicates, self.level, self.interval)
        _, hi = binomial_interval(min(count + self.unabsorbed, self.replicates), self.replicates, self.level, self.interval)
        return (lo, hi)

    @property
    def polarization_ci(self):
        """Confidence interval for P(polarisation) at ``level`` (``_ci``: a
        confidence interval; ``_interval`` is kept for certified ones, docs/json.md)."""
        return self.interval_of(self.polarized)

    @property
    def consensus_ci(self):
        return self.interval_of(self.consensus)

    @property
    def mean_steps(self):
        """Mean absorption time of the absorbed replicates (NaN if none)."""
        done = self.steps[self.steps >= 0]
        return float(done.mean()) if len(done) else float("nan")

    @property
    def steps_standard_error(self):
        done = self.steps[self.steps >= 0].astype(np.float64)
        if len(done) < 2:
            return float("nan")
        return float(done.std(ddof=1) / sqrt(len(done)))

    def to_dict(self, per_replicate=False):
        """Plain JSON-ready dict (the ``simulate-chain --model mirror`` keys,
        docs/json.md; ``runs`` is :attr:`replicates`); ``per_replicate`` adds
        the per-replicate arrays."""
        out = {
            "system": dict(self.parameters),
            "runs": self.replicates,
            "seed": self.seed,
            "level": self.level,
            "interval": self.interval,
            "max_steps": self.max_steps,
            "absorbed": self.absorbed,
            "unabsorbed": self.unabsorbed,
            "polarized_runs": self.polarized,
            "polarization_frequency": self.polarization_frequency,
            "polarization_ci": list(self.polarization_ci),
            "consensus_runs": self.consensus,
            "consensus_frequency": self.consensus_frequency,
            "consensus_ci": list(self.consensus_ci),
            "consensus_by_component_runs": [int(c) for c in self.consensus_by_component],
            "consensus_by_component_frequency": [int(c) / self.replicates for c in self.consensus_by_component],
            "silos_at_absorption": {str(s): c for s, c in sorted(self.silos_at_absorption.items())},
            "mean_steps": self.mean_steps,
            "mean_steps_standard_error": self.steps_standard_error,
            "final_silos_law": {str(int(s)): int(c) for s, c in zip(*np.unique(self.final_silos, return_counts=True))},
        }
        if per_replicate:
            out["steps"] = self.steps.tolist()
            out["final_silos"] = self.final_silos.tolist()
            if self.silos is not None:
                out["silos"] = self.silos.tolist()
        out.update(self.extra)
        return out


# ---------------------------------------------------------------------------
# simulation


def estimate_memory(agents, components, replicates, record_silos=None):
    """Closed-form estimate (bytes) of the peak memory of :func:`simulate_mirror_chain`.

    Counts (state, new state, start: 3 x ``8 R n K``), per-replicate bookkeeping
    and generators (~``1 KiB`` each), the silo record (``R (T+1) n`` of
    int16/int32), the random buffer (at most 64 MiB, or ``56 n R`` for one
    step) and the step temporaries (about 12 arrays of ``min(R, slice) n^2``
    float64 plus ``R n (K + 7)`` per step).

    >>> estimate_memory(4, 2, 1000) < 2**30
    True
    """
    n, K, R = agents, components, replicates
    total = 3 * 8 * R * n * K + 1024 * R
    if record_silos is not None:
        total += R * (record_silos + 1) * n * (2 if K < 2**15 else 4)
    total += max(_BUFFER_BYTES, 8 * DRAWS * n * R)
    slice_reps = min(R, max(1, _PAIR_BUDGET // (n * n)))
    total += 12 * 8 * slice_reps * n * n + 8 * 8 * R * n * (K + DRAWS)
    return total


def simulate_mirror_chain(
    agents,
    components,
    memory,
    neighbours,
    mirror,
    geometry="line",
    ties="clipped",
    start=None,
    replicates=1000,
    max_steps=10_000,
    seed=None,
    record_silos=None,
    quiet=True,
    level=0.999,
    interval="clopper-pearson",
):
    """Monte Carlo of the mirroring chain (MODEL.md 6.2) until absorption.

    Parameters
    ----------
    agents, components, memory : int
        ``n >= 2``, ``K >= 2``, store size ``r >= 1``.
    neighbours : int
        ``k`` in ``1..n-1``.
    mirror : float or Fraction
        ``p`` in ``[0, 1]``.
    geometry : {"line", "circle", "simplex"}
    ties : {"clipped", "uniform"}
        Ranking of the other agents (module notes).
    start : tuple of n count tuples, optional
        Default: agent ``i`` at vertex ``i mod K`` (``memory * e_{i mod K}``).
    replicates : int
    max_steps : int
        Replicates not absorbed after this many steps are reported as such.
    seed : int, optional
        Entropy of the ``SeedSequence``; replicate ``j`` uses its ``j``-th
        child, so its trajectory does not depend on ``replicates``.
    record_silos : int, optional
        ``T <= max_steps``: record every replicate's silos at ``t = 0..T``
        (absorbed replicates stay put), shape ``(replicates, T+1, n)``.
    quiet : bool
        Silence the progress bar (it is silent off a terminal anyway).
    level : float
        Confidence level of the Clopper-Pearson intervals (default 99.9%).
    interval : {"clopper-pearson", "wilson"}

    Returns
    -------
    MirrorChainMC

    Notes
    -----
    A step costs ``O(R_active n^2 K)`` vectorised operations (the ranking;
    ``O(R_active n K)`` when ``p = 1`` or ``k = n - 1``); absorbed replicates
    leave the working set.  Memory is estimated in closed form
    (:func:`estimate_memory`) and requests over 4 GiB are refused before any
    allocation.

    Examples
    --------
    MODEL.md 6.2's reference system (``clipped`` P(polarisation) =
    1030259/1367387 = 0.7535):

    >>> res = simulate_mirror_chain(4, 2, 3, 1, 0.5, start=((2, 1), (1, 2), (3, 0), (0, 3)),
    ...                             replicates=2000, seed=3)
    >>> res.unabsorbed, res.polarized + res.consensus
    (0, 2000)
    >>> lo, hi = res.polarization_ci
    >>> bool(lo < 1030259 / 1367387 < hi)
    True
    """
    n = _int_param(agents, "agents (n)", 2)
    K = _int_param(components, "components (K)", 2)
    r = _int_param(memory, "memory (r)", 1)
    k = _int_param(neighbours, "neighbours (k)", 1, n - 1)
    p = _mirror_param(mirror)
    _choice_param(geometry, "geometry", GEOMETRIES)
    _choice_param(ties, "ties", TIES)
    R = _int_param(replicates, "replicates", 1)
    max_steps = _int_param(max_steps, "max_steps", 1)
    if seed is not None:
        seed = _int_param(seed, "seed", 0)
    T = None if record_silos is None else _int_param(record_silos, "record_silos", 0, max_steps)
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    _choice_param(interval, "interval", ("clopper-pearson", "wilson"))
    _check_rank_range(K, r)
    start = _start_state(start, n, K, r)
    need = estimate_memory(n, K, R, T)
    if need > MEMORY_LIMIT:
        raise TooLargeError(f"replicates: {R} replicates of n={n}, K={K} need about {need / 2**30:.1f} GiB (limit 4 GiB)")

    dist = component_distances(K, geometry)
    sequence = np.random.SeedSequence(seed)
    children = sequence.spawn(R)
    gens = [None] * R
    per_step = n * DRAWS

    state = np.broadcast_to(start, (R, n, K)).astype(np.int64)
    ids = np.arange(R)
    steps = np.full(R, -1, dtype=np.int64)
    final_silos = np.zeros(R, dtype=np.int64)
    silos = None
    if T is not None:
        silos = np.empty((R, T + 1, n), dtype=np.int16 if K < 2**15 else np.int32)
    outcome = np.full(R, -2, dtype=np.int64)  # -1 polarised, a >= 0 consensus on a, -2 not absorbed
    law = {}
    buf = np.empty((0, 0, n, DRAWS))
    buf_row = np.zeros(0, dtype=np.int64)
    pos = 0

    bar = progress_bar(R, "mirror chain MC", quiet=quiet, unit="rep")

    def settle(t):
        """Record the replicates absorbed at step t and drop them."""
        nonlocal state, ids, buf_row
        labels = silos_of_weights(state)  # (A, n)
        if silos is not None and t <= T:
            silos[ids, t] = labels
        done = _absorbed(state, k, p, r)
        if done.any():
            got = ids[done]
            lab = labels[done]
            S = silo_counts(lab)
            steps[got] = t
            outcome[got] = np.where(S == 1, lab[:, 0], -1)
            for s, c in zip(*np.unique(S, return_counts=True)):
                law[int(s)] = law.get(int(s), 0) + int(c)
            if silos is not None and t < T:
                silos[got, t + 1 :] = lab[:, None, :]
            if silos is None:
                final_silos[got] = S
            keep = ~done
            state, ids = state[keep], ids[keep]
            if len(buf_row):
                buf_row = buf_row[keep]
            bar.update(int(done.sum()))

    try:
        settle(0)
        t = 0
        while len(ids) and t < max_steps:
            if buf.size == 0 or pos >= buf.shape[1]:
                chunk = int(min(_MAX_CHUNK, max_steps - t, max(1, t), max(1, _BUFFER_BYTES // (8 * per_step * len(ids)))))
                buf = np.empty((len(ids), chunk, n, DRAWS))
                for row, j in enumerate(ids):
                    if gens[j] is None:
                        gens[j] = np.random.Generator(np.random.PCG64(children[j]))
                    gens[j].random(out=buf[row])
                buf_row = np.arange(len(ids))
                pos = 0
            state = _step(state, buf[buf_row, pos], k, p, dist, ties, r)
            pos += 1
            t += 1
            settle(t)
        if len(ids) and silos is None:
            final_silos[ids] = silo_counts(silos_of_weights(state))
    finally:
        bar.close()
    if silos is not None:
        final_silos = silo_counts(silos[:, T]).astype(np.int64)

    consensus = np.bincount(outcome[outcome >= 0], minlength=K)
    return MirrorChainMC(
        replicates=R,
        polarized=int((outcome == -1).sum()),
        consensus_by_component=[int(c) for c in consensus],
        unabsorbed=int((outcome == -2).sum()),
        steps=steps,
        final_silos=final_silos,
        silos_at_absorption=dict(sorted(law.items())),
        max_steps=max_steps,
        seed=sequence.entropy,
        parameters={
            "agents": n,
            "components": K,
            "memory": r,
            "neighbours": k,
            "mirror": float(mirror) if isinstance(mirror, (float, np.floating)) else str(p),
            "geometry": geometry,
            "ties": ties,
            "start": [list(map(int, c)) for c in start],
            "record_silos": T,
        },
        silos=silos,
        level=level,
        interval=interval,
    )


def _start_state(start, n, K, r):
    if start is None:
        out = np.zeros((n, K), dtype=np.int64)
        out[np.arange(n), np.arange(n) % K] = r
        return out
    try:
        rows = [tuple(int(x) if float(x) == int(x) else None for x in c) for c in start]
    except (TypeError, ValueError):
        raise InputError(f"start must be {n} tuples of {K} nonnegative integer counts summing to memory {r}") from None
    if len(rows) != n or any(len(c) != K or None in c or min(c) < 0 or sum(c) != r for c in rows):
        raise InputError(f"start must be {n} tuples of {K} nonnegative integer counts summing to memory {r}, got {start!r}")
    return np.array(rows, dtype=np.int64)
