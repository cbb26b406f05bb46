"""Check the algebra of A3_limit.md (exits non-zero on failure).

1. Camps: sum_{i,j} ||e_{k_i} - e_{k_j}||^2 = 2 (m^2 - sum n_a^2) for every
   labelling with m <= 5, K <= 4; ||D||_F = 2 at an m = 2, K = 2 polarised
   state (sympy sqrt); the smallest polarised value is 2 sqrt(m - 1).
2. The limit identity for m = 2, K = 2: a3_limit == 2 P(polarisation), with
   P(polarisation) from an independent sympy solve of the absorbing chain
   assembled from tests/reference.py's naive transition law, and equal to
   2 * 139813/1630674 (MODEL.md's Storm-checked reference) for N = 4.
3. m = 3: the limit is 2 sqrt(2) P(pol) (sympy), and E||D_t||_F approaches
   it within max||D||_F * P(not absorbed by t) (mpmath).
4. The appendix counterexample: E[pi_1k - pi_2k] -> 0 but E|pi_1k - pi_2k|
   -> P(polarisation) > 0.
"""

import sys
from fractions import Fraction
from itertools import product
from pathlib import Path

import mpmath
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


# 1. camps
ok = True
for m in range(1, 6):
    for K in range(2, 5):
        for labels in product(range(K), repeat=m):
            vectors = [[int(k == label) for k in range(K)] for label in labels]
            total = sum(sum((a - b) ** 2 for a, b in zip(u, v)) for u in vectors for v in vectors)
            sizes = [labels.count(k) for k in range(K)]
            ok &= total == 2 * (m * m - sum(n * n for n in sizes))
check(ok, "||D||_F^2 = 2 (m^2 - sum n_a^2) at all-vertex states, m <= 5, K <= 4")
check(sp.sqrt(2 * (2**2 - 1 - 1)) == 2, "m = 2, K = 2 polarised state: ||D||_F = sqrt(4) = 2")
ok = True
for m in range(2, 8):
    values = [2 * (m * m - a * a - (m - a) ** 2) for a in range(1, m)]
    ok &= min(values) == 4 * (m - 1) and sp.sqrt(min(values)) == 2 * sp.sqrt(m - 1)
check(ok, "smallest polarised ||D||_F over two camps is 2 sqrt(m - 1), m <= 7")

# 2. limit identity for m = 2, K = 2
import reference  # noqa: E402  (tests/reference.py: naive, independent transition law)

from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis.absorption import absorption_time_distribution  # noqa: E402
from markovgmm.analysis.claims import a3_limit, frobenius_squared_numerators, moment_series  # noqa: E402


def sympy_polarisation(system, start):
    states = reference.all_states(system)
    rows = {s: reference.transition_row(system, s) for s in states}
    absorbing = [s for s in states if rows[s].get(s) == 1]
    transient = [s for s in states if s not in absorbing]
    position = {s: a for a, s in enumerate(transient)}
    n = len(transient)
    A = sp.eye(n)
    b = sp.zeros(n, 1)
    for s in transient:
        for t, p in rows[s].items():
            value = sp.Rational(p.numerator, p.denominator)
            if t in position:
                A[position[s], position[t]] -= value
            elif len({counts for counts in t}) > 1:  # absorbing with two camps: polarised
                b[position[s], 0] += value
    h = A.LUsolve(b)
    return Fraction(int(sp.fraction(h[position[start], 0])[0]), int(sp.fraction(h[position[start], 0])[1]))


for kwargs, start in [
    (dict(agents=2, components=2, memory=3), ((2, 1), (1, 2))),
    (dict(agents=2, components=2, memory=3, schedule="async"), ((3, 0), (1, 2))),
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
]:
    system = System(**kwargs)
    chain = build_chain(system)
    result = a3_limit(chain, chain.index(start))
    P = sympy_polarisation(system, start)
    label = ",".join(f"{k}={v}" for k, v in kwargs.items())
    check(P > 0 and result["polarization"] == P, f"{label}: P(polarisation) = {P} (independent sympy solve)")
    check(result["limit_expected_frobenius"] == 2 * P, f"{label}: lim E||D_t||_F = 2 P(polarisation) exactly")
check(result["limit_expected_frobenius"] == 2 * Fraction(139813, 1630674), "N = 4 reference: lim E||D_t||_F = 139813/815337")

# 3. m = 3: 2 sqrt(2) P(pol), and the propagated E||D_t||_F approaches it
system = System(agents=3, components=2, memory=2)
chain = build_chain(system)
start = chain.index(((1, 1), (1, 1), (2, 0)))
result = a3_limit(chain, start)
P = result["polarization"]
terms = result["limit_radical"].terms
check(terms == {2: 2 * P}, "m = 3, K = 2: lim E||D_t||_F = 2 sqrt(2) P(polarisation) (camps (2, 1): sqrt(8))")
mpmath.mp.dps = 40
limit = 2 * mpmath.sqrt(2) * mpmath.mpf(P.numerator) / P.denominator
horizon = 80
rows = moment_series(chain, start, horizon)
cdf = absorption_time_distribution(chain, start, horizon)
dmax = mpmath.sqrt(int(frobenius_squared_numerators(chain).max())) / system.memory
ok = True
for t in (5, 20, 80):
    value = sum(mpmath.sqrt(f) * mpmath.mpf(a.numerator) / a.denominator for f, a in rows[t]["expected_frobenius"].terms.items())
    slack = dmax * (1 - mpmath.mpf(cdf[t].numerator) / cdf[t].denominator)
    ok &= abs(value - limit) <= slack + mpmath.mpf(10) ** -30
check(ok, "|E||D_t||_F - limit| <= max||D||_F * P(not absorbed by t) at t = 5, 20, 80")

# 4. the appendix step: signed expectation -> 0, absolute expectation -> P(pol)
system = System(agents=2, components=2, memory=3)
chain = build_chain(system)
start = chain.index(((2, 1), (2, 1)))  # agents exchangeable: E[pi_0^t - pi_1^t] = 0
result = a3_limit(chain, start)
rows = moment_series(chain, start, 120)
signed = [row["mean_difference"][(0, 1)][0] for row in rows]
absolute = [row["mean_abs_difference"][(0, 1)][0] for row in rows]
cdf = absorption_time_distribution(chain, start, 120)
check(all(x == 0 for x in signed), "symmetric start: E[pi_0k^t - pi_1k^t] = 0 for every t (so (10) holds)")
gap = abs(absolute[-1] - result["polarization"])
check(gap <= 1 - cdf[-1] and result["polarization"] > 0, f"but E|pi_0k^t - pi_1k^t| -> P(polarisation) = {result['polarization']} (gap at t=120 {float(gap):.2e} <= P(not absorbed))")

sys.exit(1 if failures else 0)
