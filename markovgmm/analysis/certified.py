"""Certified enclosures of absorption probabilities (MODEL.md 3).

Method: *sub- and super-solutions of an M-matrix system, found by iterative
refinement with exact residuals.*  On the transient states ``T`` reachable
from the start, the probability ``x`` of ending in a target set of closed
classes solves ``A x = b`` with ``A = I - Q`` (``Q`` the chain on ``T``) and
``b(t) = P(t, target)``.  ``A`` is a nonsingular M-matrix (every transient
state reaches a closed class), so ``A^{-1} = sum_k Q^k >= 0`` entrywise and

* ``A u >= b`` implies ``u >= x`` (a super-solution bounds ``x`` from above),
* ``A l <= b`` implies ``l <= x`` (a sub-solution bounds it from below).

Both checks are made in exact integer arithmetic, so the enclosure holds
whatever float computation produced ``u`` and ``l``; the proof is in
``proofs/certified_enclosure.md``.  The float side only has to make the
enclosure *tight*: ``x`` is refined as a dyadic vector (an exact sum of
float64 corrections), each correction is a float solve of ``A c = r`` on the
exact residual ``r = b - A x``, and the residual is kept exactly (integers
over ``d 2^E``, ``d`` the chain's common denominator), so it falls by the
float solver's accuracy at every step with no cancellation floor.  Then with
``z`` a refined solution of ``A z = 1`` (``A z >= mu > 0`` checked exactly)
and ``delta = max|r| / mu``, ``x + delta z`` is a super-solution and
``x - delta z`` a sub-solution, and the interval at the start state is
``[max(x_s - delta z_s, 0), x_s + delta z_s]``.  Its width is absolute
(``2 delta z_s``), so tiny probabilities keep their relative accuracy once
``max|r|`` is far below them: refinement simply continues until the relative
width is below ``rtol``.

Large lumped chains (above :data:`ITERATIVE_STATES` transient states) are
certified block by block (:class:`_BlockwiseCertifier`): small, possibly
very ill-conditioned strongly connected blocks exactly, large ones by the
same refinement with an incomplete-LU preconditioned iterative float solve
(:func:`iterative_solver`); the exact residual keeps the proof whatever
the float solver does.  With ``fallback="wide"`` a block whose float solve
cannot be certified gets proven maximum-principle bounds instead.
Expected absorption times (:func:`certified_expected_time`) are the same
certificate with ``b = 1``.

Chains too large to hold exactly (:func:`~markovgmm.chain.lumped.build_streamed_chain`,
``chain.exact_rows``) get the *adjoint* certificate instead
(:class:`_StreamedCertifier`): one refined solve of ``A^T y = e_s``, whose
exact residual ``r`` bounds every target at once because absorption
probabilities lie in ``[0, 1]``; its exact products regenerate the exact rows
chunk by chunk (:class:`~markovgmm.analysis.exact_kernel.StreamedExactSystem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import log2

import numpy as np

from ..errors import InputError, TooLargeError
from ..numbers import decimal_str, fraction_str
from .absorption import reachable_states
from .classes import closed_classes
from .exact_kernel import ExactSystem as _ExactSystem
from .linalg import submatrix

__all__ = [
    "CertifiedInterval",
    "CertificationError",
    "certified_absorption",
    "certified_absorb",
    "certified_expected_time",
    "decimal_bounds",
    "direct_solver",
    "iterative_solver",
    "adjoint_solver",
    "default_solver",
    "ITERATIVE_STATES",
    "MAX_LU_STATES",
]

#: Largest transient set the certified path factorises (a sparse LU's fill grows
#: faster than the state count: 68,913 unlumped m=3, N=40 states take ~1 GB).
MAX_LU_STATES = 120_000


class CertificationError(RuntimeError):
    """The float solver was too inaccurate to produce a certificate."""


@dataclass(frozen=True)
class CertifiedInterval:
    """An interval ``[lower, upper]`` that provably contains an absorption probability.

    Attributes
    ----------
    target : str
        What the probability is of (``"polarised"``, ``"consensus"``,
        ``"consensus_k"``, ``"other"``).
    lower, upper : Fraction
        Exact rational bounds, ``lower <= P <= upper``.
    estimate : Fraction
        The refined approximation ``x_s`` (a dyadic rational) inside the interval.
    refinements : int
        Float solves used for this target (the first solve included).
    converged : bool
        Whether the relative width reached the requested ``rtol``.
    note : str
        Empty, or why the interval is wider than asked (``fallback="wide"``:
        a block whose float solve could not be certified got the proven
        maximum-principle bounds).
    """

    target: str
    lower: Fraction
    upper: Fraction
    estimate: Fraction
    refinements: int
    converged: bool
    note: str = ""

    @property
    def relative_width(self):
        """``(upper - lower) / lower`` as a float; 0 for a point, ``inf`` if ``lower == 0 < upper``."""
        if self.upper == self.lower:
            return 0.0
        if self.lower == 0:
            return float("inf")
        return float((self.upper - self.lower) / self.lower)

    def contains(self, value):
        """Whether the exact rational ``value`` lies in the interval."""
        return self.lower <= Fraction(value) <= self.upper

    def decimal(self, digits=17):
        """``(lower, upper)`` as decimal strings with ``digits`` significant
        digits, rounded outward (see :func:`decimal_bounds`)."""
        return decimal_bounds(self.lower, self.upper, digits)

    def as_dict(self, digits=17):
        """JSON-ready form: exact ``interval`` (``"p/q"``), outward ``decimal``
        strings, ``relative_width`` (None when infinite), ``refinements``, ``converged``."""
        width = self.relative_width
        out = {
            "interval": [fraction_str(self.lower), fraction_str(self.upper)],
            "decimal": list(self.decimal(digits)),
            "relative_width": None if width == float("inf") else width,
            "refinements": self.refinements,
            "converged": self.converged,
        }
        if self.note:
            out["note"] = self.note
        return out


def decimal_bounds(lower, upper, digits=17):
    """Decimal strings ``lo <= lower`` and ``hi >= upper`` with ``digits``
    significant digits (outward rounding; exact values stay exact).

    Examples
    --------
    >>> decimal_bounds(Fraction(1, 3), Fraction(2, 3), 5)
    ('3.3333e-1', '6.6667e-1')
    >>> decimal_bounds(Fraction(0), Fraction(1, 8), 3)
    ('0', '1.25e-1')
    """
    if digits < 1:
        raise InputError(f"digits must be a positive integer, got {digits}")
    return _round_decimal(Fraction(lower), digits, up=False), _round_decimal(Fraction(upper), digits, up=True)


def _round_decimal(value, digits, up):
    return decimal_str(value, digits, "ceiling" if up else "floor")  # one rounding from p and q, no text of them


# --------------------------------------------------------------------------- float solvers


def direct_solver(A):
    """Float solver by one sparse LU of ``A`` (SuperLU, minimum-degree ordering on ``A^T + A``).

    Returns a function ``solve(r) -> c`` with ``A c ~ r``.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    lu = splu(sp.csc_matrix(A), permc_spec="MMD_AT_PLUS_A")
    return lu.solve


