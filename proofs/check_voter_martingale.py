"""Check proofs/voter_martingale.md with sympy rationals, independently of
markovgmm's linear solvers.  Exits non-zero on the first failure."""

import sys

import networkx as nx
import sympy

from markovgmm import System, build_chain
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.theorems import reading_is_aperiodic, voter_martingale


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def directed(edges, m):
    g = nx.DiGraph()
    g.add_nodes_from(range(m))
    g.add_edges_from(edges)
    return g


R = sympy.Rational
WEIGHTED = ((R(1, 2), R(1, 2), 0), (R(1, 4), R(1, 4), R(1, 2)), (0, R(1, 3), R(2, 3)))
CASES = [
    dict(agents=3, components=2, memory=2, graph="path"),
    dict(agents=3, components=2, memory=2, graph="path", schedule="async"),
    dict(agents=4, components=2, memory=2, graph="star"),
    dict(agents=3, components=2, memory=2, graph=directed([(0, 1), (1, 2), (2, 0), (0, 2)], 3)),
    dict(agents=3, components=2, memory=2, graph=directed([(0, 1), (1, 2), (2, 0), (0, 2)], 3), schedule="async"),
    dict(agents=3, components=2, memory=2, reading=[[str(x) for x in row] for row in WEIGHTED]),
    dict(agents=2, components=3, memory=2, graph="path", replace=2),
    dict(agents=2, components=2, memory=2, replace=2, graph="path", closed_neighbourhood=False),
    dict(agents=3, components=2, memory=1, graph=directed([(0, 1), (1, 2), (2, 0)], 3), closed_neighbourhood=False),
]


def sympy_P(chain):
    n, d = chain.n_states, int(chain.denominator)
    P = sympy.zeros(n, n)
    for s in range(n):
        for e in range(chain.indptr[s], chain.indptr[s + 1]):
            P[s, int(chain.indices[e])] += R(int(chain.values[e]), d)
    return P


def check(params, v=None):
    """Return (martingale ok, identity deviation, consensus deviation, non-consensus classes)."""
    system = System(ownership="open", **params)
    m, K, N = system.agents, system.components, system.memory
    W = sympy.Matrix([[R(x.numerator, x.denominator) for x in row] for row in system.W])
    if v is None:
        null = (W.T - sympy.eye(m)).nullspace()
        if len(null) != 1:
            fail(f"{system.describe()}: stationary law not unique")
        v = list(null[0] / sum(null[0]))
        code_v = [R(x.numerator, x.denominator) for x in voter_martingale(system)["v"]]
        if code_v != v:
            fail(f"{system.describe()}: markovgmm's stationary law {code_v} != sympy's {v}")
    chain = build_chain(system)
    P = sympy_P(chain)
    n = chain.n_states
    counts = [chain.counts(s) for s in range(n)]
    f = [sympy.Matrix([sum(v[i] * counts[s][i][k] for i in range(m)) / N for s in range(n)]) for k in range(K)]
    martingale = all(P * f[k] == f[k] for k in range(K))
    structure = closed_classes(chain)
    classes = structure.classes
    closed = [s for c in classes for s in c.states]
    transient = [s for s in range(n) if structure.class_of[s] < 0]
    # absorption probabilities into each class, by sympy
    B = sympy.zeros(len(transient), len(classes))
    for a, t in enumerate(transient):
        for c, cls in enumerate(classes):
            B[a, c] = sum((P[t, s] for s in cls.states), sympy.Integer(0))
    H = (sympy.eye(len(transient)) - P.extract(transient, transient)).LUsolve(B) if transient else sympy.zeros(0, len(classes))
    ident, cons = 0, 0
    for s in range(n):
        if structure.class_of[s] >= 0:
            probs = [int(c == structure.class_of[s]) for c in range(len(classes))]
        else:
            probs = list(H.row(transient.index(s)))
        for k in range(K):
            limit = sum(p * f[k][cls.states[0]] for p, cls in zip(probs, classes))
            pk = sum(p for p, cls in zip(probs, classes) if cls.kind == "consensus" and cls.component == k)
            ident = max(ident, abs(limit - f[k][s]))
            cons = max(cons, abs(pk - f[k][s]))
    nonconsensus = [c for c in classes if c.kind != "consensus"]
    const = all(len({f[k][s] for s in cls.states}) == 1 for cls in classes for k in range(K))
    if not const and martingale:
        fail(f"{system.describe()}: f_k not constant on a closed class although harmonic")
    return system, martingale, ident, cons, nonconsensus


def main():
    for params in CASES:
        system, martingale, ident, cons, nonconsensus = check(params)
        if not martingale:
            fail(f"{system.describe()}: P f_k != f_k")
        if ident != 0:
            fail(f"{system.describe()}: sum_C P(C) f_k(C) != M_0, deviation {ident}")
        predicted = system.schedule == "async" or system.replace < system.memory or reading_is_aperiodic(system.W)
        if predicted == bool(nonconsensus):
            fail(f"{system.describe()}: non-consensus classes {len(nonconsensus)} but predicted consensus-only {predicted}")
        if predicted and cons != 0:
            fail(f"{system.describe()}: P(consensus on k) != M_0 though consensus-only")
        if not predicted and cons == 0:
            fail(f"{system.describe()}: expected the consensus identity to fail on a periodic sync r=N system")
        print(f"ok  {system.describe()}: martingale, identity exact; non-consensus classes {len(nonconsensus)}, "
              f"max |P(cons k) - M0| = {cons}")
    # negative control: the uniform law on the star is not stationary and must be caught
    system, martingale, ident, cons, _ = check(dict(agents=4, components=2, memory=2, graph="star"), v=[R(1, 4)] * 4)
    if martingale or ident == 0:
        fail("negative control: the uniform v on the star was not caught")
    print(f"ok  negative control (uniform v on the star): not a martingale, deviation {ident}")
    print("voter martingale checks passed")


if __name__ == "__main__":
    main()
