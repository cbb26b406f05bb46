"""Check certified_enclosure.md (exits non-zero on failure).

1. Claim 1: for random absorbing chains, A = I - Q has A^{-1} >= 0 and
   A^{-1} = sum_k Q^k (sympy, exact rationals; the tail Q^k -> 0).
2. Claims 2-3: for random (also deliberately wrong) x and z, the vectors
   x +- delta z bracket x* exactly, and max(x - delta z, 0) too.
3. Claim 4: the integer identities d 2^E (b - A x) = 2^E B - d X + V X and
   d 2^F A z = d Z - V Z, and the exact residual update, on random dyadics.
4. The code path: certified_absorption contains the exact value on small
   chains of MODEL.md 2, and the MODEL.md 4 closed form at N = 30 (~1e-17).
5. An adversarial float solver that makes the lower end of the interval
   tight (estimate x* + eps z): the interval still contains x*, and x* sits
   at its lower end, so an interval narrower than delta z would miss it
   (tests/test_proofs.py halves the half-width and sees this fail).
6. Expected absorption times (b = 1): Claims 2-3 with b = 1 on random
   chains and wrong (t, z), and certified_expected_time against the exact
   expected_steps of analysis.absorb on small chains, also blockwise.
7. Wide fallback: on random blocks, c 1 is a super-solution, floor/ceil
   sweeps stay sub-/super-solutions, are monotone and bracket y exactly.
8. Adjoint enclosure (Claims 8-11): the identity x(s) = y^.b + r.x and the
   brackets (4) and (5) exactly on random chains with wrong y^; the integer
   form of r; the streamed code path against exact values; and an adversarial
   solver (r = eps e_t with x(t) = 1) that makes the upper end of (4)
   attained (tests/test_proofs.py halves the width and sees this fail).
"""

import random
import sys
from fractions import Fraction
from math import comb

import sympy as sp

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


rng = random.Random(20261125)


def random_absorbing(n_transient, n_closed, denominator):
    """Integer numerators V (transient x transient) and B (transient x closed) over d, rows summing to d,
    with every transient state reaching a closed one (state t can always exit or move to t+1)."""
    V, B = [], []
    for t in range(n_transient):
        weights = [rng.randrange(0, 4) for _ in range(n_transient + n_closed)]
        if t == n_transient - 1 or rng.random() < 0.3:
            weights[n_transient + rng.randrange(n_closed)] += 1  # an exit
        else:
            weights[t + 1] += 1  # a path onwards
        total = sum(weights)
        scale = denominator // total
        row = [w * scale for w in weights]
        row[t] += denominator - sum(row)  # the rest as a self-loop (keeps rows summing to d)
        V.append(row[:n_transient])
        B.append(row[n_transient:])
    return V, B


# 1. Claim 1 ---------------------------------------------------------------
ok_inverse, ok_series = True, True
for trial in range(6):
    n = rng.randrange(2, 6)
    d = 60
    V, B = random_absorbing(n, 2, d)
    Q = sp.Matrix(n, n, lambda i, j: sp.Rational(V[i][j], d))
    A = sp.eye(n) - Q
    Ainv = A.inv()
    ok_inverse &= all(x >= 0 for x in Ainv)
    partial, power = sp.zeros(n, n), sp.eye(n)
    for _ in range(400):
        partial += power
        power = power * Q
    ok_series &= max(abs(x) for x in (Ainv - partial)) < sp.Rational(1, 10**6) and all(x >= 0 for x in Ainv - partial)
check(ok_inverse, "Claim 1: (I - Q)^{-1} >= 0 entrywise on 6 random absorbing chains (sympy, exact)")
check(ok_series, "Claim 1: (I - Q)^{-1} - sum_{k<400} Q^k is >= 0 and < 1e-6 (the Neumann series)")


