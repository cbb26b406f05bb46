"""Check proofs/LB1_rate.md with sympy / mpmath.  Exits non-zero on the first failure."""

import sys
from fractions import Fraction as F

import mpmath
import sympy

from markovgmm import System, build_chain
from markovgmm.analysis.bounds import horizon_bounds
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.absorption import reachable_states
from markovgmm.analysis.theorems import lb1_rate

CASES = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=2, memory=3, schedule="async"), ((2, 1), (2, 1))),
    (dict(agents=3, components=2, memory=2, graph="path"), ((1, 1), (1, 1), (2, 0))),
    (dict(agents=2, components=2, memory=3, ownership="open"), ((2, 1), (1, 2))),
]
HORIZON = 60


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def main():
    mpmath.mp.dps = 50
    for params, start in CASES:
        system = System(**params)
        chain = build_chain(system)
        s = chain.index(start)
        structure = closed_classes(chain)
        transient = [t for t in reachable_states(chain, s).tolist() if structure.class_of[t] < 0]
        d = int(chain.denominator)
        n = len(transient)
        pos = {t: k for k, t in enumerate(transient)}
        Q = sympy.zeros(n, n)
        for t in transient:
            for e in range(chain.indptr[t], chain.indptr[t + 1]):
                u = int(chain.indices[e])
                if u in pos:
                    Q[pos[t], pos[u]] += sympy.Rational(int(chain.values[e]), d)
        r = lb1_rate(chain, start, horizon=HORIZON)
        rho_hat, C, lower = r["rho_upper"], r["C"], r["rho_lower"]
        # exact tail by sympy
        row = sympy.zeros(1, n)
        row[0, pos[s]] = 1
        hb = horizon_bounds(chain, start, HORIZON)
        for T in range(HORIZON + 1):
            tail = sum(row)
            tail = F(int(sympy.fraction(tail)[0]), int(sympy.fraction(tail)[1]))
            if tail != hb["upper"][T] - hb["lower"][T]:
                fail(f"{system.describe()}: gap != P(tau > T) at T={T}")
            if tail > C * rho_hat**T:
                fail(f"{system.describe()}: gap {float(tail)} > C rho_hat^T at T={T}")
            row = row * Q
        # spectral radius by mpmath
        M = mpmath.matrix([[mpmath.mpf(int(sympy.fraction(Q[i, j])[0])) / int(sympy.fraction(Q[i, j])[1])
                            for j in range(n)] for i in range(n)])
        rho = max(abs(ev) for ev in mpmath.eig(M, left=False, right=False))
        if not (mpmath.mpf(lower.numerator) / lower.denominator <= rho + mpmath.mpf(10) ** -40):
            fail(f"{system.describe()}: certified lower bound {float(lower)} above rho {rho}")
        if not (rho <= mpmath.mpf(rho_hat.numerator) / rho_hat.denominator + mpmath.mpf(10) ** -40):
            fail(f"{system.describe()}: certified upper bound {float(rho_hat)} below rho {rho}")
        if not r["certificate_holds"] or r["verdict"] != "holds":
            fail(f"{system.describe()}: certificate not verified")
        # negative controls
        wrong = lb1_rate(chain, start, horizon=HORIZON, rho=lower * F(999, 1000))
        if wrong["certificate_holds"] or wrong["verdict"] != "fails":
            fail(f"{system.describe()}: a rho_hat below rho was not caught")
        rho_low = lower * F(9, 10)
        if all(g <= C * rho_low**T for T, g in enumerate(r["gap"])):
            fail(f"{system.describe()}: C rho^T with rho < rho(Q) never fell below the gap by T={HORIZON}")
        print(f"ok  {system.describe()}: {float(lower):.10f} <= rho = {mpmath.nstr(rho, 12)} <= {float(rho_hat):.10f}, "
              f"C = {float(C):.4g}, gap <= C rho_hat^T for T <= {HORIZON}")
    print("LB1 rate checks passed")


if __name__ == "__main__":
    main()
