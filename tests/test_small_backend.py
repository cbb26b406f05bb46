"""The scipy-free backend for small chains (``classes.SMALL_STATES``) against
the scipy.sparse backend: forcing each with the threshold, exact results are
identical, float results agree within 1e-12, certified intervals contain the
exact value; the graph helpers agree with scipy.sparse.csgraph."""

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components

from markovgmm import System, build_chain
from markovgmm.analysis import classes as classes_module
from markovgmm.analysis.absorption import absorb, absorption_probabilities, reachable_states
from markovgmm.analysis.certified import certified_absorb, certified_absorption
from markovgmm.analysis.classes import closed_classes, reachable_from, strong_components
from markovgmm.analysis.exact_kernel import ExactSystem
from markovgmm.system import default_start

SYSTEMS = [
    dict(agents=2, components=2, memory=4),
    dict(agents=2, components=2, memory=4, schedule="async"),
    dict(agents=3, components=2, memory=3),
    dict(agents=3, components=2, memory=4, graph="path"),
    dict(agents=3, components=3, memory=2),
    dict(agents=2, components=3, memory=3, replace=2),
    dict(agents=3, components=2, memory=3, schedule="async", graph="path"),
    dict(model="mirror", agents=3, components=2, memory=3, neighbours=2, mirror=0),
    dict(model="mirror", agents=3, components=3, memory=2, neighbours=1, mirror="1/2", geometry="simplex"),
    dict(model="mirror", agents=4, components=2, memory=2, neighbours=3, mirror=1, schedule="async"),
]
IDS = [",".join(f"{k}={v}" for k, v in s.items()) for s in SYSTEMS]


def _backend(monkeypatch, which):
    monkeypatch.setattr(classes_module, "SMALL_STATES", 10**9 if which == "small" else -1)


def _random_graph(rng, n, p):
    dense = rng.random((n, n)) < p
    M = sp.csr_matrix(dense.astype(np.int8))
    M.sort_indices()
    return M


def _partition(labels):
    groups = {}
    for node, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(node)
    return sorted(groups.values())


@pytest.mark.parametrize("seed", range(40))
def test_strong_components_match_scipy_and_are_in_solve_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    M = _random_graph(rng, n, float(rng.choice([0.02, 0.05, 0.1, 0.3])))
    count, label = strong_components(M.indptr, M.indices, n)
    expected_count, expected = connected_components(M, directed=True, connection="strong")
    assert count == expected_count
    assert _partition(label) == _partition(expected)
    rows = np.repeat(np.arange(n), np.diff(M.indptr))
    assert (label[rows] >= label[M.indices]).all()  # an edge never leads to a later-numbered component
    start = int(rng.integers(0, n))
    assert reachable_from(M.indptr, M.indices, start).tolist() == sorted(breadth_first_order(M, start, directed=True, return_predecessors=False).tolist())


def _exact_report(system, lump, monkeypatch, which):
    _backend(monkeypatch, which)
    chain = build_chain(System(**system), lump=lump)
    start = default_start(chain.system)
    return absorb(chain, start, horizon=3), chain, start


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
@pytest.mark.parametrize("lump", [False, True])
def test_exact_results_are_identical(system, lump, monkeypatch):
    small, chain, start = _exact_report(system, lump, monkeypatch, "small")
    large, _, _ = _exact_report(system, lump, monkeypatch, "sparse")
    assert small == large
    _backend(monkeypatch, "small")
    every_small = absorption_probabilities(chain)
    structure = closed_classes(chain)
    reach = reachable_states(chain, chain.index(start) if not chain.lumped else 0)
    _backend(monkeypatch, "sparse")
    every_large = absorption_probabilities(chain)
    assert every_small.class_probabilities == every_large.class_probabilities
    assert every_small.expected_steps == every_large.expected_steps
    sparse_structure = closed_classes(chain)
    assert sparse_structure.classes == structure.classes
    assert sparse_structure.class_of.tolist() == structure.class_of.tolist()
    assert reachable_states(chain, chain.index(start) if not chain.lumped else 0).tolist() == reach.tolist()
    # and the exact solution solves (I - Q) h = b exactly from every state (independent of both backends)
    d = chain.denominator
    for state in range(chain.n_states):
        lo, hi = chain.indptr[state], chain.indptr[state + 1]
        for k in range(len(every_small.classes)):
            rhs = sum(Fraction(int(v), d) * every_small.class_probabilities[int(t)][k] for t, v in zip(chain.indices[lo:hi], chain.values[lo:hi]))
            assert rhs == every_small.class_probabilities[state][k]


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
@pytest.mark.parametrize("lump", [False, True])
def test_float_results_agree_within_1e_12(system, lump, monkeypatch):
    values = {}
    for which in ("small", "sparse"):
        _backend(monkeypatch, which)
        chain = build_chain(System(**system), exact=False, lump=lump)
        result = absorption_probabilities(chain)
        values[which] = (np.array(result.class_probabilities, dtype=float), np.array(result.expected_steps, dtype=float))
    exact = absorption_probabilities(build_chain(System(**system), lump=lump))
    assert np.abs(values["small"][0] - values["sparse"][0]).max() <= 1e-12
    assert np.abs(values["small"][1] - values["sparse"][1]).max() <= 1e-12 * max(1.0, values["sparse"][1].max())
    assert np.abs(values["small"][0] - np.array([[float(x) for x in row] for row in exact.class_probabilities])).max() <= 1e-12


@pytest.mark.parametrize("system", SYSTEMS, ids=IDS)
@pytest.mark.parametrize("which", ["small", "sparse"])
def test_certified_intervals_contain_the_exact_value(system, which, monkeypatch):
    _backend(monkeypatch, which)
    chain = build_chain(System(**system), lump=True)
    start = default_start(chain.system)
    exact = absorb(chain, start)
    boxes = certified_absorb(chain, start, rtol=1e-12)
    lo, hi = (Fraction(x) for x in boxes["polarization_interval"])
    assert lo <= exact["polarization"] <= hi
    lo, hi = (Fraction(x) for x in boxes["consensus_interval"])
    assert lo <= exact["consensus"] <= hi
    lo, hi = (Fraction(x) for x in boxes["expected_steps_interval"])
    assert lo <= exact["expected_steps"] <= hi
    assert boxes["converged"]


@pytest.mark.parametrize("system", SYSTEMS[:6], ids=IDS[:6])
def test_dense_exact_products_equal_python_integer_products(system, monkeypatch):
    _backend(monkeypatch, "small")
    chain = build_chain(System(**system))
    transient = closed_classes(chain).transient
    kernel = ExactSystem(chain, transient)
    assert kernel.small
    rng = np.random.default_rng(len(transient))
    for bits in (3, 30, 53, 62):
        C = rng.integers(-(2**bits), 2**bits, size=kernel.n, dtype=np.int64)
        assert kernel.product(C).tolist() == kernel.product_by_objects(C).tolist()


def test_a_user_float_solver_still_receives_a_scipy_csc_matrix(monkeypatch):
    _backend(monkeypatch, "small")
    chain = build_chain(System(agents=2, components=2, memory=4))
    seen = []

    def solver(A):
        seen.append(A)
        dense = A.toarray()
        return lambda r: np.linalg.solve(dense, r)

    box = certified_absorption(chain, ((2, 2), (2, 2)), float_solver=solver)
    assert seen and all(sp.issparse(A) and A.format == "csc" for A in seen)
    assert box.contains(absorb(chain, ((2, 2), (2, 2)))["polarization"])
