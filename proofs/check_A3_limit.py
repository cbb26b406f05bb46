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
5. The rate with closed classes of several states (directed graph, open
   ownership): the general bound with its within-class term holds from every
   start; the bound max||D||_F P(tau > t) alone fails there; under support
   (one-state classes) the within-class term is 0.
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

# 5. The rate, with closed classes of several states (MODEL.md 3 `other` classes).
# f = ||D||_F, tau the entrance time into the closed classes, L = sum_C P(C) mu_C f:
#   |E f(X_t) - L| <= f_max P(tau > t) + sum_{u <= t} sum_{x closed} P(tau = u, X_tau = x) |E_x f(X_{t-u}) - mu_C(x) f|,
# and the second term vanishes when f is constant on every closed class (always under support,
# support_closed_classes.md).  On the directed graph 0 -> 2, 1 -> 2 under open ownership the
# first term alone is not a bound: a start inside an `other` class has P(tau > 0) = 0 but a gap.
import networkx as nx  # noqa: E402

from markovgmm.analysis.classes import closed_classes  # noqa: E402


def rate_terms(chain, starts, horizon):
    """Per start and t: (|E f(X_t) - L|, f_max P(tau > t), the within-class term), in mpmath.

    Exact powers P^v (python-flint fmpq_mat), then mpmath at 40 digits for f = sqrt(integer)/N."""
    from flint import fmpq_mat

    n, d = chain.n_states, int(chain.denominator)
    M = fmpq_mat(n, n)
    for s in range(n):
        for e in range(chain.indptr[s], chain.indptr[s + 1]):
            M[s, int(chain.indices[e])] += int(chain.values[e])
    M = M / d
    powers = [fmpq_mat(n, n, [int(a == b) for a in range(n) for b in range(n)])]
    for _ in range(horizon):
        powers.append(powers[-1] * M)
    num = lambda x: mpmath.mpf(int(x.p)) / int(x.q)  # noqa: E731
    Pw = [[[num(Q[a, b]) for b in range(n)] for a in range(n)] for Q in powers]
    P1 = Pw[1]
    structure = closed_classes(chain)
    class_of = structure.class_of
    transient = [s for s in range(n) if class_of[s] < 0]
    f = [mpmath.sqrt(int(v)) / chain.system.memory for v in frobenius_squared_numerators(chain)]
    fmax = max(f)
    Ef = [[sum(Pw[v][x][s] * f[s] for s in range(n)) for x in range(n)] for v in range(horizon + 1)]  # E_x f(X_v)
    mu_f = []
    for cls in structure.classes:
        states = list(cls.states)
        k = len(states)
        A = sp.Matrix(k, k, lambda a, b: sp.Rational(int(M[states[b], states[a]].p), int(M[states[b], states[a]].q)) - int(a == b))
        pi = A.col_join(sp.ones(1, k)).solve_least_squares(sp.zeros(k, 1).col_join(sp.ones(1, 1)))
        mu_f.append(sum(mpmath.mpf(int(sp.fraction(pi[a])[0])) / int(sp.fraction(pi[a])[1]) * f[s] for a, s in enumerate(states)))
    out = {}
    for start in starts:
        result = a3_limit(chain, start)
        radical = result["limit_radical"]
        L = sum((mpmath.sqrt(fr) * mpmath.mpf(a.numerator) / a.denominator for fr, a in radical.terms.items()), mpmath.mpf(0))
        hits = []  # hits[u][x] = P(tau = u, X_tau = x): from the law at u - 1 on the transient states
        for u in range(horizon + 1):
            if u == 0:
                hits.append({start: mpmath.mpf(1)} if class_of[start] >= 0 else {})
            else:
                law = Pw[u - 1][start]
                hits.append({x: sum(law[s] * P1[s][x] for s in transient) for x in range(n) if class_of[x] >= 0})
        rows = []
        for t in range(horizon + 1):
            gap = abs(sum(Pw[t][start][s] * f[s] for s in range(n)) - L)
            tail = sum(Pw[t][start][s] for s in transient)
            second = sum(w * abs(Ef[t - u][x] - mu_f[class_of[x]]) for u in range(t + 1) for x, w in hits[u].items())
            rows.append((gap, fmax * tail, second))
        out[start] = rows
    return out


directed = build_chain(System(agents=3, components=2, memory=2, ownership="open", graph=nx.DiGraph([(0, 2), (1, 2)])))
check(any(len(c.states) > 1 for c in closed_classes(directed).classes), "directed 0->2, 1->2, open: closed classes with several states (`other`)")
ok_general, old_fails = True, []
for start, rows in rate_terms(directed, range(directed.n_states), 8).items():
    for t, (gap, first, second) in enumerate(rows):
        ok_general &= gap <= first + second + mpmath.mpf(10) ** -30
        if gap > first + mpmath.mpf(10) ** -30:
            old_fails.append((directed.counts(start), t, float(gap), float(first)))
check(ok_general, "|E||D_t||_F - lim| <= max||D||_F P(tau > t) + within-class term, every start, t <= 8 (directed, open)")
check(bool(old_fails) and any(first == 0 for *_, first in old_fails),
      f"the bound max||D||_F P(tau > t) alone fails there ({len(old_fails)} (start, t) pairs, e.g. start {old_fails[0][0]}, t = {old_fails[0][1]}: "
      f"gap {old_fails[0][2]:.3f} > {old_fails[0][3]:.3f})")
support_chain = build_chain(System(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)])))
ok_support = True
for rows in rate_terms(support_chain, range(support_chain.n_states), 6).values():
    for gap, first, second in rows:
        ok_support &= second == 0 and gap <= first + mpmath.mpf(10) ** -30
check(ok_support, "same graph under support: the within-class term is 0 and |E||D_t||_F - lim| <= max||D||_F P(tau > t), every start, t <= 6")

sys.exit(1 if failures else 0)
