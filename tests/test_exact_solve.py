"""Exact absorbing solves (issue 5, item 2): p-adic lifting with rational
reconstruction and exact verification, against independent computations
(sympy / flint dense solves, the naive reference chain, Storm)."""

from fractions import Fraction
from math import gcd

import flint
import numpy as np
import pytest
import sympy

from markovgmm.analysis import linalg
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.linalg import dixon_solve, rational_reconstruction, submatrix
from markovgmm.chain.build import build_chain
from markovgmm.system import System

F = Fraction


def random_sparse_system(n, c, seed, density=0.2, scale=10**6):
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, n)) < density, rng.integers(-scale, scale, size=(n, n)), 0)
    dense[np.arange(n), np.arange(n)] = scale * n  # diagonally dominant, so nonsingular
    rows, cols = np.nonzero(dense)
    B = np.array(rng.integers(-(10**12), 10**12, size=(n, c)).tolist(), dtype=object)
    return dense, rows, cols, dense[rows, cols].astype(np.int64), B


@pytest.mark.parametrize("n, c, seed, scale", [(5, 1, 0, 1), (40, 3, 1, 1), (150, 2, 2, 7**30), (200, 4, 3, 1)])
def test_dixon_solve_matches_sympy_or_flint(n, c, seed, scale):
    dense, rows, cols, values, B = random_sparse_system(n, c, seed)
    Y, den = dixon_solve(rows, cols, values, n, B, scale=scale)
    # Independent: flint's dense rational solve of A X = B / scale (or sympy for the smallest).
    if n <= 5:
        X = sympy.Matrix(dense.tolist()).LUsolve(sympy.Matrix(B.tolist()) / scale)
        expected = [[F(int(X[i, j].p), int(X[i, j].q)) for j in range(c)] for i in range(n)]
    else:
        sol = flint.fmpq_mat(flint.fmpz_mat(dense.tolist())).solve(flint.fmpq_mat(flint.fmpz_mat(B.tolist())) / scale)
        expected = [[F(int(sol[i, j].p), int(sol[i, j].q)) for j in range(c)] for i in range(n)]
    assert [[F(int(y), den) for y in row] for row in Y.tolist()] == expected


def test_dixon_solve_never_returns_an_unverified_candidate(monkeypatch):
    # Sabotage the candidate builder: wrong numerators must be rejected by the exact check.
    dense, rows, cols, values, B = random_sparse_system(30, 2, 4)
    real = linalg._candidate
    calls = []

    def corrupted(*args):
        result = real(*args)
        if result is not None and not any(calls):
            calls.append(True)
            Y, den = result
            Y = Y.copy()
            Y[0, 0] += 1
            return Y, den
        calls.append(False)
        return result

    monkeypatch.setattr(linalg, "_candidate", corrupted)
    Y, den = dixon_solve(rows, cols, values, 30, B)
    assert calls[0] is True or True in calls
    assert len(calls) >= 2  # the corrupted candidate was refused and lifting went on
    A = flint.fmpz_mat(dense.tolist())
    assert A * flint.fmpz_mat(Y.tolist()) == flint.fmpz_mat(B.tolist()) * den


def test_rational_reconstruction_recovers_fractions():
    M = sympy.prevprime(2**61) ** 3
    for a, b in [(0, 1), (1, 1), (-7, 3), (123456789, 987654321), (-(2**80) + 1, 3**50)]:
        g = gcd(a, b)
        a, b = a // g, b // g
        assert rational_reconstruction(a * pow(b, -1, M) % M, M) == (a, b)
    assert rational_reconstruction(7, 10**6 + 3) == (7, 1)


def test_block_solver_with_dixon_agrees_with_plain_dense_solve(monkeypatch):
    # Force the lifting path on every block of at least 2 states and compare with one dense
    # flint solve of the whole transient system (no blocks, no lifting).
    monkeypatch.setattr(linalg, "DIXON_MIN_BLOCK", 2)
    chain = build_chain(System(agents=3, components=2, memory=5, schedule="async"))
    structure = closed_classes(chain)
    start = chain.index(((3, 2), (1, 4), (2, 3)))
    result = absorption_probabilities(chain, start, structure=structure)
    transient = structure.transient
    rows, cols, vals, n = submatrix(chain, transient, transient)
    d = chain.denominator
    A = [[0] * n for _ in range(n)]
    for k in range(n):
        A[k][k] = d
    for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist()):
        A[r][c] -= int(v)
    polar = {s for cls in structure.classes if cls.kind == "polarised" for s in cls.states}
    b = [[sum(int(chain.values[e]) for e in range(chain.indptr[t], chain.indptr[t + 1]) if int(chain.indices[e]) in polar)] for t in transient.tolist()]
    x = flint.fmpz_mat(A).solve(flint.fmpz_mat(b))
    k = int(np.flatnonzero(transient == start)[0])
    assert result.polarization() == F(int(x[k, 0].p), int(x[k, 0].q))


def test_lumped_exact_m3_n10_reference_value():
    # m=3, N=10 (issue 2's benchmark case): lumped exact vs the full chain's exact solve.
    system = System(agents=3, components=2, memory=10)
    lumped = build_chain(system, lump=True)
    start = ((5, 5),) * 3
    p_lumped = absorption_probabilities(lumped, lumped.index(start)).polarization()
    full = build_chain(System(agents=3, components=2, memory=6))
    lumped6 = build_chain(System(agents=3, components=2, memory=6), lump=True)
    s6 = ((3, 3),) * 3
    assert absorption_probabilities(full, full.index(s6)).polarization() == absorption_probabilities(lumped6, lumped6.index(s6)).polarization()
    assert abs(float(p_lumped) - 0.00121861918183877) < 1e-15  # value recorded by the chain-core benchmark (unlumped)
    floating = build_chain(system, exact=False, lump=True)
    assert abs(absorption_probabilities(floating, floating.index(start)).polarization() - float(p_lumped)) < 1e-12


def test_exact_solution_rows_satisfy_the_absorbing_equations(monkeypatch):
    # Substitute the returned rows back into x = P x (transient rows) exactly, for the probability columns.
    monkeypatch.setattr(linalg, "DIXON_MIN_BLOCK", 3)
    chain = build_chain(System(agents=3, components=2, memory=4, graph="path"), lump=True)
    structure = closed_classes(chain)
    result = absorption_probabilities(chain, structure=structure)
    d = chain.denominator
    for s in structure.transient.tolist():
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        for j in range(len(structure.classes)):
            total = sum(F(int(v), d) * result.class_probabilities[int(t)][j] for t, v in zip(chain.indices[lo:hi], chain.values[lo:hi]))
            assert total == result.class_probabilities[s][j]
        steps = 1 + sum(F(int(v), d) * result.expected_steps[int(t)] for t, v in zip(chain.indices[lo:hi], chain.values[lo:hi]))
        assert steps == result.expected_steps[s]
