"""Check the algebra of A1_one_step.md with sympy (exits non-zero on failure).

1. Hypergeometric mean E[R_k] = r c_k / N: symbolic (sympy.stats) and by
   exact enumeration of the multivariate hypergeometric law (K = 3, N <= 6).
2. Addition mean r p_k: enumeration of the multinomial law with symbolic p.
3. The one-step identity (*) with N, r, m, counts and laws as symbols, sync
   and async; zero residual when p_i = p_j, in particular on the complete
   graph under open ownership (p_i = q = mean of the pi_l).
4. The worked counterexample under support ownership, also against the
   built chain (markovgmm.analysis.claims.a1_check).
5. (*) at every state and pair of small built chains: sync and async,
   r = 1, 2, 3, support and open, complete and path graphs, K = 2, 3, with
   p_i computed independently of the chain code.
"""

import sys
from fractions import Fraction
from itertools import product
from math import comb, factorial

import sympy as sp
from sympy.stats import E, Hypergeometric

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


N, r, m = sp.symbols("N r m", positive=True, integer=True)
c = sp.Symbol("c", nonnegative=True, integer=True)

# 1. hypergeometric mean, symbolic and enumerated
check(sp.simplify(E(Hypergeometric("R", N, c, r)) - r * c / N) == 0, "sympy.stats: E[Hypergeometric(N, c, r)] = r c / N")
ok = True
for n_items in range(1, 7):
    for counts in product(range(n_items + 1), repeat=3):
        if sum(counts) != n_items:
            continue
        for draws in range(1, n_items + 1):
            mean = [Fraction(0)] * 3
            for removed in product(*(range(x + 1) for x in counts)):
                if sum(removed) != draws:
                    continue
                weight = Fraction(comb(counts[0], removed[0]) * comb(counts[1], removed[1]) * comb(counts[2], removed[2]), comb(n_items, draws))
                for k in range(3):
                    mean[k] += weight * removed[k]
            ok &= mean == [Fraction(draws * x, n_items) for x in counts]
check(ok, "enumeration: multivariate hypergeometric mean r c_k / N for K = 3, N <= 6, all c, r")
j = sp.Symbol("j", positive=True, integer=True)
check(sp.simplify(c * (N - j) / N * (1 - 1 / (N - j)) - c * (N - j - 1) / N) == 0, "induction step of the one-at-a-time removal")

# 2. multinomial addition mean with symbolic p
p = sp.symbols("p0:3", nonnegative=True)
ok = True
for draws in range(1, 5):
    mean = [0, 0, 0]
    for A in product(range(draws + 1), repeat=3):
        if sum(A) != draws:
            continue
        weight = factorial(draws) // (factorial(A[0]) * factorial(A[1]) * factorial(A[2])) * p[0] ** A[0] * p[1] ** A[1] * p[2] ** A[2]
        for k in range(3):
            mean[k] += weight * A[k]
    for k in range(3):
        ok &= sp.expand(sp.factor(mean[k]).subs(p[2], 1 - p[0] - p[1]) - (draws * p[k]).subs(p[2], 1 - p[0] - p[1])) == 0
check(ok, "enumeration: multinomial(r, p) mean r p_k for r <= 4, K = 3, symbolic p")

# 3. the identity (*), sync and async
ci, cj = sp.symbols("c_ik c_jk", nonnegative=True)
pi_, pj = sp.symbols("p_ik p_jk", nonnegative=True)


def update(count, law):
    return (count - r * count / N + r * law) / N


for schedule, a, rho in (("sync", 1 - r / N, r / N), ("async", 1 - r / (N * m), r / (N * m))):
    if schedule == "sync":
        lhs = update(ci, pi_) - update(cj, pj)
    else:
        lhs = (1 - 1 / m) * (ci - cj) / N + (update(ci, pi_) - update(cj, pj)) / m
    residual = sp.simplify(lhs - a * (ci - cj) / N - rho * (pi_ - pj))
    check(residual == 0, f"{schedule}: E[pi_i' - pi_j' | s] = a (pi_i - pi_j) + rho (p_i - p_j)")
    check(sp.simplify((lhs - a * (ci - cj) / N).subs(pj, pi_)) == 0, f"{schedule}: residual vanishes when p_i = p_j")

# complete graph, open ownership, symbolic m = 3 agents and K = 2: p_i = q for all i
cs = sp.symbols("x0:3", nonnegative=True)  # counts of label 0 of three agents
q0 = sum(cs) / (3 * N)
lhs = update(cs[0], q0) - update(cs[1], q0)
check(sp.simplify(lhs - (1 - r / N) * (cs[0] - cs[1]) / N) == 0, "complete graph, open ownership, m = 3: the identity holds exactly")

