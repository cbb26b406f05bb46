"""Decay in the memory size N (issue 11 item 3): P(polarisation) and E[absorption time] against N.

System (MODEL.md 2-3): the pool chain with ``m`` agents, ``K = 2``, ``r = 1``,
``sync``, ``support`` ownership, no pruning, the complete graph (the defaults
of :class:`~markovgmm.system.System`), from the balanced start
(:func:`~markovgmm.system.balanced_counts`: every agent holds ``ceil(N/2)``
items of label 0).  ``P_N`` is P(polarisation) and ``E_N`` the expected
absorption time there.

What is computed (per ``m`` and ``N``): the certified interval of ``P_N``
(:func:`~markovgmm.analysis.certified.certified_absorption` on the exact
lumped chain), of ``E_N`` (:func:`~markovgmm.analysis.certified.certified_expected_time`),
of the ratios ``P_{N+1}/P_N`` and ``E_{N+1}/E_N`` (exact interval division
of the certified intervals), and, for small ``N``, the exact rational values
(:func:`~markovgmm.analysis.absorption.absorb`) as a cross-check.

What is proven (``proofs/decay_rate.md``, for every ``m >= 2`` and ``N >= 2``):

* lower bound ``P_N >= L_N`` (:func:`path_lower_bound`): the divergence
  paths of LB3 (one agent loses an item of a label per step, all others gain one,
  each until it freezes), with any number of self-loops at every state, summed
  over the choice of the lone agent and of the label; an exact rational
  product.  Its exponential rate ``alpha_m = lim -(1/N) log L_N``
  (:func:`path_rate`; ``alpha_2 = 1 + log 2 + log(3)/2 = 2.2425``) bounds
  ``limsup_N -(1/N) log P_N <= alpha_m``.
* lower bound ``E_N >= (N^2 - m [N odd]) / (2m)`` (:func:`time_lower_bound`):
  ``W = sum_i (a_i - N/2)^2`` (``a_i`` the label-0 counts) grows by at most ``m/2`` per step in
  expectation until the first agent freezes, and a frozen agent alone
  contributes ``N^2/4``.

For ``m = 2`` only (``proofs/decay_rate.md``, Theorems 4 and 5), for every ``N >= 2``:

* upper bound ``P_N <= U_N = F_N 2^(d_1 + 1 - N)``, ``d_1 = max(2,
  ceil(N/3))``, ``F_N = min(N (N^2 - [N odd]), 11.1 N^2)``
  (:func:`polarisation_upper_bound`): ``2^|a - b|`` is a supermartingale
  wherever ``|a - b| >= d_1`` or an agent is frozen, so each excursion there
  polarises with probability at most ``2^(d_1 + 1 - N)``, and there are at
  most ``E[tau_1] <= F_N`` of them.  Hence ``liminf -(1/N) log P_N >= (2/3)
  log 2 = 0.4621``.
* upper bound ``E_N <= F_N + 2 N H_(N-1)`` (:func:`time_upper_bound`), so
  ``E_N`` is of order ``N^2`` (with Theorem 3).

Not proven (verdict ``open`` when some ``m >= 3`` is asked): upper bounds for
all ``N`` for ``m >= 3``.  For every computed ``N`` the certified upper end
*is* a proven upper bound on ``P_N`` (a super-solution checked exactly), but
it is not a statement for all ``N``.  The limit of the ratio ``P_{N+1}/P_N``
is only *estimated* (:func:`ratio_limit_estimate`; about ``1/4``, far from
the proven bound ``limsup P_N^(1/N) <= 2^(-2/3)`` for ``m = 2``), and so is the
limit of ``E_N / N^2`` (for ``m >= 3`` even the order ``N^2`` of ``E_N`` is
unproven).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

from ..errors import InputError, TooLargeError
from ..system import System, balanced_counts

__all__ = [
    "DEFAULT_MEMORIES",
    "path_steps",
    "path_lower_bound",
    "path_rate",
    "path_rate_enclosure",
    "time_lower_bound",
    "upper_threshold",
    "first_freeze_upper_bound",
    "polarisation_upper_bound",
    "time_upper_bound",
    "interval_ratio",
    "ratio_limit_estimate",
    "growth_estimate",
    "decay_point",
    "decay_family",
    "decay_plan",
    "lumped_states",
    "MAX_ORBITS",
]

#: Memory sizes of the default run (``verify --theorem decay``), per number of agents.
DEFAULT_MEMORIES = {2: tuple(range(2, 61)), 3: tuple(range(2, 31))}
#: Largest lumped chain a decay run builds: m = 3 up to N = 104.  Lumped chains above
#: :data:`~markovgmm.analysis.certified.ITERATIVE_STATES` are certified block by block; measured
#: ``absorb -m 3 -N 100 --certified`` (176,851 orbits): 516 s CPU, 1.25 GB peak (30 min wall on a loaded machine).
MAX_ORBITS = 200_000
#: Exact (rational) cross-check up to this N by default.
EXACT_UPTO = 10


def lumped_states(m, N):
    """Orbits of the lumped chain on the complete graph: multisets of ``m`` of the ``N + 1`` count vectors.

    >>> lumped_states(2, 4), lumped_states(3, 80)
    (15, 91881)
    """
    return math.comb(N + m, m)


def _system(m, N):
    return System(agents=m, components=2, memory=N)


def _start(m, N):
    return tuple(balanced_counts(N, 2) for _ in range(m))


# ---------------------------------------------------------------------------
# proven bounds (proofs/decay_rate.md)


def path_steps(m, N, x0, lone=None):
    """The divergence path of one orientation: states and their step and self-loop probabilities.

    All ``m`` agents start with ``x0`` items of label 0 (``0 < x0 < N``).  At
    every step each interior non-lone agent gains a label-0 item and the lone
    agent (the last, by default) loses one, each until it is at a vertex.
    Returns a list of ``(x, p, h)``: ``x`` the label-0 counts, ``p`` the
    probability of the path's next step from ``x`` and ``h`` the self-loop
    probability of ``x`` (exact Fractions), followed by the final state with
    ``p = h = None``.

    With ``q = sum x / (m N)``: an interior agent with ``x_i`` items gains a
    0 with probability ``(N - x_i)/N q``, loses one with ``x_i/N (1 - q)``
    and stays with ``1 - s_i``, ``s_i = q + x_i/N - 2 q x_i/N``; an agent at
    a vertex stays (MODEL.md 2, ``support``); agents update independently.

    >>> [(x, str(p), str(h)) for x, p, h in path_steps(2, 2, 1)[:1]]
    [((1, 1), '1/16', '1/4')]
    """
    if not 0 < x0 < N:
        raise InputError(f"x0: must satisfy 0 < x0 < N = {N}, got {x0}")
    lone = m - 1 if lone is None else lone
    x = [x0] * m
    out = []
    while any(0 < xi < N for xi in x):
        q = Fraction(sum(x), m * N)
        p, h = Fraction(1), Fraction(1)
        for i, xi in enumerate(x):
            if not 0 < xi < N:
                continue
            f = Fraction(xi, N)
            p *= f * (1 - q) if i == lone else (1 - f) * q
            h *= 1 - (q + f - 2 * q * f)
        out.append((tuple(x), p, h))
        x = [xi if not 0 < xi < N else (xi - 1 if i == lone else xi + 1) for i, xi in enumerate(x)]
    out.append((tuple(x), None, None))
    return out


def _orientation_value(m, N, x0):
    value = Fraction(1)
    for _, p, h in path_steps(m, N, x0)[:-1]:
        value *= p / (1 - h)
    return value


def path_lower_bound(m, N):
    """``L_N``: a proven lower bound on P(polarisation) from the balanced start (exact).

    ``L_N = m (A + B)`` for ``m >= 3`` and ``L_N = 2 A`` for ``m = 2``, with
    ``A`` the value of the divergence path (:func:`path_steps`) from ``x0 =
    ceil(N/2)`` label-0 items and ``B`` the same path in the label-1 counts
    (``x0 = floor(N/2)``), each step ``p`` divided by ``1 - h`` (any number of
    self-loops).  The ``m`` choices of the lone agent and the two labels give
    disjoint sets of first-passage paths into the polarised set (for ``m = 2``
    the two label choices coincide), so their probabilities add
    (``proofs/decay_rate.md``, Theorem 1).

    >>> path_lower_bound(2, 2), path_lower_bound(2, 4)
    (Fraction(1, 6), Fraction(1, 288))
    """
    if m < 2 or N < 2:
        raise InputError(f"path_lower_bound: needs m >= 2 and N >= 2, got m={m}, N={N}")
    hi, lo = -(-N // 2), N // 2
    A = _orientation_value(m, N, hi)
    if m == 2:
        return 2 * A
    return m * (A + _orientation_value(m, N, lo))


def _rate_integrand(m):
    """``G(u)`` of ``proofs/decay_rate.md`` Theorem 2 as a sympy expression in ``u``."""
    import sympy

    u = sympy.Symbol("u")
    q = sympy.Rational(1, 2) + sympy.Rational(m - 2, 2 * m) * u
    xl, xo = (1 - u) / 2, (1 + u) / 2

    def s(x):
        return q + x - 2 * q * x

    h = (1 - s(xl)) * (1 - s(xo)) ** (m - 1)
    return u, sympy.log(q ** (m - 1) * (1 - q) / (1 - h))


def path_rate_enclosure(m, pieces=128, dps=30):
    """A proven interval ``[lo, hi]`` (exact Fractions) containing ``alpha_m`` (``proofs/decay_rate.md``, Theorem 2).

    Interval arithmetic (``mpmath.iv``, outward rounding) on the composite
    midpoint rule with its remainder: on each of ``pieces`` equal pieces
    ``I = [a, b]`` with midpoint ``c``, Taylor's formula with integral
    remainder gives ``int_I G = (b - a) G(c) + R`` with ``R`` in
    ``G''(I) (b - a)^3 / 24`` (``G''`` enclosed on the whole piece; ``G`` and
    ``G''`` from sympy, evaluated in intervals).  Width below ``1e-6`` for
    ``m = 2..4`` with the default 128 pieces (``6e-8`` for ``m = 3``; ``G`` is
    constant for ``m = 2``).

    >>> lo, hi = path_rate_enclosure(3)
    >>> float(lo) < 3.4504536 < float(hi), float(hi - lo) < 1e-7
    (True, True)
    """
    import sympy
    from mpmath import iv

    u, G = _rate_integrand(m)
    modules = [{"log": iv.log, "mpf": iv.mpf}, "mpmath"]
    fG = sympy.lambdify(u, G, modules=modules)
    fG2 = sympy.lambdify(u, sympy.diff(G, u, 2), modules=modules)
    saved = iv.dps
    iv.dps = dps
    try:
        total = iv.mpf(0)
        for k in range(pieces):
            a, b = iv.mpf(k) / pieces, iv.mpf(k + 1) / pieces
            w = b - a
            total += w * iv.mpf(fG((a + b) / 2)) + iv.mpf(fG2(iv.mpf([a.a, b.b]))) * w ** 3 / 24
        alpha = iv.mpf(m) / 2 * (1 + iv.log(2)) - total / 2
        # mpf endpoints are exact binary numbers: convert without rounding
        from mpmath.libmp import to_rational

        lo, hi = alpha._mpi_
        return Fraction(*to_rational(lo)), Fraction(*to_rational(hi))
    finally:
        iv.dps = saved


def path_rate(m, dps=30):
    """``alpha_m = lim_N -(1/N) log L_N`` (a float; ``proofs/decay_rate.md``, Theorem 2).

    ``alpha_m = (m/2)(1 + log 2) - (1/2) int_0^1 G(u) du`` with
    ``G = log(q^(m-1) (1-q) / (1-h))``, ``q = 1/2 + (m-2) u / (2m)``, the lone
    agent at ``x = (1-u)/2``, the others at ``(1+u)/2`` and ``h`` the
    self-loop probability there.  Hence ``limsup -(1/N) log P_N <= alpha_m``.

    Error statement: the integral is ``mpmath.quad`` (tanh-sinh) at ``dps``
    digits; the returned float is within ``1e-15`` of the proven interval
    :func:`path_rate_enclosure` (width below ``1e-6`` for ``m = 2..4``), which
    ``proofs/check_decay_rate.py`` and ``tests/test_decay.py`` check, so it is
    within ``1e-6`` of ``alpha_m`` for ``m = 2..4``.  For ``m = 2`` it equals
    the closed form ``1 + log 2 + log(3)/2`` to float precision.

    >>> round(path_rate(2), 6), round(1 + math.log(2) + math.log(3) / 2, 6)
    (2.242453, 2.242453)
    """
    import mpmath

    with mpmath.workdps(dps):
        def G(u):
            q = mpmath.mpf(1) / 2 + (m - 2) * u / (2 * m)
            xl, xo = (1 - u) / 2, (1 + u) / 2
            h = (1 - (q + xl - 2 * q * xl)) * (1 - (q + xo - 2 * q * xo)) ** (m - 1)
            return mpmath.log(q ** (m - 1) * (1 - q) / (1 - h))

        return float(mpmath.mpf(m) / 2 * (1 + mpmath.log(2)) - mpmath.quad(G, [0, 1]) / 2)


def time_lower_bound(m, N):
    """Proven ``E_N >= (N^2 - m [N odd]) / (2m)`` (``proofs/decay_rate.md``, Theorem 3).

    >>> time_lower_bound(2, 4), time_lower_bound(3, 5)
    (Fraction(4, 1), Fraction(11, 3))
    """
    return Fraction(N * N - (m if N % 2 else 0), 2 * m)


def upper_threshold(N):
    """``d_1 = max(2, ceil(N/3))``: above it the disagreement supermartingale ``2^|a - b|`` holds (Theorem 4).

    >>> [upper_threshold(N) for N in (2, 6, 7, 30)]
    [2, 2, 3, 10]
    """
    return max(2, -(-N // 3))


def first_freeze_upper_bound(N):
    """Proven ``E[tau_1] <= F_N = min(N (N^2 - [N odd]), (111/10) N^2)`` for ``m = 2``
    (``proofs/decay_rate.md``, Theorem 4, step 3).

    ``tau_1`` is the first step at which an agent is at a vertex; ``t = a + b``
    is a martingale before it with ``E[(Delta t)^2] >= max(1/N, t (2N - t)/(2N^2))``,
    so ``(t - N)^2 - s/N`` and ``phi(t) - s/(8N)``, ``phi(t) = t log t + (2N - t)
    log(2N - t)``, are submartingales; the second gives ``16 log 2 N^2 < 11.1 N^2``.

    >>> first_freeze_upper_bound(4), first_freeze_upper_bound(5), first_freeze_upper_bound(20)
    (Fraction(64, 1), Fraction(120, 1), Fraction(4440, 1))
    """
    return min(Fraction(N * (N * N - (N % 2))), Fraction(111 * N * N, 10))


def polarisation_upper_bound(m, N):
    """Proven ``P_N <= U_N = F_N 2^(d_1 + 1 - N)`` for ``m = 2`` (Theorem 4; ``F_N`` :func:`first_freeze_upper_bound`), exact.

    Hence ``P_N <= 2^(5/3) N^3 2^(-2N/3)`` and ``liminf -(1/N) log P_N >=
    (2/3) log 2 = 0.4621`` (``beta = 2^(-2/3) = 0.63``).  Only ``m = 2`` is
    proven (:class:`~markovgmm.errors.InputError` otherwise).  The bound is
    far from the measured decay (``P_{N+1}/P_N -> 1/4`` estimated).

    >>> polarisation_upper_bound(2, 30), polarisation_upper_bound(2, 60) < Fraction(1, 10**5)
    (Fraction(4995, 262144), True)
    """
    if m != 2 or N < 2:
        raise InputError(f"polarisation_upper_bound: proven for m = 2 and N >= 2 only, got m={m}, N={N}")
    return first_freeze_upper_bound(N) * Fraction(2) ** (upper_threshold(N) + 1 - N)


def time_upper_bound(m, N):
    """Proven ``E_N <= F_N + 2 N H_(N-1)`` for ``m = 2`` (Theorem 5; ``H`` harmonic numbers), exact.

    ``E[tau_1]`` (:func:`first_freeze_upper_bound`) plus the time for the
    interior agent to reach a vertex once the other is frozen (``2 N H_z`` with
    ``z`` its distance from the frozen agent's vertex decreases by at least 1
    per step in expectation).  Of order ``N^2`` like :func:`time_lower_bound`
    (``E_N <= 11.1 N^2 + 2N (1 + log N)``; measured ``E_N / N^2`` is about 1.3
    at ``N = 200``).

    >>> time_upper_bound(2, 4)
    Fraction(236, 3)
    """
    if m != 2 or N < 2:
        raise InputError(f"time_upper_bound: proven for m = 2 and N >= 2 only, got m={m}, N={N}")
    return first_freeze_upper_bound(N) + 2 * N * sum(Fraction(1, k) for k in range(1, N))


# ---------------------------------------------------------------------------
# interval arithmetic and estimates


def interval_ratio(num, den):
    """``[a, b] / [c, d]`` for positive intervals: ``[a/d, b/c]`` (exact), None if ``c <= 0``.

    >>> interval_ratio((Fraction(1), Fraction(2)), (Fraction(4), Fraction(8)))
    (Fraction(1, 8), Fraction(1, 2))
    """
    a, b = num
    c, d = den
    if c <= 0 or a < 0:
        return None
    return (Fraction(a) / Fraction(d), Fraction(b) / Fraction(c))


def _lstsq(rows, ys):
    import numpy as np

    coef, *_ = np.linalg.lstsq(np.array(rows, dtype=float), np.array(ys, dtype=float), rcond=None)
    return coef


def ratio_limit_estimate(points, fit_last=16):
    """An *estimate* (not proven) of ``lim P_{N+1}/P_N`` from the computed ``P_N``.

    Least squares of ``log P_N = c0 - alpha N + beta log N + gamma / N`` over
    the ``fit_last`` largest ``N`` (midpoints of the certified intervals, in
    floats); the estimate is ``exp(-alpha)``.  Also returns the last local
    rate ``-log(P_{N+1}/P_N)`` and ``rate_spread``, the difference of ``alpha``
    between the fit on all ``fit_last`` points and the fit on their top half
    (a rough error indication, not a bound).

    A second estimate fits the ratios themselves, ``P_{N+1}/P_N = r + c/N +
    d/N^2`` over the largest consecutive pairs (``ratio_fit``).

    >>> pts = {N: 3.0 * N ** 0.5 * math.exp(-0.7 * N) for N in range(10, 40)}
    >>> est = ratio_limit_estimate(pts)
    >>> round(est["rate_estimate"], 6), round(est["ratio_fit"]["limit"] / math.exp(-0.7), 3)
    (0.7, 1.0)
    """
    Ns = sorted(points)
    if len(Ns) < 6:
        return None

    def fit(sel):
        rows = [[1.0, -n, math.log(n), 1.0 / n] for n in sel]
        return float(_lstsq(rows, [math.log(points[n]) for n in sel])[1])

    top = Ns[-fit_last:]
    alpha = fit(top)
    half = fit(top[len(top) // 2:]) if len(top) >= 8 else alpha
    local = None
    if Ns[-1] - 1 in points:
        local = -math.log(points[Ns[-1]] / points[Ns[-1] - 1])
    out = {
        "method": (f"least squares of log P_N = c0 - alpha N + beta log N + gamma/N over N = {top[0]}..{top[-1]} "
                   "(certified midpoints, floats); estimate, not proven"),
        "rate_estimate": alpha,
        "ratio_limit_estimate": math.exp(-alpha),
        "rate_spread": abs(alpha - half),
        "last_local_rate": local,
        "ratio_fit": None,
    }
    pairs = [n for n in Ns if n + 1 in points][-fit_last:]
    if len(pairs) >= 4:
        r, c, _ = _lstsq([[1.0, 1.0 / n, 1.0 / n**2] for n in pairs], [points[n + 1] / points[n] for n in pairs])
        out["ratio_fit"] = {
            "method": (f"least squares of P_(N+1)/P_N = r + c/N + d/N^2 over N = {pairs[0]}..{pairs[-1]}; "
                       "estimate, not proven"),
            "limit": float(r),
            "c": float(c),
        }
    return out


def growth_estimate(points, fit_last=16):
    """An *estimate* of how ``E_N`` grows: local exponents and a fit of ``E_N / N^2``.

    Returns the last local exponent ``log(E_N / E_M) / log(N / M)`` of the two
    largest ``N`` and the least-squares fit ``E_N / N^2 = a + b log N`` over
    the ``fit_last`` largest ``N`` (measured, not proven).

    >>> pts = {N: N * N * (2 + math.log(N)) for N in range(5, 40)}
    >>> g = growth_estimate(pts)
    >>> round(g["fit_a"], 6), round(g["fit_b"], 6)
    (2.0, 1.0)
    """
    Ns = sorted(points)
    if len(Ns) < 4:
        return None
    top = Ns[-fit_last:]
    a, b = _lstsq([[1.0, math.log(n)] for n in top], [points[n] / n**2 for n in top])
    M, N = Ns[-2], Ns[-1]
    return {
        "method": f"E_N/N^2 = a + b log N fitted over N = {top[0]}..{top[-1]} (floats); measured, not proven",
        "fit_a": float(a),
        "fit_b": float(b),
        "last_local_exponent": math.log(points[N] / points[M]) / math.log(N / M),
        "E_over_N2_last": points[N] / N**2,
    }


# ---------------------------------------------------------------------------
# the computation


def decay_point(m, N, rtol=1e-9, exact=False, lower_bound=None, time_bound=None):
    """Certified ``P_N`` and ``E_N`` for one ``(m, N)``, checked against the proven bounds.

    Parameters
    ----------
    m, N : int
        Agents (``>= 2``) and memory size (``>= 2``).
    rtol : float
        Relative width asked of the certified intervals.
    exact : bool
        Also compute the exact rationals with :func:`~markovgmm.analysis.absorption.absorb`
        and check that the intervals contain them.
    lower_bound, time_bound : Fraction, optional
        The proven lower bounds to check (default :func:`path_lower_bound`,
        :func:`time_lower_bound`); pass wrong ones to see the check fail.

    Returns
    -------
    dict
        ``m``, ``N``, ``states`` (lumped), ``P`` and ``E`` (certified
        :class:`~markovgmm.analysis.certified.CertifiedInterval`), ``P_exact``
        and ``E_exact`` (or None), ``L`` (the P lower bound), ``E_lower``,
        ``P_bound_holds`` (``L <= upper``), ``E_bound_holds``,
        ``exact_contained``, ``deviation`` (how far a bound exceeds the
        certified upper end; 0 if none), ``seconds``.

    Examples
    --------
    >>> r = decay_point(2, 4, exact=True)
    >>> r["P_exact"], r["P"].contains(r["P_exact"]), r["P_bound_holds"], r["E_bound_holds"]
    (Fraction(139813, 1630674), True, True, True)
    """
    from ..chain.build import build_chain
    from .certified import certified_absorption, certified_expected_time

    t0 = time.perf_counter()
    chain = build_chain(_system(m, N), exact=True, lump=True)
    start = _start(m, N)
    P = certified_absorption(chain, start, target="polarised", rtol=rtol)
    E = certified_expected_time(chain, start, rtol=rtol)
    P_exact = E_exact = None
    contained = None
    if exact:
        from .absorption import absorb

        rep = absorb(chain, start)
        P_exact, E_exact = rep["polarization"], rep["expected_steps"]
        contained = P.contains(P_exact) and E.contains(E_exact)
    L = path_lower_bound(m, N) if lower_bound is None else Fraction(lower_bound)
    EL = time_lower_bound(m, N) if time_bound is None else Fraction(time_bound)
    deviation = max(L - P.upper, EL - E.upper, Fraction(0))
    return {
        "m": m,
        "N": N,
        "states": int(chain.n_states),
        "P": P,
        "E": E,
        "P_exact": P_exact,
        "E_exact": E_exact,
        "exact_contained": contained,
        "L": L,
        "E_lower": EL,
        "P_bound_holds": L <= P.upper,
        "E_bound_holds": EL <= E.upper,
        "deviation": deviation,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _interval_json(box):
    return {**box.as_dict(digits=12), "lower": box.lower, "upper": box.upper}


def _check_options(agents, memories, rtol):
    agents = tuple(agents)
    if not agents or any(not isinstance(m, int) or isinstance(m, bool) or not 2 <= m <= 4 for m in agents):
        raise InputError(f"agents: must be integers from 2 to 4, got {agents!r}")
    if memories is None:
        memories = {m: DEFAULT_MEMORIES.get(m, tuple(range(2, 9))) for m in agents}
    elif not isinstance(memories, dict):
        memories = {m: tuple(memories) for m in agents}
    for m, Ns in memories.items():
        if not Ns or any(not isinstance(N, int) or isinstance(N, bool) or not 2 <= N <= 400 for N in Ns):
            raise InputError(f"memories: must be integers from 2 to 400, got {tuple(Ns)!r}")
    try:
        r = float(rtol)
    except (TypeError, ValueError):
        raise InputError(f"rtol: must be a number in (0, 1e-3], got {rtol!r}") from None
    if not 0 < r <= 1e-3:
        raise InputError(f"rtol: must be a number in (0, 1e-3], got {rtol!r}")
    memories = {m: tuple(sorted(set(memories[m]))) for m in agents}
    for m in agents:
        N = memories[m][-1]
        if lumped_states(m, N) > MAX_ORBITS:
            largest = max(n for n in range(2, 401) if lumped_states(m, n) <= MAX_ORBITS)
            raise TooLargeError(
                f"memories: m={m}, N={N} has {lumped_states(m, N):,} lumped states; the certified path handles at most "
                f"{MAX_ORBITS:,} (m={m}: N <= {largest}; m=3, N=80 already takes several minutes, N=100 516 s CPU for P alone)"
            )
    return agents, memories, rtol


def decay_plan(agents=(2, 3), memories=None, rtol=1e-9):
    """The ``(m, N)`` points :func:`decay_family` computes with these options, checked as it checks them
    (for sizing a progress bar: ``progress`` is called with the number done, out of ``len(plan)``).

    >>> len(decay_plan()), decay_plan(agents=(2,), memories=(3, 2))
    (88, [(2, 2), (2, 3)])
    """
    agents, memories, _ = _check_options(agents, memories, rtol)
    return [(m, N) for m in agents for N in memories[m]]


def decay_family(agents=(2, 3), memories=None, rtol=1e-9, progress=None, exact_upto=EXACT_UPTO,
                 bound_override=None, time_bound_override=None, upper_override=None, time_upper_override=None):
    """The ``decay`` theorem: P(polarisation) and E[absorption time] against N, with proven bounds.

    Parameters
    ----------
    agents : tuple of int
        Numbers of agents ``m`` (2 to 4).
    memories : tuple of int, or dict m -> tuple, optional
        Memory sizes ``N`` (2 to 400, and at most :data:`MAX_ORBITS` lumped
        states, else :class:`~markovgmm.errors.TooLargeError` before any
        work); default :data:`DEFAULT_MEMORIES`
        (m = 2: N = 2..60, m = 3: N = 2..30, about 20 s in all).
    rtol : float
        Relative width of the certified intervals (default 1e-9).
    progress : callable, optional
        Called with the number of ``(m, N)`` points done.
    exact_upto : int
        Exact rational cross-check (:func:`~markovgmm.analysis.absorption.absorb`) for ``N <= exact_upto``.
    bound_override, time_bound_override : callable, optional
        ``f(m, N) -> Fraction`` replacing the proven lower bounds on ``P_N``
        and ``E_N`` (to show that a wrong bound makes the verdict ``fails``).
    upper_override, time_upper_override : callable, optional
        ``f(m, N) -> Fraction`` replacing the proven upper bounds
        (:func:`polarisation_upper_bound`, :func:`time_upper_bound`; ``m = 2``
        only) likewise.

    Returns
    -------
    dict
        ``theorem`` ("decay"), ``statement``, ``verdict``, ``checked`` (the
        systems), ``max_deviation`` (the largest amount by which a proven
        lower bound exceeds a certified upper end, or by which an exact value
        falls outside its interval; ``Fraction(0)`` if none), ``sides``
        (per claim: ``proven``, ``verdict`` and what was measured),
        ``series`` (per ``m``: one row per ``N`` with the intervals of
        ``P_N``, ``P_{N+1}/P_N``, ``E_N``, ``E_{N+1}/E_N``, the bounds, the
        exact values), ``rate_bound`` (``alpha_m``), ``ratio_limit``
        (:func:`ratio_limit_estimate`), ``time_growth``
        (:func:`growth_estimate`) and ``proof``.

    Notes
    -----
    Verdict ``fails`` if a proven lower bound exceeds a certified upper end,
    a proven upper bound lies below a certified lower end, or an exact value
    lies outside its certified interval.  Otherwise ``holds`` if every side
    is proven for every ``m`` asked, i.e. ``agents == (2,)``: then, for all
    ``N >= 2``, ``L_N <= P_N <= U_N`` and ``(N^2 - 2[N odd])/4 <= E_N <=
    T_N`` are proven (Theorems 1, 3, 4, 5), so ``P_N`` decays exponentially
    with ``(2/3) log 2 <= liminf <= limsup -(1/N) log P_N <= alpha_2`` and
    ``E_N`` is of order ``N^2``; ``holds`` does *not* mean that the limit of
    ``P_{N+1}/P_N`` (estimated ``1/4``) or that of ``E_N / N^2`` is proven.  ``open`` if some ``m >= 3`` is asked (no upper
    bounds for all ``N`` are proven there).

    Examples
    --------
    >>> r = decay_family(agents=(2,), memories=(2, 3, 4))
    >>> r["verdict"], r["max_deviation"], r["sides"]["P_lower"]["verdict"], r["sides"]["P_upper"]["verdict"]
    ('holds', Fraction(0, 1), 'holds', 'holds')
    >>> decay_family(agents=(2, 3), memories=(2, 3))["verdict"]
    'open'
    >>> decay_family(agents=(2,), memories=(5, 6), upper_override=lambda m, N: Fraction(1, 4**N))["verdict"]
    'fails'

    >>> decay_family(agents=(2,), memories=(2, 3), bound_override=lambda m, N: Fraction(1, 2))["verdict"]
    'fails'
    """
    agents, memories, rtol = _check_options(agents, memories, rtol)
    t0 = time.perf_counter()
    series, checked, rate_bound, ratio_limit, time_growth = {}, [], {}, {}, {}
    max_dev = Fraction(0)
    p_fail, e_fail, exact_fail, pu_fail, eu_fail = [], [], [], [], []
    done = 0
    for m in agents:
        points = []
        for N in memories[m]:
            lb = bound_override(m, N) if bound_override else None
            tb = time_bound_override(m, N) if time_bound_override else None
            points.append(decay_point(m, N, rtol=rtol, exact=N <= exact_upto, lower_bound=lb, time_bound=tb))
            done += 1
            if progress:
                progress(done)
        rows = []
        by_N = {p["N"]: p for p in points}
        for p in points:
            N = p["N"]
            nxt = by_N.get(N + 1)
            row = {
                "N": N,
                "lumped_states": p["states"],
                "P": _interval_json(p["P"]),
                "E": _interval_json(p["E"]),
                "P_ratio_next": None,
                "E_ratio_next": None,
                "P_lower_bound": p["L"],
                "E_lower_bound": p["E_lower"],
                "P_bound_holds": p["P_bound_holds"],
                "E_bound_holds": p["E_bound_holds"],
                "P_upper_bound": None,
                "E_upper_bound": None,
                "P_exact": p["P_exact"],
                "E_exact": p["E_exact"],
                "exact_contained": p["exact_contained"],
                "seconds": p["seconds"],
            }
            if nxt is not None:
                for key, name in (("P", "P_ratio_next"), ("E", "E_ratio_next")):
                    r = interval_ratio((nxt[key].lower, nxt[key].upper), (p[key].lower, p[key].upper))
                    if r is not None:
                        row[name] = {"interval": list(r), "decimal": [f"{float(r[0]):.12g}", f"{float(r[1]):.12g}"]}
            if m == 2:
                U = upper_override(m, N) if upper_override else polarisation_upper_bound(m, N)
                T = time_upper_override(m, N) if time_upper_override else time_upper_bound(m, N)
                row["P_upper_bound"], row["E_upper_bound"] = U, T
                row["P_upper_holds"], row["E_upper_holds"] = p["P"].lower <= U, p["E"].lower <= T
                max_dev = max(max_dev, p["P"].lower - U, p["E"].lower - T)
                if not row["P_upper_holds"]:
                    pu_fail.append((m, N))
                if not row["E_upper_holds"]:
                    eu_fail.append((m, N))
            rows.append(row)
            max_dev = max(max_dev, p["deviation"])
            if not p["P_bound_holds"]:
                p_fail.append((m, N))
            if not p["E_bound_holds"]:
                e_fail.append((m, N))
            if p["exact_contained"] is False:
                exact_fail.append((m, N))
                for key in ("P", "E"):
                    box, val = p[key], p[f"{key}_exact"]
                    max_dev = max(max_dev, box.lower - val, val - box.upper)
            checked.append({"agents": m, "components": 2, "memory": N, "replace": 1, "schedule": "sync",
                            "ownership": "support", "graph": "complete", "start": [list(c) for c in _start(m, N)],
                            "lumped": True, "rtol": rtol})
        series[m] = rows
        rate_bound[m] = path_rate(m)
        mids = {p["N"]: float((p["P"].lower + p["P"].upper) / 2) for p in points if p["P"].lower > 0}
        ratio_limit[m] = ratio_limit_estimate(mids)
        time_growth[m] = growth_estimate({p["N"]: float((p["E"].lower + p["E"].upper) / 2) for p in points})
    failed = bool(p_fail or e_fail or exact_fail or pu_fail or eu_fail)
    upper_proven = all(m == 2 for m in agents)
    sides = {
        "P_lower": {
            "proven": ("for every m >= 2 and N >= 2: P_N >= L_N (divergence paths with self-loops, exact product; "
                       "path_lower_bound), hence limsup_N -(1/N) log P_N <= alpha_m (path_rate)"),
            "verdict": "fails" if p_fail else "holds",
            "violations": p_fail,
        },
        "P_upper": {
            "proven": ("m = 2, every N >= 2: P_N <= U_N = min(N (N^2 - [N odd]), 11.1 N^2) 2^(max(2, ceil(N/3)) + 1 - N) "
                       "(polarisation_upper_bound; supermartingale 2^|a-b| above the threshold), hence "
                       "liminf -(1/N) log P_N >= (2/3) log 2 = 0.4621; m >= 3: only for each computed N "
                       "(the certified upper end), no bound for all N"),
            "proven_for_agents": [2],
            "verdict": "fails" if pu_fail else ("holds" if upper_proven else "open"),
            "violations": pu_fail,
            "measured": {m: ratio_limit[m] for m in agents},
        },
        "E_lower": {
            "proven": "for every m >= 2 and N >= 2: E_N >= (N^2 - m [N odd]) / (2m) (time_lower_bound)",
            "verdict": "fails" if e_fail else "holds",
            "violations": e_fail,
        },
        "E_upper": {
            "proven": ("m = 2, every N >= 2: E_N <= min(N (N^2 - [N odd]), 11.1 N^2) + 2 N H_(N-1) "
                       "(time_upper_bound; order N^2, as the lower bound); m >= 3: only for each computed N"),
            "proven_for_agents": [2],
            "verdict": "fails" if eu_fail else ("holds" if upper_proven else "open"),
            "violations": eu_fail,
            "measured": {m: time_growth[m] for m in agents},
        },
        "exact_cross_check": {"verdict": "fails" if exact_fail else "holds", "violations": exact_fail,
                              "upto": exact_upto},
    }
    return {
        "theorem": "decay",
        "statement": (
            "m agents, K=2, r=1, sync, support, complete graph, balanced start: proven for all N >= 2, "
            "P_N >= L_N (so limsup -(1/N) log P_N <= alpha_m) and E_N >= (N^2 - m [N odd])/(2m); "
            "for m = 2 also P_N <= U_N (so liminf -(1/N) log P_N >= (2/3) log 2) and "
            "E_N <= min(N (N^2 - [N odd]), 11.1 N^2) + 2 N H_(N-1); open: upper bounds for all N for m >= 3, "
            "the limit of P_(N+1)/P_N (estimated 1/4) and of E_N / N^2 "
            "(certified intervals of P_N, E_N and their ratios for each computed N; the ratio limit is an estimate)"
        ),
        "verdict": "fails" if failed else ("holds" if upper_proven else "open"),
        "checked": checked,
        "max_deviation": max_dev,
        "sides": sides,
        "series": series,
        "rate_bound": rate_bound,
        "ratio_limit": ratio_limit,
        "time_growth": time_growth,
        "proof": "proofs/decay_rate.md",
        "seconds_computed": round(time.perf_counter() - t0, 3),
    }
