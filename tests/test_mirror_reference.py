"""The naive mirroring-chain reference (tests/mirror_reference.py) against
MODEL.md 6.2's public values and hand computations."""

import random
from fractions import Fraction

import pytest

from mirror_reference import (
    GEOMETRIES,
    TIES,
    absorption,
    agent_law,
    clip_delta,
    compositions,
    default_start,
    distance_key,
    farthest_law,
    partner_law,
    transition_row,
)

HALF = Fraction(1, 2)
PUBLIC_START = ((2, 1), (1, 2), (3, 0), (0, 3))


@pytest.mark.parametrize(
    "ties, polarization, consensus",
    [
        ("clipped", Fraction(1030259, 1367387), Fraction(337128, 1367387)),
        ("uniform", Fraction(2807203, 4492843), Fraction(1685640, 4492843)),
    ],
)
def test_public_reference_values(ties, polarization, consensus):
    result = absorption(PUBLIC_START, K=2, r=3, k=1, p=HALF, geometry="line", ties=ties)
    assert result["polarization"] == polarization
    assert result["consensus"] == consensus
    assert result["other"] == 0
    assert sum(result["consensus_by_component"]) == consensus
    assert result["silos_law"] == {1: consensus, 2: polarization}
    assert all(isinstance(v, Fraction) for v in (result["polarization"], result["expected_steps"]))


def test_clipped_key_prefers_the_vertex_agent():
    # MODEL.md 6.2: (3,0) is slightly nearer to (2,1) than the equally distant (1,2).
    assert partner_law(PUBLIC_START, 0, r=3, k=1, p=HALF, ties="clipped") == {0: HALF, 2: HALF}
    assert partner_law(PUBLIC_START, 0, r=3, k=1, p=HALF, ties="uniform") == {0: HALF, 1: HALF / 2, 2: HALF / 2}


def test_clipped_key_by_hand_three_components():
    # delta(2,1,0) = (-2/3,-1/3,1), delta(3,0,0) = (-2,1,1), delta(1,2,0) = (-1/3,-2/3,1),
    # delta(2,0,1) = (-2/3,1,-1/3).  From (2,1,0) all three are at squared distance 2;
    # the first-order keys are -8/3, -2/3, -8/3: (3,0,0) and (2,0,1) tie nearest.
    assert clip_delta((3, 0, 0), 3) == (-2, 1, 1)
    assert clip_delta((2, 1, 0), 3) == (Fraction(-2, 3), Fraction(-1, 3), 1)
    assert clip_delta((1, 1, 1), 3) == (0, 0, 0)
    state = ((2, 1, 0), (3, 0, 0), (1, 2, 0), (2, 0, 1))
    assert [distance_key(state[0], c, 3, "clipped") for c in state[1:]] == [
        (2, Fraction(-8, 3)),
        (2, Fraction(-2, 3)),
        (2, Fraction(-8, 3)),
    ]
    assert partner_law(state, 0, r=3, k=1, p=0, ties="clipped") == {1: HALF, 3: HALF}
    assert partner_law(state, 0, r=3, k=2, p=0, ties="clipped") == {1: HALF, 3: HALF}
    third = Fraction(1, 3)
    assert partner_law(state, 0, r=3, k=1, p=0, ties="uniform") == {1: third, 2: third, 3: third}
    # k = 3 takes everyone: L = 0 strictly nearer, E = 3 tied share (1-p) 3/3.
    assert partner_law(state, 0, r=3, k=3, p=third, ties="clipped") == {0: third, 1: 2 * third / 3, 2: 2 * third / 3, 3: 2 * third / 3}


def _random_state(rng, n, K, r):
    pool = compositions(K, r)
    return tuple(rng.choice(pool) for _ in range(n))


def test_rows_sum_exactly_to_one():
    rng = random.Random(20261201)
    checked = 0
    for n in (2, 3, 4):
        for K in (2, 3):
            for r in (2, 3, 4):
                if n == 4 and K == 3 and r == 4:
                    continue  # keep the runtime small
                for geometry in GEOMETRIES:
                    for ties in TIES:
                        state = _random_state(rng, n, K, r)
                        k = rng.randint(1, n - 1)
                        p = rng.choice([Fraction(0), Fraction(1, 3), Fraction(1)])
                        row = transition_row(state, K, r, k, p, geometry, ties)
                        assert sum(row.values()) == 1, (state, K, r, k, p, geometry, ties)
                        assert all(isinstance(q, Fraction) and q > 0 for q in row.values())
                        for i in range(n):
                            assert sum(agent_law(state, i, K, r, k, p, geometry, ties).values()) == 1
                        checked += 1
    assert checked >= 90


