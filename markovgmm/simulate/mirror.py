"""Simulation of the continuous mirroring system (MODEL.md 6.1; seed 000's system).

``n`` agents share ``K`` Gaussian components with fixed means ``mu_k`` and
one fixed covariance ``sigma^2 I``; only the weights move.  Agent ``i`` holds
weights ``w_i`` and a store (its RAG database) of ``r`` points.  One
synchronous step, for every agent ``i`` from the state at ``t``:

1. partner ``j``: ``i`` itself with probability ``p`` (mirroring), otherwise
   uniform among the ``k`` agents nearest to ``i`` in weight space
   (:func:`draw_partners`);
2. query ``x ~ GMM(w_i)``;
3. pseudo-update: a copy of ``j``'s store with its point farthest from ``x``
   replaced by ``x`` (:func:`farthest_index`); temporary weights = one EM
   step from ``w_j`` on that copy (:func:`em_step`); the copy is discarded;
4. answer ``y ~ GMM(temporary weights)``;
5. ``i``'s store: its point farthest from ``y`` is replaced by ``y``; ``w_i``
   = one EM step from ``w_i`` on the new store.

The method is plain Monte Carlo with numpy, vectorised over agents and
replicates (every array has shape ``(replicates, n, ...)``); the only Python
loops are over the steps and, for the random draws, over the replicates'
generators.  Each stored point keeps its squared distances to the ``K``
means, so an EM step costs one log-sum-exp over ``(r, K)`` per agent, and
responsibilities never underflow to ``0/0`` even for ``delta / sigma = 40``
or more.  Replicate ``j`` uses its own generator, the ``j``-th child of
``SeedSequence(seed).spawn(R)``, so it is the same whatever the number of
replicates.  Silo observables come from :mod:`markovgmm.observables`.

The well-separated limit of this system is the mirroring chain of MODEL.md
6.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .. import observables
from ..errors import InputError, TooLargeError
from ..progress import progress_bar

__all__ = [
    "DEFAULTS",
    "GEOMETRIES",
    "TIE_ORDERS",
    "MirrorRun",
    "StepDraws",
    "simulate_mirror",
    "mirror_means",
    "default_start",
    "em_step",
    "farthest_index",
    "sample_gmm",
    "draw_partners",
    "pair_sqdist",
    "draw_step",
    "mirror_step",
    "frobenius_of_weights",
    "estimate_bytes",
]

#: Defaults of :func:`simulate_mirror` (and of ``markovgmm simulate --model mirror``).  ``n, K, r, delta,
#: sigma, eps, T`` are the authors' (MODEL.md 6.1); MODEL.md gives no default for ``k`` and ``p``: ``k = 1,
#: p = 1/2`` is the setting of MODEL.md 6.2's reference system.
DEFAULTS = {
    "agents": 30,
    "components": 30,
    "memory": 5,
    "neighbours": 1,
    "mirror": 0.5,
    "geometry": "line",
    "delta": 1.0,
    "sigma": 0.2,
    "eps": 1e-12,
    "steps": 80,
}

GEOMETRIES = ("line", "circle", "simplex")
TIE_ORDERS = ("random", "index")

#: Floor on a component's standard deviation in the ``variance=True`` variant (MODEL.md 6.1).
SIGMA_FLOOR = 0.01

#: Refuse runs whose estimated memory exceeds this many bytes.
MAX_BYTES = 4 * 2**30

_EXP_FLOOR = -700.0  # log-responsibilities are floored here (fixed variance only): exp(-700) ~ 1e-304 is still normal
_BATCH_FLOATS = 2**20  # about 8 MiB of float64 work arrays per batch of replicates (cache-friendly; 18 replicates at n = K = 30)


def _integer(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise InputError(f"{name} must be an integer {allowed}, got {value}")
    return int(value)


def _number(value, name):
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return out


def mirror_means(geometry, K, delta):
    """Component means of a geometry preset (MODEL.md 6.1).

    Parameters
    ----------
    geometry : {"line", "circle", "simplex"}
        ``line``: ``d = 1``, ``mu_k = k delta`` (``k = 0..K-1``); ``circle``:
        ``d = 2``, ``K`` means equally spaced on the circle of radius
        ``delta / sqrt 2`` (``mu_0 = (delta / sqrt 2, 0)``); ``simplex``:
        ``d = K``, ``mu_k = (delta / sqrt 2) e_k`` (every pair ``delta`` apart).
    K : int
        Number of components ``>= 2``.
    delta : float
        Scale ``> 0``.

    Returns
    -------
    (K, d) float array

    Examples
    --------
    >>> mirror_means("line", 3, 2.0).tolist()
    [[0.0], [2.0], [4.0]]
    >>> m = mirror_means("simplex", 3, 1.0)
    >>> round(float(np.linalg.norm(m[0] - m[1])), 12), mirror_means("circle", 4, 1.0).shape
    (1.0, (4, 2))
    """
    K = _integer(K, "components", 2)
    delta = _number(delta, "delta")
    if delta <= 0:
        raise InputError(f"delta must be > 0, got {delta}")
    if geometry == "line":
        return delta * np.arange(K, dtype=float)[:, None]
    radius = delta / np.sqrt(2.0)
    if geometry == "circle":
        angle = 2 * np.pi * np.arange(K) / K
        return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    if geometry == "simplex":
        return radius * np.eye(K)
    raise InputError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")


def default_start(agents, components, eps):
    """MODEL.md 6.1's start: agent ``i`` puts ``1 - eps`` on component ``i mod K``
    and ``eps / K`` on every other one, then the row is renormalised.

    Every row holds the same two numbers (one normalising constant for all),
    so the rows are exact permutations of each other and all pairwise
    distances are bitwise equal, as MODEL.md 6.1's tie rule assumes.

    >>> default_start(3, 2, 0.1).round(4).tolist()
    [[0.9474, 0.0526], [0.0526, 0.9474], [0.9474, 0.0526]]
    """
    total = (1.0 - eps) + (components - 1) * (eps / components)
    w = np.full((agents, components), (eps / components) / total)
    w[np.arange(agents), np.arange(agents) % components] = (1.0 - eps) / total
    return w


def _sqdist(points, means):
    """``||x - mu_k||^2``: points (..., d), means (K, d) -> (..., K), from differences (no cancellation)."""
    diff = points[..., None, :] - means
    return np.einsum("...kd,...kd->...k", diff, diff)


def em_step(weights, sqdist, eps, sigma, dim=1, variance=False):
    """One EM step on a store from prior ``weights`` (MODEL.md 6.1).

    Parameters
    ----------
    weights : (..., K) array
        Prior weights.
    sqdist : (..., r, K) array
        ``||x - mu_k||^2`` for the ``r`` points ``x`` of the store.
    eps : float
        Clipping level: weights are clipped to ``[eps, 1 - eps]`` and
        renormalised before the E-step and after the M-step.
    sigma : float or (..., K) array
        Standard deviation of every component (a float when shared and
        fixed; per agent and component in the ``variance`` variant).
    dim : int
        Dimension ``d`` (enters the variance M-step and the Gaussian's
        normalising constant ``sigma_k^-d``).
    variance : bool
        Also update each component's variance (see Notes).

    Returns
    -------
    weights : (..., K) array
        ``mean_x rho_k(x)``, clipped to ``[eps, 1 - eps]`` and renormalised.
    sigma : float or (..., K) array
        ``sigma`` unchanged, or the updated standard deviations.

    Notes
    -----
    ``rho_k(x) = w_k N(x; mu_k, s_k^2 I) / sum_l w_l N(x; mu_l, s_l^2 I)`` is
    a softmax of ``log w_k - ||x - mu_k||^2 / (2 s_k^2) - d log s_k``,
    computed with the maximum subtracted (log-sum-exp), so it is exact to
    rounding however far apart the components are.  With a shared fixed
    ``sigma`` the ``d log s_k`` term cancels and is omitted, and
    responsibilities below ``e^-700 ~ 1e-304`` are raised to ``e^-700`` (for
    speed: numpy's ``exp`` is 20x slower on arguments whose result is
    subnormal); the new weights change by at most ``1e-304``, nothing once
    clipped at any ``eps >= 1e-300``.  The variance variant computes them
    exactly.

    Variance variant (means stay fixed): with ``N_k = sum_x rho_k(x)``, the
    new ``s_k^2 = sum_x rho_k(x) ||x - mu_k||^2 / (d N_k)`` (the isotropic
    maximum-likelihood step about the fixed mean), ``s_k`` floored at
    :data:`SIGMA_FLOOR` ``= 0.01``; where ``N_k`` underflows to 0 the old
    ``s_k`` is kept.  The E-step uses the old ``s_k``.

    Examples
    --------
    Components 40 standard deviations apart: the step returns the store's
    composition (2 points of component 0, 1 of component 1), clipped.

    >>> sq = np.array([[0.0, 1600.0], [0.01, 1600.0], [1600.0, 0.0]])  # sigma = 1
    >>> w, _ = em_step(np.array([0.5, 0.5]), sq, 1e-12, 1.0)
    >>> w.round(12).tolist()
    [0.666666666667, 0.333333333333]
    """
    rho = _e_step(weights, sqdist, eps, sigma, dim, variance)
    return _m_step(rho, sqdist, eps, sigma, dim, variance)


def _e_step(weights, sqdist, eps, sigma, dim, variance):
    """Responsibilities ``rho_k(x)``, (..., r, K), from the clipped prior (see :func:`em_step`)."""
    w = np.clip(weights, eps, 1.0 - eps)
    w = w / w.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        logw = np.log(w)[..., None, :]
    if variance:
        s = np.asarray(sigma)[..., None, :]
        score = logw - sqdist / (2.0 * s * s) - dim * np.log(s)
    else:
        score = sqdist * (-0.5 / (sigma * sigma))
        score += logw
    score -= score.max(axis=-1, keepdims=True)
    if not variance:
        # numpy's exp takes a slow path (20x) for arguments below about -708 (subnormal or zero results);
        # responsibilities below e^-700 ~ 1e-304 are raised to it (see em_step, Notes)
        np.maximum(score, _EXP_FLOOR, out=score)
    rho = np.exp(score, out=score)
    rho /= rho.sum(axis=-1, keepdims=True)
    return rho


def _m_step(rho, sqdist, eps, sigma, dim, variance):
    """New weights (and standard deviations) from responsibilities (see :func:`em_step`)."""
    new = np.clip(rho.mean(axis=-2), eps, 1.0 - eps)
    new /= new.sum(axis=-1, keepdims=True)
    if not variance:
        return new, sigma
    mass = rho.sum(axis=-2)
    spread = np.einsum("...rk,...rk->...k", rho, sqdist)
    old = np.broadcast_to(sigma, mass.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(mass > 0, spread / (dim * mass), old * old)
    return new, np.maximum(np.sqrt(var), SIGMA_FLOOR)


def farthest_index(store, point):
    """Index of the store's point farthest (Euclidean) from ``point``; the lowest index on ties.

    ``store`` (..., r, d), ``point`` (..., d) -> (...,) int.

    >>> farthest_index(np.array([[0.0], [3.0], [-1.0]]), np.array([1.0])).tolist()
    1
    """
    diff = store - point[..., None, :]
    return np.argmax(np.einsum("...rd,...rd->...r", diff, diff), axis=-1)


def sample_gmm(weights, means, sigma, uniforms, normals):
    """Draws from ``GMM(weights)`` given the random numbers.

    Parameters
    ----------
    weights : (..., K) array
        Rows on the simplex.
    means : (K, d) array
    sigma : float or (..., K) array
        Component standard deviations.
    uniforms : (...) array
        ``U(0, 1)``: the component is the first ``k`` with ``u <= w_1 + ... + w_k``.
    normals : (..., d) array
        ``N(0, I)``.

    Returns
    -------
    points : (..., d) array
        ``mu_c + s_c z``.
    components : (...) int array

    >>> x, c = sample_gmm(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.0], [10.0]]), 0.5,
    ...                   np.array([0.3, 0.3]), np.array([[1.0], [1.0]]))
    >>> x.tolist(), c.tolist()
    ([[10.5], [0.5]], [1, 0])
    """
    cumulative = np.cumsum(weights, axis=-1)
    cumulative[..., -1] = np.inf
    comp = (uniforms[..., None] > cumulative).sum(axis=-1)
    if np.ndim(sigma) == 0:
        scale = sigma
    else:
        scale = np.take_along_axis(np.broadcast_to(sigma, weights.shape), comp[..., None], axis=-1)
    return means[comp] + scale * normals, comp


def pair_sqdist(weights):
    """``||w_i - w_j||^2`` for every pair, ``(..., n, K) -> (..., n, n)``, from the differences.

    Equal weight vectors (and weight vectors that are permutations of each
    other, as at the default start) give bitwise equal values: no Gram-matrix
    cancellation.  Computed over chunks of replicates that stay in cache.

    >>> pair_sqdist(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])).tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 2.0], [0.0, 2.0, 0.0]]
    """
    shape = weights.shape
    n, K = shape[-2], shape[-1]
    flat = weights.reshape(-1, n, K)
    out = np.empty((flat.shape[0], n, n))
    chunk = max(1, 2**16 // (n * n * K))
    for first in range(0, flat.shape[0], chunk):
        part = flat[first : first + chunk]
        diff = part[:, :, None, :] - part[:, None, :, :]
        out[first : first + chunk] = np.einsum("...ijk,...ijk->...ij", diff, diff)
    return out.reshape(shape[:-1] + (n,))


def draw_partners(weights, neighbours, mirror, mirror_uniforms, pick_uniforms, tie_order="random"):
    """Partner of every agent (MODEL.md 6.1, step 1).

    Parameters
    ----------
    weights : (..., n, K) array
    neighbours : int
        ``k``, ``1 <= k <= n - 1``.
    mirror : float
        ``p``: agent ``i`` is its own partner when ``mirror_uniforms[i] < p``.
    mirror_uniforms, pick_uniforms : (..., n) arrays of ``U(0, 1)``
    tie_order : {"random", "index"}
        How the agents tied at the ``k``-th distance are broken.

    Returns
    -------
    (..., n) int array

    Notes
    -----
    The other agents are ranked by ``||w_i - w_j||^2`` (:func:`pair_sqdist`,
    exact ties kept).  Let ``d_k`` be the ``k``-th smallest, ``L`` the number
    of agents strictly nearer than ``d_k`` and ``E`` the number at ``d_k``;
    ``j = floor(k u)``, ``u`` = ``pick_uniforms``.

    - ``random``: the partner is uniform on the ``k`` nearest with the ties
      at ``d_k`` broken uniformly at random, i.e. each strictly nearer agent
      has probability ``1/k`` and each tied agent ``(k - L) / (k E)``
      (MODEL.md 6.2's law).  Drawn as: if ``j < L`` the ``j``-th strictly
      nearer agent (in index order), else the ``floor(E f)``-th tied agent,
      ``f = k u - j`` (uniform on ``[0, 1)`` and independent of ``j``).
    - ``index``: the ``k`` nearest are the strictly nearer agents and the
      ``k - L`` lowest-index tied ones (the authors' numpy partition order on
      their default start); the partner is the ``j``-th of them in index order.

    With probability ``p`` (``mirror_uniforms < p``) the partner is the agent
    itself.  No sort: one partition and a few cumulative sums of ``(n, n)``
    per replicate; cost ``O(n^2 K)``.

    Examples
    --------
    At the default start every pair of agents is equally far apart: with
    ``k = 1`` and index order everyone but agent 0 picks agent 0 (agent 0
    picks agent 1).

    >>> w = default_start(4, 4, 1e-12)
    >>> draw_partners(w, 1, 0.0, np.full(4, 0.5), np.full(4, 0.5), "index").tolist()
    [1, 0, 0, 0]
    """
    n = weights.shape[-2]
    k = neighbours
    d2 = pair_sqdist(weights)
    idx = np.arange(n)
    d2[..., idx, idx] = np.inf
    kth = np.partition(d2, k - 1, axis=-1)[..., k - 1 : k]
    near = d2 < kth
    tied = d2 == kth
    strictly = near.sum(axis=-1)
    scaled = pick_uniforms * k
    j = np.minimum(scaled.astype(np.int64), k - 1)
    if tie_order == "index":
        pool = near | (tied & (np.cumsum(tied, axis=-1) <= (k - strictly)[..., None]))
        rank = j
    else:
        equal = tied.sum(axis=-1)
        t = np.minimum(((scaled - j) * equal).astype(np.int64), equal - 1)
        from_near = j < strictly
        pool = np.where(from_near[..., None], near, tied)
        rank = np.where(from_near, j, t)
    chosen = np.argmax(np.cumsum(pool, axis=-1) > rank[..., None], axis=-1)
    return np.where(mirror_uniforms < mirror, idx, chosen)


class StepDraws(NamedTuple):
    """The random numbers of one step for a batch of replicates (``B`` replicates, ``n`` agents, dimension ``d``)."""

    mirror_uniforms: np.ndarray  #: (B, n): mirror when ``< p``
    pick_uniforms: np.ndarray  #: (B, n): which of the ``k`` nearest
    x_uniforms: np.ndarray  #: (B, n): component of the query
    y_uniforms: np.ndarray  #: (B, n): component of the answer
    x_normals: np.ndarray  #: (B, n, d)
    y_normals: np.ndarray  #: (B, n, d)


def draw_step(generators, agents, dim):
    """Draw one step's :class:`StepDraws`, replicate ``b`` from ``generators[b]``.

    Per generator and step, in this order: ``random((4, n))`` (mirror, pick,
    query component, answer component), then ``standard_normal((2, n, d))``
    (query, answer).
    """
    B = len(generators)
    u = np.empty((B, 4, agents))
    z = np.empty((B, 2, agents, dim))
    for b, g in enumerate(generators):
        g.random(out=u[b])
        g.standard_normal(out=z[b])
    return StepDraws(u[:, 0], u[:, 1], u[:, 2], u[:, 3], z[:, 0], z[:, 1])


def mirror_step(weights, stores, sqdist, draws, means, neighbours, mirror, eps, sigma, variance=False, tie_order="random"):
    """One synchronous step of MODEL.md 6.1 for a batch of replicates.

    Parameters
    ----------
    weights : (B, n, K) array
    stores : (B, n, r, d) array
        The agents' stores.
    sqdist : (B, n, r, K) array
        ``||x - mu_k||^2`` of every stored point (kept with the store).
    draws : StepDraws
    means : (K, d) array
    neighbours, mirror, eps :
        ``k``, ``p``, ``eps``.
    sigma : float or (B, n, K) array
        Shared fixed standard deviation, or per agent and component
        (``variance=True``).
    variance : bool
        The variance variant of :func:`em_step`.

    Returns
    -------
    weights, sigma, stores, sqdist, partners
        The state at ``t + 1`` (new arrays; the inputs are not modified) and
        the partners drawn, ``(B, n)``.

    Notes
    -----
    In the ``variance`` variant the partner's pseudo-update is one EM step of
    weights and variances from ``(w_j, s_j)``; the answer is drawn from the
    temporary weights and temporary variances; agent ``i``'s EM step updates
    ``(w_i, s_i)``.  Cost per replicate ``O(n^2 K + n r (d + K) K)``.
    """
    B, n, K = weights.shape
    d = means.shape[1]
    rows, cols = np.arange(B)[:, None], np.arange(n)
    partners = draw_partners(weights, neighbours, mirror, draws.mirror_uniforms, draws.pick_uniforms, tie_order)
    fixed = np.ndim(sigma) == 0
    # responsibilities of every stored point under its owner's prior: shared by the partner's pseudo-update
    # (all points but one of the partner's store) and the agent's own EM step (all points but one of its store)
    rho = _e_step(weights, sqdist, eps, sigma, d, variance)
    x, _ = sample_gmm(weights, means, sigma, draws.x_uniforms, draws.x_normals)
    # pseudo-update of the partner on a copy of its store (only squared distances and responsibilities are needed)
    out = farthest_index(stores[rows, partners], x)
    partner_w = weights[rows, partners]
    partner_sigma = sigma if fixed else sigma[rows, partners]
    sq_x = _sqdist(x, means)
    copy_rho = rho[rows, partners]  # fancy indexing: a copy
    copy_rho[rows, cols, out] = _e_step(partner_w, sq_x[:, :, None, :], eps, partner_sigma, d, variance)[:, :, 0]
    copy_sq = None  # the weights-only M-step needs no distances
    if variance:
        copy_sq = sqdist[rows, partners]
        copy_sq[rows, cols, out] = sq_x
    temp_w, temp_sigma = _m_step(copy_rho, copy_sq, eps, partner_sigma, d, variance)
    y, _ = sample_gmm(temp_w, means, temp_sigma, draws.y_uniforms, draws.y_normals)
    # the agent's own store and EM step
    out = farthest_index(stores, y)
    sq_y = _sqdist(y, means)
    new_stores = stores.copy()
    new_stores[rows, cols, out] = y
    new_sqdist = sqdist.copy()
    new_sqdist[rows, cols, out] = sq_y
    rho[rows, cols, out] = _e_step(weights, sq_y[:, :, None, :], eps, sigma, d, variance)[:, :, 0]
    new_w, new_sigma = _m_step(rho, new_sqdist, eps, sigma, d, variance)
    return new_w, new_sigma, new_stores, new_sqdist, partners


def frobenius_of_weights(weights):
    """``||D||_F`` with ``D[i, j] = ||w_i - w_j||_2`` (seed 002, eq. 4), over the last two axes.

    Computed as ``sqrt(2 n sum_i ||w_i - wbar||^2)`` (an identity; centring
    first avoids cancellation), so no ``n x n`` matrix is formed.

    >>> round(float(frobenius_of_weights(np.array([[1.0, 0.0], [0.0, 1.0]]))), 12)
    2.0
    """
    weights = np.asarray(weights, dtype=float)
    centred = weights - weights.mean(axis=-2, keepdims=True)
    return np.sqrt(2 * weights.shape[-2] * np.einsum("...ik,...ik->...", centred, centred))


def _dimension(geometry, K):
    return {"line": 1, "circle": 2}.get(geometry, K)


def _work_floats(agents, components, memory, dim):
    """Float64 work arrays per replicate in one step (partner distances and masks, stores, squared distances,
    responsibilities); the pairwise differences are formed a few replicates at a time (:func:`pair_sqdist`)."""
    n, K, r, d = agents, components, memory, dim
    return n * (8 * n + 3 * r * d + 8 * r * K + 4 * K * d + 12 * K)


def estimate_bytes(agents, components, memory, geometry, steps, replicates, variance=False, report=False):
    """Bytes :func:`simulate_mirror` will allocate, in closed form (before allocating).

    Output ``weights`` (and ``sigmas`` when ``variance``) ``8 R (T+1) n K``
    each, ``silos`` ``8 R (T+1) n``, the work arrays of one batch of
    replicates, and with ``report`` the Python lists of :meth:`MirrorRun.report`
    (about 48 bytes per silo entry).

    >>> estimate_bytes(30, 30, 5, "line", 80, 50) < 2**27
    True
    """
    n, K, T, R = agents, components, steps, replicates
    d = _dimension(geometry, K)
    cells = R * (T + 1) * n
    total = cells * K * 8 * (2 if variance else 1) + cells * 8
    work = _work_floats(n, K, memory, d)
    batch = max(1, min(R, _BATCH_FLOATS // work))
    total += batch * work * 8 + R * n * memory * (d + K) * 8
    if report:
        total += cells * 48 + R * (T + 1) * 3 * 32
    return int(total)


@dataclass(eq=False)
class MirrorRun:
    """The record of :func:`simulate_mirror`.

    Attributes
    ----------
    parameters : dict
        Everything needed to reproduce the run (plain data).
    weights : (R, T + 1, n, K) float64 array
        ``weights[j, t, i]`` is ``w_i`` at step ``t`` of replicate ``j``
        (29 MB for ``n = K = 30, T = 80``, 50 replicates).
    silos : (R, T + 1, n) int array
        :func:`markovgmm.observables.silos_of_weights` of ``weights``.
    seed : int or list of int
        Entropy of the root seed sequence (reproduces the run).
    sigmas : (R, T + 1, n, K) float64 array or None
        Component standard deviations (``variance=True`` only).
    stores : (R, n, r, d) float64 array
        The agents' stores at ``T``.
    """

    parameters: dict
    weights: np.ndarray
    silos: np.ndarray
    seed: int
    sigmas: np.ndarray | None = None
    stores: np.ndarray | None = None

    @property
    def replicates(self):
        return self.weights.shape[0]

    @property
    def steps(self):
        return self.weights.shape[1] - 1

    @cached_property
    def silo_counts(self):
        """``S_t``, (R, T + 1)."""
        return observables.silo_counts(self.silos)

    @cached_property
    def stability(self):
        """Fraction of agents whose silo did not change from ``t - 1``, (R, T)."""
        return observables.stability(self.silos)

    @cached_property
    def t_star(self):
        """``t*``: the last ``t <= T`` with ``S_t > 1`` (``T``: no consensus by ``T``), (R,)."""
        return observables.last_split_time(self.silos)

    @cached_property
    def frobenius(self):
        """``||D_t||_F`` of the weights, (R, T + 1)."""
        return frobenius_of_weights(self.weights)

    def report(self):
        """JSON-ready dict: ``parameters`` and, per replicate, ``silo_counts``,
        ``stability``, ``t_star``, ``silos`` (per step, per agent),
        ``frobenius`` and ``final_silo_sizes`` (largest first)."""
        counts, stab, tstar, frob = self.silo_counts, self.stability, self.t_star, self.frobenius
        replicates = []
        for j in range(self.replicates):
            replicates.append(
                {
                    "replicate": j,
                    "silo_counts": counts[j].tolist(),
                    "stability": stab[j].tolist(),
                    "t_star": int(tstar[j]),
                    "silos": self.silos[j].tolist(),
                    "frobenius": frob[j].tolist(),
                    "final_silo_sizes": list(observables.silo_sizes(self.silos[j, -1])),
                }
            )
        return {"parameters": dict(self.parameters), "replicates": replicates}


def _check_start(start, n, K):
    rows = np.asarray(start, dtype=float)
    if rows.shape != (n, K) or not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise InputError(f"start must be an ({n}, {K}) array of nonnegative numbers (agents x components), got shape {rows.shape}")
    if not np.allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise InputError("start: every row must sum to 1 (a point of the simplex)")
    return rows / rows.sum(axis=1, keepdims=True)


def simulate_mirror(
    agents=DEFAULTS["agents"],
    components=DEFAULTS["components"],
    memory=DEFAULTS["memory"],
    neighbours=DEFAULTS["neighbours"],
    mirror=DEFAULTS["mirror"],
    geometry=DEFAULTS["geometry"],
    delta=DEFAULTS["delta"],
    sigma=DEFAULTS["sigma"],
    eps=DEFAULTS["eps"],
    steps=DEFAULTS["steps"],
    replicates=1,
    seed=None,
    variance=False,
    tie_order="random",
    start=None,
    quiet=True,
    start_counts=None,
):
    """Simulate the continuous mirroring system (MODEL.md 6.1).

    Parameters
    ----------
    agents : int
        ``n >= 2`` (default 30).
    components : int
        ``K >= 2`` (default 30).
    memory : int
        Store size ``r >= 1`` (default 5).
    neighbours : int
        ``k``, ``1 <= k <= n - 1`` (default 1; MODEL.md gives no default).
    mirror : float
        Mirroring probability ``p in [0, 1]`` (default 1/2; MODEL.md gives no default).
    geometry : {"line", "circle", "simplex"}
        Placement of the means (:func:`mirror_means`; default ``line``).
    delta : float
        Spacing ``> 0`` of the means (default 1).
    sigma : float
        Component standard deviation ``> 0`` (default 0.2).
    eps : float
        Weight clipping level, ``0 <= eps < 1 / K`` (default ``1e-12``).
    steps : int
        ``T >= 0`` (default 80).
    replicates : int
        Independent replicates ``R >= 1``.
    seed : int, sequence of ints, numpy SeedSequence or None
        Root seed; replicate ``j`` uses the ``j``-th child of
        ``SeedSequence(seed).spawn(R)``, so it does not depend on ``R``.
        ``None`` draws fresh entropy (kept in ``run.seed``).
    variance : bool
        The variant whose M-step also updates each agent's component
        standard deviations (floor 0.01; see :func:`em_step`).
    tie_order : {"random", "index"}
        How ties at the ``k``-th distance are broken (:func:`draw_partners`):
        uniformly at random (default) or lowest agent index first (the
        authors' code on their default start).
    start : (n, K) array_like, optional
        Initial weights (rows on the simplex); default :func:`default_start`.
    start_counts : (n, K) int array_like, optional
        Start every store with exactly ``start_counts[i, c]`` points of
        component ``c`` (each ``mu_c + sigma z``), and the weights at the
        clipped composition ``start_counts / r`` (the state of the mirroring
        chain, MODEL.md 6.2); excludes ``start``.  Used to compare with the
        chain from the same state.
    quiet : bool
        No progress bar (default; bars are also off when stderr is not a terminal).

    Returns
    -------
    MirrorRun

    Raises
    ------
    InputError
        A parameter out of range (the message names it).
    TooLargeError
        :func:`estimate_bytes` exceeds 4 GiB.

    Notes
    -----
    Per replicate, from its own generator: the stores (``r`` draws from each
    agent's initial GMM: ``random((n, r))`` then ``standard_normal((n, r,
    d))``), then :func:`draw_step` and :func:`mirror_step` for ``t = 0..T-1``.
    Replicates are simulated side by side in batches of up to about 8 MiB of
    work arrays.  Cost per step and replicate ``O(n^2 K + n r (d + K) K)``;
    memory ``8 R (T + 1) n (K + 1)`` bytes for the record.

    Examples
    --------
    >>> run = simulate_mirror(agents=6, components=3, steps=4, replicates=2, seed=1)
    >>> run.weights.shape, run.silos.shape, run.silo_counts.shape, run.stability.shape, run.t_star.shape
    ((2, 5, 6, 3), (2, 5, 6), (2, 5), (2, 4), (2,))
    >>> run.silo_counts[:, 0].tolist(), bool(np.allclose(run.weights.sum(axis=-1), 1.0))
    ([3, 3], True)
    """
    n = _integer(agents, "agents", 2)
    K = _integer(components, "components", 2)
    r = _integer(memory, "memory", 1)
    k = _integer(neighbours, "neighbours", 1, n - 1)
    p = _number(mirror, "mirror")
    if not 0 <= p <= 1:
        raise InputError(f"mirror must be a probability in [0, 1], got {p}")
    if geometry not in GEOMETRIES:
        raise InputError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
    means = mirror_means(geometry, K, delta)
    delta = float(delta)
    s = _number(sigma, "sigma")
    if s <= 0:
        raise InputError(f"sigma must be > 0, got {s}")
    e = _number(eps, "eps")
    if not 0 <= e < 1 / K:
        raise InputError(f"eps must satisfy 0 <= eps < 1/components = {1 / K:.6g}, got {e}")
    T = _integer(steps, "steps", 0)
    R = _integer(replicates, "replicates", 1)
    if tie_order not in TIE_ORDERS:
        raise InputError(f"tie_order must be one of {', '.join(TIE_ORDERS)}, got {tie_order!r}")
    if isinstance(seed, (bool, float)) or (isinstance(seed, (int, np.integer)) and seed < 0):
        raise InputError(f"seed must be a nonnegative integer, a SeedSequence or None, got {seed!r}")
    labels0 = None
    if start_counts is not None:
        if start is not None:
            raise InputError("start_counts: give either start (weights) or start_counts (store compositions), not both")
        counts0 = np.asarray(start_counts)
        if counts0.shape != (n, K) or counts0.dtype.kind not in "iu" or (counts0 < 0).any() or (counts0.sum(axis=1) != r).any():
            raise InputError(f"start_counts must be an ({n}, {K}) array of nonnegative integers, each row summing to memory={r}")
        w0 = np.clip(counts0 / r, e, 1 - e)
        w0 = w0 / w0.sum(axis=1, keepdims=True)
        labels0 = np.repeat(np.tile(np.arange(K), n), counts0.ravel()).reshape(n, r)
    else:
        w0 = default_start(n, K, e) if start is None else _check_start(start, n, K)
    need = estimate_bytes(n, K, r, geometry, T, R, variance=bool(variance))
    if need > MAX_BYTES:
        raise TooLargeError(
            f"replicates x (steps + 1) x agents x components is too large: about {need / 2**30:.1f} GiB (limit 4 GiB); "
            "use fewer replicates or steps"
        )
    try:
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    except (TypeError, ValueError):
        raise InputError(f"seed must be a nonnegative integer, a sequence of them, a SeedSequence or None, got {seed!r}") from None
    entropy = int(root.entropy) if np.ndim(root.entropy) == 0 else [int(v) for v in root.entropy]
    generators = [np.random.default_rng(child) for child in root.spawn(R)]
    d = means.shape[1]
    weights = np.empty((R, T + 1, n, K))
    sigmas = np.empty((R, T + 1, n, K)) if variance else None
    final_stores = np.empty((R, n, r, d))
    batch = max(1, min(R, _BATCH_FLOATS // _work_floats(n, K, r, d)))
    model = dict(neighbours=k, mirror=p, eps=e, variance=bool(variance), tie_order=tie_order)
    with progress_bar(R * T, "simulating mirror", quiet=quiet, unit="step") as bar:
        for first in range(0, R, batch):
            chunk = slice(first, min(first + batch, R))
            gens = generators[chunk]
            B = len(gens)
            u0 = np.empty((B, n, r))
            z0 = np.empty((B, n, r, d))
            for b, g in enumerate(gens):
                g.random(out=u0[b])
                g.standard_normal(out=z0[b])
            w = np.broadcast_to(w0, (B, n, K)).copy()
            if labels0 is None:
                stores, _ = sample_gmm(np.broadcast_to(w0[:, None, :], (B, n, r, K)), means, s, u0, z0)
            else:  # stores of the given compositions, the same normals
                stores = means[labels0] + s * z0
            sq = _sqdist(stores, means)
            sig = s if not variance else np.full((B, n, K), s)
            weights[chunk, 0] = w
            if variance:
                sigmas[chunk, 0] = sig
            for t in range(T):
                draws = draw_step(gens, n, d)
                w, sig, stores, sq, _ = mirror_step(w, stores, sq, draws, means, sigma=sig, **model)
                weights[chunk, t + 1] = w
                if variance:
                    sigmas[chunk, t + 1] = sig
                bar.update(B)
            final_stores[chunk] = stores
    parameters = {
        "model": "mirror",
        "agents": n,
        "components": K,
        "memory": r,
        "neighbours": k,
        "mirror": p,
        "geometry": geometry,
        "delta": delta,
        "sigma": s,
        "eps": e,
        "steps": T,
        "replicates": R,
        "seed": entropy,
        "variance": bool(variance),
        "tie_order": tie_order,
        "start": "default" if start is None else w0.tolist(),
        "means": means.tolist(),
    }
    silos = observables.silos_of_weights(weights)
    return MirrorRun(parameters, weights, silos, entropy, sigmas, final_stores)
