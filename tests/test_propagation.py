"""Distribution propagation p_t = p_0 P^t (markovgmm.analysis.propagation).

Checked against an independent naive propagation over tests/reference.py's
transition law (dicts of Fractions, no shared code), against float matrix
powers of chain.matrix(), and against absorption_time_distribution.
"""

from fractions import Fraction

import numpy as np
import pytest

import reference
from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_time_distribution
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.propagation import Distribution, propagate
from markovgmm.errors import InputError

SYSTEMS = [
    dict(agents=2, components=2, memory=3),
    dict(agents=2, components=2, memory=3, schedule="async"),
    dict(agents=3, components=2, memory=2, graph="path"),
    dict(agents=2, components=3, memory=2, ownership="open"),
    dict(agents=2, components=2, memory=4, replace=2, prune=1),
]


def naive_laws(system, start, horizon):
    """Push {state tuple: Fraction} forward with reference.transition_row."""
    rows = {}
    law = {start: Fraction(1)}
    out = [law]
    for _ in range(horizon):
        new = {}
        for state, p in law.items():
            if state not in rows:
                rows[state] = reference.transition_row(system, state)
            for target, q in rows[state].items():
                new[target] = new.get(target, Fraction(0)) + p * q
        law = {s: p for s, p in new.items() if p}
        out.append(law)
    return out


def as_dict(chain, law):
    return {chain.counts(s): Fraction(int(w), law.scale) for s, w in zip(law.states.tolist(), law.weights.tolist())}


@pytest.mark.parametrize("kwargs", SYSTEMS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_exact_propagation_matches_naive_reference(kwargs):
    system = System(**kwargs)
    chain = build_chain(system)
    start = reference.all_states(system)[len(reference.all_states(system)) // 2]
    expected = naive_laws(system, start, 6)
    laws = list(propagate(chain, chain.index(start), 6))
    assert [law.t for law in laws] == list(range(7))
    for law, naive in zip(laws, expected):
        assert law.exact and isinstance(law.scale, int)
        assert as_dict(chain, law) == naive
        assert sum(law.weights.tolist()) == law.scale
        assert np.all(np.diff(law.states) > 0)


@pytest.mark.parametrize("kwargs", SYSTEMS[:3], ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_float_propagation_matches_matrix_powers_and_exact(kwargs):
    system = System(**kwargs)
    exact = build_chain(system)
    floating = build_chain(system, exact=False)
    start = exact.n_states // 3
    P = floating.matrix().toarray()
    p = np.zeros(exact.n_states)
    p[start] = 1.0
    for law_f, law_x in zip(propagate(floating, start, 12), propagate(exact, start, 12)):
        dense_f = law_f.dense(exact.n_states)
        np.testing.assert_allclose(dense_f, p, atol=1e-13)
        np.testing.assert_allclose(dense_f, [float(x) for x in law_x.dense(exact.n_states)], atol=1e-13)
        p = p @ P


def test_mass_and_expectation_are_exact_and_match_absorption_time_distribution():
    chain = build_chain(System(agents=2, components=2, memory=4))
    start = chain.index(((2, 2), (2, 2)))
    closed = closed_classes(chain).class_of >= 0
    cdf = absorption_time_distribution(chain, start, 30)
    counts = chain.local_counts[chain.agent_ranks]
    first_agent_label0 = counts[:, 0, 0]
    halves = np.array([Fraction(int(c), 4) for c in first_agent_label0], dtype=object)
    for law, value in zip(propagate(chain, start, 30), cdf):
        assert law.mass(closed) == value
        # E[pi_00^t] = 1/2 by the symmetry of the start between the two labels
        assert law.expectation(first_agent_label0) == 2
        assert law.expectation(halves) == Fraction(1, 2)
    assert cdf == sorted(cdf) and cdf[-1] < 1


def test_start_may_be_a_distribution():
    chain = build_chain(System(agents=2, components=2, memory=2))
    a, b = chain.index(((1, 1), (1, 1))), chain.index(((2, 0), (0, 2)))
    mixed = list(propagate(chain, {a: Fraction(1, 3), b: Fraction(2, 3)}, 3))
    only_a = list(propagate(chain, a, 3))
    for law, law_a in zip(mixed, only_a):
        dense, dense_a = law.dense(chain.n_states), law_a.dense(chain.n_states)
        expected = [x / 3 for x in dense_a]
        expected[b] += Fraction(2, 3)  # (2,0),(0,2) is absorbing (polarised)
        assert dense == expected


@pytest.mark.parametrize(
    "start, horizon",
    [(-1, 2), (10**6, 2), ("x", 2), ({}, 2), ({0: Fraction(1, 2)}, 2), (0, -1), (0, 1.5)],
)
def test_bad_input_is_refused(start, horizon):
    chain = build_chain(System(agents=2, components=2, memory=2))
    with pytest.raises(InputError):
        list(propagate(chain, start, horizon))


def test_probability_of_a_state():
    chain = build_chain(System(agents=2, components=2, memory=2))
    law = Distribution(1, np.array([0, 4]), np.array([1, 3], dtype=object), 4, True)
    assert law.probability(4) == Fraction(3, 4) and law.probability(2) == 0
    assert chain.n_states == 9
