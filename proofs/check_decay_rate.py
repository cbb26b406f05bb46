"""Check proofs/decay_rate.md (sympy, exact Fractions on the chain, mpmath).  Exits non-zero on the first failure."""

import math
import sys
from fractions import Fraction as F
from pathlib import Path

import mpmath
import sympy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis import absorb  # noqa: E402
from markovgmm.analysis.classes import closed_classes  # noqa: E402
from markovgmm.analysis.decay import (  # noqa: E402
    path_lower_bound,
    path_rate,
    path_rate_enclosure,
    path_steps,
    time_lower_bound,
)
from markovgmm.system import balanced_counts  # noqa: E402


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def start(m, N):
    return tuple(balanced_counts(N, 2) for _ in range(m))


# ---------------------------------------------------------------------------
# 1. algebra (sympy)


def check_algebra():
    q, x = sympy.symbols("q x")
    u, d = (1 - x) * q, x * (1 - q)
    if sympy.simplify(u - d - (q - x)) != 0:
        fail("u - d != q - x")
    if sympy.simplify(u + d - (q + x - 2 * q * x)) != 0:
        fail("s != q + x - 2qx")
    N = sympy.symbols("N", positive=True)
    for m in (2, 3, 4):
        xs = sympy.symbols(f"x0:{m}")
        qq = sum(xs) / m
        drift = sum(2 * N * (xi - sympy.Rational(1, 2)) * (qq - xi) + (qq + xi - 2 * qq * xi) for xi in xs)
        claim = -2 * N * sum((xi - qq) ** 2 for xi in xs) + 2 * m * qq * (1 - qq)
        if sympy.expand(drift - claim) != 0:
            fail(f"E[Delta W] identity, m={m}")
        # 2 m q (1 - q) <= m/2 with equality at q = 1/2
        if sympy.simplify(sympy.Rational(m, 2) - 2 * m * q * (1 - q) - 2 * m * (q - sympy.Rational(1, 2)) ** 2) != 0:
            fail(f"m/2 - 2mq(1-q) is not 2m(q-1/2)^2, m={m}")
    print("algebra: u-d, s, E[Delta W] identity (m=2,3,4), 2mq(1-q) <= m/2: ok")


# ---------------------------------------------------------------------------
# 2. the paths on the full chain