# 4. counterexample under support, and the built chain agrees
state = ((4, 0), (2, 2))
p0, p1 = (Fraction(1), Fraction(0)), (Fraction(3, 4), Fraction(1, 4))
error = tuple(Fraction(1, 4) * (a - b) for a, b in zip(p0, p1))
check(error == (Fraction(1, 16), Fraction(-1, 16)), "support, ((4,0),(2,2)): error (r/N)(p_0 - p_1) = (1/16, -1/16)")
try:
    from markovgmm import System, build_chain
    from markovgmm.analysis.claims import _one_step_means

    chain = build_chain(System(agents=2, components=2, memory=4))
    s = chain.index(state)
    means = _one_step_means(chain)[s]
    diff = [Fraction(int(means[0][k] - means[1][k]), int(chain.denominator) * 4) for k in range(2)]
    expected = [Fraction(3, 4) * Fraction(state[0][k] - state[1][k], 4) + error[k] for k in range(2)]
    check(diff == expected, "built chain: E[pi_0' - pi_1'] at ((4,0),(2,2)) = (3/4)(pi_0 - pi_1) + (1/16, -1/16)")
except ImportError as exc:  # pragma: no cover
    check(False, f"markovgmm importable ({exc})")

# 5. Every state of small chains, sync and async, r >= 1: the built chain's E[pi_i' - pi_j' | s]
#    against (*) with an independent p_i (W from the system, the support rule re-implemented for
#    the default means mu_k = k), for every pair.  one_step_violations takes the claimed
#    contraction a and rate rho so that tests/test_proofs.py can show a wrong factor trips it.


def independent_laws(system, state):
    """q_i and p_i at ``state`` (MODEL.md 2 steps 1-2), Fractions, default means only."""
    N, K, W = system.memory, system.components, system.W
    laws = []
    for i, c in enumerate(state):
        q = [sum((Fraction(W[i][j]) * state[j][k] for j in range(len(state))), Fraction(0)) / N for k in range(K)]
        if system.ownership == "open":
            laws.append(q)
            continue
        support = [k for k in range(K) if c[k] > 0]
        p = [Fraction(0)] * K
        for k in range(K):
            p[k if k in support else min(support, key=lambda l: (abs(l - k), l))] += q[k]
        laws.append(p)
    return laws


def claimed_rates(system):
    N, r, m = system.memory, system.replace, system.agents
    rho = Fraction(r, N) if system.schedule == "sync" else Fraction(r, N * m)
    return 1 - rho, rho


def one_step_violations(chain, rates=claimed_rates):
    """States and pairs where the chain's E[pi_i' - pi_j' | s] differs from
    a (pi_i - pi_j) + rho (p_i - p_j), with ``(a, rho) = rates(system)``."""
    system = chain.system
    N, K = system.memory, system.components
    a, rho = rates(system)
    bad = []
    for s in range(chain.n_states):
        state = chain.counts(s)
        m = len(state)
        mean = [[Fraction(0)] * K for _ in range(m)]
        for e in range(chain.indptr[s], chain.indptr[s + 1]):
            w = Fraction(int(chain.values[e]), int(chain.denominator))
            for i, c in enumerate(chain.counts(int(chain.indices[e]))):
                for k in range(K):
                    mean[i][k] += w * c[k]
        p = independent_laws(system, state)
        for i in range(m):
            for j in range(i + 1, m):
                for k in range(K):
                    lhs = (mean[i][k] - mean[j][k]) / N
                    rhs = a * Fraction(state[i][k] - state[j][k], N) + rho * (p[i][k] - p[j][k])
                    if lhs != rhs:
                        bad.append((state, (i, j), k))
    return bad


A1_CHAINS = [
    dict(agents=2, components=2, memory=4),
    dict(agents=2, components=2, memory=4, schedule="async"),
    dict(agents=3, components=2, memory=3, replace=2),
    dict(agents=3, components=2, memory=3, replace=2, schedule="async"),
    dict(agents=2, components=3, memory=3, replace=3, schedule="async"),
    dict(agents=3, components=2, memory=2, graph="path", ownership="open", schedule="async"),
    dict(agents=2, components=3, memory=3, replace=2, graph="path", closed_neighbourhood=False),
]


def main_every_state():
    from markovgmm import System, build_chain

    for kwargs in A1_CHAINS:
        chain = build_chain(System(**kwargs))
        bad = one_step_violations(chain)
        label = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        check(not bad, f"{label}: (*) at all {chain.n_states} states, every pair, with a = {claimed_rates(chain.system)[0]}"
              + (f" -- fails at {bad[0]}" if bad else ""))


if __name__ == "__main__":
    main_every_state()
    sys.exit(1 if failures else 0)
