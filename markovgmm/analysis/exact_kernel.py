"""The exact kernel of the certified path (MODEL.md 3): ``d A = d I - V`` on a
transient set, exact products ``V @ C``, and refinement with exact residuals.

:class:`ExactSystem` is what makes a certificate a proof: whatever float
solver proposes a correction, the residual ``b - A x`` is recomputed here in
exact integer arithmetic (``proofs/certified_enclosure.md``).  The float
solvers and the enclosure logic live in :mod:`markovgmm.analysis.certified`.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, log2

import numpy as np
import scipy.sparse as sp

from .linalg import submatrix

__all__ = ["ExactSystem", "CORRECTION_BITS"]

#: Bits kept of each float64 correction (a float64 has 53).
CORRECTION_BITS = 52


class ExactSystem:
    """``d A = d I - V`` on the transient states, ``V`` integer numerators of ``Q``.

    ``V @ C`` for an int64 vector ``C`` is computed exactly: ``C`` is split into
    limbs small enough that every product and row sum fits in int64, each limb
    is multiplied by scipy's integer sparse product, and the limbs are
    recombined as Python integers.  Numerators beyond int64 fall back to
    Python-integer products over the nonzeros.
    """

    def __init__(self, chain, transient):
        rows, cols, vals, n = submatrix(chain, transient, transient)
        self.n = n
        self.d = int(chain.denominator)
        row_lengths = np.bincount(rows, minlength=n) if n else np.zeros(0, np.int64)
        longest = int(row_lengths.max()) if len(rows) else 1
        self.limb_bits = 0
        if vals.dtype != object and len(vals):
            value_bits = int(np.abs(vals).max()).bit_length()
            self.limb_bits = 62 - value_bits - ceil(log2(longest + 1))
        self.rows, self.cols, self.vals = rows, cols, vals
        self.heads = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, np.int64)
        if self.limb_bits >= 8:
            self.V = sp.csr_matrix((vals.astype(np.int64), (rows, cols)), shape=(n, n))
        dense_vals = np.array([float(Fraction(int(v), self.d)) for v in vals]) if vals.dtype == object else vals / float(self.d)
        self.A = sp.identity(n, format="csr") - sp.csr_matrix((dense_vals, (rows, cols)), shape=(n, n))

    def product(self, C):
        """Exact ``V @ C`` (object array of Python ints) for an int64 vector ``C``."""
        return self.product_by_limbs(C) if self.limb_bits >= 8 else self.product_by_objects(C)

    def product_by_limbs(self, C):
        """``V @ C`` from int64 sparse products of ``limb_bits``-bit limbs of ``C``."""
        out = np.zeros(self.n, dtype=object)
        mask = (1 << self.limb_bits) - 1
        rest = np.asarray(C, dtype=np.int64).copy()
        shift = 0
        while True:
            last = bool(np.all((rest >= -mask) & (rest <= mask)))
            limb = rest if last else (rest & mask)
            out = out + (self.V @ limb).astype(object) * (1 << shift)
            if last:
                return out
            rest = rest >> self.limb_bits
            shift += self.limb_bits

    def product_by_objects(self, C):
        """``V @ C`` with Python-integer products over the nonzeros (any size)."""
        out = np.zeros(self.n, dtype=object)
        if len(self.rows):
            values = np.array([int(v) for v in self.vals.tolist()], dtype=object)
            products = values * np.array([int(c) for c in C], dtype=object)[self.cols]
            out[self.rows[self.heads]] = np.add.reduceat(products, self.heads)
        return out

    def refine(self, B, stop, max_refinements, solve):
        """Refine ``x`` for ``A x = B / d`` until ``stop(X, E, R)``.

        ``x = X / 2^E`` (object ints) and the residual ``b - A x = R / (d 2^E)``
        exactly.  Returns ``(X, E, R, solves, stopped)``.
        """
        X = np.zeros(self.n, dtype=object)
        E = 0
        R = np.array([int(v) for v in B], dtype=object)
        solves = 0
        previous = None
        while True:
            if stop(X, E, R):
                return X, E, R, solves, True
            rho = max((abs(v) for v in R), default=0)
            if rho == 0 or solves >= max_refinements:
                return X, E, R, solves, False
            # stagnation: the last correction did not decrease max|r| = rho / (d 2^E) at all
            if previous is not None and rho << previous[1] >= previous[0] << E:
                return X, E, R, solves, False
            previous = (rho, E)
            # float residual scaled to magnitude ~1: r = R / (d 2^E) = r_scaled * 2^-s
            s = E + self.d.bit_length() - rho.bit_length()
            den_shift = E - s
            if den_shift >= 0:
                den = self.d << den_shift
                r_scaled = np.array([v / den for v in R.tolist()], dtype=np.float64)
            else:
                r_scaled = np.array([(v << -den_shift) / self.d for v in R.tolist()], dtype=np.float64)
            c_scaled = np.asarray(solve(r_scaled), dtype=np.float64)
            solves += 1
            if not np.all(np.isfinite(c_scaled)):
                return X, E, R, solves, False
            top = float(np.abs(c_scaled).max())
            if top == 0.0:
                return X, E, R, solves, False
            g = CORRECTION_BITS - int(np.frexp(top)[1])
            C = np.rint(np.ldexp(c_scaled, g)).astype(np.int64)
            F = g + s  # correction = C / 2^F
            E_new = max(E, F)
            up_old, up_new = 1 << (E_new - E), 1 << (E_new - F)
            dAc = self.d * C.astype(object) - self.product(C)  # d 2^F (A c)
            X = X * up_old + C.astype(object) * up_new
            R = R * up_old - dAc * up_new
            E = E_new
