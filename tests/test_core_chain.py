"""The built chain against an independent implementation, and its absorption (MODEL.md 2-3)."""

from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markovgmm import System, build_chain
from markovgmm.analysis import absorb, absorption_probabilities, absorption_time_distribution, closed_classes
from markovgmm.chain.states import local_states

import reference

F = Fraction
REFERENCE_VALUE = F(139813, 1630674)  # MODEL.md 3, checked by Storm's exact engine

TINY_SYSTEMS = [
    dict(agents=2, components=2, memory=3),
    dict(agents=2, components=2, memory=3, schedule="async"),
    dict(agents=2, components=2, memory=4, replace=2),
    dict(agents=2, components=2, memory=3, ownership="open"),
    dict(agents=2, components=3, memory=2),
    dict(agents=2, components=3, memory=3, replace=2, schedule="async"),
    dict(agents=3, components=2, memory=2, graph="path"),
    dict(agents=3, components=2, memory=2, graph="star", schedule="async"),
    dict(agents=2, components=2, memory=5, prune=2),
    dict(agents=2, components=3, memory=4, prune=1),
    dict(agents=2, components=3, memory=2, means=(0, 1, 2)),  # ties go to the lowest index
    dict(agents=2, components=3, memory=2, means=(0, 3, 2)),  # nearest is not the neighbour index
    dict(agents=3, components=2, memory=2, graph="path", closed_neighbourhood=False, ownership="open"),
]


def exact_matrix(chain):
    out = {}
    for s in range(chain.n_states):
        for k in range(chain.indptr[s], chain.indptr[s + 1]):
            out[(s, int(chain.indices[k]))] = F(int(chain.values[k]), chain.denominator)
    return out


@pytest.mark.parametrize("kwargs", TINY_SYSTEMS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_builder_matches_naive_reference(kwargs):
    system = System(**kwargs)
    chain = build_chain(system)
    built = exact_matrix(chain)
    expected = {}
    for state in reference.all_states(system):
        for target, p in reference.transition_row(system, state).items():
            expected[(chain.index(state), chain.index(target))] = p
    assert built == expected
    # Every row sums to exactly 1 in the exact build.
    sums = np.add.reduceat(chain.values.astype(object), chain.indptr[:-1])
    assert all(int(x) == chain.denominator for x in sums)


def test_public_reference_value():
    chain = build_chain(System(agents=2, components=2, memory=4))
    result = absorption_probabilities(chain, chain.index(((2, 2), (2, 2))))
    assert result.polarization() == REFERENCE_VALUE
    by_k = result.consensus_by_component()
    assert by_k[0] == by_k[1] and sum(by_k) + REFERENCE_VALUE == 1


def test_single_start_matches_all_starts_and_classes_sum_to_one():
    chain = build_chain(System(agents=3, components=2, memory=3, schedule="async"))
    everything = absorption_probabilities(chain)
    for s in range(chain.n_states):
        assert sum(everything.class_probabilities[s]) == 1
    for s in (0, 5, chain.index(((2, 1), (1, 2), (3, 0)))):
        single = absorption_probabilities(chain, s)
        assert single.class_probabilities[0] == everything.class_probabilities[s]
        assert single.expected_steps[0] == everything.expected_steps[s]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(agents=2, components=2, memory=5),
        dict(agents=3, components=2, memory=3, schedule="async", graph="path"),
        dict(agents=2, components=3, memory=3, replace=2),
        dict(agents=2, components=3, memory=4, prune=1),
    ],
)
def test_float_path_agrees_with_exact(kwargs):
    system = System(**kwargs)
    exact, floating = build_chain(system, exact=True), build_chain(system, exact=False)
    assert np.array_equal(exact.indices, floating.indices)
    assert abs(exact.matrix() - floating.matrix()).max() < 1e-15
    a, b = absorption_probabilities(exact), absorption_probabilities(floating)
    for s in range(exact.n_states):
        assert abs(float(a.polarization(s)) - b.polarization(s)) < 1e-10
        assert abs(float(a.expected_steps[s]) - b.expected_steps[s]) < 1e-10 * max(1, b.expected_steps[s])
        for x, y in zip(a.consensus_by_component(s), b.consensus_by_component(s)):
            assert abs(float(x) - y) < 1e-10


@pytest.mark.parametrize("m, K, N, schedule", [(2, 2, 4, "sync"), (3, 2, 3, "async"), (2, 3, 3, "sync")])
def test_open_ownership_on_complete_graph_never_polarises(m, K, N, schedule):
    chain = build_chain(System(agents=m, components=K, memory=N, ownership="open", schedule=schedule))
    structure = closed_classes(chain)
    assert {c.kind for c in structure.classes} == {"consensus"}
    result = absorption_probabilities(chain)
    assert all(result.polarization(s) == 0 for s in range(chain.n_states))
    assert all(result.consensus(s) == 1 for s in range(chain.n_states))


