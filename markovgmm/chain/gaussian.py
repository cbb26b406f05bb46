"""Gaussian ownership (MODEL.md 2, step 2, ``gaussian``): the labelling kernel
``P(k -> k') = E_x[o_k'(x; c/N)]``, ``x ~ N(mu_k, Sigma)``, by quadrature.

Reduction.  With ``Sigma = L L^T`` (Cholesky) and ``x = mu_k + L z``,
``z ~ N(0, I_d)``, the Gaussian log-densities are
``log N(x; mu_j, Sigma) = const - |z + nu_k - nu_j|^2 / 2`` with
``nu = L^{-1} mu``.  Every difference ``nu_j - nu_k`` lies in the span ``S``
of ``{nu_j - nu_0}``, of dimension ``e <= min(d, K - 1)``; the part of ``z``
orthogonal to ``S`` adds the same term to every component and cancels in the
posterior.  So, with ``eta_j`` the coordinates of ``nu_j`` in an orthonormal
basis of ``S`` and ``y = eta_k + z``, ``z ~ N(0, I_e)``,

    o_j(y) = w_j exp(-|y - eta_j|^2 / 2) / sum_l w_l exp(-|y - eta_l|^2 / 2),

and ``P(k -> j) = E_z[o_j(eta_k + z)]`` is an ``e``-dimensional Gaussian
integral: one-dimensional whenever ``d = 1`` or ``K = 2``.

Methods.

* :func:`gaussian_kernel` (float64, the chain's path).  The posterior is a
  softmax of functions linear in ``y`` (the common ``-|y|^2/2`` cancels), so
  it is analytic in the strip ``|Im y| < pi / a``, ``a = max|eta_j - eta_l|``.
  In one dimension: a composite Gauss-Legendre rule (16 nodes per panel) on
  ``[-T, T]``, ``T = 12``, with panels no wider than ``1 / a`` (each panel
  then sits well inside the analyticity strip, so the rule converges
  geometrically however far apart the means are); the neglected tails carry
  mass ``2 Phi(-12) < 4e-33``.  In ``e >= 2`` dimensions: tensor-product
  Gauss-Hermite with ``n`` nodes per axis (``n = 8, 12, 16, 24, ...`` up to
  ``2^18`` nodes in all).  The panel count (or ``n``) is raised until two
  successive rules agree to ``tol``, and the difference of
  the last two rules is reported as the error estimate -- an estimate, not a
  bound (the finer rule is returned, so it is conservative in practice).
* :func:`gaussian_kernel_mp` (mpmath, high precision, ``e = 1``): adaptive
  tanh-sinh quadrature (:func:`mpmath.quad`) over the real line split at the
  points where two posterior terms cross, with mpmath's own error estimate
  (also an estimate, from the difference of the last two levels).
* :func:`gaussian_kernel_enclosure` (one-dimensional ``e = 1``): entries
  enclosed in intervals.  Each ``o_j`` is log-concave in ``y`` (its log
  derivative ``eta_j - E_o[eta]`` decreases, since ``d/dy E_o[eta] =
  Var_o(eta) >= 0``), hence unimodal, so on a grid cell where it is monotone
  its values lie between its end values; the cells next to the grid maximum
  get the upper value 1, and the two tails beyond ``+-T`` (``T = 9``) get
  ``[0, Phi(-T)]`` each.  Values and cell masses ``Phi(z_{i+1}) - Phi(z_i)``
  are computed in float64 and the bounds widened by ``ROUNDING_MARGIN =
  1e-9``, far above the accumulated rounding: rigorous up to the accuracy of
  float64 ``exp`` and ``ndtr`` (a few ulps), not a formal interval
  arithmetic proof.  The width shrinks like ``1 / cells``.
* :func:`gaussian_polarization_interval`: a certified interval for
  P(polarisation): the enclosure bounds every transition probability (the
  agent law is a polynomial with nonnegative coefficients in ``p = q O``),
  and interval value iteration over that box of chains gives a lower and an
  upper bound that are valid after any number of iterations.

Zero-weight components own nothing (``o_j = 0`` when ``w_j = 0``) on every
path, and a memory holding one label labels everything with it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "gaussian_labelling_kernel",
    "gaussian_kernel",
    "gaussian_kernel_mp",
    "GaussianKernel",
    "reduced_means",
    "gaussian_kernel_enclosure",
    "gaussian_polarization_interval",
]

#: Largest number of quadrature nodes tried by :func:`gaussian_kernel`.
MAX_NODES = 2**18
#: Half-width ``T`` of the 1-D integration range; the tails beyond carry
#: mass ``2 Phi(-T) < 4e-33`` and the posterior is at most 1.
TAIL = 12.0
#: Gauss-Legendre nodes per panel of the 1-D composite rule.
PANEL_NODES = 16


@dataclass
class GaussianKernel:
    """A quadrature kernel and its accuracy.

    Attributes
    ----------
    kernel : (L, K, K) float array
        ``kernel[c, k, j]`` = P(label ``j`` | true component ``k``, memory ``c``).
    error : float
        Largest difference between the last two rules (estimated error).
    points : int
        Panels (1-D composite Gauss-Legendre) or nodes per axis (tensor
        Gauss-Hermite, ``e >= 2``) of the returned rule.
    dimension : int
        Dimension ``e`` of the reduced integral.
    converged : bool
        Whether ``error <= tol`` was reached within the node budget.
    """

    kernel: np.ndarray
    error: float
    points: int
    dimension: int
    converged: bool


def reduced_means(system):
    """Coordinates ``eta`` (K, e) of the whitened means ``L^{-1} mu_k`` in an
    orthonormal basis of the span of their differences (see module notes).

    >>> from markovgmm.system import System
    >>> reduced_means(System(agents=1, components=2, memory=2)).ravel().tolist()
    [0.0, 1.0]
    """
    means = np.array([[float(x) for x in mu] for mu in system.means])
    cov = np.array([[float(x) for x in row] for row in system.covariance])
    nu = np.linalg.solve(np.linalg.cholesky(cov), means.T).T  # (K, d)
    diffs = nu - nu[0]
    _, sing, vt = np.linalg.svd(diffs, full_matrices=False)
    rank = int((sing > 1e-12 * max(1.0, sing.max(initial=0.0))).sum())
    if rank == 0:
        return np.zeros((len(nu), 1))
    basis = vt[:rank].T  # (d, e)
    eta = diffs @ basis
    if rank == 1 and eta[-1, 0] < 0:  # orientation, cosmetic: the last mean to the right
        eta = -eta
    return eta


def _counts_array(system, counts):
    from .states import local_states

    if counts is None:
        counts = local_states(system.memory, system.components)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != system.components:
        raise InputError(f"counts must be an (L, {system.components}) array of count vectors")
    return counts


def _hermite_rule(n, e):
    """Tensor Gauss-Hermite rule for ``E[f(z)]``, ``z ~ N(0, I_e)``, ``n`` nodes per axis."""
    from scipy.special import roots_hermitenorm

    x, w = roots_hermitenorm(n)
    w = w / np.sqrt(2 * np.pi)
    grids = np.meshgrid(*([x] * e), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = np.ones(len(nodes))
    for wg in np.meshgrid(*([w] * e), indexing="ij"):
        weights = weights * wg.ravel()
    return nodes, weights


def _panel_rule(panels, half_width=TAIL):
    """Composite Gauss-Legendre rule (``PANEL_NODES`` per panel) for
    ``E[f(z)]``, ``z ~ N(0, 1)``, on ``[-T, T]`` cut into ``panels`` equal panels."""
    x, w = np.polynomial.legendre.leggauss(PANEL_NODES)
    edges = np.linspace(-half_width, half_width, panels + 1)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel() * np.exp(-nodes**2 / 2) / np.sqrt(2 * np.pi)
    return nodes[:, None], weights


def _rules(eta, points):
    """The sequence of rules tried: ``(label, nodes, weights)``."""
    e = eta.shape[1]
    if points is not None:
        sizes = [max(2, int(points) // 2), int(points)]
    elif e == 1:
        spread = float(np.ptp(eta)) if len(eta) > 1 else 1.0
        first = int(np.ceil(2 * TAIL * max(1.0, spread)))  # panel width <= 1 / spread
        sizes = [first * 2**j for j in range(8) if first * 2**j * PANEL_NODES <= MAX_NODES] or [first]
    else:
        sizes = [n for n in (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512) if n**e <= MAX_NODES]
    for n in sizes:
        yield (n,) + (_panel_rule(n) if e == 1 else _hermite_rule(n, e))


def _kernel_rule(eta, weights, nodes, node_weights):
    """Kernel (L, K, K) by one quadrature rule; ``weights`` (L, K) = c / N."""
    L, K = weights.shape
    with np.errstate(divide="ignore"):
        logw = np.log(weights)
    out = np.empty((L, K, K))
    chunk = max(1, 2_000_000 // (K * len(nodes)))
    for k in range(K):
        y = eta[k] + nodes  # (n, e)
        sq = -0.5 * ((y[None, :, :] - eta[:, None, :]) ** 2).sum(axis=2)  # (K, n)
        for lo in range(0, L, chunk):
            logits = logw[lo : lo + chunk, :, None] + sq[None]  # (l, K, n)
            logits -= logits.max(axis=1, keepdims=True)
            post = np.exp(logits)
            post /= post.sum(axis=1, keepdims=True)
            out[lo : lo + chunk, k, :] = post @ node_weights
    return out


def gaussian_kernel(system, counts=None, tol=1e-12, points=None):
    """Gaussian labelling kernel by Gauss-Hermite quadrature, with its error estimate.

    Parameters
    ----------
    system : System
    counts : (L, K) int array, optional
        Memories (default: every local state, in rank order).
    tol : float
        Target agreement of two successive rules (node counts ``n`` and ``2n``).
    points : int, optional
        Use exactly this many panels (1-D) or nodes per axis (``e >= 2``),
        with ``points // 2`` for the error estimate, instead of the doubling
        search.

    Returns
    -------
    GaussianKernel

    Notes
    -----
    Cost ``O(L K^2 M)`` per rule with ``M`` nodes (``16 * panels`` in 1-D,
    ``n^e`` otherwise), ``e`` the rank of the mean differences
    (``<= min(d, K-1)``).  Rows are renormalised to sum to 1 (they do up to
    rounding, since the posteriors sum to 1 at every node).  MODEL.md 2,
    step 2.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> g = gaussian_kernel(System(agents=1, components=2, memory=2, ownership="gaussian"))
    >>> g.kernel[1].round(6).tolist(), g.converged, g.dimension  # memory (1, 1), means 0 and 1
    ([[0.602027, 0.397973], [0.397973, 0.602027]], True, 1)
    >>> g.kernel[0].tolist()  # a memory holding label 0 labels everything 0
    [[1.0, 0.0], [1.0, 0.0]]
    """
    counts = _counts_array(system, counts)
    eta = reduced_means(system)
    weights = counts / float(system.memory)
    if points is not None and int(points) < 4:
        raise InputError(f"points must be an integer >= 4, got {points}")
    previous, error, used = None, float("inf"), None
    for size, nodes, node_weights in _rules(eta, points):
        kernel = _kernel_rule(eta, weights, nodes, node_weights)
        if previous is not None:
            error = float(np.abs(kernel - previous).max()) if kernel.size else 0.0
            if points is None and error <= tol:
                used = size
                break
        previous, used = kernel, size
    kernel = kernel / kernel.sum(axis=2, keepdims=True)
    return GaussianKernel(kernel, error, used, eta.shape[1], error <= tol)


def gaussian_labelling_kernel(system, counts):
    """The ``gaussian`` labelling kernel (L, K, K) as float64, for
    :func:`markovgmm.chain.laws.labelling_kernel` (MODEL.md 2, step 2).

    Uses :func:`gaussian_kernel` with ``tol=1e-12`` and warns when the
    estimated error stays above ``1e-9`` within the node budget.
    """
    result = gaussian_kernel(system, counts)
    if result.error > 1e-9:
        warnings.warn(
            f"gaussian ownership: quadrature error estimate {result.error:.2e} after {result.points} nodes per axis "
            "(means very far apart in Sigma units; the support kernel is the limit)",
            RuntimeWarning,
            stacklevel=3,
        )
    return result.kernel


def _posterior_mp(mp, eta, logw, j, y):
    """``o_j(y)`` in mpmath, ``eta`` list of coordinate tuples, ``logw`` with None for zero weights."""
    terms = []
    for l, lw in enumerate(logw):
        if lw is None:
            terms.append(None)
            continue
        terms.append(lw - sum((yc - ec) ** 2 for yc, ec in zip(y, eta[l])) / 2)
    top = max(t for t in terms if t is not None)
    total = mp.fsum(mp.exp(t - top) for t in terms if t is not None)
    return mp.exp(terms[j] - top) / total


def _crossings_1d(mp, eta, logw):
    """Points y where two positive-weight posterior terms are equal (1-D)."""
    points = set()
    alive = [l for l, lw in enumerate(logw) if lw is not None]
    for a in alive:
        for b in alive:
            if a < b and eta[a][0] != eta[b][0]:
                ea, eb = eta[a][0], eta[b][0]
                points.add((eb * eb - ea * ea) / 2 / (eb - ea) - (logw[a] - logw[b]) / (ea - eb))
    return sorted(points)


def gaussian_kernel_mp(system, counts, dps=30):
    """The Gaussian kernel at high precision with mpmath.

    Parameters
    ----------
    system : System
    counts : (L, K) int array
    dps : int
        Decimal digits of the working precision.

    Returns
    -------
    kernel : (L, K, K) object array of ``mpmath.mpf``
    error : (L, K, K) object array of ``mpmath.mpf``
        mpmath's error estimate of each entry (tanh-sinh: difference of the
        last two levels), plus the rounding floor ``10^(-dps)``.

    Notes
    -----
    ``P(k -> j) = int o_j(eta_k + z) phi(z) dz`` by :func:`mpmath.quad` over
    the real line, split at the crossing points of the posterior terms so
    that each piece is smooth and well resolved.  Only the one-dimensional
    reduced integral (``d = 1`` or ``K = 2``) is supported: a 2-D tanh-sinh
    rule at 15 digits takes minutes per entry.  The
    reduced means ``eta`` are taken from the float64 reduction (exact for
    the default one-dimensional means, which are integers).

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=1, components=2, memory=4, ownership="gaussian")
    >>> kernel, error = gaussian_kernel_mp(s, [[1, 3]], dps=20)
    >>> float(kernel[0, 0, 0] + kernel[0, 0, 1]), bool(error.max() < 1e-15)
    (1.0, True)
    """
    import mpmath

    counts = _counts_array(system, counts)
    eta_float = reduced_means(system)
    e = eta_float.shape[1]
    if e > 1:
        raise InputError(
            f"gaussian_kernel_mp: the reduced integral has dimension {e}; only 1 is supported "
            "(means in one dimension or K=2); use gaussian_kernel"
        )
    L, K = counts.shape
    N = system.memory
    kernel = np.empty((L, K, K), dtype=object)
    error = np.empty((L, K, K), dtype=object)
    with mpmath.workdps(dps):
        eta = [tuple(mpmath.mpf(float(x)) for x in row) for row in eta_float]
        floor = mpmath.mpf(10) ** (-dps)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        for c_index, c in enumerate(counts):
            logw = [None if ck == 0 else mpmath.log(mpmath.mpf(int(ck)) / N) for ck in c]
            cuts = _crossings_1d(mpmath, eta, logw)
            for k in range(K):
                for j in range(K):
                    if logw[j] is None:
                        kernel[c_index, k, j], error[c_index, k, j] = mpmath.mpf(0), mpmath.mpf(0)
                        continue
                    f = lambda z, k=k, j=j: _posterior_mp(mpmath, eta, logw, j, (eta[k][0] + z,)) * norm * mpmath.exp(-z * z / 2)  # noqa: E731
                    span = [-mpmath.inf] + sorted(cut - eta[k][0] for cut in cuts) + [mpmath.inf]
                    value, err = mpmath.quad(f, span, error=True)
                    kernel[c_index, k, j], error[c_index, k, j] = value, err + floor
    return kernel, error


# ---- certified path --------------------------------------------------------------------------

#: Added to both ends of every enclosure: covers the float64 rounding of the
#: posterior values (a few ulps each) and of the cell masses summed over at
#: most ``2^20`` cells (``2^20 * 4e-16 < 5e-10``).
ROUNDING_MARGIN = 1e-9


def gaussian_kernel_enclosure(system, counts=None, cells=2**16, tail=9.0):
    """Lower and upper bounds on every Gaussian kernel entry (1-D reduced integral).

    Parameters
    ----------
    system : System
    counts : (L, K) int array, optional
        Memories (default: every local state, in rank order).
    cells : int
        Grid cells on ``[-tail, tail]``.
    tail : float
        Half-width of the grid; beyond it the kernel entry gets ``[0, Phi(-tail)]``
        on each side.

    Returns
    -------
    lower, upper : (L, K, K) float arrays

    Notes
    -----
    Each posterior ``o_j(y)`` is log-concave in ``y`` (module notes), hence
    unimodal: on any cell its minimum is at an end point, and on a cell not
    containing the mode its maximum is too.  So ``P(k -> j) = int o_j
    (eta_k + z) phi(z) dz`` lies between ``sum_i min(o_i, o_{i+1}) m_i`` and
    ``sum_i max(o_i, o_{i+1}) m_i + (cells next to the largest grid values)
    + 2 Phi(-tail)``, where ``m_i = Phi(z_{i+1}) - Phi(z_i)``.  The bounds are
    then widened by :data:`ROUNDING_MARGIN` and clipped to ``[0, 1]``.  The
    width is about ``(grid step) * E|d o_j / dz|``, so it shrinks like
    ``1 / cells``.  Entries that are exactly 0 (zero weight) or 1 (a vertex
    memory) are returned exactly.  Rigorous apart from the floating-point
    evaluation of ``exp`` and ``Phi``, which the margin covers by a wide
    factor.  Cost ``O(L K^2 cells)``.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=1, components=2, memory=2, ownership="gaussian")
    >>> lo, hi = gaussian_kernel_enclosure(s, [[1, 1]], cells=2**12)
    >>> bool(lo[0, 0, 0] <= 0.602027 <= hi[0, 0, 0]), bool(hi[0, 0, 0] - lo[0, 0, 0] < 1e-3)
    (True, True)
    """
    from scipy.special import ndtr

    counts = _counts_array(system, counts)
    eta = reduced_means(system)
    if eta.shape[1] != 1:
        raise InputError(
            f"gaussian_kernel_enclosure: the reduced integral has dimension {eta.shape[1]}; only 1 is supported "
            "(means in one dimension or K=2)"
        )
    cells = int(cells)
    if not 16 <= cells <= 2**20:
        raise InputError(f"cells must be an integer from 16 to 2^20, got {cells}")
    L, K = counts.shape
    grid = np.linspace(-tail, tail, cells + 1)
    mass = np.diff(ndtr(grid))
    tail_mass = float(ndtr(-tail))
    weights = counts / float(system.memory)
    with np.errstate(divide="ignore"):
        logw = np.log(weights)
    lower = np.zeros((L, K, K))
    upper = np.zeros((L, K, K))
    chunk = max(1, 2_000_000 // (K * (cells + 1)))
    for k in range(K):
        y = eta[k, 0] + grid
        sq = -0.5 * (y[None, :] - eta[:, 0, None]) ** 2  # (K, n+1)
        for lo in range(0, L, chunk):
            logits = logw[lo : lo + chunk, :, None] + sq[None]
            logits -= logits.max(axis=1, keepdims=True)
            post = np.exp(logits)
            post /= post.sum(axis=1, keepdims=True)  # (l, K, n+1)
            left, right = post[..., :-1], post[..., 1:]
            low_cell, high_cell = np.minimum(left, right), np.maximum(left, right)
            top = post.max(axis=2, keepdims=True)
            near = post >= top - 1e-12  # grid points near the maximum: the mode lies next to them
            mode_cell = near[..., :-1] | near[..., 1:]
            high_cell = np.where(mode_cell, 1.0, high_cell)
            lower[lo : lo + chunk, k, :] = low_cell @ mass
            upper[lo : lo + chunk, k, :] = high_cell @ mass + 2 * tail_mass
    lower = np.clip(lower - ROUNDING_MARGIN, 0.0, 1.0)
    upper = np.clip(upper + ROUNDING_MARGIN, 0.0, 1.0)
    zero = np.broadcast_to((counts == 0)[:, None, :], lower.shape)
    lower[zero], upper[zero] = 0.0, 0.0
    vertex = counts.max(axis=1) == system.memory
    for c_index in np.flatnonzero(vertex):
        held = int(counts[c_index].argmax())
        lower[c_index, :, held], upper[c_index, :, held] = 1.0, 1.0
    return lower, upper


def _chain_with_kernel(system, kernel):
    """Float chain of ``system`` whose labelling kernel is ``kernel`` (L, K, K),
    not necessarily stochastic (a bound).  The agent law is a polynomial with
    nonnegative coefficients in ``p = q O`` (MODEL.md 2, steps 3-4), so a
    kernel that bounds ``O`` entrywise from below (above) gives transition
    entries that bound the true ones from below (above)."""
    from .build import build_chain

    return build_chain(system, exact=False, kernel=np.asarray(kernel, dtype=np.float64))


def _box_extreme(indptr, cols, low, slack_cap, values, budget, maximise):
    """``sum_t P(s, t) values(t)`` minimised (or maximised) per row over
    ``low <= P <= low + slack_cap``, ``sum_t P(s, t) = 1``: start from ``low``
    and pour the remaining mass ``budget`` into the successors in increasing
    (decreasing) order of value."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    key = -values[cols] if maximise else values[cols]
    order = np.lexsort((key, rows))
    cap = slack_cap[order]
    before = np.cumsum(cap) - cap
    before -= np.repeat(before[indptr[:-1]], np.diff(indptr)) if len(before) else 0
    poured = np.clip(budget[rows[order]] - before, 0.0, cap)
    extra = np.zeros(len(cols))
    extra[order] = poured
    return np.bincount(rows, weights=(low + extra) * values[cols], minlength=n)


