"""Check LB3 (proofs/LB3_closed_form.md) with sympy.

1. Symbolic: one divergence step keeps q; step probabilities; d_j/u_j = j/(N+j)
   (and j/((m-1)N+j) for m agents).
2. The products P_1 and P_2 equal their rising-factorial forms, and the code's
   closed_form_bound / closed_form_two_phase equal them (m = 2).
3. Lemma 1: the birth-death chain solved exactly (sympy linear solve) for
   N = 1..10 and every y equals the closed formula.
4. On the chain: the closed form equals the product of the chain's transition
   probabilities along divergence_path; frozen_polarization equals the chain's
   exact absorption probability from every one-frozen state; and
   closed_form <= closed_form_two_phase <= P(polarisation) from every start.
5. The same for m = 3, 4 agents (Lemma 1 with (m-1)N, the lone-agent path).
Exits non-zero on the first failure.
"""

import sys
from fractions import Fraction

import sympy
from sympy import Rational, binomial, rf, simplify, symbols

from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.bounds import closed_form_bound, closed_form_two_phase, divergence_path, frozen_polarization


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def check_symbolic():
    N, h, l, j, m = symbols("N h l j m", positive=True)
    # Lemma 1 for m agents: m-1 frozen on L, pool frequency of L is ((m-1)N + j)/(mN).
    pool_m = ((m - 1) * N + j) / (m * N)
    ratio_m = ((j / N) * (1 - pool_m)) / (((N - j) / N) * pool_m)
    if simplify(ratio_m - j / ((m - 1) * N + j)) != 0:
        fail("m agents: d_j / u_j != j / ((m-1) N + j)")
    q = (h + l) / (2 * N)
    q_after = ((h + 1) + (l - 1)) / (2 * N)
    if simplify(q - q_after) != 0:
        fail("q is not invariant along the divergence step")
    # Frozen phase: pool frequency of the frozen label L is (N + j)/(2N).
    pool = (N + j) / (2 * N)
    down = (j / N) * (1 - pool)
    up = ((N - j) / N) * pool
    if simplify(down / up - j / (N + j)) != 0:
        fail("d_j / u_j != j / (N + j)")
    if simplify(down - j * (N - j) / (2 * N**2)) != 0:
        fail("d_j != j (N - j) / (2 N^2)")
    print("ok  symbolic: q invariant, d_j/u_j = j/(N+j), d_j = j(N-j)/(2N^2)")


def check_products():
    for N in range(1, 9):
        system = System(agents=2, components=2, memory=N)
        for h in range(1, N):
            for l in range(1, h + 1):
                s = min(N - h, l)
                q = Rational(h + l, 2 * N)
                direct = sympy.prod([Rational((N - h - i) * (l - i), N**2) * q * (1 - q) for i in range(s)])
                closed = rf(N - h - s + 1, s) * rf(l - s + 1, s) * (q * (1 - q)) ** s / N ** (2 * s)
                if direct != closed:
                    fail(f"P_1 product != rising-factorial form at N={N}, h={h}, l={l}")
                # The code's value equals the rising-factorial closed form P_1 P_2 (and P_1 h(y)).
                y = h + l - N if N - h <= l else N - h - l
                P2 = rf(1, y) * rf(N - y, y) / (2 * N**2) ** y
                for start in (((h, N - h), (l, N - l)), ((l, N - l), (h, N - h))):
                    code = closed_form_bound(system, start)
                    if Rational(code.numerator, code.denominator) != closed * P2:
                        fail(f"closed_form_bound != rising-factorial formula at N={N}, start {start}")
                    code = closed_form_two_phase(system, start)
                    hy = frozen_polarization(N, y)
                    if Rational(code.numerator, code.denominator) != closed * Rational(hy.numerator, hy.denominator):
                        fail(f"closed_form_two_phase != P_1 h(y) at N={N}, start {start}")
        for y in range(0, N + 1):
            direct = sympy.prod([Rational(j * (N - j), 2 * N**2) for j in range(1, y + 1)])
            closed = rf(1, y) * rf(N - y, y) / (2 * N**2) ** y
            if direct != closed:
                fail(f"P_2 product != rising-factorial form at N={N}, y={y}")
    print("ok  P_1 and P_2 equal their rising-factorial forms, and the code equals them (m = 2, N <= 8)")


