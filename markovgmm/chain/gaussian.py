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
* :func:`gaussian_kernel_enclosure` (means on a line, ``e = 1``): rigorous
  rational bounds on every entry.  The reduced means are exact
  (``eta_j - eta_0 = t_j sqrt(Q)``, ``t_j`` and ``Q`` rational,
  :func:`line_coordinates`); each entry is ``int_{-T}^{T} o_j(eta_k + z)
  phi(z) dz``, ``T = 10``, enclosed by python-flint's ``acb.integral``
  (Arb's ball arithmetic: every rounding and the quadrature error are in
  the ball), plus ``[0, erfc(T / sqrt 2)]`` for the tails; the ball is
  rounded outward to multiples of ``2^-60``.  Width about ``1e-17``.  Means
  spanning two or more dimensions are refused (``InputError`` naming
  ``means``).
* :func:`gaussian_polarization_interval`: a certified interval for
  P(polarisation): the agent law is a polynomial with nonnegative
  coefficients in ``p = q O``, so the kernel bounds give exact transition
  bounds (Python integers, rounded outward to ``2^-30``), and interval value
  iteration over that box of chains, in exact int64 fixed point rounded
  outward, gives a lower and an upper bound that are valid after any
  number of iterations (proofs/gaussian_enclosure.md).

Zero-weight components own nothing (``o_j = 0`` when ``w_j = 0``) on every
path, and a memory holding one label labels everything with it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import InputError, TooLargeError

__all__ = [
    "gaussian_labelling_kernel",
    "gaussian_kernel",
    "gaussian_kernel_mp",
    "GaussianKernel",
    "reduced_means",
    "gaussian_kernel_enclosure",
    "gaussian_polarization_interval",
    "line_coordinates",
    "box_polarization_interval",
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

#: The kernel bounds are rounded outward to multiples of ``2^-KERNEL_BITS``.
KERNEL_BITS = 60
#: The interval value iteration works on integers over ``2^VALUE_BITS``
#: (products stay below ``2^62``, so every int64 operation is exact).
VALUE_BITS = 30
#: Half-width ``T`` of the integration range of the kernel enclosure; the two
#: tails beyond carry mass ``erfc(T / sqrt 2) < 1.6e-23`` at ``T = 10``.
ENCLOSURE_TAIL = 10
#: Largest number of expanded transitions (``states * E^m`` or
#: ``states * m E``) the certified path assembles in Python integers.
MAX_CERTIFIED_ENTRIES = 2_000_000


def _fraction(x):
    """An exact arb (a dyadic number) as a Fraction."""
    man, exp = x.man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)


def _ball_bounds(x):
    """Exact lower and upper end points of the arb ball ``x`` as Fractions."""
    mid, rad = _fraction(x.mid()), _fraction(x.rad())
    return mid - rad, mid + rad


def line_coordinates(system):
    """The reduced means of a one-dimensional reduced integral, exactly:
    rationals ``t_j`` and ``Q >= 0`` with ``eta_j - eta_0 = t_j sqrt(Q)``.

    The means must lie on a line, ``mu_j - mu_0 = t_j v`` (always so when
    ``d = 1`` or ``K = 2``); then ``L^{-1}(mu_j - mu_0) = t_j L^{-1} v`` and
    ``Q = v^T Sigma^{-1} v`` (exact rational arithmetic).  Raises
    :class:`~markovgmm.errors.InputError` otherwise.

    >>> from markovgmm.system import System
    >>> line_coordinates(System(agents=1, components=3, memory=2, means=(0, 1, 3), covariance=((4,),)))
    ([Fraction(0, 1), Fraction(1, 1), Fraction(3, 1)], Fraction(1, 4))
    """
    import sympy

    means = [tuple(Fraction(x) for x in mu) for mu in system.means]
    diffs = [tuple(a - b for a, b in zip(mu, means[0])) for mu in means]
    base = next((v for v in diffs if any(v)), None)
    if base is None:
        return [Fraction(0)] * len(means), Fraction(0)
    pivot = next(i for i, x in enumerate(base) if x)
    t = []
    for v in diffs:
        ratio = v[pivot] / base[pivot]
        if any(a != ratio * b for a, b in zip(v, base)):
            raise InputError(
                "means: the certified gaussian path needs means on a line (d = 1, K = 2 or collinear means: a "
                "one-dimensional reduced integral); these span more dimensions (use the float path)"
            )
        t.append(ratio)
    rational = lambda x: sympy.Rational(x.numerator, x.denominator)  # noqa: E731
    cov = sympy.Matrix([[rational(Fraction(x)) for x in row] for row in system.covariance])
    solved = cov.LUsolve(sympy.Matrix([rational(x) for x in base]))
    Q = sum(rational(b) * x for b, x in zip(base, solved))
    return t, Fraction(int(sympy.fraction(Q)[0]), int(sympy.fraction(Q)[1]))