# 2. Claims 2-3 -------------------------------------------------------------
def solve_exact(V, b, d):
    n = len(V)
    A = sp.Matrix(n, n, lambda i, j: (1 if i == j else 0) - sp.Rational(V[i][j], d))
    x = A.LUsolve(sp.Matrix(b))
    return [Fraction(int(sp.fraction(v)[0]), int(sp.fraction(v)[1])) for v in x]


def apply_A(V, d, x):
    return [x[i] - sum(Fraction(V[i][j], d) * x[j] for j in range(len(x))) for i in range(len(x))]


ok_bracket, ok_clamped, ok_z = True, True, True
certified = 0
for trial in range(40):
    n = rng.randrange(2, 7)
    d = 2**rng.randrange(6, 10) * 3**rng.randrange(0, 3)  # d > largest weight total, so every exit survives
    V, B = random_absorbing(n, 2, d)
    b = [Fraction(row[0], d) for row in B]
    x_star = solve_exact(V, b, d)
    # an approximate x (possibly bad), and z: the expected time, perturbed
    x = [v + Fraction(rng.randrange(-1000, 1000), 10 ** rng.randrange(2, 8)) for v in x_star]
    t_star = solve_exact(V, [Fraction(1)] * n, d)
    z = [v * Fraction(rng.randrange(80, 120), 100) for v in t_star]
    Az = apply_A(V, d, z)
    mu = min(Az)
    if mu <= 0:
        continue  # the certificate needs A z > 0; the code refines z until it holds
    r = [bi - ai for bi, ai in zip(b, apply_A(V, d, x))]
    delta = max(abs(v) for v in r) / mu
    upper = [xi + delta * zi for xi, zi in zip(x, z)]
    lower = [xi - delta * zi for xi, zi in zip(x, z)]
    ok_bracket &= all(lo <= v <= hi for lo, v, hi in zip(lower, x_star, upper))
    ok_bracket &= all(u >= bb for u, bb in zip(apply_A(V, d, upper), b)) and all(l <= bb for l, bb in zip(apply_A(V, d, lower), b))
    clamped = [max(v, Fraction(0)) for v in lower]
    ok_clamped &= all(c <= v for c, v in zip(clamped, x_star)) and all(a <= bb for a, bb in zip(apply_A(V, d, clamped), b))
    ok_z &= all(v >= 0 for v in z)
    certified += 1
check(certified >= 10, f"Claims 2-3: {certified} of 40 random (x, z) pairs had A z > 0 and were checked")
check(ok_bracket, "Claims 2-3: x - delta z <= x* <= x + delta z, and A(x +- delta z) vs b, on those random chains with wrong x, z")
check(ok_clamped, "Claim 3: max(x - delta z, 0) is a sub-solution and below x*")
check(ok_z, "Claim 3: A z > 0 implies z >= 0")

# 3. Claim 4 --------------------------------------------------------------------
ok_identity, ok_update = True, True
for trial in range(30):
    n = rng.randrange(2, 6)
    d = rng.choice([48, 110592000000, 3 * 2**40])
    V, B = random_absorbing(n, 1, d)
    Bnum = [row[0] for row in B]
    E = rng.randrange(0, 120)
    X = [rng.randrange(-(2**E) - 5, 2**E + 5) for _ in range(n)]
    x = [Fraction(v, 2**E) for v in X]
    r = [Fraction(bv, d) - av for bv, av in zip(Bnum, apply_A(V, d, x))]
    R = [2**E * Bnum[i] - d * X[i] + sum(V[i][j] * X[j] for j in range(n)) for i in range(n)]
    ok_identity &= all(Fraction(Ri, d * 2**E) == ri for Ri, ri in zip(R, r))
    # exact update with a correction C / 2^F
    F = rng.randrange(0, 200)
    C = [rng.randrange(-(2**52), 2**52) for _ in range(n)]
    E2 = max(E, F)
    dAc = [d * C[i] - sum(V[i][j] * C[j] for j in range(n)) for i in range(n)]
    ok_identity &= all(Fraction(v, d * 2**F) == a for v, a in zip(dAc, apply_A(V, d, [Fraction(c, 2**F) for c in C])))
    R2 = [R[i] * 2 ** (E2 - E) - dAc[i] * 2 ** (E2 - F) for i in range(n)]
    x2 = [xi + Fraction(c, 2**F) for xi, c in zip(x, C)]
    r2 = [Fraction(bv, d) - av for bv, av in zip(Bnum, apply_A(V, d, x2))]
    ok_update &= all(Fraction(Ri, d * 2**E2) == ri for Ri, ri in zip(R2, r2))
