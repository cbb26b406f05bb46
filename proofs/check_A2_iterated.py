"""Check the algebra of A2_iterated.md (exits non-zero on failure).

1. (**) solves the recursion E[d_{u+1}] = a E[d_u] + rho E[e_u]: sympy, with
   a, rho, d_0 and the sequence e_0..e_7 symbolic.
2. On built chains (exact), the gap of A2 computed from the propagated
   weights (claims.a2_check) equals rho * sum a^(t-1-u) E[p_i - p_j](S_u)
   computed from the propagated incoming laws: two different computations.
3. t* = 1 + first u with E[e(S_u)] != 0, and A2 holds at a symmetric start.
"""

import sys
from fractions import Fraction

import numpy as np
import sympy as sp

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


# 1. the recursion and its solution
a, rho, d0 = sp.symbols("a rho d0")
e = sp.symbols("e0:8")
d = d0
ok = True
for t in range(1, 8):
    d = a * d + rho * e[t - 1]
    closed = a**t * d0 + rho * sum(a ** (t - 1 - u) * e[u] for u in range(t))
    ok &= sp.expand(d - closed) == 0
check(ok, "(**) solves E[d_{u+1}] = a E[d_u] + rho E[e_u] for t <= 7 (symbolic)")

# 2-3. on built chains
from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis.claims import _incoming_laws, a1_factor, a2_check, moment_series  # noqa: E402
from markovgmm.analysis.propagation import propagate  # noqa: E402

cases = [
    (dict(agents=2, components=2, memory=3), ((3, 0), (1, 2)), True),
    (dict(agents=3, components=2, memory=2, schedule="async"), ((2, 0), (1, 1), (1, 1)), True),
    (dict(agents=3, components=2, memory=2, graph="path", ownership="open"), ((2, 0), (1, 1), (0, 2)), True),
    (dict(agents=2, components=2, memory=4), ((3, 1), (2, 2)), True),  # no distortion at u = 0: t* = 2
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2)), False),
]
horizon = 8
for kwargs, start, expect_failure in cases:
    system = System(**kwargs)
    chain = build_chain(system)
    s0 = chain.index(start)
    result = a2_check(chain, moment_series(chain, s0, horizon))
    q, p, D = _incoming_laws(chain)
    factor = a1_factor(system)
    rate = 1 - factor
    m, K = system.agents, system.components
    expected_e = []  # E[p_i - p_j](S_u) per pair and k
    for law in propagate(chain, s0, horizon):
        values = {}
        for i in range(m):
            for j in range(i + 1, m):
                for k in range(K):
                    numer = (p[:, i, k] - p[:, j, k])[law.states].astype(object)
                    values[(i, j, k)] = Fraction(int(np.dot(law.weights, numer)), law.scale * D)
        expected_e.append(values)
    gaps = []
    for t in range(horizon + 1):
        gap = max(abs(rate * sum((factor ** (t - 1 - u) * expected_e[u][key] for u in range(t)), Fraction(0))) for key in expected_e[0])
        gaps.append(gap)
    label = ",".join(f"{k}={v}" for k, v in kwargs.items())
    check(result["gap"] == gaps, f"{label}: A2 gap equals rho sum a^(t-1-u) E[p_i - p_j](S_u) for t <= {horizon}")
    first_u = next((u for u, vals in enumerate(expected_e) if any(vals.values())), None)
    t_star = None if first_u is None or first_u + 1 > horizon else first_u + 1
    check(result["first_failure"] == t_star, f"{label}: first failure t* = 1 + first u with E[e(S_u)] != 0 (= {t_star})")
    check((t_star is not None) == expect_failure, f"{label}: A2 {'fails' if expect_failure else 'holds (symmetric start)'}")

sys.exit(1 if failures else 0)