def _entry_ball(t, Q, c, k, j, tail):
    """Arb enclosure of ``int_{-T}^{T} o_j(eta_k + z) phi(z) dz`` at the current precision.

    ``o_j(eta_k + z) = 1 / sum_l exp(C_l + B_l z)`` over the components ``l``
    of positive weight (``C_j = B_j = 0``) with ``C_l = log(c_l / c_j) + Q
    (t_l - t_j)(2 t_k - t_j - t_l) / 2`` and ``B_l = sqrt(Q) (t_l - t_j)``:
    the integrand is meromorphic, so :meth:`flint.acb.integral` (Petras'
    algorithm with rigorous error bounds) applies as it stands."""
    from flint import acb, arb

    root = arb(Q.numerator).sqrt() / arb(Q.denominator).sqrt()
    terms = []
    for l, cl in enumerate(c):
        if cl == 0 or l == j:
            continue
        shift = Q * (t[l] - t[j]) * (2 * t[k] - t[j] - t[l]) / 2
        C = (arb(int(cl)) / int(c[j])).log() + arb(shift.numerator) / shift.denominator
        slope = t[l] - t[j]
        terms.append((acb(C), acb(root * slope.numerator / slope.denominator)))
    norm = 1 / (2 * arb.pi()).sqrt()

    def integrand(z, analytic):  # meromorphic: poles give non-finite balls, no flag to check
        denominator = acb(1)
        for C, B in terms:
            denominator += (C + B * z).exp()
        return (-z * z / 2).exp() * norm / denominator

    return acb.integral(integrand, -tail, tail).real


def gaussian_kernel_enclosure(system, counts=None, prec=64, tail=ENCLOSURE_TAIL, progress=None):
    """Rigorous rational lower and upper bounds on every Gaussian kernel entry
    (one-dimensional reduced integral).

    Parameters
    ----------
    system : System
        Means on a line (``d = 1``, ``K = 2`` or collinear means); otherwise
        :class:`~markovgmm.errors.InputError` (see :func:`line_coordinates`).
    counts : (L, K) int array, optional
        Memories (default: every local state, in rank order).
    prec : int
        Working precision of the ball arithmetic, in bits (53 to 1000).
    tail : int
        Half-width ``T`` of the integration range.
    progress : callable, optional
        Called with the number of memories done.

    Returns
    -------
    lower, upper : (L, K, K) object arrays of Fractions
        Multiples of ``2^-KERNEL_BITS`` with ``lower <= P(k -> j) <= upper``.

    Notes
    -----
    The reduced means are exact (:func:`line_coordinates`); every entry is
    ``int_{-T}^{T} o_j(eta_k + z) phi(z) dz`` enclosed by
    :meth:`flint.acb.integral` (ball arithmetic: the enclosure is proven,
    including every rounding), plus the tails ``[0, erfc(T / sqrt 2)]``
    (``0 <= o_j <= 1``).  The ball's end points are rounded outward to the
    dyadic grid and clipped to ``[0, 1]``.  Entries that are exactly 0 (zero
    weight), 1 (a memory holding one label) or ``c_j / N`` (all means
    equal: the posterior is the prior) are returned exactly.  Width about
    ``erfc(T / sqrt 2) + 2^-KERNEL_BITS`` plus the integration radius
    (``~1e-15`` at 64 bits).  Cost: ``L K^2`` integrals of a few hundred
    integrand evaluations each.  MODEL.md 2, step 2.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=1, components=2, memory=2, ownership="gaussian")
    >>> lo, hi = gaussian_kernel_enclosure(s, [[1, 1]])
    >>> round(float(lo[0, 0, 0]), 6), float(hi[0, 0, 0] - lo[0, 0, 0]) < 1e-13  # means 0 and 1, memory (1, 1)
    (0.602027, True)
    >>> lo[0, 0, 0].denominator <= 2**KERNEL_BITS, lo[0, 1, 0] + lo[0, 1, 1] <= 1 <= hi[0, 1, 0] + hi[0, 1, 1]
    (True, True)
    """
    from flint import arb, ctx

    counts = _counts_array(system, counts)
    t, Q = line_coordinates(system)
    prec, tail = int(prec), int(tail)
    if not 53 <= prec <= 1000:
        raise InputError(f"prec must be an integer from 53 to 1000 (bits), got {prec}")
    if not 4 <= tail <= 40:
        raise InputError(f"tail must be an integer from 4 to 40, got {tail}")
    L, K = counts.shape
    N = system.memory
    scale = 2**KERNEL_BITS
    lower = np.empty((L, K, K), dtype=object)
    upper = np.empty((L, K, K), dtype=object)
    saved = ctx.prec
    ctx.prec = prec
    try:
        tail_mass = _ball_bounds((arb(tail) / arb(2).sqrt()).erfc())[1]
        for c_index, c in enumerate(counts.tolist()):
            for k in range(K):
                for j in range(K):
                    if c[j] == 0 or c[j] == N or Q == 0:
                        lower[c_index, k, j] = upper[c_index, k, j] = Fraction(c[j], N)
                        continue
                    lo, hi = _ball_bounds(_entry_ball(t, Q, c, k, j, tail))
                    hi += tail_mass
                    lower[c_index, k, j] = Fraction(max(0, math.floor(lo * scale)), scale)
                    upper[c_index, k, j] = Fraction(min(scale, math.ceil(hi * scale)), scale)
            if progress:
                progress(c_index + 1)
    finally:
        ctx.prec = saved
    return lower, upper