def gaussian_polarization_interval(system, start, cells=2**16, tol=1e-6, max_iterations=100_000):
    """A certified interval for P(polarisation) under ``gaussian`` ownership.

    Parameters
    ----------
    system : System
        With ``ownership="gaussian"`` and a one-dimensional reduced integral
        (means in one dimension, or ``K = 2``).
    start : sequence of count vectors
    cells : int
        Grid cells of :func:`gaussian_kernel_enclosure`.
    tol : float
        Stop when the interval is narrower than ``tol`` (or the iterates stall).
    max_iterations : int

    Returns
    -------
    dict
        ``lower``, ``upper``, ``iterations``, ``kernel_width`` (largest width
        of a kernel enclosure), ``states`` (reachable states).

    Notes
    -----
    The kernel enclosure gives entrywise bounds ``P_lo <= P <= P_hi`` on the
    transition matrix (see :func:`_chain_with_kernel`).  Interval value
    iteration over this box (an interval Markov chain; the adversary picks
    any row in the box with sum 1, each step):
    ``l_{t+1}(s) = min_P sum_t P(s,t) l_t(t)`` from ``l_0 = 1_polarised`` is
    the least probability of being absorbed polarised within ``t`` steps, a
    lower bound for the true chain at every ``t``;
    ``u_{t+1}(s) = max_P sum_t P(s,t) u_t(t)`` from ``u_0 = 1`` off the
    consensus states is the largest probability of being polarised or still
    transient at ``t``, an upper bound at every ``t``.  Closed classes are
    the all-vertex states (vertex memories are frozen), whose rows are exact.
    The result is widened by ``iterations * 1e-15`` for float rounding.
    MODEL.md 2-3.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=2, components=2, memory=2, ownership="gaussian")
    >>> out = gaussian_polarization_interval(s, ((1, 1), (1, 1)), cells=2**12, tol=1e-3)
    >>> bool(out["lower"] <= out["upper"] < out["lower"] + 1e-2)
    True
    """
    from scipy.sparse.csgraph import breadth_first_order  # building never imports analysis
    from .states import local_states

    if system.ownership != "gaussian":
        raise InputError(f"ownership must be gaussian for this interval, got {system.ownership!r}")
    counts = local_states(system.memory, system.components)
    lower_kernel, upper_kernel = gaussian_kernel_enclosure(system, counts, cells=cells)
    hi_chain = _chain_with_kernel(system, upper_kernel)
    lo_chain = _chain_with_kernel(system, lower_kernel)
    start_index = hi_chain.index(start)
    reach = np.sort(breadth_first_order(hi_chain.structure(), start_index, directed=True, return_predecessors=False))
    position = np.full(hi_chain.n_states, -1)
    position[reach] = np.arange(len(reach))
    P_hi = hi_chain.matrix()[reach][:, reach].tocsr()
    P_hi.sort_indices()
    P_lo = lo_chain.matrix()[reach][:, reach].tocsr()
    # lower entries on the upper pattern (the lower chain may miss entries that rounded to 0)
    rows_hi = np.repeat(np.arange(len(reach)), np.diff(P_hi.indptr))
    low = np.asarray(P_lo[rows_hi, P_hi.indices]).ravel() if P_hi.nnz else np.zeros(0)
    high = P_hi.data
    low = np.minimum(low, high)
    budget = 1.0 - np.bincount(rows_hi, weights=low, minlength=len(reach))
    budget = np.maximum(budget, 0.0)
    labels = hi_chain.vertex_labels()[reach]
    all_vertex = (labels >= 0).all(axis=1)
    polarised = all_vertex & (labels.min(axis=1) != labels.max(axis=1))
    consensus = all_vertex & ~polarised
    l_values = polarised.astype(float)
    u_values = (~consensus).astype(float)
    s = position[start_index]
    iterations = 0
    while iterations < max_iterations and u_values[s] - l_values[s] > tol:
        new_l = _box_extreme(P_hi.indptr, P_hi.indices, low, high - low, l_values, budget, maximise=False)
        new_u = _box_extreme(P_hi.indptr, P_hi.indices, low, high - low, u_values, budget, maximise=True)
        new_l = np.where(all_vertex, l_values, np.maximum(new_l, l_values))
        new_u = np.where(all_vertex, u_values, np.minimum(new_u, u_values))
        iterations += 1
        stalled = float(np.abs(new_l - l_values).max() + np.abs(new_u - u_values).max()) < 1e-16
        l_values, u_values = new_l, new_u
        if stalled:
            break
    slack = iterations * 1e-15
    return {
        "lower": max(0.0, float(l_values[s]) - slack),
        "upper": min(1.0, float(u_values[s]) + slack),
        "iterations": iterations,
        "kernel_width": float((upper_kernel - lower_kernel).max()),
        "states": int(len(reach)),
    }