check(ok_identity, "Claim 4: d 2^E (b - A x) = 2^E B - d X + V X and d 2^F A c = d C - V C (30 random dyadic cases)")
check(ok_update, "Claim 4: the exact residual update R' = 2^(E'-E) R - 2^(E'-F) (dC - VC) equals d 2^E' (b - A x')")

# 4. The code path -------------------------------------------------------------
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis.absorption import absorption_probabilities  # noqa: E402
from markovgmm.analysis.certified import certified_absorption  # noqa: E402

ok_code = True
for params, start in [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=3, components=2, memory=4, graph="path", schedule="async"), ((1, 3), (2, 2), (3, 1))),
    (dict(agents=2, components=3, memory=3), ((1, 1, 1), (2, 1, 0))),
]:
    chain = build_chain(System(**params))
    exact = absorption_probabilities(chain, chain.index(start)).polarization()
    box = certified_absorption(chain, start)
    ok_code &= box.lower <= exact <= box.upper and box.relative_width < 1e-12
check(ok_code, "code: certified_absorption contains the exact P(polarisation) on three small chains, width < 1e-12")
N = 30
chain = build_chain(System(agents=2, components=2, memory=N))
exact = sum(Fraction(1, comb(N + k, k)) for k in range(N - 1, N)) / sum(Fraction(1, comb(N + k, k)) for k in range(N))
box = certified_absorption(chain, ((N, 0), (N - 1, 1)))
check(box.lower <= exact <= box.upper and box.relative_width < 1e-12,
      f"code: MODEL.md 4 closed form {float(exact):.3e} (N = 30) inside the interval, relative width {box.relative_width:.1e}")


# 5. An adversarial, tight solver -------------------------------------------------
def adversarial_solver(epsilon):
    """A float solver whose first solve (the z of A z = 1) is a plain LU solve and whose later
    solves return A^{-1} r + epsilon max|r| z: the estimate is x* + epsilon' z, the residual
    -epsilon' A z ~ -epsilon' 1, so x - delta z lands on x* up to rounding and the lower end of
    the interval is tight.  An interval narrower than delta z (e.g. half of it) then misses x*."""
    import numpy as np
    from scipy.sparse.linalg import splu

    def factor(A):
        lu = splu(A.tocsc())
        z = lu.solve(np.ones(A.shape[0]))
        calls = [0]

        def solve(r):
            calls[0] += 1
            c = lu.solve(r)
            return c if calls[0] == 1 else c + epsilon * float(np.abs(r).max()) * z

        return solve

    return factor


TIGHT_CASES = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=3, components=2, memory=3, graph="path", schedule="async"), ((1, 2), (2, 1), (3, 0))),
]


def tight_violations(certify=certified_absorption, epsilon=1e-6):
    """With the adversarial solver and one refinement, the interval must contain the exact value,
    and the exact value must sit at its lower end (within 1e-6 of the width): otherwise the
    test would not notice an interval narrower than the proof allows."""
    out = []
    for params, start in TIGHT_CASES:
        chain = build_chain(System(**params))
        exact = absorption_probabilities(chain, chain.index(start)).polarization()
        box = certify(chain, start, float_solver=adversarial_solver(epsilon), max_refinements=1)
        if not box.lower <= exact <= box.upper:
            out.append(f"{params}: exact {float(exact):.17g} outside [{float(box.lower):.17g}, {float(box.upper):.17g}]")
        elif (exact - box.lower) > Fraction(1, 10**6) * (box.upper - box.lower):
            out.append(f"{params}: the adversarial solver did not make the lower end tight")
    return out