def test_farthest_rule():
    # line: from component 0 the farthest present component is the highest one.
    assert list(farthest_law((1, 1, 2), 0, 3, "line")) == [(2, 1)]
    # simplex: every other present component is tied, proportional to its count.
    assert list(farthest_law((1, 1, 2), 0, 3, "simplex")) == [(1, Fraction(1, 3)), (2, Fraction(2, 3))]
    # circle K=4: from 0, component 2 is opposite (farthest), 1 and 3 are tied nearer.
    assert list(farthest_law((1, 1, 0, 1), 0, 4, "circle")) == [(1, Fraction(1, 2)), (3, Fraction(1, 2))]
    # a store holding only a loses an a.
    assert list(farthest_law((3, 0), 0, 2, "line")) == [(0, 1)]


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("ties", TIES)
def test_lone_mirroring_agent_by_hand(geometry, ties):
    """p = 1: an agent only talks to itself, a Wright-Fisher-like chain.

    From c = (2,1), r = 3: x = 0 (2/3) gives the copy (3,0), so y = 0 and the
    store loses its 1: (3,0).  x = 1 (1/3) gives the copy (1,2); y = 0 (1/3)
    again gives (3,0), y = 1 (2/3) gives (1,2).  So (2,1) -> (3,0) w.p.
    7/9 and -> (1,2) w.p. 2/9; by symmetry h = 7/9 + (2/9)(2/9) h, h = 9/11,
    E = 1 + (2/9) E, E = 9/7.  The vertex agent (3,0) never moves.
    """
    one = Fraction(1)
    start = ((2, 1), (3, 0))
    row = transition_row(start, 2, 3, 1, one, geometry, ties)
    assert row == {((3, 0), (3, 0)): Fraction(7, 9), ((1, 2), (3, 0)): Fraction(2, 9)}
    result = absorption(start, 2, 3, 1, one, geometry, ties)
    assert result["consensus_by_component"] == [Fraction(9, 11), 0]
    assert result["polarization"] == Fraction(2, 11)
    assert result["expected_steps"] == Fraction(9, 7)
    # r = 2: (1,1) never stays, it jumps to either vertex w.p. 1/2.
    assert agent_law(((1, 1), (2, 0)), 0, 2, 2, 1, one, geometry, ties) == {(2, 0): HALF, (0, 2): HALF}


def test_two_vertex_agents_talking_to_each_other():
    # p = 0, k = 1: each agent's copy of the other's store is (1,1); it keeps its
    # vertex w.p. 1/2 and moves to (1,1) w.p. 1/2, independently.
    row = transition_row(((2, 0), (0, 2)), 2, 2, 1, 0)
    quarter = Fraction(1, 4)
    assert row == {
        ((2, 0), (0, 2)): quarter,
        ((1, 1), (0, 2)): quarter,
        ((2, 0), (1, 1)): quarter,
        ((1, 1), (1, 1)): quarter,
    }


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("ties", TIES)
def test_consensus_is_absorbing(geometry, ties):
    for K, r, n in ((2, 3, 3), (3, 2, 4)):
        for a in range(K):
            state = tuple(tuple(r if b == a else 0 for b in range(K)) for _ in range(n))
            for p in (Fraction(0), Fraction(1, 3), Fraction(1)):
                assert transition_row(state, K, r, 1, p, geometry, ties) == {state: 1}
                result = absorption(state, K, r, 1, p, geometry, ties)
                assert result["consensus_by_component"][a] == 1 and result["expected_steps"] == 0


def test_default_start_with_full_silos_is_polarised_at_once():
    # n = 4, K = 2, k = 1: two silos of two agents each, both >= k + 1.
    result = absorption(default_start(4, 2, 2), 2, 2, 1, Fraction(1, 3))
    assert result["polarization"] == 1 and result["silos_law"] == {2: 1}
