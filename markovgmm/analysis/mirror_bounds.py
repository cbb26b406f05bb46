"""A closed-form lower bound on P(polarisation) for the mirroring chain (MODEL.md 6.2).

Proof: ``proofs/mirror_lower_bound.md`` (checked exactly against an
independent Fraction implementation by ``proofs/check_mirror_lower_bound.py``).
No chain is built and no linear system is solved.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from ..errors import InputError

__all__ = ["mirror_polarization_lower_bound", "mirror_frozen_silos"]

_GEOMETRIES = ("line", "circle", "simplex")
_TIES = ("clipped", "uniform")


def _as_fraction(p):
    if isinstance(p, float):
        raise InputError(f"p must be exact (a Fraction, an int or a string such as '1/3'), got the float {p!r}")
    try:
        return Fraction(p)
    except (TypeError, ValueError):
        raise InputError(f"p must be a rational number in [0, 1], got {p!r}") from None


def _silo_sizes(n, K, r, start):
    """Silo sizes {vertex: agents} of an all-vertex start (default: agent i at vertex i mod K)."""
    if start is None:
        start = [tuple(r if a == i % K else 0 for a in range(K)) for i in range(n)]
    start = [tuple(c) for c in start]
    if len(start) != n:
        raise InputError(f"start must hold n={n} stores, got {len(start)}")
    sizes = {}
    for c in start:
        if len(c) != K or any((not isinstance(x, int)) or x < 0 for x in c) or sum(c) != r:
            raise InputError(f"start: every store needs K={K} non-negative integer counts summing to r={r}, got {c}")
        if max(c) != r:
            raise InputError(f"start: the bound needs every agent at a vertex (a store r e_a), got {c}")
        a = c.index(r)
        sizes[a] = sizes.get(a, 0) + 1
    return sizes


def _stay(m, k, r, p):
    """S(m): lower bound on one step of 'a vertex agent with m - 1 silo-mates keeps its vertex'."""
    if m >= k + 1:
        return Fraction(1)
    return p + (1 - p) * Fraction(m - 1, k) + (1 - p) * Fraction(k - m + 1, k * r)


def _walk(r, p):
    """U = prod_{t=2}^{r} u_t: the mover's walk (r-1) e_v + e_g -> r e_g, one point per step."""
    U = Fraction(1)
    for t in range(2, r + 1):
        mirror = Fraction((t - 1) * t + (r - t + 1) * (t - 2), r * r)
        U *= p * mirror + (1 - p) * Fraction(t - 1, r * r)
    return U


def mirror_frozen_silos(sizes, k):
    """Vertices whose silo has at least k + 1 agents (frozen forever, proofs/mirror_closed_classes.md)."""
    return sorted(a for a, m in sizes.items() if m >= k + 1)