bad = tight_violations()
check(not bad, "adversarial tight solver (estimate x* + eps z): the interval contains x*, which sits at its lower end" + (f": {bad}" if bad else ""))


# 6. Expected absorption times: b = 1 ---------------------------------------------
ok_time, checked = True, 0
for trial in range(30):
    n = rng.randrange(2, 7)
    d = 2**rng.randrange(6, 10) * 3**rng.randrange(0, 3)
    V, _B = random_absorbing(n, 2, d)
    ones = [Fraction(1)] * n
    t_star = solve_exact(V, ones, d)
    t = [v + Fraction(rng.randrange(-1000, 1000), 10 ** rng.randrange(2, 8)) for v in t_star]
    z = [v * Fraction(rng.randrange(80, 120), 100) for v in t_star]
    mu = min(apply_A(V, d, z))
    if mu <= 0:
        continue
    r = [1 - a for a in apply_A(V, d, t)]
    delta = max(abs(v) for v in r) / mu
    upper = [ti + delta * zi for ti, zi in zip(t, z)]
    lower = [max(ti - delta * zi, Fraction(0)) for ti, zi in zip(t, z)]
    ok_time &= all(lo <= v <= hi for lo, v, hi in zip(lower, t_star, upper))
    ok_time &= all(u >= 1 for u in apply_A(V, d, upper)) and all(a <= 1 for a in apply_A(V, d, lower))
    checked += 1
check(checked >= 10 and ok_time, f"Claims 2-3 with b = 1: max(t - delta z, 0) <= E[tau] <= t + delta z on {checked} random chains with wrong t, z")

from markovgmm.analysis import absorb  # noqa: E402
from markovgmm.analysis.certified import certified_expected_time  # noqa: E402
import numpy as np  # noqa: E402

ok_code_time = True
for params, start, solver in [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2)), None),
    (dict(agents=3, components=2, memory=4, graph="path", schedule="async"), ((1, 3), (2, 2), (3, 1)), None),
    (dict(agents=3, components=2, memory=6, graph="path"), ((3, 3), (2, 4), (4, 2)), lambda A: np.zeros_like),
]:
    chain = build_chain(System(**params))
    exact = absorb(chain, start)["expected_steps"]
    box = certified_expected_time(chain, start, float_solver=solver)
    ok_code_time &= box.lower <= exact <= box.upper and box.relative_width < 1e-12
check(ok_code_time, "code: certified_expected_time contains the exact E[tau] on three small chains (one blockwise), width < 1e-12")