def check_birth_death_m_agents():
    for m in (3, 4):
        for N in range(1, 7):
            hs = symbols(f"h0:{N + 1}")
            equations = [sympy.Eq(hs[0], 1), sympy.Eq(hs[N], 0)]
            for j in range(1, N):
                d = Rational(j * (N - j), m * N**2)
                u = Rational((N - j) * ((m - 1) * N + j), m * N**2)
                equations.append(sympy.Eq(hs[j], d * hs[j - 1] + u * hs[j + 1] + (1 - d - u) * hs[j]))
            solution = sympy.solve(equations, hs, dict=True)[0]
            for y in range(N + 1):
                code = frozen_polarization(N, y, m)
                if solution[hs[y]] != Rational(code.numerator, code.denominator):
                    fail(f"m={m}: birth-death solution != frozen_polarization at N={N}, y={y}")
    print("ok  Lemma 1 for m = 3, 4 agents: birth-death chain solved exactly equals the formula (N = 1..6)")


def check_on_chain_m_agents():
    from itertools import product

    for m, Ns in ((3, (2, 3, 4)), (4, (2, 3))):
        for N in Ns:
            system = System(agents=m, components=2, memory=N)
            chain = build_chain(system)
            every = absorption_probabilities(chain)
            # Lemma 1: all agents but the last frozen on label 0 (or 1), the last holding y of that label.
            for y in range(N + 1):
                for frozen, moving in ((((N, 0),), (y, N - y)), (((0, N),), (N - y, y))):
                    for position in range(m):
                        state = [frozen[0]] * m
                        state[position] = moving
                        value = every.polarization(every.row_of(chain.index(tuple(state))))
                        if value != frozen_polarization(N, y, m):
                            fail(f"m={m}, N={N}: chain P(polarisation) from {state} != h_m({y})")
            for xs in product(range(N + 1), repeat=m):
                start = tuple((x, N - x) for x in xs)
                exact = every.polarization(every.row_of(chain.index(start)))
                bound, two = closed_form_bound(system, start), closed_form_two_phase(system, start)
                if not bound <= two <= exact:
                    fail(f"m={m}, N={N}, start {start}: closed_form <= two_phase <= exact fails")
                path = divergence_path(system, start)
                if path is None:
                    if bound != 0:
                        fail(f"m={m}, N={N}, start {start}: no path but bound {bound}")
                    continue
                product_ = Fraction(1)
                for s, t in zip(path, path[1:]):
                    product_ *= chain.probability(chain.index(s), chain.index(t))
                if product_ != bound:
                    fail(f"m={m}, N={N}, start {start}: chain path product {product_} != closed form {bound}")
    print("ok  m = 3, 4 on the chain: Lemma 1, path products, closed_form <= two_phase <= exact")


def proof_step(N, x, lone, interior_only=True):
    """One step of the m-agent path as LB3_closed_form.md writes it (lone agent loses a label-0
    item, every other agent gains one): the next counts and the step probability
    prod_{i != lone, 0 < x_i < N} (N - x_i)/N q * [x_lone/N (1 - q) if 0 < x_lone < N].
    ``interior_only=False`` is the earlier, wrong statement (x_i < N resp. x_lone > 0 only)."""
    m = len(x)
    q = Fraction(sum(x), m * N)
    probability, nxt = Fraction(1), list(x)
    for i in range(m):
        moving = 0 < x[i] < N
        if i == lone:
            if moving or (not interior_only and x[i] > 0):
                probability *= Fraction(x[i], N) * (1 - q)
            if moving:
                nxt[i] -= 1
        else:
            if moving or (not interior_only and x[i] < N):
                probability *= Fraction(N - x[i], N) * q
            if moving:
                nxt[i] += 1
    return tuple(nxt), probability


