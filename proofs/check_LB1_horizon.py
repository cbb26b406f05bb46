"""Check LB1 (proofs/LB1_horizon.md) with sympy rational matrices.

For a few small chains: P^T by sympy, the exact P(polarisation) from
(I - Q)^{-1} b by sympy, monotonicity and bracketing of the horizon bounds,
upper - lower = P(tau > T), and agreement with markovgmm's horizon_bounds.
Closed classes are classified here from the counts (MODEL.md 3), not by the
code; chains with `other` classes (a directed graph under open ownership) and
with polarised classes of two states are included, and only polarised classes
count towards `lower`, consensus and `other` ones towards `1 - upper`.
Exits non-zero on the first failure.
"""

import sys

import sympy

from markovgmm import System, build_chain
from markovgmm.analysis.bounds import horizon_bounds
from markovgmm.analysis.classes import closed_classes

import networkx as nx

CASES = [
    (dict(agents=2, components=2, memory=3), ((2, 1), (1, 2)), 8),
    (dict(agents=2, components=2, memory=3, schedule="async"), ((2, 1), (2, 1)), 8),
    (dict(agents=3, components=2, memory=2, graph="path"), ((1, 1), (1, 1), (2, 0)), 6),
    (dict(agents=2, components=2, memory=3, ownership="open"), ((2, 1), (1, 2)), 5),
    (dict(agents=2, components=3, memory=2), ((1, 1, 0), (0, 1, 1)), 5),
    # `other` classes (MODEL.md 3): agent 2 reads two fixed camps forever
    (dict(agents=3, components=2, memory=2, ownership="open", graph=nx.DiGraph([(0, 2), (1, 2)])), ((2, 0), (1, 1), (1, 1)), 6),
    # polarised classes of two states under open (the agents swap memories) beside consensus
    (dict(agents=2, components=2, memory=2, replace=2, ownership="open", graph="path", closed_neighbourhood=False), ((2, 0), (1, 1)), 4),
    # polarised, consensus and other classes together
    (dict(agents=3, components=2, memory=2, ownership="open", graph=nx.DiGraph([(0, 2), (1, 2)]), schedule="async"), ((2, 0), (0, 2), (1, 1)), 6),
]


def kind(chain, states):
    """The kind of a closed class by MODEL.md 3, computed here from the counts alone:
    consensus (every agent at the same vertex in every state), polarised (every agent at a
    vertex and at least two vertices in every state), other."""
    N = chain.system.memory
    vertices = []
    for s in states:
        row = []
        for c in chain.counts(s):
            full = [k for k, x in enumerate(c) if x == N]
            row.append(full[0] if full else None)
        vertices.append(row)
    if any(v is None for row in vertices for v in row):
        return "other"
    if all(len(set(row)) == 1 for row in vertices) and len({row[0] for row in vertices}) == 1:
        return "consensus"
    if all(len(set(row)) >= 2 for row in vertices):
        return "polarised"
    return "other"


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


def lb1_violations(chain, start_state, horizon, bounds=horizon_bounds):
    """Everything of LB1_horizon.md that fails on ``chain`` from ``start_state``, with the
    bounds computed by ``bounds(chain, start, horizon)``; returns (messages, summary)."""
    out = []
    structure = closed_classes(chain)
    P = sympy_matrix(chain)
    n = chain.n_states
    start = chain.index(start_state)
    kinds = [kind(chain, c.states) for c in structure.classes]
    if kinds != [c.kind for c in structure.classes]:
        out.append(f"closed_classes kinds {[c.kind for c in structure.classes]} differ from MODEL.md 3's {kinds}")
    A = [s for c, k in zip(structure.classes, kinds) if k == "polarised" for s in c.states]  # only polarised classes count
    B = [s for c, k in zip(structure.classes, kinds) if k != "polarised" for s in c.states]  # consensus and other
    transient = [s for s in range(n) if structure.class_of[s] < 0]
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
    lower, upper, tail, other = [], [], [], []
    other_states = [s for c, k in zip(structure.classes, kinds) if k == "other" for s in c.states]
    for _ in range(horizon + 1):
        lower.append(sum((row[0, a] for a in A), sympy.Integer(0)))
        upper.append(1 - sum((row[0, b] for b in B), sympy.Integer(0)))
        tail.append(sum((row[0, t] for t in transient), sympy.Integer(0)))
        other.append(sum((row[0, s] for s in other_states), sympy.Integer(0)))
        row = row * P
    for T in range(horizon + 1):
        if not lower[T] <= exact <= upper[T]:
            out.append(f"bracketing fails at T={T}")
        if upper[T] - lower[T] != tail[T]:
            out.append(f"upper - lower != P(tau > T) at T={T}")
        if T and not (lower[T - 1] <= lower[T] and upper[T] <= upper[T - 1]):
            out.append(f"monotonicity fails at T={T}")
    code = bounds(chain, start, horizon)
    if [sympy.Rational(x.numerator, x.denominator) for x in code["lower"]] != lower:
        out.append("horizon_bounds lower differs from P(X_T in a polarised class)")
    if [sympy.Rational(x.numerator, x.denominator) for x in code["upper"]] != upper:
        out.append("horizon_bounds upper differs from 1 - P(X_T in a consensus or other class)")
    summary = f"P = {exact}, T={horizon}: {lower[-1]} <= P <= {upper[-1]}; classes {sorted(set(kinds))}, P(in other at T) = {other[-1]}"
    return out, summary, kinds, other[-1]


def main():
    kinds_seen, other_mass = set(), False
    for params, start_state, horizon in CASES:
        system = System(**params)
        chain = build_chain(system)
        bad, summary, kinds, other = lb1_violations(chain, start_state, horizon)
        kinds_seen |= set(kinds)
        other_mass |= other > 0
        if bad:
            fail(f"{system.describe()}: " + "; ".join(bad))
        print(f"ok  {system.describe()}: {summary}")
    if not ({"polarised", "consensus", "other"} <= kinds_seen and other_mass):
        fail("the cases must include polarised, consensus and `other` classes, with mass in an `other` class")
    print("LB1 checks passed")


if __name__ == "__main__":
    main()