# 7. Wide fallback: maximum principle + monotone sweeps ----------------------------
ok_sweeps, tried = True, 0
for trial in range(20):
    n = rng.randrange(2, 7)
    d = 2**rng.randrange(6, 10)
    V, _B = random_absorbing(n, 2, d)
    r = [rng.randrange(0, 10**6) if sum(V[i]) < d else 0 for i in range(n)]
    y = solve_exact(V, [Fraction(v, d) for v in r], d)  # (I - V/d) y = r/d, i.e. (d I - V) y = r
    c = max([-((-r[i]) // (d - sum(V[i]))) for i in range(n) if sum(V[i]) < d], default=0)
    lo, hi = [0] * n, [c] * n
    for _ in range(60):
        def step(x, up):
            out = []
            for i in range(n):
                t = r[i] + sum(V[i][j] * x[j] for j in range(n))
                out.append(-((-t) // d) if up else t // d)
            return out
        new_lo, new_hi = step(lo, False), step(hi, True)
        ok_sweeps &= all(a <= b for a, b in zip(lo, new_lo)) and all(a >= b for a, b in zip(hi, new_hi))
        lo, hi = new_lo, new_hi
        dA = lambda x: [d * x[i] - sum(V[i][j] * x[j] for j in range(n)) for i in range(n)]  # noqa: E731
        ok_sweeps &= all(a <= b for a, b in zip(dA(lo), r)) and all(a >= b for a, b in zip(dA(hi), r))
        ok_sweeps &= all(a <= v <= b for a, v, b in zip(lo, y, hi))
    tried += 1
check(ok_sweeps, f"wide fallback: c 1 and ceil sweeps are super-solutions, floor sweeps sub-solutions, monotone, bracketing y ({tried} random blocks x 60 sweeps)")


# 8. Adjoint enclosure (streamed exact rows) ---------------------------------------
def solve_transposed(V, rhs, d):
    n = len(V)
    AT = sp.Matrix(n, n, lambda i, j: (1 if i == j else 0) - sp.Rational(V[j][i], d))
    y = AT.LUsolve(sp.Matrix(rhs))
    return [Fraction(int(sp.fraction(v)[0]), int(sp.fraction(v)[1])) for v in y]


ok_identity, ok_bracket4, ok_integer, ok_steps, steps_checked = True, True, True, True, 0
for trial in range(30):
    n = rng.randrange(2, 7)
    d = 2**rng.randrange(6, 10) * 3**rng.randrange(0, 3)
    V, B = random_absorbing(n, 3, d)
    s_ = rng.randrange(n)
    e_s = [Fraction(int(i == s_)) for i in range(n)]
    y = solve_transposed(V, e_s, d)
    E = rng.randrange(10, 40)
    Y = [int(round(v * 2**E)) + rng.randrange(-50, 50) for v in y]  # a wrong dyadic y^ = Y / 2^E
    y_hat = [Fraction(v, 2**E) for v in Y]
    ATy = [y_hat[j] - sum(Fraction(V[i][j], d) * y_hat[i] for i in range(n)) for j in range(n)]
    r = [a - b for a, b in zip(e_s, ATy)]
    # Claim 10: d 2^E r = d 2^E e_s - d Y + V^T Y, integers
    R = [d * 2**E * int(i == s_) - d * Y[i] + sum(V[k][i] * Y[k] for k in range(n)) for i in range(n)]
    ok_integer &= all(Fraction(Ri, d * 2**E) == ri for Ri, ri in zip(R, r))
    for c in range(3):
        b = [Fraction(row[c], d) for row in B]
        x = solve_exact(V, b, d)
        centre = sum(a * bb for a, bb in zip(y_hat, b))
        ok_identity &= x[s_] == centre + sum(ri * xi for ri, xi in zip(r, x)) and x[s_] == sum(a * bb for a, bb in zip(y, b))
        lower, upper = centre + sum(min(v, 0) for v in r), centre + sum(max(v, 0) for v in r)
        ok_bracket4 &= lower <= x[s_] <= upper and all(0 <= xi <= 1 for xi in x)
        ok_integer &= d * 2**E * centre == sum(a * row[c] for a, row in zip(Y, B))
    # Claim 11: a super-solution u (A u >= 1, checked) of the expected times bounds E_s[tau] through r
    t_star = solve_exact(V, [Fraction(1)] * n, d)
    grow = Fraction(rng.randrange(100, 130), 100)  # a common factor keeps A u >= 1; the noise may break it (then skipped)
    u = [v * grow + Fraction(rng.randrange(0, 5), 1000) for v in t_star]
    if all(a >= 1 for a in apply_A(V, d, u)):
        steps = t_star[s_]
        low = sum(y_hat) + sum(min(ri * ui, 0) for ri, ui in zip(r, u))
        high = sum(y_hat) + sum(max(ri * ui, 0) for ri, ui in zip(r, u))
        ok_steps &= low <= steps <= high and steps == sum(y_hat) + sum(ri * ti for ri, ti in zip(r, t_star))
        steps_checked += 1
check(ok_identity, "Claim 8: x_C(s) = y . b_C = y^ . b_C + r . x_C exactly, 30 random chains x 3 targets, wrong y^")
check(ok_steps and steps_checked >= 10, f"Claim 11: y^ . 1 + sum min(r u, 0) <= E_s[tau] <= y^ . 1 + sum max(r u, 0) for A u >= 1 ({steps_checked} chains)")
check(ok_bracket4, "Claim 9: y^ . b_C + sum r^- <= x_C(s) <= y^ . b_C + sum r^+ on the same chains")
check(ok_integer, "Claim 10: d 2^E r = d 2^E e_s - d Y + V^T Y and d 2^E (y^ . b_C) = Y . B_C")

from markovgmm.chain.lumped import build_lumped_chain, build_streamed_chain  # noqa: E402
from markovgmm.analysis.certified import certified_absorb  # noqa: E402
from markovgmm.analysis.absorption import absorb  # noqa: E402
from markovgmm.analysis.classes import closed_classes  # noqa: E402

ok_streamed = True
for params in (dict(agents=4, components=2, memory=4), dict(agents=3, components=3, memory=3), dict(agents=5, components=2, memory=3)):
    system = System(**params)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    for start in np.flatnonzero(closed_classes(stored).class_of < 0)[:3].tolist():
        report = certified_absorb(streamed, start)
        exact = absorption_probabilities(stored, start)
        lo, hi = (Fraction(v) for v in report["polarization_interval"])
        ok_streamed &= lo <= exact.polarization() <= hi and report["relative_width"] < 1e-12
        lo, hi = (Fraction(v) for v in report["consensus_interval"])
        ok_streamed &= lo <= exact.consensus() <= hi
        lo, hi = (Fraction(v) for v in report["expected_steps_interval"])
        steps = absorb(stored, start)["expected_steps"]
        ok_streamed &= lo <= steps <= hi and hi - lo <= Fraction(1, 10**12) * steps
check(ok_streamed, "adjoint code path: certified_absorb on streamed chains contains the exact P(polarisation), P(consensus), E[tau]")

ADJOINT_CASE = (dict(agents=3, components=2, memory=4), ((2, 2), (2, 2), (2, 2)), ((4, 0), (0, 4), (2, 2)))


def adjoint_solver_towards(target_state, epsilon):
    """A float solver whose first answer is y - eps A^{-T} e_t (y = A^{-T} e_s from the exact chain):
    the residual is then eps e_t, and with x(t) = 1 the upper end of (4) is attained."""
    def factory(chain, transient):
        from markovgmm.analysis.linalg import submatrix

        stored = build_lumped_chain(chain.system)
        rows, cols, vals, n = submatrix(stored, transient, transient)
        A = np.eye(n)
        A[rows, cols] -= np.array([float(Fraction(int(v), int(stored.denominator))) for v in vals])
        t = int(np.searchsorted(transient, target_state))
        w = np.linalg.solve(A.T, np.eye(n)[t])

        def solve(r):
            return np.linalg.solve(A.T, r) - epsilon * w * float(np.abs(r).max())
        return solve
    return factory


def adjoint_tight_violations(certify=None, epsilon=1e-6):
    """With the adversarial solver and one refinement, the interval must contain the exact value,
    and the exact value must sit at its upper end (within 1e-6 of the width)."""
    from markovgmm.analysis.certified import certified_absorption as certify_default

    certify = certify or certify_default
    params, start, free = ADJOINT_CASE
    system = System(**params)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    t = stored.index(free)
    if absorption_probabilities(stored, t).polarization() != 1:
        return ["the adversarial state does not polarise with probability 1"]
    exact = absorption_probabilities(stored, stored.index(start)).polarization()
    box = certify(streamed, start, float_solver=adjoint_solver_towards(t, epsilon), max_refinements=1)
    if not box.lower <= exact <= box.upper:
        return [f"exact {float(exact):.17g} outside [{float(box.lower):.17g}, {float(box.upper):.17g}]"]
    if (box.upper - exact) > Fraction(1, 10**6) * (box.upper - box.lower):
        return ["the adversarial solver did not make the upper end tight"]
    return []


bad = adjoint_tight_violations()
check(not bad, "adjoint, adversarial solver (r = eps e_t, x(t) = 1): the interval contains x(s), which sits at its upper end" + (f": {bad}" if bad else ""))

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