def iterative_solver(A, drop_tol=1e-3, fill_factor=5, rtol=1e-10, maxiter=400):
    """Float solver by incomplete-LU preconditioned BiCGSTAB (GMRES if BiCGSTAB breaks down).

    For blocks too large to factorise: the incomplete factor (``spilu``,
    ``drop_tol``, ``fill_factor``) costs a few times the nonzeros of ``A``
    instead of the fill of a complete LU.  Returns ``solve(r) -> c``; ``c`` is
    whatever the iteration reached (the certificate checks its residual exactly,
    so an inaccurate ``c`` only costs width or refinements).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import LinearOperator, bicgstab, gmres, spilu

    A = sp.csc_matrix(A)
    ilu = spilu(A, drop_tol=drop_tol, fill_factor=fill_factor)
    M = LinearOperator(A.shape, ilu.solve)
    A = A.tocsr()

    import inspect

    key = "rtol" if "rtol" in inspect.signature(bicgstab).parameters else "tol"  # scipy < 1.12 calls it tol

    def solve(r):
        r = np.asarray(r, dtype=np.float64)
        c, info = bicgstab(A, r, x0=ilu.solve(r), M=M, atol=0.0, maxiter=maxiter, **{key: rtol})
        if info != 0 or not np.all(np.isfinite(c)):
            c, _info = gmres(A, r, M=M, atol=0.0, restart=60, maxiter=max(1, maxiter // 60), **{key: rtol})
        return c

    return solve


#: Systems (whole or one strongly connected block) above this many states get
#: :func:`iterative_solver` by default instead of a sparse LU.
ITERATIVE_STATES = 50_000


def default_solver(A):
    """The float solver used unless another is given: SuperLU on each strongly
    connected block (:func:`~markovgmm.analysis.exact_kernel.block_solver`) up
    to :data:`ITERATIVE_STATES` states, :func:`iterative_solver` beyond.  On
    the scipy-free backend (at most
    :data:`~markovgmm.analysis.classes.SMALL_STATES` transient states) the
    certifier uses :func:`~markovgmm.analysis.exact_kernel.dense_solver` on
    the dense ``A`` in place of the direct one (see :func:`_float_solve`)."""
    if A.shape[0] > ITERATIVE_STATES:
        return iterative_solver(A)
    from .exact_kernel import block_solver

    return block_solver(A)


def _float_solve(system, float_solver):
    """``solve(r)`` for ``system.A``: a user's ``float_solver`` always gets the
    scipy CSC matrix (built on demand); the default is
    :func:`~markovgmm.analysis.exact_kernel.dense_solver` where
    :func:`default_solver` would factorise directly and the system is small
    (no scipy import), and :func:`default_solver` otherwise."""
    if float_solver is default_solver and system.small and system.n <= ITERATIVE_STATES:
        from .exact_kernel import dense_solver

        return dense_solver(system.dense_A())
    return float_solver(system.A.tocsc())


def _target_states(structure, target, K):
    kinds = {"polarised": lambda c: c.kind == "polarised", "consensus": lambda c: c.kind == "consensus", "other": lambda c: c.kind == "other"}
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < K:
            raise InputError(f"target: a consensus component must be in 0..{K - 1}, got {target}")
        name, pick = f"consensus_{int(target)}", (lambda c, k=int(target): c.kind == "consensus" and c.component == k)
    elif target in kinds:
        name, pick = target, kinds[target]
    else:
        raise InputError(f"target must be 'polarised', 'consensus', 'other' or a component number 0..{K - 1}, got {target!r}")
    picked = [i for i, c in enumerate(structure.classes) if pick(c)]
    return name, np.isin(structure.class_of, picked) & (structure.class_of >= 0)


def _start_number(chain, start):
    from ._start import start_number

    return start_number(chain, start)


class _Certifier:
    """Shared work for several targets from one start: transient set, exact
    system, float solver and the exactly checked ``z`` with ``A z >= mu > 0``."""

    def __init__(self, chain, start, float_solver, max_refinements, fallback="raise"):
        if fallback not in ("raise", "wide"):
            raise InputError(f"fallback must be 'raise' or 'wide', got {fallback!r}")
        self.fallback = fallback
        if not chain.exact:
            raise InputError("chain: certified enclosures need the exact build (build_chain(system, exact=True)) or a streamed chain (build_streamed_chain)")
        if isinstance(max_refinements, bool) or not isinstance(max_refinements, (int, np.integer)) or max_refinements < 1:
            raise InputError(f"max_refinements must be a positive integer, got {max_refinements!r}")
        self.chain = chain
        self.start = _start_number(chain, start)
        self.structure = closed_classes(chain)
        self.reachable = reachable_states(chain, self.start)
        self.transient = np.intersect1d(self.reachable, self.structure.transient)
        self.max_refinements = max_refinements
        self.float_solver = float_solver or default_solver
        self._system = None

    def _prepare(self):
        if self._system is not None:
            return
        if len(self.transient) > min(MAX_LU_STATES, ITERATIVE_STATES) and self.chain.lumped:
            # Block by block instead: small (ill-conditioned) blocks exact, large ones by the float solver.
            raise CertificationError(
                f"{len(self.transient):,} transient states: certified block by block, not as one system"
            )
        if len(self.transient) > MAX_LU_STATES:
            raise TooLargeError(
                f"certified: {len(self.transient):,} transient states exceed the {MAX_LU_STATES:,} the certified path "
                "factorises (sparse LU fill: ~1 GB already at 69k states)"
                "; use the lumped chain (lump=True, --lump on), which is certified block by block"
            )
        system = _ExactSystem(self.chain, self.transient)
        self.solve = _float_solve(system, self.float_solver)
        self.position = int(np.searchsorted(self.transient, self.start))
        # z: A z = 1 refined until its exact residual is below 1/2, so A z >= mu = 1 - max r >= 1/2 > 0.
        d = system.d
        Z, Ez, Rz, _, ok = system.refine(
            np.full(system.n, d, dtype=object),
            lambda X, E, R: max(R.tolist(), default=0) * 2 < d << E and E > 0,
            self.max_refinements,
            self.solve,
        )
        if not ok:
            raise CertificationError("the float solver could not solve A z = 1 to within 1/2; no certificate")
        self.Mz = (d << Ez) - max(Rz.tolist())  # A z >= Mz / (d 2^Ez), Mz > 0
        self.Zs = int(Z[self.position])  # z_s = Zs / 2^Ez
        self._system = system

    def interval(self, target, rtol):
        _check_rtol(rtol)
        name, in_target = _target_states(self.structure, target, self.chain.system.components)
        if self.structure.class_of[self.start] >= 0:
            value = Fraction(int(in_target[self.start]))
            return CertifiedInterval(name, value, value, value, 0, True)
        if not in_target[self.reachable].any():
            return CertifiedInterval(name, Fraction(0), Fraction(0), Fraction(0), 0, True)
        rows, cols, vals, _ = submatrix(self.chain, self.transient, np.flatnonzero(in_target))
        B = np.zeros(len(self.transient), dtype=object)
        np.add.at(B, rows, np.array([int(v) for v in vals], dtype=object))
        return self._enclose(name, B, rtol)

    def expected_time(self, rtol):
        """Enclosure of ``E[tau]``: ``A t = 1`` on the transient states (``B = d 1``)."""
        _check_rtol(rtol)
        if self.structure.class_of[self.start] >= 0:
            return CertifiedInterval("expected_steps", Fraction(0), Fraction(0), Fraction(0), 0, True)
        return self._enclose("expected_steps", np.full(len(self.transient), int(self.chain.denominator), dtype=object), rtol)

    def _enclose(self, name, B, rtol):
        """Certified interval at the start for ``A x = B / d`` (``B >= 0`` integer numerators on ``self.transient``)."""
        try:
            if getattr(self, "_whole_failed", False):
                raise CertificationError("the whole-system certificate already failed")
            self._prepare()
        except CertificationError as err:
            self._whole_failed = True
            return self._blockwise(name, B, rtol, str(err))
        system = self._system
        p, Zs, Mz = self.position, self.Zs, self.Mz

        def bounds(X, E, R):
            rho = max((abs(v) for v in R.tolist()), default=0)
            scale = Fraction(1, (1 << E) * Mz)
            centre, spread = int(X[p]) * Mz, rho * Zs
            return Fraction(centre + spread) * scale, max(Fraction(centre - spread) * scale, Fraction(0)), Fraction(int(X[p]), 1 << E)

        tolerance = Fraction(rtol)

        def stop(X, E, R):
            upper, lower, _ = bounds(X, E, R)
            return E > 0 and lower > 0 and upper - lower <= tolerance * lower

        X, E, R, solves, converged = system.refine(B, stop, self.max_refinements, self.solve)
        upper, lower, estimate = bounds(X, E, R)
        return CertifiedInterval(name, lower, upper, estimate, solves, converged)

    def _blockwise(self, name, B, rtol, why):
        """Block-by-block certificate (:class:`_BlockwiseCertifier`) at
        increasing fixed-point precision until the relative width is below
        ``rtol``; the interval is proven at every precision."""
        p = int(np.searchsorted(self.transient, self.start))
        bits = 256
        best = None
        if getattr(self, "_blockwise_certifier", None) is None:
            self._blockwise_certifier = _BlockwiseCertifier(
                self.chain, self.transient, self.max_refinements, self.float_solver, wide=self.fallback == "wide"
            )
        for _round in range(4):
            LO, HI = self._blockwise_certifier.bounds_rhs(B, bits)
            lower, upper = Fraction(int(LO[p]), 1 << bits), Fraction(int(HI[p]), 1 << bits)
            fallbacks = self._blockwise_certifier.fallbacks
            best = CertifiedInterval(
                name, lower, upper, (lower + upper) / 2, 0, lower > 0 and upper - lower <= Fraction(rtol) * lower,
                note="; ".join(dict.fromkeys(fallbacks)) + " (maximum-principle bounds and exact monotone sweeps there)" if fallbacks else "",
            )
            if best.converged or fallbacks:  # more bits cannot narrow a maximum-principle bound
                return best
            if lower > 0:  # enough bits for the relative width: 2^-bits below rtol * lower
                need = (upper - lower) / (Fraction(rtol) * lower)
                bits += max(64, int(log2(float(need)) + 2) if need < 2**1000 else bits)
            else:
                bits *= 2
        return best


def _check_rtol(rtol):
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, Fraction)) or not 0 < rtol < float("inf"):
        raise InputError(f"rtol must be a positive number, got {rtol!r}")


#: Strongly connected blocks up to this size are solved exactly (flint) on the blockwise path.
_EXACT_BLOCK = 400


class _BlockwiseCertifier:
    """Certified enclosure block by block (the fallback when one float solve
    of the whole transient system cannot be certified, e.g. metastable
    blocks whose expected exit time exceeds 1/eps, as in m=3, N>=70).

    The transient states are split into strongly connected blocks
    (:func:`~markovgmm.analysis.linalg._block_order`, reverse topological
    order).  Every solved state carries exact bounds ``lo <= x <= hi``
    (integers over ``2^P``).  A block's right-hand side is bracketed exactly
    by ``b_b + Q_b,out lo`` and ``b_b + Q_b,out hi`` (``Q >= 0``), and since
    ``(I - Q_bb)^{-1} >= 0`` the block's solution lies between the solutions
    for those two right-hand sides.  Small blocks are solved exactly
    (python-flint, then rounded outward to ``2^-P``); large blocks by the
    certified refinement of the module docstring on the block alone (a sub-
    and a super-solution, each checked exactly).  Ill-conditioned blocks are
    small in practice (a birth-death chain of one free agent between two
    frozen camps), well-conditioned ones large, so both halves are cheap.
    """

    def __init__(self, chain, transient, max_refinements, float_solver, wide=False):
        from .linalg import _block_order

        self.wide, self.fallbacks = wide, []
        self.chain, self.transient = chain, transient
        self._block_solvers = {}
        self.max_refinements, self.float_solver = max_refinements, float_solver or default_solver
        self.d = int(chain.denominator)
        rows, cols, vals, n = submatrix(chain, transient, transient)
        import scipy.sparse as sp

        self.V = sp.csr_matrix((np.arange(len(rows)) + 1, (rows, cols)), shape=(n, n))
        self.vals = np.array([int(v) for v in vals.tolist()], dtype=object)
        self.blocks = _block_order(chain, transient)
        self.n = n

    def bounds(self, in_target, bits):
        """``(LO, HI)``: object int arrays, ``LO / 2^bits <= x <= HI / 2^bits``
        for the probability of ending in the closed classes ``in_target``."""
        trow, _tcol, tval, _ = submatrix(self.chain, self.transient, np.flatnonzero(in_target))
        B = np.zeros(self.n, dtype=object)
        np.add.at(B, trow, np.array([int(v) for v in tval.tolist()], dtype=object))
        return self.bounds_rhs(B, bits)

    def bounds_rhs(self, B, bits):
        """``(LO, HI)`` with ``LO / 2^bits <= x <= HI / 2^bits`` for the solution
        of ``A x = B / d`` (``B >= 0``: integer numerators on the transient states;
        ``B = d 1`` gives the expected absorption times)."""
        self.B = B
        n, d, one = self.n, self.d, 1 << bits
        LO = np.zeros(n, dtype=object)
        HI = np.zeros(n, dtype=object)
        for block in self.blocks:
            sub = self.V[block]
            sub.sort_indices()
            local = np.repeat(np.arange(len(block)), np.diff(sub.indptr))
            cols, values = sub.indices, self.vals[sub.data - 1]
            position = np.full(n, -1, dtype=np.int64)
            position[block] = np.arange(len(block))
            inside = position[cols] >= 0
            # Right-hand sides over d 2^P: B 2^P + V_out (LO | HI).
            r_lo = self.B[block] * one
            r_hi = r_lo.copy()
            out = ~inside
            if out.any():
                np.add.at(r_lo, local[out], values[out] * LO[cols[out]])
                np.add.at(r_hi, local[out], values[out] * HI[cols[out]])
            ir, ic, iv = local[inside], position[cols[inside]], values[inside]
            lo, hi = self._solve_block(len(block), ir, ic, iv, r_lo, r_hi, block)
            LO[block], HI[block] = lo, hi
        return LO, HI

    def _solve_block(self, nb, ir, ic, iv, r_lo, r_hi, block):
        d = self.d
        if nb <= _EXACT_BLOCK:
            import flint

            dense = [[0] * nb for _ in range(nb)]
            for k in range(nb):
                dense[k][k] = d
            for a, b, v in zip(ir.tolist(), ic.tolist(), iv.tolist()):
                dense[a][b] -= int(v)
            rhs = flint.fmpz_mat([[int(a), int(b)] for a, b in zip(r_lo.tolist(), r_hi.tolist())])
            sol = flint.fmpz_mat(dense).solve(rhs)  # (d I - V) Y = R: x = Y / 2^P
            lo = np.array([int(sol[k, 0].p) // int(sol[k, 0].q) for k in range(nb)], dtype=object)
            hi = np.array([-((-int(sol[k, 1].p)) // int(sol[k, 1].q)) for k in range(nb)], dtype=object)
            return np.maximum(lo, 0), hi
        cached = self._block_solvers.get(int(block[0]))
        if cached is None:
            system = _ExactSystem(self.chain, self.transient[block])
            solve = _float_solve(system, self.float_solver)
            Z, Ez, Rz, _, ok = system.refine(
                np.full(nb, d, dtype=object), lambda X, E, R: max(R.tolist(), default=0) * 2 < d << E and E > 0,
                self.max_refinements, solve,
            )
            if not ok:
                why = f"a strongly connected block of {nb:,} states: the float solver could not solve A z = 1 to within 1/2"
                if not self.wide:
                    raise CertificationError(why)
                self.fallbacks.append(why)
                cached = (system, None, None, None, None)
            else:
                cached = (system, solve, Z, (d << Ez) - max(Rz.tolist()), max(Z.tolist()))
            self._block_solvers[int(block[0])] = cached
        if cached[1] is None:
            return self._maximum_principle(cached[0], r_lo, r_hi)
        system, solve, Z, Mz, Zmax = cached

        def enclose(r):
            """Exact ``(floor, ceil)`` bounds (object ints) of ``x'`` with ``A x' = r / d``."""
            # refine on numerators r (A x' = r / d, x = x' / 2^P) to |error| <= 1.
            def stop(X, E, R):
                rho = max((abs(v) for v in R.tolist()), default=0)
                return E > 0 and rho * Zmax <= Mz << E  # error of x' below one unit
            X, E, R, _s, _ok = system.refine(r, stop, self.max_refinements, solve)
            rho = max((abs(v) for v in R.tolist()), default=0)
            # |x' - X/2^E| <= delta z with delta = rho / (d 2^E) / (Mz / (d 2^Ez)) = rho 2^Ez / (2^E Mz), z = Z / 2^Ez.
            spread = [rho * int(z) for z in Z.tolist()]  # over 2^E Mz
            den = Mz << E
            lower = np.array([(int(x) * Mz - s) // den for x, s in zip(X.tolist(), spread)], dtype=object)
            upper = np.array([-((-(int(x) * Mz + s)) // den) for x, s in zip(X.tolist(), spread)], dtype=object)
            return lower, upper

        lower, upper = enclose(r_lo)
        # x(r_hi) = x(r_lo) + x(r_hi - r_lo) (linearity), and r_hi - r_lo >= 0 is a few units:
        # its refinement needs far fewer solves than r_hi itself.
        gap = r_hi - r_lo
        if any(int(v) != 0 for v in gap.tolist()):
            _gap_lower, gap_upper = enclose(gap)
            upper = upper + gap_upper
        return np.maximum(lower, 0), upper

    @staticmethod
    def _maximum_principle(system, r_lo, r_hi, sweeps=None):
        """Wide but proven bounds without any float solve (``fallback="wide"``).

        Below: ``l_0 = 0`` (``r >= 0``); above: the constant ``u_0 = c 1``
        with ``(d - s_t) c >= r_hi(t)`` for every row (``s_t`` the row's
        numerators inside the block), which exists when every row with a
        positive right-hand side leaves the block.  Then ``sweeps`` exact
        monotone sweeps ``l <- floor((r_lo + V l) / d)``,
        ``u <- ceil((r_hi + V u) / d)``: ``l`` stays a sub-solution and
        increases, ``u`` a super-solution and decreases
        (``proofs/certified_enclosure.md``, wide fallback).
        """
        d = system.d
        sweeps = _FALLBACK_SWEEPS if sweeps is None else sweeps
        inside = system.product(np.ones(system.n, dtype=np.int64))
        c = 0
        for total, r in zip(inside.tolist(), r_hi.tolist()):
            if total < d:
                c = max(c, -((-int(r)) // (d - total)))
            elif r > 0:
                raise CertificationError("no finite bound: a row with a positive right-hand side never leaves its block")
        lo = np.zeros(system.n, dtype=object)
        hi = np.full(system.n, c, dtype=object)
        for _ in range(sweeps):
            new_lo = (r_lo + _big_product(system, lo)) // d
            new_hi = -((-(r_hi + _big_product(system, hi))) // d)
            if (new_lo == lo).all() and (new_hi == hi).all():
                break
            lo, hi = new_lo, new_hi
        return lo, hi


#: Exact monotone sweeps of the wide fallback per block and right-hand side.
_FALLBACK_SWEEPS = 200


def _big_product(system, X, bits=48):
    """Exact ``V @ X`` for a vector of nonnegative Python integers of any size (48-bit int64 limbs)."""
    X = np.asarray(X, dtype=object)
    out = np.zeros(system.n, dtype=object)
    shift, mask = 0, (1 << bits) - 1
    while X.any():
        out = out + system.product((X & mask).astype(np.int64)) * (1 << shift)
        X = X >> bits
        shift += bits
    return out


def adjoint_solver(chain, transient, rtol=1e-11, maxiter=2000, transpose=True):
    """Float solver for ``A^T y = r`` (``transpose=False``: ``A y = r``),
    ``A = I - Q`` on ``transient``, by unpreconditioned BiCGSTAB (GMRES if it
    breaks down), matrix-free: each product is ``v - (P^T w)[T]`` (or
    ``v - (P w)[T]``) with ``w`` the embedding of ``v``, on the chain's
    stored float matrix, so ``A`` is never formed.  For the streamed
    certificate, where the chains are well conditioned (m = 9, N = 8: about
    100 iterations to 1e-10) and too large for an LU or an incomplete LU.
    Returns ``solve(r) -> c``; its accuracy only affects the width."""
    import inspect

    from scipy.sparse.linalg import LinearOperator, bicgstab, gmres

    P = chain.matrix().T if transpose else chain.matrix()  # .T: a CSC view of the transpose, no copy
    n_all, n = chain.n_states, len(transient)

    def matvec(v):
        w = np.zeros(n_all)
        w[transient] = np.ravel(v)
        return np.ravel(v) - (P @ w)[transient]

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    key = "rtol" if "rtol" in inspect.signature(bicgstab).parameters else "tol"  # scipy < 1.12 calls it tol

    def solve(r):
        r = np.asarray(r, dtype=np.float64)
        c, info = bicgstab(op, r, atol=0.0, maxiter=maxiter, **{key: rtol})
        # BiCGSTAB can report success far from the answer (seen on a 3-state mirroring block): check
        if info != 0 or not np.all(np.isfinite(c)) or np.linalg.norm(matvec(c) - r) > 1e-6 * np.linalg.norm(r):
            c, _info = gmres(op, r, atol=0.0, restart=100, maxiter=max(1, maxiter // 100), **{key: rtol})
        return c

    return solve


#: Relative margins tried for the expected-time super-solution ``u = (1 + margin) t^`` on the streamed path.
_SUPER_MARGINS = (2.0**-20, 2.0**-10, 2.0**-4)


class _StreamedCertifier:
    """The adjoint certificate for a float chain with streamed exact rows
    (``chain.exact_rows``, :func:`~markovgmm.chain.lumped.build_streamed_chain`).

    With ``y`` the solution of ``A^T y = e_s`` (expected visits from the
    start ``s``) every absorption probability from ``s`` is ``P = y . b``
    (``b`` the one-step probabilities into the target).  For any ``y^`` with
    exact residual ``r = e_s - A^T y^``, ``y . b = y^ . b + r . x`` with
    ``x = A^{-1} b`` the absorption probabilities from every transient
    state, and ``0 <= x <= 1``, so

        ``y^ . b + sum_{r_t < 0} r_t  <=  P  <=  y^ . b + sum_{r_t > 0} r_t``

    (``proofs/certified_enclosure.md``, the adjoint enclosure).  One refined
    ``y^`` (:meth:`ExactSystem.refine` on ``A^T``, each exact product a
    pass over the regenerated exact rows) certifies every target at once.
    """

    def __init__(self, chain, start, max_refinements, float_solver=None):
        if isinstance(max_refinements, bool) or not isinstance(max_refinements, (int, np.integer)) or max_refinements < 1:
            raise InputError(f"max_refinements must be a positive integer, got {max_refinements!r}")
        self.chain, self.max_refinements = chain, max_refinements
        self.start = _start_number(chain, start)
        self.structure = closed_classes(chain)
        self.reachable = reachable_states(chain, self.start)
        self.transient = np.intersect1d(self.reachable, self.structure.transient)
        self.float_solver = float_solver
        self._refined = None

    def _targets(self, target):
        name, in_target = _target_states(self.structure, target, self.chain.system.components)
        classes = np.unique(self.structure.class_of[in_target])
        return name, classes[classes >= 0]

    def _centre(self, classes, X, E):
        pos, cls, num = self.system.class_numerators
        pick = np.isin(cls, classes)
        total = sum((int(x) * int(v) for x, v in zip(X[pos[pick]].tolist(), num[pick].tolist())), 0)
        return Fraction(total, self.system.d << E), bool(pick.any())

    def _refine(self, rtol):
        from .exact_kernel import StreamedExactSystem

        if self._refined is not None:
            return
        self.system = system = StreamedExactSystem(self.chain, self.transient, class_of=self.structure.class_of)
        solve = (self.float_solver or adjoint_solver)(self.chain, self.transient)
        d, p = system.d, int(np.searchsorted(self.transient, self.start))
        B = np.zeros(system.n, dtype=object)
        B[p] = d  # A^T y = e_s
        all_targets = [self._targets(t)[1] for t in ("polarised", "consensus", *range(self.chain.system.components), "other")]
        tolerance = Fraction(rtol)

        def stop(X, E, R):
            if E == 0 or system.class_numerators is None:
                return False
            width = Fraction(sum(abs(int(v)) for v in R.tolist()), d << E)
            for classes in all_targets:
                centre, reachable = self._centre(classes, X, E)
                if reachable and not (centre - width > 0 and width <= tolerance * (centre - width)):
                    return False
            return True

        self._refined = system.refine(B, stop, self.max_refinements, solve)
        if system.class_numerators is None:  # refinement stopped before any exact pass
            raise CertificationError("streamed certificate: the float solver gave no usable solution of A^T y = e_s")

    def expected_time(self, rtol):
        """Enclosure of ``E[tau] = y . 1 = y^ . 1 + r . t`` with ``t = A^{-1} 1``:
        a float solve of ``A t = 1``, scaled up into ``u`` until ``A u >= 1``
        holds exactly (one forward pass), bounds ``0 <= t <= u``, so ``r . t``
        lies between the sums of ``r u`` over the negative and the positive
        ``r`` (``proofs/certified_enclosure.md``, Claim 11)."""
        _check_rtol(rtol)
        if self.structure.class_of[self.start] >= 0:
            return CertifiedInterval("expected_steps", Fraction(0), Fraction(0), Fraction(0), 0, True)
        self._refine(rtol)
        X, E, R, solves, _converged = self._refined
        system, d = self.system, self.system.d
        t = np.asarray(adjoint_solver(self.chain, self.transient, transpose=False)(np.ones(system.n)), dtype=np.float64)
        if not np.all(np.isfinite(t)):
            raise CertificationError("expected time: the float solve of A t = 1 did not finish")
        for margin in _SUPER_MARGINS:
            u = np.maximum(t, 1.0) * (1 + margin)  # t >= 1 on transient states anyway
            k = 52 - int(np.frexp(float(u.max()))[1])  # negative for times of 2^52 and more
            U = np.ceil(np.ldexp(u, k)).astype(np.int64)  # u <= U / 2^k
            # A (U / 2^k) >= 1  <=>  (d U - V U) 2^-k >= d, exactly
            excess = d * U.astype(object) - system.product(U, forward=True)
            if all((v << -k if k < 0 else v) >= (d if k < 0 else d << k) for v in excess.tolist()):
                break
        else:
            raise CertificationError("expected time: no super-solution A u >= 1 from the float solve of A t = 1")
        centre = Fraction(sum(int(x) for x in X.tolist()), 1 << E)
        scale = Fraction(d << E) * Fraction(2) ** k  # r_t u_t = R_t U_t / (d 2^E 2^k)
        below = sum(min(int(r), 0) * int(v) for r, v in zip(R.tolist(), U.tolist())) / scale
        above = sum(max(int(r), 0) * int(v) for r, v in zip(R.tolist(), U.tolist())) / scale
        lower, upper = max(centre + below, Fraction(1)), centre + above  # tau >= 1 from a transient start
        ok = upper - lower <= Fraction(rtol) * lower
        return CertifiedInterval("expected_steps", lower, upper, centre, solves + 1, ok,
                                 note=f"adjoint certificate, exact rows streamed ({self.system.passes} passes)")

    def interval(self, target, rtol):
        _check_rtol(rtol)
        name, classes = self._targets(target)
        if self.structure.class_of[self.start] >= 0:
            value = Fraction(int(np.isin(self.structure.class_of[self.start], classes)))
            return CertifiedInterval(name, value, value, value, 0, True)
        self._refine(rtol)
        X, E, R, solves, converged = self._refined
        centre, reachable = self._centre(classes, X, E)
        if not reachable:  # no transient state steps into the target: exactly 0
            return CertifiedInterval(name, Fraction(0), Fraction(0), Fraction(0), solves, True)
        d = self.system.d
        below = Fraction(sum(min(int(v), 0) for v in R.tolist()), d << E)
        above = Fraction(sum(max(int(v), 0) for v in R.tolist()), d << E)
        lower, upper = max(centre + below, Fraction(0)), min(centre + above, Fraction(1))
        ok = lower > 0 and upper - lower <= Fraction(rtol) * lower
        return CertifiedInterval(name, lower, upper, centre, solves, ok,
                                 note=f"adjoint certificate, exact rows streamed ({self.system.passes} passes)")


def certified_absorption(chain, start, target="polarised", rtol=1e-12, max_refinements=12, float_solver=None, fallback="raise"):
    """An interval that provably contains an absorption probability.

    Parameters
    ----------
    chain : Chain
        An exact chain (``build_chain(system, exact=True)``, lumped or not),
        or a streamed one (:func:`~markovgmm.chain.lumped.build_streamed_chain`:
        float entries, exact rows regenerated on demand), which gets the
        adjoint certificate (:class:`_StreamedCertifier`; ``float_solver``
        is then called as ``float_solver(chain, transient)`` and must solve
        ``A^T c = r``, default :func:`adjoint_solver`; ``fallback`` is unused).
    start : int or tuple
        A state number, or a state as one count vector per agent.
    target : str or int
        ``"polarised"`` (default), ``"consensus"`` (any component),
        ``"other"``, or a component number ``k`` for consensus on ``k``.
    rtol : float
        Refine until ``(upper - lower) <= rtol * lower`` (default ``1e-12``).
    max_refinements : int
        At most this many float solves per target; the interval is valid
        whenever refinement stops, only wider.
    float_solver : callable, optional
        ``float_solver(A) -> solve`` with ``A = I - Q`` (scipy CSC, float64)
        and ``solve(r) -> c`` approximately solving ``A c = r``.  Default
        :func:`default_solver`.  Its accuracy affects only the width.
    fallback : {"raise", "wide"}
        When a strongly connected block's float solve cannot be certified
        (no ``A z >= mu > 0``): raise :class:`CertificationError` (default),
        or bound that block by the maximum principle (``0 <= x <= c`` with
        ``c 1`` an exactly checked super-solution) and go on: a wider
        interval, still proven, with the reason in ``note``.

    Returns
    -------
    CertifiedInterval

    Raises
    ------
    InputError
        A float chain, an unknown target or a bad start.
    CertificationError
        The float solver is too inaccurate to certify anything.

    Notes
    -----
    See the module docstring and ``proofs/certified_enclosure.md``: with
    ``r = b - A x`` exact, ``A z >= mu > 0`` exact and ``delta = max|r| / mu``,
    ``A (x + delta z) >= b >= A (x - delta z)``, hence ``x - delta z <= P <=
    x + delta z`` because ``A^{-1} >= 0``.  MODEL.md 3.

    Cost: one sparse float LU of ``A`` (the dominant cost on large chains:
    about 1-4 s for the 12,341 lumped states of m=3, N=40, about 35-55 s and
    1 GB for its 68,913 unlumped transient states, where incomplete-LU
    preconditioned GMRES was slower still; an unlumped chain is refused with
    :class:`~markovgmm.errors.TooLargeError` beyond :data:`MAX_LU_STATES`
    transient states, a lumped chain beyond :data:`ITERATIVE_STATES` is
    certified block by block with :func:`iterative_solver` on the blocks
    above :data:`ITERATIVE_STATES`: m=3, N=100 on the S_3 x S_2 chain,
    88,451 orbits, took 320 s and 0.7 GB, see
    ``benchmarks/results_scale_certified.md``) and per refinement one float solve
    plus a few exact integer sparse products (int64 limbs) and ``O(T)``
    Python-integer operations; each refinement gains about
    ``-log10(float solver accuracy)`` digits.  The bit length of the exact
    vectors grows by ~50 per refinement.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> box = certified_absorption(chain, ((2, 2), (2, 2)))
    >>> box.contains(Fraction(139813, 1630674)), box.relative_width < 1e-12
    (True, True)
    """
    if getattr(chain, "exact_rows", None) is not None and not chain.exact:
        return _StreamedCertifier(chain, start, max_refinements, float_solver).interval(target, rtol)
    return _Certifier(chain, start, float_solver, max_refinements, fallback).interval(target, rtol)


def certified_expected_time(chain, start, rtol=1e-12, max_refinements=12, float_solver=None, fallback="raise"):
    """An interval that provably contains the expected absorption time ``E[tau]``.

    ``tau`` is the first step at which the chain is in a closed class
    (MODEL.md 3).  On the transient states ``T`` reachable from the start,
    ``t = E[tau]`` solves ``A t = 1`` with ``A = I - Q``, the same nonsingular
    M-matrix as for the probabilities, so a super-solution ``A u >= 1`` bounds
    ``t`` from above and a sub-solution ``A l <= 1`` from below; both checks
    are exact (``proofs/certified_enclosure.md``, which covers any right-hand
    side ``b``).  A start in a closed class gives ``[0, 0]``.  Where the
    whole-system float solve cannot be certified the blockwise certificate
    is used, as for :func:`certified_absorption`.

    Parameters are those of :func:`certified_absorption` (no ``target``).
    With ``fallback="wide"`` a block without a float certificate has no
    constant super-solution when some of its states cannot leave it in one
    step (``b = 1`` there), so :class:`CertificationError` is raised then.

    Returns
    -------
    CertifiedInterval
        With ``target == "expected_steps"``; ``lower <= E[tau] <= upper``.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> from markovgmm.analysis import absorb
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> box = certified_expected_time(chain, ((2, 2), (2, 2)))
    >>> box.contains(absorb(chain, ((2, 2), (2, 2)))["expected_steps"]), box.relative_width < 1e-12
    (True, True)
    """
    if getattr(chain, "exact_rows", None) is not None and not chain.exact:
        return _StreamedCertifier(chain, start, max_refinements, float_solver).expected_time(rtol)
    return _Certifier(chain, start, float_solver, max_refinements, fallback).expected_time(rtol)


def certified_absorb(chain, start: int | np.integer | tuple | list, rtol: float | Fraction = 1e-12, max_refinements: int = 12, float_solver=None, digits: int = 17, progress=None) -> dict:
    """Certified intervals for P(polarisation), P(consensus), P(consensus on k)
    and P(other) from one start, sharing one factorisation.

    Parameters are those of :func:`certified_absorption`, plus ``digits``
    (significant digits of the outward decimal strings) and ``progress``
    (called with the number of targets finished, out of ``K + 3``).

    Returns
    -------
    dict
        ``polarization_interval`` ``[lo, hi]`` (``"p/q"``),
        ``polarization_decimal`` (outward decimal strings), ``relative_width``;
        ``consensus_interval``, ``consensus_decimal``,
        ``consensus_relative_width``; ``consensus_by_component`` (list of
        :meth:`CertifiedInterval.as_dict`); ``other`` (same form);
        ``expected_steps_interval``, ``expected_steps_decimal`` (the expected
        absorption time, :func:`certified_expected_time`);
        ``refinements`` (float solves per target) and ``converged``.
        ``relative_width`` is None when the lower bound is 0 and the upper not.
        On a streamed chain (:func:`~markovgmm.chain.lumped.build_streamed_chain`)
        one adjoint solve certifies every target, and the expected time
        adds one forward float solve and one exact forward pass.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> report = certified_absorb(chain, ((2, 2), (2, 2)), digits=6)
    >>> report["polarization_decimal"], report["relative_width"] < 1e-12
    (['8.57393e-2', '8.57394e-2'], True)
    """
    streamed = getattr(chain, "exact_rows", None) is not None and not chain.exact
    if streamed:
        certifier = _StreamedCertifier(chain, start, max_refinements, float_solver)
    else:
        certifier = _Certifier(chain, start, float_solver, max_refinements)
    K = chain.system.components
    all_boxes = []
    for target in ["polarised", "consensus", *range(K), "other"]:
        all_boxes.append(certifier.interval(target, rtol))
        if progress:
            progress(len(all_boxes))
    polar, consensus, *by_component, other = all_boxes
    steps = certifier.expected_time(rtol)
    all_boxes.append(steps)
    p, c, t = polar.as_dict(digits), consensus.as_dict(digits), steps.as_dict(digits)
    return {
        "polarization_interval": p["interval"],
        "polarization_decimal": p["decimal"],
        "relative_width": p["relative_width"],
        "consensus_interval": c["interval"],
        "consensus_decimal": c["decimal"],
        "consensus_relative_width": c["relative_width"],
        "consensus_by_component": [box.as_dict(digits) for box in by_component],
        "other": other.as_dict(digits),
        "expected_steps_interval": t["interval"],
        "expected_steps_decimal": t["decimal"],
        "refinements": {box.target: box.refinements for box in all_boxes},
        "converged": all(box.converged for box in all_boxes),
    }
