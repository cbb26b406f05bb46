"""Check proofs/gaussian_enclosure.md: the exponent of the reduced posterior
(sympy), the greedy box optimum against a linear program, and the int64
headroom of the fixed-point iteration.  Exits non-zero on the first failure."""

import sys

import numpy as np
import sympy
from scipy.optimize import linprog

from markovgmm.chain.gaussian import KERNEL_BITS, VALUE_BITS, _box_extreme


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


# 1. ((y - eta_j)^2 - (y - eta_l)^2) / 2 at y = eta_k + z, eta = t sqrt(Q)
t_j, t_k, t_l, Q, z = sympy.symbols("t_j t_k t_l Q z", real=True)
root = sympy.sqrt(Q)
y = t_k * root + z
lhs = ((y - t_j * root) ** 2 - (y - t_l * root) ** 2) / 2
rhs = Q * (t_l - t_j) * (2 * t_k - t_j - t_l) / 2 + root * (t_l - t_j) * z
if sympy.simplify(sympy.expand(lhs - rhs)) != 0:
    fail("exponent C_l + B_l z")
# Q = v^T Sigma^{-1} v is |L^{-1} v|^2 for the Cholesky factor.
Sigma = sympy.Matrix([[2, sympy.Rational(1, 2)], [sympy.Rational(1, 2), 1]])
v = sympy.Matrix([1, 1])
Lc = Sigma.cholesky()
if sympy.simplify((Lc.inv() * v).dot(Lc.inv() * v) - (v.T * Sigma.inv() * v)[0]) != 0:
    fail("Q = |L^-1 v|^2")

# 2. erfc(T / sqrt 2) = 2 Phi(-T) and its size at T = 10
T = sympy.Integer(10)
tail = sympy.erfc(T / sympy.sqrt(2))
phi = sympy.exp(-z**2 / 2) / sympy.sqrt(2 * sympy.pi)
two_tails = 2 * sympy.Integral(phi, (z, T, sympy.oo)).doit()
if abs(sympy.N(tail - two_tails, 40)) > sympy.Float("1e-60") or not sympy.N(tail, 30) < 1.6e-23:
    fail("tail mass")

# 3. greedy box optimum = linear program, on random boxes (integers over 2^VALUE_BITS)
unit = 2**VALUE_BITS
rng = np.random.default_rng(7)
for trial in range(300):
    n = int(rng.integers(1, 7))
    p = rng.dirichlet(np.ones(n))
    low = np.floor(np.maximum(p - rng.random(n) * 0.2, 0) * unit).astype(np.int64)
    high = np.minimum(np.ceil((p + rng.random(n) * 0.2) * unit), unit).astype(np.int64)
    values = rng.integers(0, unit + 1, size=n).astype(np.int64)
    indptr, cols = np.array([0, n]), np.arange(n)
    budget = np.array([unit - low.sum()])
    for maximise in (False, True):
        greedy = int(_box_extreme(indptr, cols, low, high - low, values, budget, maximise)[0])
        sign = -1 if maximise else 1
        res = linprog(sign * values / unit, A_eq=np.ones((1, n)), b_eq=[1.0], bounds=list(zip(low / unit, high / unit)), method="highs")
        if not res.success or abs(greedy / unit**2 - sign * res.fun) > 1e-9:
            fail(f"greedy vs LP, trial {trial}, maximise={maximise}: {greedy / unit**2} vs {sign * res.fun}")

# 4. int64 headroom: (low + extra) <= 2^30 + 1 per entry, values <= 2^30,
# sum over a row of (low + extra) = 2^30 exactly, so the row sum of products <= 2^60;
# one product < 2^61; the cumulative sums of caps stay below 2^62 for < 2^31 entries.
if not ((unit + 1) * unit < 2**62 and unit * unit <= 2**60 and 2**31 * (unit + 1) < 2**62):
    fail("int64 headroom")
if KERNEL_BITS < VALUE_BITS:
    fail("kernel grid coarser than the value grid")
print("ok")