def mirror_polarization_lower_bound(n, K, r, k, p, geometry="line", ties="clipped", start=None):
    r"""Closed-form lower bound on P(polarisation) of the mirroring chain (MODEL.md 6.2).

    ``proofs/mirror_lower_bound.md`` proves it; ``proofs/mirror_closed_classes.md``
    gives the absorbing states it relies on.  The start must be all-vertex
    (default: agent ``i`` at vertex ``i mod K``); let ``m_a`` be the number of
    agents at vertex ``a``.  The value does not depend on ``geometry`` or
    ``ties`` (the bound only uses steps whose law is the same under all of
    them); they are validated and accepted for a uniform signature.

    * one occupied vertex: the start is a consensus, the bound is ``0``
      (exact);
    * ``r = 1`` or ``p = 1`` (at least two occupied vertices): the start is
      absorbing and polarised, ``1`` (exact);
    * two silos with ``m_a >= k + 1``: both are frozen forever, ``1`` (exact);
    * otherwise, with ``S(m) = 1`` if ``m >= k + 1`` and else
      ``S(m) = p + (1-p)(m-1)/k + (1-p)(k-m+1)/(k r)``, and
      ``U = prod_{t=2}^{r} [p((t-1)t + (r-t+1)(t-2)) + (1-p)(t-1)] / r^2``,

      .. math::

         B = \sum_{\{g, h\}} S(m_g)^{r m_g} S(m_h)^{r m_h}
             \prod_{v \ne g, h} \Big(\frac{(1-p)(k-m_v+1)(r-1)\,U}{k\,r\,(n-m_v)}\Big)^{m_v}
             \sum_{j=j_0}^{j_1} \binom{M}{j} m_g^{j} m_h^{M-j},

      over the unordered pairs ``{g, h}`` of occupied vertices outside
      which no silo has ``k + 1`` agents, with ``M = n - m_g - m_h``,
      ``j_0 = max(0, k + 1 - m_g)``, ``j_1 = M - max(0, k + 1 - m_h)``: the
      probability of the disjoint paths on which the agents of ``g`` and
      ``h`` keep their vertices for ``r`` steps while every other agent
      picks, at step 1, a partner at ``g`` or ``h`` and walks there in ``r``
      steps, ``j`` of them to ``g``, ending in an absorbing polarised state.

    Parameters
    ----------
    n, K, r, k : int
        Agents (``n >= 2``), components, store size, neighbours (``1 <= k <= n - 1``).
    p : Fraction
        Mirroring probability in ``[0, 1]`` (exact; floats are refused).
    geometry : {"line", "circle", "simplex"}
    ties : {"clipped", "uniform"}
    start : sequence of count tuples, optional
        An all-vertex start; default agent ``i`` at vertex ``i mod K``.

    Returns
    -------
    Fraction
        A lower bound on P(polarisation) from ``start``.

    Raises
    ------
    InputError
        A parameter out of range, or a start that is not all-vertex.

    Examples
    --------
    Four agents, three components, the default start ``(3,0,0);(0,3,0);(0,0,3);(3,0,0)``
    with ``k = 1``: the silo at vertex 0 is frozen, the lone agents at 1 and 2
    must pair up.

    >>> from fractions import Fraction
    >>> mirror_polarization_lower_bound(4, 3, 2, 1, Fraction(1, 2))
    Fraction(9, 256)
    >>> mirror_polarization_lower_bound(4, 2, 3, 1, Fraction(1, 2))  # two frozen silos
    Fraction(1, 1)
    """
    for name, value, low in (("n", n, 2), ("K", K, 1), ("r", r, 1)):
        if not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(k, int) or not 1 <= k <= n - 1:
        raise InputError(f"k must be an integer from 1 to n-1={n - 1}, got {k!r}")
    p = _as_fraction(p)
    if not 0 <= p <= 1:
        raise InputError(f"p must be in [0, 1], got {p}")
    if geometry not in _GEOMETRIES:
        raise InputError(f"geometry must be one of {', '.join(_GEOMETRIES)}, got {geometry!r}")
    if ties not in _TIES:
        raise InputError(f"ties must be one of {', '.join(_TIES)}, got {ties!r}")
    sizes = _silo_sizes(n, K, r, start)
    if len(sizes) < 2:
        return Fraction(0)
    if r == 1 or p == 1 or len(mirror_frozen_silos(sizes, k)) >= 2:
        return Fraction(1)
    U = _walk(r, p)
    vertices = sorted(sizes)
    total = Fraction(0)
    for x, g in enumerate(vertices):
        for h in vertices[x + 1 :]:
            movers = [v for v in vertices if v not in (g, h)]
            if any(sizes[v] >= k + 1 for v in movers):
                continue  # a frozen silo cannot move
            mg, mh = sizes[g], sizes[h]
            M = n - mg - mh
            j0, j1 = max(0, k + 1 - mg), M - max(0, k + 1 - mh)
            if j0 > j1:
                continue
            term = _stay(mg, k, r, p) ** (r * mg) * _stay(mh, k, r, p) ** (r * mh)
            for v in movers:
                mv = sizes[v]
                term *= (Fraction((k - mv + 1) * (r - 1), k * r * (n - mv)) * (1 - p) * U) ** mv
            term *= sum(comb(M, j) * mg**j * mh ** (M - j) for j in range(j0, j1 + 1))
            total += term
    return total