def test_other_class_on_a_directed_graph_under_open_ownership():
    # Agents 0 and 1 read only themselves; agent 2 reads both and itself.  Once 0 and 1
    # sit at different vertices, agent 2 keeps drifting between them: a closed class of
    # several states that is neither consensus nor polarised.
    g = nx.DiGraph([(0, 2), (1, 2)])
    chain = build_chain(System(agents=3, components=2, memory=2, ownership="open", graph=g))
    structure = closed_classes(chain)
    others = [c for c in structure.classes if c.kind == "other"]
    assert len(others) == 2 and all(len(c.states) == 3 for c in others)
    report = absorb(chain, chain.index(((1, 1), (1, 1), (1, 1))))
    assert report["other"] > 0 and report["polarization"] == 0
    assert report["polarization"] + report["consensus"] + report["other"] == 1


def test_absorption_time_distribution_is_monotone_and_matches_expectation():
    chain = build_chain(System(agents=2, components=2, memory=3))
    start = chain.index(((2, 1), (1, 2)))
    cdf = absorption_time_distribution(chain, start, 400)
    assert cdf[0] == 0 and all(a <= b for a, b in zip(cdf, cdf[1:]))
    closed = closed_classes(chain).class_of >= 0
    one_step = sum((chain.probability(start, t) for t in np.flatnonzero(closed)), F(0))
    assert cdf[1] == one_step
    # E[T] = sum_t P(T > t); the tail after 400 steps is below 1e-30 here.
    expected = absorption_probabilities(chain, start).expected_steps[0]
    partial = sum(1 - x for x in cdf)
    assert 0 <= expected - partial < F(1, 10**30)
    floating = absorption_time_distribution(build_chain(chain.system, exact=False), start, 50)
    assert max(abs(float(x) - y) for x, y in zip(cdf, floating)) < 1e-12


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 3),
    K=st.integers(2, 3),
    N=st.integers(1, 3),
    r_frac=st.floats(0, 1),
    schedule=st.sampled_from(["sync", "async"]),
    graph=st.sampled_from(["complete", "path", "star"]),
)
def test_properties_of_random_small_support_systems(m, K, N, r_frac, schedule, graph):
    r = max(1, round(r_frac * N))
    system = System(agents=m, components=K, memory=N, replace=r, schedule=schedule, graph=graph)
    if system.n_states > 400:
        return
    chain = build_chain(system)
    sums = np.add.reduceat(chain.values.astype(object), chain.indptr[:-1])
    assert all(int(x) == chain.denominator for x in sums)
    structure = closed_classes(chain)
    all_vertex = {s for s in range(chain.n_states) if (chain.vertex_labels()[s] >= 0).all()}
    # Under support ownership the closed classes are exactly the all-vertex states, one each.
    assert {c.states for c in structure.classes} == {(s,) for s in all_vertex}
    result = absorption_probabilities(chain)
    for s in range(chain.n_states):
        assert sum(result.class_probabilities[s]) == 1
        assert result.polarization(s) + result.consensus(s) + result.other(s) == 1


def test_nearest_mean_labels():
    # K=3 with means 0, 3, 2: an agent holding only labels {0, 1} labels a point of
    # component 2 as 1 (|2-3| < |2-0|); holding {0, 2} it labels component 1 as 2.
    system = System(agents=1, components=3, memory=2, means=(0, 3, 2))
    table = local_states(2, 3)
    chain = build_chain(system)
    assert chain.n_states == len(table)
    assert reference.label_law(system, ((1, 1, 0),), 0) == [F(1, 2), F(1, 2), F(0)]


def test_exact_mahalanobis_distance_matches_sympy():
    import random

    import sympy

    from markovgmm.chain.laws import _mahalanobis_sq

    rng = random.Random(1)
    for _ in range(40):
        d = rng.randint(1, 4)
        A = sympy.Matrix(d, d, lambda i, j: sympy.Rational(rng.randint(-5, 5), rng.randint(1, 4)))
        S = A * A.T + sympy.eye(d)
        mu = [[F(rng.randint(-9, 9), rng.randint(1, 5)) for _ in range(d)] for _ in range(2)]
        cov = [[F(int(S[i, j].p), int(S[i, j].q)) for j in range(d)] for i in range(d)]
        diff = sympy.Matrix([sympy.Rational(mu[0][x] - mu[1][x]) for x in range(d)])
        value = (diff.T * S.inv() * diff)[0, 0]
        assert _mahalanobis_sq(mu, cov, 0, 1) == F(int(value.p), int(value.q))