def check_step_formula_m_agents():
    from itertools import product

    wrong_differs = False
    for N in (2, 3, 4):
        system = System(agents=3, components=2, memory=N)
        chain = build_chain(system)
        for xs in product(range(N + 1), repeat=3):
            for mirrored in (False, True):
                x = tuple(N - v for v in xs) if mirrored else xs
                lone = max(range(3), key=lambda i: (-x[i], i))
                while any(0 < v < N for v in x):
                    nxt, probability = proof_step(N, x, lone)
                    _, old = proof_step(N, x, lone, interior_only=False)
                    real = (lambda s: tuple((N - v, v) for v in s)) if mirrored else (lambda s: tuple((v, N - v) for v in s))
                    chain_probability = chain.probability(chain.index(real(x)), chain.index(real(nxt)))
                    if probability != chain_probability:
                        fail(f"m=3, N={N}: step formula {probability} != chain {chain_probability} at {real(x)}")
                    wrong_differs |= old != chain_probability
                    x = nxt
    if not wrong_differs:
        fail("the step formula without 0 < x_i < N should differ from the chain somewhere")
    print("ok  m = 3, N = 2..4: the m-agent step formula over interior agents equals the chain's step probability "
          "along both orientations from every start (without 0 < x_i < N it does not)")


def check_birth_death():
    for N in range(1, 11):
        hs = symbols(f"h0:{N + 1}")
        equations = [sympy.Eq(hs[0], 1), sympy.Eq(hs[N], 0)]
        for j in range(1, N):
            d = Rational(j * (N - j), 2 * N**2)
            u = Rational((N - j) * (N + j), 2 * N**2)
            equations.append(sympy.Eq(hs[j], d * hs[j - 1] + u * hs[j + 1] + (1 - d - u) * hs[j]))
        solution = sympy.solve(equations, hs, dict=True)[0]
        total = sum(Rational(1, binomial(N + k, k)) for k in range(N))
        for y in range(N + 1):
            formula = sum((Rational(1, binomial(N + k, k)) for k in range(y, N)), Rational(0)) / total
            if solution[hs[y]] != formula:
                fail(f"birth-death solution != formula at N={N}, y={y}")
            if Fraction(int(formula.p), int(formula.q)) != frozen_polarization(N, y):
                fail(f"frozen_polarization({N}, {y}) != formula")
    print("ok  Lemma 1: birth-death chain solved exactly equals the formula (N = 1..10)")


def check_on_chain():
    for N in range(2, 8):
        system = System(agents=2, components=2, memory=N)
        chain = build_chain(system)
        every = absorption_probabilities(chain)
        # Lemma 1 on the chain: one agent frozen on label 0 or 1, the other with y items of that label.
        for y in range(N + 1):
            for state, label in ((((N, 0), (y, N - y)), 0), (((N - y, y), (0, N)), 1), (((y, N - y), (N, 0)), 0)):
                value = every.polarization(every.row_of(chain.index(state)))
                if value != frozen_polarization(N, y):
                    fail(f"N={N}: chain P(polarisation) from {state} != h({y})")
        if N > 6:
            continue
        for a in range(N + 1):
            for b in range(N + 1):
                start = ((a, N - a), (b, N - b))
                exact = every.polarization(every.row_of(chain.index(start)))
                bound, two = closed_form_bound(system, start), closed_form_two_phase(system, start)
                if not bound <= two <= exact:
                    fail(f"N={N}, start {start}: closed_form <= two_phase <= exact fails")
                path = divergence_path(system, start)
                if path is None:
                    if bound != 0 or exact != 0:
                        fail(f"N={N}, start {start}: no path but bound {bound}, exact {exact}")
                    continue
                product = Fraction(1)
                for s, t in zip(path, path[1:]):
                    product *= chain.probability(chain.index(s), chain.index(t))
                if product != bound:
                    fail(f"N={N}, start {start}: chain path product {product} != closed form {bound}")
                last = chain.vertex_labels()[chain.index(path[-1])]
                if (last < 0).any() or last[0] == last[1]:
                    fail(f"N={N}, start {start}: the divergence path does not end polarised")
    print("ok  on the chain (N = 2..7): path products, Lemma 1, closed_form <= two_phase <= exact")


def main():
    check_symbolic()
    check_products()
    check_birth_death()
    check_on_chain()
    check_birth_death_m_agents()
    check_on_chain_m_agents()
    check_step_formula_m_agents()
    print("LB3 checks passed")


if __name__ == "__main__":
    main()
