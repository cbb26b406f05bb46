"""Check LB2 (proofs/LB2_paths.md): first-passage path sums.

On small chains, with exact rationals taken from the transition matrix:
(2) the sum over all first-passage paths with T steps (self-loops included),
enumerated one by one, equals P(tau_A = T) from sympy matrix powers;
(1) partial sums stay below the exact P(polarisation) (sympy absorbing solve);
(3) path_bounds' best equals the exact maximum over all first-passage paths
(max-product dynamic programme, independent of networkx), and on the smallest
chains top_k equals the sum of the k largest simple-path probabilities found by
exhaustive enumeration.  Exits non-zero on failure.
"""

import sys
from fractions import Fraction

import sympy

from markovgmm import System, build_chain
from markovgmm.analysis.bounds import path_bounds
from markovgmm.analysis.classes import closed_classes

# (system, start, longest enumerated path, enumerate simple paths exhaustively?)
CASES = [
    (dict(agents=2, components=2, memory=2), ((1, 1), (1, 1)), 5, True),
    (dict(agents=2, components=2, memory=2, schedule="async"), ((1, 1), (2, 0)), 5, True),
    (dict(agents=2, components=2, memory=3), ((2, 1), (1, 2)), 3, False),
    (dict(agents=3, components=2, memory=2, graph="path"), ((1, 1), (1, 1), (2, 0)), 2, False),
    (dict(agents=2, components=3, memory=2), ((1, 1, 0), (0, 1, 1)), 2, False),
]
K_PATHS = 4


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def rows_of(chain):
    d = int(chain.denominator)
    return [
        {int(chain.indices[e]): Fraction(int(chain.values[e]), d) for e in range(chain.indptr[s], chain.indptr[s + 1])}
        for s in range(chain.n_states)
    ]


def exact_polarization(rows, A, transient, start):
    if start in A:
        return sympy.Integer(1)
    if start not in transient:
        return sympy.Integer(0)
    index = {t: i for i, t in enumerate(transient)}
    M = sympy.eye(len(transient))
    b = sympy.zeros(len(transient), 1)
    for t in transient:
        for u, p in rows[t].items():
            if u in index:
                M[index[t], index[u]] -= sympy.Rational(p.numerator, p.denominator)
            elif u in A:
                b[index[t]] += sympy.Rational(p.numerator, p.denominator)
    return M.LUsolve(b)[index[start]]


def main():
    for params, start_state, longest, exhaustive in CASES:
        system = System(**params)
        chain = build_chain(system)
        structure = closed_classes(chain)
        rows = rows_of(chain)
        A = {s for c in structure.classes if c.kind == "polarised" for s in c.states}
        transient = [s for s in range(chain.n_states) if structure.class_of[s] < 0]
        start = chain.index(start_state)
        into_A = [sum((p for t, p in rows[s].items() if t in A), Fraction(0)) for s in range(chain.n_states)]
        exact = exact_polarization(rows, A, transient, start)
        exact_f = Fraction(int(exact.p), int(exact.q))

        # (2): enumerate every first-passage path (self-loops allowed) with n = 0..longest-1 moves.
        by_steps = [Fraction(0)] * (longest + 1)
        frontier = [(start, Fraction(1))]
        for n in range(longest):
            for s, w in frontier:
                by_steps[n + 1] += w * into_A[s]
            frontier = [(t, w * p) for s, w in frontier for t, p in rows[s].items() if t not in A and p]
        # P(tau_A = T) by sympy matrix powers on the chain with A made absorbing.
        n_states = chain.n_states
        P = sympy.zeros(n_states, n_states)
        for s in range(n_states):
            for t, p in rows[s].items():
                P[s, t] = sympy.Rational(p.numerator, p.denominator)
        row = sympy.zeros(1, n_states)
        row[0, start] = 1
        in_A_before = sympy.Integer(0)
        for T in range(1, longest + 1):
            row = row * P
            in_A = sum((row[0, a] for a in A), sympy.Integer(0))
            if in_A - in_A_before != sympy.Rational(by_steps[T].numerator, by_steps[T].denominator):
                fail(f"{system.describe()}: path sum with T={T} steps != P(tau_A = T)")
            in_A_before = in_A
        if sum(by_steps) > exact_f:
            fail(f"{system.describe()}: the path sum exceeds P(polarisation)")

        # (3): exact maximum over all first-passage paths by a max-product DP over path lengths.
        best_to = {start: Fraction(1)}
        best_value = into_A[start]
        for _ in range(len(transient)):
            new = dict(best_to)
            for s, w in best_to.items():
                for t, p in rows[s].items():
                    if t not in A and structure.class_of[t] < 0 and w * p > new.get(t, Fraction(0)):
                        new[t] = w * p
            best_to = new
        best_value = max(w * into_A[s] for s, w in best_to.items())
        found = path_bounds(chain, start, k=K_PATHS, structure=structure)
        if found["best"] != best_value:
            fail(f"{system.describe()}: best path {found['best']} != exact maximum {best_value}")
        if not found["best"] <= found["top_k"] <= exact_f:
            fail(f"{system.describe()}: best <= top_k <= exact fails")

        if exhaustive:
            simple = []

            def walk(s, w, seen):
                if into_A[s]:
                    simple.append(w * into_A[s])
                for t, p in rows[s].items():
                    if t not in seen and t not in A and structure.class_of[t] < 0:
                        walk(t, w * p, seen | {t})

            walk(start, Fraction(1), {start})
            simple.sort(reverse=True)
            if found["top_k"] != sum(simple[:K_PATHS]):
                fail(f"{system.describe()}: top_k {found['top_k']} != sum of the {K_PATHS} largest simple paths")
            if sum(simple) > exact_f:
                fail(f"{system.describe()}: all simple paths together exceed P(polarisation)")
        print(f"ok  {system.describe()}: best {found['best']}, top {K_PATHS} {found['top_k']}, exact {exact}")
    print("LB2 checks passed")


if __name__ == "__main__":
    main()