def orientation_states(m, N, lone, c):
    """The path of orientation (lone, c) as full-chain states, with the script's p_t, h_t."""
    x0 = -(-N // 2) if c == 0 else N // 2
    out = []
    for x, p, h in path_steps(m, N, x0, lone=lone):
        label0 = [xi if c == 0 else N - xi for xi in x]
        out.append((tuple((a, N - a) for a in label0), p, h))
    return out


def literal_step(m, N, a, lone, c):
    """p and h of the proof's formula, written out again in label-0 counts."""
    q0 = F(sum(a), m * N)
    qc = q0 if c == 0 else 1 - q0
    p, h = F(1), F(1)
    for i, ai in enumerate(a):
        if not 0 < ai < N:
            continue
        xc = F(ai, N) if c == 0 else F(N - ai, N)
        p *= xc * (1 - qc) if i == lone else (1 - xc) * qc
        x = F(ai, N)
        h *= 1 - (q0 + x - 2 * q0 * x)
    return p, h


def check_paths():
    for m, Ns in ((2, range(2, 8)), (3, range(2, 6))):
        for N in Ns:
            chain = build_chain(System(agents=m, components=2, memory=N))
            structure = closed_classes(chain)
            firsts = set()
            values = {}
            for lone in range(m):
                for c in (0, 1):
                    states = orientation_states(m, N, lone, c)
                    value = F(1)
                    for (s, p, h), (t, _, _) in zip(states, states[1:]):
                        i, j = chain.index(s), chain.index(t)
                        if chain.probability(i, j) != p or chain.probability(i, i) != h:
                            fail(f"m={m} N={N} lone={lone} c={c}: step {s}->{t} p/h differ from the chain")
                        lp, lh = literal_step(m, N, [a for a, _ in s], lone, c)
                        if (lp, lh) != (p, h):
                            fail(f"m={m} N={N}: literal formula differs at {s}")
                        if structure.class_of[i] >= 0:
                            fail(f"m={m} N={N}: path state {s} is in a closed class")
                        value *= p / (1 - h)
                    last = chain.index(states[-1][0])
                    k = structure.class_of[last]
                    if k < 0 or structure.classes[k].kind != "polarised":
                        fail(f"m={m} N={N}: path end {states[-1][0]} is not a polarised closed class")
                    firsts.add(states[1][0])
                    values[(lone, c)] = value
            expected = 2 if m == 2 else 2 * m
            if len(firsts) != expected:
                fail(f"m={m} N={N}: {len(firsts)} distinct first steps, expected {expected}")
            if len(set(values.values())) != 1 and m >= 3:
                # V does not depend on the lone agent (agent symmetry); both labels may differ for odd N
                for c in (0, 1):
                    if len({values[(l, c)] for l in range(m)}) != 1:
                        fail(f"m={m} N={N}: V depends on the lone agent")
            if m == 2 and values[(0, 1)] != values[(0, 0)]:
                fail(f"m=2 N={N}: the label-1 orientation has a different value")
            # the code's L_N is the sum over the distinct orientations
            if m == 2:
                total = values[(0, 0)] + values[(1, 0)]
            else:
                total = sum(values.values())
            if total != path_lower_bound(m, N):
                fail(f"m={m} N={N}: path_lower_bound {path_lower_bound(m, N)} != sum over orientations {total}")
    print("paths: p_t, h_t equal the full chain's, ends polarised, disjoint orientations, L_N = their sum: ok")


# ---------------------------------------------------------------------------
# 3. bounds against exact values


def exact_values(m, N):
    chain = build_chain(System(agents=m, components=2, memory=N), lump=True)
    rep = absorb(chain, start(m, N))
    return chain, rep["polarization"], rep["expected_steps"]


def solve_fractions(A, b):
    n = len(A)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        p = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        inv = 1 / M[c][c]
        M[c] = [v * inv for v in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [a - f * bb for a, bb in zip(M[r], M[c])]
    return [M[i][n] for i in range(n)]


def first_freeze_time(chain, m, N):
    """E[tau_1] exactly: expected steps until some agent is at a vertex (lumped chain)."""
    inner = [s for s in range(chain.n_states) if all(0 < c[0] < N for c in chain.counts(s))]
    pos = {s: k for k, s in enumerate(inner)}
    A = [[F(0)] * len(inner) for _ in inner]
    for s in inner:
        k = pos[s]
        A[k][k] += 1
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        for t, v in zip(chain.indices[lo:hi].tolist(), chain.values[lo:hi].tolist()):
            if t in pos:
                A[k][pos[t]] -= F(int(v), chain.denominator)
    t = solve_fractions(A, [F(1)] * len(inner))
    return t[pos[chain.index(start(m, N))]]


def violations(bound, cases):
    return [(m, N) for (m, N), value in cases.items() if bound(m, N) > value]


def check_bounds():
    P, E, T1 = {}, {}, {}
    for m, Ns in ((2, range(2, 15)), (3, range(2, 10))):
        for N in Ns:
            chain, p, e = exact_values(m, N)
            P[(m, N)], E[(m, N)] = p, e
            if N <= 8 - 2 * (m - 2):
                T1[(m, N)] = first_freeze_time(chain, m, N)
    bad = violations(path_lower_bound, P)
    if bad:
        fail(f"L_N > P_N at {bad}")
    if not violations(lambda m, N: 3 * path_lower_bound(m, N), P):
        fail("the check does not catch the inflated bound 3 L_N")
    bad = violations(time_lower_bound, E)
    if bad:
        fail(f"time bound > E_N at {bad}")
    bad = violations(time_lower_bound, T1)
    if bad:
        fail(f"time bound > E[tau_1] at {bad}")
    if any(T1[k] > E[k] for k in T1):
        fail("E[tau_1] > E[tau]")
    if not violations(lambda m, N: F(N * N), E):
        fail("the check does not catch the bound N^2 (without 1/(2m))")
    print(f"bounds: L_N <= P_N ({len(P)} cases), (N^2 - m[N odd])/(2m) <= E[tau_1] <= E_N ({len(T1)} cases), "
          "inflated bounds caught: ok")


# ---------------------------------------------------------------------------
# 4. the rate


def log_L(m, N):
    vals = []
    for x0 in sorted({-(-N // 2), N // 2}):
        if m == 2 and x0 != -(-N // 2):
            continue
        s = 0.0
        for _, p, h in path_steps(m, N, x0)[:-1]:
            s += math.log(p) - math.log(1 - h)
        vals.append(s)
    top = max(vals)
    total = top + math.log(sum(math.exp(v - top) for v in vals))
    return total + math.log(2 if m == 2 else m * (1 if len(vals) == 2 else 2))


def check_rate():
    mpmath.mp.dps = 30
    closed = 1 + math.log(2) + math.log(3) / 2
    if abs(path_rate(2) - closed) > 1e-12:
        fail(f"alpha_2 {path_rate(2)} != 1 + log 2 + log(3)/2 = {closed}")
    for m in (2, 3):
        alpha = path_rate(m)
        # log_L agrees with the exact Fraction at small N
        for N in (4, 7, 10):
            if abs(log_L(m, N) - math.log(path_lower_bound(m, N))) > 1e-9:
                fail(f"log L_N (floats) disagrees with the exact L_N at m={m} N={N}")
        for parity in (0, 1):
            gaps = [abs(-log_L(m, N) / N - alpha) for N in (500 + parity, 1000 + parity, 2000 + parity, 4000 + parity)]
            if not all(a > b for a, b in zip(gaps, gaps[1:])) or gaps[-1] > 0.01:
                fail(f"-(1/N) log L_N does not approach alpha_{m} = {alpha} (parity {parity}): {gaps}")
        print(f"rate: alpha_{m} = {alpha:.6f}; |-(1/N) log L_N - alpha| at N = 4000/4001 below 0.01, decreasing: ok")


def last_step_factors(m, N):
    """Odd N: the factor p/(1-h) of the last step of the label-0 path (the lone agent alone, 1 -> 0) and of the
    label-1 path (all m-1 non-lone agents together, N-1 -> N, the lone agent frozen), with the states checked."""
    out = []
    for x0, who in ((-(-N // 2), "lone"), (N // 2, "others")):
        steps = path_steps(m, N, x0)
        x, p, h = steps[-2]
        moving = [i for i, xi in enumerate(x) if 0 < xi < N]
        if who == "lone" and (moving != [m - 1] or x[-1] != 1):
            fail(f"m={m} N={N}: the label-0 path's last step is not the lone agent's 1 -> 0 ({x})")
        if who == "others" and (moving != list(range(m - 1)) or x[-1] != 0 or set(x[:-1]) != {N - 1}):
            fail(f"m={m} N={N}: the label-1 path's last step is not the others' N-1 -> N ({x})")
        # earlier steps all move the lone agent and all others together (the even-N pattern)
        for y, _, _ in steps[:-2]:
            if any(not 0 < yi < N for yi in y):
                fail(f"m={m} N={N}: a vertex agent before the last step ({y})")
        out.append(p / (1 - h))
    return out


def check_odd_last_steps():
    old_claim_fails = []
    for m in range(2, 7):
        for N in range(3, 42, 2):
            f_lone, f_others = last_step_factors(m, N)
            if not F(N - 1, m * N * N) <= f_lone <= 1:
                fail(f"m={m} N={N}: last-step factor {f_lone} outside [(N-1)/(m N^2), 1]")
            if not F(1, (4 * N) ** (m - 1)) <= f_others <= 1:
                fail(f"m={m} N={N}: label-1 last-step factor {f_others} outside [(4N)^-(m-1), 1]")
            if not f_lone >= F(1, N * N):
                old_claim_fails.append((m, N))
    if (4, 3) not in old_claim_fails or F(1, 11) != last_step_factors(4, 3)[0]:
        fail("the former claim 'between 1/N^2 and 1' is not caught at m=4, N=3 (factor 1/11)")
    print(f"odd N: last-step factors in [(N-1)/(mN^2), 1] and [(4N)^-(m-1), 1] (m=2..6, N=3..41); the former "
          f"lower end 1/N^2 fails at {old_claim_fails[:4]}: ok")


def check_rate_enclosure():
    """path_rate_enclosure (proven) contains the closed form (m=2, interval arithmetic) and the float path_rate."""
    from mpmath import iv
    from mpmath.libmp import to_rational

    iv.dps = 60
    closed = 1 + iv.log(2) + iv.log(3) / 2
    iv.dps = 15
    c_lo, c_hi = (F(*to_rational(e)) for e in closed._mpi_)
    for m in (2, 3, 4):
        lo, hi = path_rate_enclosure(m)
        if not 0 <= hi - lo < F(1, 10**6):
            fail(f"alpha_{m} enclosure too wide: {float(hi - lo)}")
        if m == 2 and not lo <= c_lo <= c_hi <= hi:
            fail("alpha_2 enclosure misses the closed form")
        a = F(path_rate(m))
        if not lo - F(1, 10**15) <= a <= hi + F(1, 10**15):
            fail(f"path_rate({m}) = {float(a)} outside its proven enclosure [{float(lo)}, {float(hi)}]")
        print(f"rate enclosure: alpha_{m} in [{float(lo):.10f}, {float(hi):.10f}] (width {float(hi - lo):.1e}), "
              "path_rate inside: ok")


def main():
    check_algebra()
    check_paths()
    check_odd_last_steps()
    check_bounds()
    check_rate()
    check_rate_enclosure()
    print("all checks passed")


if __name__ == "__main__":
    main()