def _transition_bounds(system, lower, upper):
    """Exact bounds on every transition of the chain of ``system`` from kernel
    bounds ``lower <= O <= upper`` (object arrays of multiples of
    ``2^-KERNEL_BITS``), as fixed-point integers over ``2^VALUE_BITS``.

    The agent law of MODEL.md 2, steps 1-4, is ``sum_A coef[c, e, A] p^A``
    with nonnegative coefficients (hypergeometric removal, multinomial
    addition, pruning) and ``p = q O``, ``q >= 0``: nondecreasing in every
    entry of ``O``.  Sync rows are products of agent laws, async rows
    averages, so kernel bounds give transition bounds.  Everything is in
    Python integers; the lower (upper) values are rounded down (up) to
    ``2^-VALUE_BITS``.

    Returns ``indptr, indices, low, high`` (int64; the pattern is that of
    the upper chain, which contains every positive transition) and the
    ranks of every state.
    """
    from . import laws
    from .assembly import sum_by_key
    from .states import all_states, global_index

    if system.model != "pool":
        raise InputError(f"model: the certified gaussian path is for model=pool, got {system.model!r}")
    m, L, K, r = system.agents, system.n_local_states, system.components, system.replace
    table = laws.replacement_table(system.memory, K, r, system.prune)
    E = table.successors.shape[1]
    per_row = E**m if system.schedule == "sync" else m * E
    ranks = all_states(L, m)
    n = len(ranks)
    if n * per_row > MAX_CERTIFIED_ENTRIES:
        raise TooLargeError(
            f"{system.describe()}: the certified gaussian path would assemble {n * per_row:,} transitions in exact "
            f"integer arithmetic (limit {MAX_CERTIFIED_ENTRIES:,}); use the float path or a smaller system"
        )
    coef = table.numerators.astype(object)
    if any(x < 0 for x in coef.ravel().tolist()):  # the monotonicity argument needs this
        raise AssertionError("replacement table with a negative coefficient")
    eye = np.broadcast_to(np.eye(K, dtype=np.int64), (L, K, K))
    q, _, D = laws.incoming_label_laws(system, ranks, exact=True, kernel=eye, local_counts=table.counts)
    q = q.astype(object)  # (n, m, K) over D
    scale = 2**KERNEL_BITS
    agent_den = table.denominator * (D * scale) ** r
    succ = table.successors[ranks]  # (n, m, E)
    monomials = table.monomials
    laws_by_bound = []
    for bound in (lower, upper):
        O = np.array([int(x * scale) for x in bound.ravel().tolist()], dtype=object).reshape(bound.shape)
        p = (q[:, :, :, None] * O[ranks]).sum(axis=2)  # (n, m, K) over D * 2^KERNEL_BITS
        mono = np.ones(p.shape[:2] + (len(monomials),), dtype=object)
        for a, powers in enumerate(monomials.tolist()):
            for kk, power in enumerate(powers):
                if power:
                    mono[:, :, a] = mono[:, :, a] * p[:, :, kk] ** power
        laws_by_bound.append((coef[ranks] * mono[:, :, None, :]).sum(axis=3))  # (n, m, E) over agent_den
    if system.schedule == "sync":
        cols = np.zeros((n, 1), dtype=np.int64)
        data = [np.ones((n, 1), dtype=object), np.ones((n, 1), dtype=object)]
        for i in range(m):
            cols = (cols[:, :, None] * L + succ[:, i, None, :]).reshape(n, -1)
            data = [(d[:, :, None] * v[:, i, None, :]).reshape(n, -1) for d, v in zip(data, laws_by_bound)]
        denominator = agent_den**m
    else:
        here = global_index(ranks, L)
        cols = np.concatenate([here[:, None] + (succ[:, i, :] - ranks[:, i, None]) * L ** (m - 1 - i) for i in range(m)], axis=1)
        data = [np.concatenate([v[:, i, :] for i in range(m)], axis=1) for v in laws_by_bound]
        denominator = agent_den * m
    rows = np.repeat(np.arange(n, dtype=np.int64), cols.shape[1])
    key, lo_num, hi_num = sum_by_key(rows * n + cols.ravel(), *(d.ravel() for d in data))
    keep = hi_num != 0
    key, lo_num, hi_num = key[keep], lo_num[keep], hi_num[keep]
    unit = 2**VALUE_BITS
    low = (lo_num * unit // denominator).astype(np.int64)
    high = (-((-hi_num * unit) // denominator)).astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n, minlength=n), out=indptr[1:])
    return indptr, (key % n).astype(np.int64), low, high, ranks, table.counts


def _box_extreme(indptr, cols, low, cap, values, budget, maximise):
    """``sum_t P(s, t) values(t)`` minimised (maximised) per row over
    ``low <= P <= low + cap``, ``sum_t P(s, t) = 1``, all integers over
    ``2^VALUE_BITS`` (exact int64): start from ``low`` and pour the remaining
    mass ``budget`` into the successors in increasing (decreasing) order of
    value.  Returns the exact optimum times ``2^VALUE_BITS`` (integers over
    ``2^(2 VALUE_BITS)``).  Every row must be nonempty."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    key = -values[cols] if maximise else values[cols]
    order = np.lexsort((key, rows))
    c = cap[order]
    before = np.cumsum(c) - c
    before -= np.repeat(before[indptr[:-1]], np.diff(indptr))
    poured = np.clip(budget[rows[order]] - before, 0, c)
    extra = np.zeros(len(cols), dtype=np.int64)
    extra[order] = poured
    return np.add.reduceat((low + extra) * values[cols], indptr[:-1])


def gaussian_polarization_interval(system, start, prec=64, tol=1e-6, max_iterations=100_000):
    """A certified interval for P(polarisation) under ``gaussian`` ownership.

    Parameters
    ----------
    system : System
        ``model="pool"``, ``ownership="gaussian"`` and means on a line
        (``d = 1``, ``K = 2`` or collinear means).
    start : sequence of count vectors
    prec : int
        Ball-arithmetic precision (bits) of :func:`gaussian_kernel_enclosure`.
    tol : float
        Stop when the interval is narrower than ``tol`` (or the iterates stop moving).
    max_iterations : int

    Returns
    -------
    dict
        ``lower``, ``upper`` (floats that are the exact dyadic bounds,
        multiples of ``2^-VALUE_BITS``), ``iterations``, ``kernel_width``
        (largest width of a kernel enclosure), ``states`` (reachable states).

    Notes
    -----
    Every step is proven, with no floating-point rounding left unaccounted:
    the kernel enclosure is ball arithmetic (:func:`gaussian_kernel_enclosure`),
    the transition bounds ``P_lo <= P <= P_hi`` are exact integer arithmetic
    rounded outward (:func:`_transition_bounds`), and the interval value
    iteration runs on exact int64 fixed-point values.  Over the box of
    chains (an interval Markov chain; the adversary picks any row in the
    box with sum 1, each step),
    ``l_{t+1}(s) = floor(min_P sum_t P(s,t) l_t(t))`` from ``l_0 =
    1_polarised`` is at most the probability of being absorbed polarised
    within ``t+1`` steps in the true chain (induction: the minimum is
    monotone in ``l`` and the true row is in the box), and
    ``u_{t+1}(s) = ceil(max_P sum_t P(s,t) u_t(t))`` from ``u_0 = 1`` off
    the consensus states is at least the probability of not being in
    consensus at ``t+1``, which is at least P(polarisation) since the
    all-vertex states are absorbing (vertex memories are frozen, their rows
    are exact).  Keeping the running maximum of ``l`` (minimum of ``u``)
    preserves both, as the true quantities are monotone in ``t``.
    proofs/gaussian_enclosure.md.  MODEL.md 2-3.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=2, components=2, memory=2, ownership="gaussian")
    >>> out = gaussian_polarization_interval(s, ((1, 1), (1, 1)), tol=1e-6)
    >>> bool(out["lower"] <= out["upper"] < out["lower"] + 1e-5)
    True
    """
    from .states import local_states

    if system.ownership != "gaussian":
        raise InputError(f"ownership must be gaussian for this interval, got {system.ownership!r}")
    counts = local_states(system.memory, system.components)
    lower_kernel, upper_kernel = gaussian_kernel_enclosure(system, counts, prec=prec)
    out = box_polarization_interval(system, lower_kernel, upper_kernel, start, tol=tol, max_iterations=max_iterations)
    out["kernel_width"] = max(float(u - l) for u, l in zip(upper_kernel.ravel().tolist(), lower_kernel.ravel().tolist()))
    return out


def box_polarization_interval(system, lower_kernel, upper_kernel, start, tol=1e-6, max_iterations=100_000):
    """Bounds on P(polarisation) valid for every labelling kernel between
    ``lower_kernel`` and ``upper_kernel`` (object arrays of multiples of
    ``2^-KERNEL_BITS``): exact transition bounds (:func:`_transition_bounds`)
    and interval value iteration in exact int64 fixed point (see
    :func:`gaussian_polarization_interval`).  Requires every all-vertex
    state to be absorbing (true for every ownership rule that labels
    everything ``k`` from a memory holding only ``k``: ``support`` and
    ``gaussian``).

    Returns a dict ``lower``, ``upper`` (exact dyadic floats), ``iterations``, ``states``.

    >>> from markovgmm.system import System
    >>> from markovgmm.chain.laws import labelling_kernel
    >>> s = System(agents=2, components=2, memory=2)
    >>> O = np.vectorize(Fraction, otypes=[object])(labelling_kernel(s))
    >>> out = box_polarization_interval(s, O, O, ((1, 1), (1, 1)), tol=1e-8)
    >>> out["lower"] <= 1 / 3 <= out["upper"], out["upper"] - out["lower"] < 1e-7  # exact value 1/3
    (True, True)
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order  # building never imports analysis

    from .states import global_index, rank_counts

    indptr, cols, low_all, high_all, ranks, local_counts = _transition_bounds(system, lower_kernel, upper_kernel)
    n = len(ranks)
    state = system.check_state(start)
    start_index = int(global_index(rank_counts(np.array(state, dtype=np.int64), system.memory), system.n_local_states))
    pattern = csr_matrix((np.ones(len(cols), dtype=np.int8), cols, indptr), shape=(n, n))
    reach = np.sort(breadth_first_order(pattern, start_index, directed=True, return_predecessors=False))
    sub = csr_matrix((np.arange(1, len(cols) + 1), cols, indptr), shape=(n, n))[reach][:, reach].tocsr()
    sub.sort_indices()
    picked = sub.data - 1  # positions of the kept entries in the full arrays
    P_indptr, P_cols = sub.indptr, sub.indices
    low, high = low_all[picked], high_all[picked]
    unit = 2**VALUE_BITS
    budget = unit - np.add.reduceat(low, P_indptr[:-1])
    if (budget < 0).any() or (np.add.reduceat(high, P_indptr[:-1]) < unit).any():
        raise AssertionError("transition bounds do not enclose a stochastic row")
    vertex = local_counts.max(axis=1) == system.memory
    label = np.where(vertex, local_counts.argmax(axis=1), -1)
    labels = label[ranks[reach]]
    all_vertex = (labels >= 0).all(axis=1)
    polarised = all_vertex & (labels.min(axis=1) != labels.max(axis=1))
    consensus = all_vertex & ~polarised
    l_values = np.where(polarised, unit, 0).astype(np.int64)
    u_values = np.where(consensus, 0, unit).astype(np.int64)
    s = int(np.searchsorted(reach, start_index))
    goal = int(math.floor(tol * unit))
    iterations = 0
    while iterations < max_iterations and u_values[s] - l_values[s] > goal:
        new_l = _box_extreme(P_indptr, P_cols, low, high - low, l_values, budget, maximise=False) >> VALUE_BITS
        new_u = -((-_box_extreme(P_indptr, P_cols, low, high - low, u_values, budget, maximise=True)) >> VALUE_BITS)
        new_l = np.where(all_vertex, l_values, np.maximum(new_l, l_values))
        new_u = np.where(all_vertex, u_values, np.minimum(new_u, u_values))
        iterations += 1
        stalled = (new_l == l_values).all() and (new_u == u_values).all()
        l_values, u_values = new_l, new_u
        if stalled:
            break
    return {
        "lower": int(l_values[s]) / unit,
        "upper": int(u_values[s]) / unit,
        "iterations": iterations,
        "states": int(len(reach)),
    }
