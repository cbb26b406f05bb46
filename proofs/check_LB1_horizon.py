"""Check LB1 (proofs/LB1_horizon.md) with sympy rational matrices.

For a few small chains: P^T by sympy, the exact P(polarisation) from
(I - Q)^{-1} b by sympy, monotonicity and bracketing of the horizon bounds,
upper - lower = P(tau > T), and agreement with markovgmm's horizon_bounds.
Exits non-zero on the first failure.
"""

import sys

import sympy

from markovgmm import System, build_chain
from markovgmm.analysis.bounds import horizon_bounds
from markovgmm.analysis.classes import closed_classes

CASES = [
    (dict(agents=2, components=2, memory=3), ((2, 1), (1, 2)), 8),
    (dict(agents=2, components=2, memory=3, schedule="async"), ((2, 1), (2, 1)), 8),
    (dict(agents=3, components=2, memory=2, graph="path"), ((1, 1), (1, 1), (2, 0)), 6),
    (dict(agents=2, components=2, memory=3, ownership="open"), ((2, 1), (1, 2)), 5),
    (dict(agents=2, components=3, memory=2), ((1, 1, 0), (0, 1, 1)), 5),
]


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def sympy_matrix(chain):
    n = chain.n_states
    P = sympy.zeros(n, n)
    d = int(chain.denominator)
    for s in range(n):
        for e in range(chain.indptr[s], chain.indptr[s + 1]):
            P[s, int(chain.indices[e])] += sympy.Rational(int(chain.values[e]), d)
    return P


def main():
    for params, start_state, horizon in CASES:
        system = System(**params)
        chain = build_chain(system)
        structure = closed_classes(chain)
        P = sympy_matrix(chain)
        n = chain.n_states
        start = chain.index(start_state)
        A = [s for c in structure.classes if c.kind == "polarised" for s in c.states]
        B = [s for c in structure.classes if c.kind != "polarised" for s in c.states]
        transient = [s for s in range(n) if structure.class_of[s] < 0]
        # Exact P(polarisation) from (I - Q) h = b.
        if start in A:
            exact = sympy.Integer(1)
        elif start in B:
            exact = sympy.Integer(0)
        else:
            Q = P.extract(transient, transient)
            b = sympy.Matrix([sum((P[t, a] for a in A), sympy.Integer(0)) for t in transient])
            h = (sympy.eye(len(transient)) - Q).LUsolve(b)
            exact = h[transient.index(start)]
        row = sympy.zeros(1, n)
        row[0, start] = 1
        lower, upper, tail = [], [], []
        for _ in range(horizon + 1):
            lower.append(sum((row[0, a] for a in A), sympy.Integer(0)))
            upper.append(1 - sum((row[0, b] for b in B), sympy.Integer(0)))
            tail.append(sum((row[0, t] for t in transient), sympy.Integer(0)))
            row = row * P
        for T in range(horizon + 1):
            if not lower[T] <= exact <= upper[T]:
                fail(f"{system.describe()}: bracketing fails at T={T}")
            if upper[T] - lower[T] != tail[T]:
                fail(f"{system.describe()}: upper - lower != P(tau > T) at T={T}")
            if T and not (lower[T - 1] <= lower[T] and upper[T] <= upper[T - 1]):
                fail(f"{system.describe()}: monotonicity fails at T={T}")
        code = horizon_bounds(chain, start, horizon)
        if [sympy.Rational(x.numerator, x.denominator) for x in code["lower"]] != lower:
            fail(f"{system.describe()}: horizon_bounds lower differs from sympy")
        if [sympy.Rational(x.numerator, x.denominator) for x in code["upper"]] != upper:
            fail(f"{system.describe()}: horizon_bounds upper differs from sympy")
        print(f"ok  {system.describe()}: P = {exact}, T={horizon}: {lower[-1]} <= P <= {upper[-1]}")
    print("LB1 checks passed")


if __name__ == "__main__":
    main()
