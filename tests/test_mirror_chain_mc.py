"""Monte Carlo of the mirroring chain (markovgmm.simulate.mirror_chain_mc), MODEL.md 6.2.

The simulator makes the draws of MODEL.md 6.2 and never reads a transition
probability.  It is checked against the public reference values of MODEL.md
6.2 (which also tell the two tie rules apart), against a brute-force exact
one-step law written here from the spec in exact rationals, and against hand
cases of the partner and farthest rules.  Every random test has a fixed seed.
"""

import itertools
import json
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import chisquare

from markovgmm.errors import InputError, TooLargeError
from markovgmm.observables import silo_counts
from markovgmm.simulate.chain_mc import binomial_interval
from markovgmm.simulate.mirror_chain_mc import (
    farthest_removal,
    is_absorbing,
    mirror_partners,
    simulate_mirror_chain,
    step_mirror_chain,
)

F = Fraction
LEVEL = 0.999
REFERENCE_START = ((2, 1), (1, 2), (3, 0), (0, 3))
REFERENCE = {  # MODEL.md 6.2, n=4, K=2, r=3, k=1, p=1/2, line
    "clipped": (F(1030259, 1367387), F(337128, 1367387)),
    "uniform": (F(2807203, 4492843), F(1685640, 4492843)),
}


# ---------------------------------------------------------------------------
# MODEL.md 6.2's public reference values


@pytest.fixture(scope="module")
def reference_runs():
    return {
        ties: simulate_mirror_chain(4, 2, 3, 1, F(1, 2), ties=ties, start=REFERENCE_START, replicates=20_000, max_steps=500, seed=62)
        for ties in ("clipped", "uniform")
    }


@pytest.mark.parametrize("ties", ["clipped", "uniform"])
def test_reference_values_in_interval(reference_runs, ties):
    res = reference_runs[ties]
    polar, consensus = REFERENCE[ties]
    assert res.unabsorbed == 0 and res.polarized + res.consensus == 20_000
    lo, hi = res.polarization_ci
    assert lo <= float(polar) <= hi, (ties, res.polarization_frequency, lo, hi, float(polar))
    lo, hi = res.consensus_ci
    assert lo <= float(consensus) <= hi
    assert res.silos_at_absorption == {1: res.consensus, 2: res.polarized}
    assert sum(res.consensus_by_component) == res.consensus


def test_tie_rules_distinguishable(reference_runs):
    lo_c, hi_c = reference_runs["clipped"].polarization_ci
    lo_u, hi_u = reference_runs["uniform"].polarization_ci
    assert hi_u < lo_c  # 0.6248 against 0.7535: disjoint 99.9% intervals


def test_result_dict_is_json(reference_runs):
    res = reference_runs["clipped"]
    out = json.loads(json.dumps(res.to_dict(per_replicate=True)))
    assert out["runs"] == 20_000 and out["unabsorbed"] == 0
    assert out["polarized_runs"] == res.polarized and out["polarization_ci"] == list(res.polarization_ci)
    assert out["consensus_by_component_runs"] == list(res.consensus_by_component)
    assert out["consensus_by_component_frequency"] == [c / 20_000 for c in res.consensus_by_component]
    assert out["polarization_frequency"] == res.polarization_frequency
    assert out["silos_at_absorption"] == {"1": res.consensus, "2": res.polarized}
    assert len(out["steps"]) == 20_000
    assert res.mean_steps > 0 and 0 < res.steps_standard_error < 0.2


# ---------------------------------------------------------------------------
# brute-force exact one-step law, written from MODEL.md 6.2


def _ranking_key(ci, cj, r, ties):
    d2 = sum((x - y) ** 2 for x, y in zip(ci, cj))
    if ties == "uniform":
        return (d2,)

    def delta(c):
        z = sum(1 for x in c if x == 0)
        return [F(1) if x == 0 else F(-z * x, r) for x in c]

    di, dj = delta(ci), delta(cj)
    return (d2, sum((x - y) * (u - v) for x, y, u, v in zip(ci, cj, di, dj)))


def exact_partner_law(state, i, k, p, ties):
    r = sum(state[0])
    others = [j for j in range(len(state)) if j != i]
    keys = {j: _ranking_key(state[i], state[j], r, ties) for j in others}
    kth = sorted(keys.values())[k - 1]
    L = sum(1 for j in others if keys[j] < kth)
    E = sum(1 for j in others if keys[j] == kth)
    law = {i: F(p)}
    for j in others:
        if keys[j] < kth:
            law[j] = law.get(j, 0) + (1 - F(p)) / k
        elif keys[j] == kth:
            law[j] = law.get(j, 0) + (1 - F(p)) * (k - L) / (k * E)
    return law


def _mean_distance(a, b, K, geometry):
    if geometry == "line":
        return abs(a - b)
    if geometry == "simplex":
        return 0 if a == b else 1
    # circle: chord between the points at angles 2 pi a / K and 2 pi b / K
    ax, ay = math.cos(2 * math.pi * a / K), math.sin(2 * math.pi * a / K)
    bx, by = math.cos(2 * math.pi * b / K), math.sin(2 * math.pi * b / K)
    return round(math.hypot(ax - bx, ay - by), 9)


def exact_farthest_law(c, a, geometry):
    K = len(c)
    present = [b for b in range(K) if c[b] > 0]
    far = max(_mean_distance(a, b, K, geometry) for b in present)
    tied = [b for b in present if _mean_distance(a, b, K, geometry) == far]
    total = sum(c[b] for b in tied)
    return {b: F(c[b], total) for b in tied}


def exact_agent_law(state, i, k, p, geometry, ties):
    r = sum(state[0])
    K = len(state[0])
    ci = state[i]
    law = Counter()
    for j, pj in exact_partner_law(state, i, k, p, ties).items():
        for a in range(K):
            pa = F(ci[a], r)
            if not pa:
                continue
            for b, pb in exact_farthest_law(state[j], a, geometry).items():
                temp = list(state[j])
                temp[b] -= 1
                temp[a] += 1
                for y in range(K):
                    py = F(temp[y], r)
                    if not py:
                        continue
                    for b2, pb2 in exact_farthest_law(ci, y, geometry).items():
                        new = list(ci)
                        new[b2] -= 1
                        new[y] += 1
                        law[tuple(new)] += pj * pa * pb * py * pb2
    assert sum(law.values()) == 1
    return law


def exact_step_law(state, k, p, geometry, ties):
    """Joint law of the next state: agents update independently given the state."""
    per_agent = [exact_agent_law(state, i, k, p, geometry, ties) for i in range(len(state))]
    joint = {}
    for combo in itertools.product(*(law.items() for law in per_agent)):
        joint[tuple(c for c, _ in combo)] = math.prod(q for _, q in combo)
    return joint


STEP_CASES = [
    # (state, k, p, geometry, ties)
    (((2, 0, 0), (1, 1, 0), (0, 1, 1)), 1, F(1, 3), "line", "clipped"),
    (((2, 1), (1, 2), (3, 0), (0, 3)), 1, F(1, 2), "line", "clipped"),
    (((2, 1), (1, 2), (3, 0), (0, 3)), 1, F(1, 2), "line", "uniform"),
    (((1, 1, 0, 0), (0, 1, 0, 1), (2, 0, 0, 0), (0, 0, 1, 1)), 2, F(1, 4), "circle", "uniform"),
    (((1, 1, 0, 0), (0, 1, 0, 1), (2, 0, 0, 0), (0, 0, 1, 1)), 2, F(1, 4), "circle", "clipped"),
    (((1, 1, 1), (3, 0, 0), (0, 2, 1)), 1, F(1, 5), "simplex", "clipped"),
    (((0, 2, 0, 0, 0, 1), (1, 0, 1, 0, 0, 1), (0, 0, 0, 3, 0, 0)), 2, F(0), "circle", "clipped"),
]


@pytest.mark.parametrize("number", range(len(STEP_CASES)))
def test_one_step_law_matches_exact_enumeration(number):
    state, k, p, geometry, ties = STEP_CASES[number]
    exact = exact_step_law(state, k, p, geometry, ties)
    R = 200_000
    counts = np.broadcast_to(np.array(state), (R,) + np.array(state).shape).copy()
    out = step_mirror_chain(counts, k, p, geometry, ties, np.random.default_rng(100 + number))
    seen = Counter(tuple(map(tuple, row)) for row in out.tolist())
    assert set(seen) <= set(exact), set(seen) - set(exact)  # no impossible outcome
    outcomes = sorted(exact, key=lambda s: exact[s])
    # Per-outcome 99.9% Clopper-Pearson intervals (Bonferroni over the outcomes) ...
    level = 1 - (1 - LEVEL) / len(outcomes)
    for s in outcomes:
        lo, hi = binomial_interval(seen.get(s, 0), R, level)
        assert lo <= float(exact[s]) <= hi, (s, seen.get(s, 0) / R, float(exact[s]))
    # ... and a chi-square test, cells with expected count < 5 pooled.
    observed, expected, pool_o, pool_e = [], [], 0, 0.0
    for s in outcomes:
        e = float(exact[s]) * R
        if e < 5:
            pool_o, pool_e = pool_o + seen.get(s, 0), pool_e + e
        else:
            observed.append(seen.get(s, 0))
            expected.append(e)
    if pool_e:
        observed.append(pool_o)
        expected.append(pool_e)
    expected = np.array(expected) * (R / sum(expected))
    if len(observed) > 1:
        assert chisquare(observed, expected).pvalue > 1e-3


# ---------------------------------------------------------------------------
# partner rule


def _partner_frequencies(state, k, p, ties, R=120_000, seed=5):
    counts = np.broadcast_to(np.array(state), (R,) + np.array(state).shape).copy()
    partners = mirror_partners(counts, k, p, ties, np.random.default_rng(seed))
    return partners


@pytest.mark.parametrize("ties", ["clipped", "uniform"])
def test_partner_tie_at_kth_distance(ties):
    # Seen from agent 0 at (2,2): agent 1 is at distance 0 (L = 1 strictly nearer),
    # agents 2, 3, 4 are tied at the k = 2-th distance (E = 3; equal in both keys),
    # agent 5 is farther.  Law: p on 0, (1-p)/k on 1, (1-p)(k-L)/(kE) on 2, 3, 4.
    state = ((2, 2), (2, 2), (3, 1), (1, 3), (3, 1), (4, 0))
    k, p = 2, F(1, 3)
    partners = _partner_frequencies(state, k, p, ties)[:, 0]
    R = len(partners)
    expected = {0: p, 1: (1 - p) / k, 2: (1 - p) * (k - 1) / (k * 3), 3: (1 - p) / 6, 4: (1 - p) / 6, 5: F(0)}
    got = np.bincount(partners, minlength=6)
    for j, q in expected.items():
        lo, hi = binomial_interval(int(got[j]), R, 1 - (1 - LEVEL) / 6)
        assert lo <= float(q) <= hi, (j, got[j] / R, float(q))
    assert got[5] == 0


def test_partner_clipped_breaks_the_reference_tie():
    # MODEL.md 6.2: seen from (2,1), the vertex agent (3,0) is slightly nearer than (1,2).
    counts = np.array([REFERENCE_START] * 20_000)
    clipped = mirror_partners(counts, 1, 0, "clipped", np.random.default_rng(1))[:, 0]
    assert (clipped == 2).all()
    uniform = mirror_partners(counts, 1, 0, "uniform", np.random.default_rng(1))[:, 0]
    assert set(np.unique(uniform)) == {1, 2}
    lo, hi = binomial_interval(int((uniform == 1).sum()), len(uniform), LEVEL)
    assert lo <= 0.5 <= hi
    # p = 1: always oneself
    assert (mirror_partners(counts, 1, 1, "clipped", np.random.default_rng(1)) == np.arange(4)).all()


def test_partner_k_equals_n_minus_one_is_uniform():
    counts = np.array([((3, 0), (2, 1), (0, 3), (3, 0))] * 60_000)
    partners = mirror_partners(counts, 3, F(1, 4), "clipped", np.random.default_rng(2))[:, 1]
    got = np.bincount(partners, minlength=4)
    for j, q in enumerate([F(1, 4), F(1, 4), F(1, 4), F(1, 4)]):
        lo, hi = binomial_interval(int(got[j]), len(partners), 1 - (1 - LEVEL) / 4)
        assert lo <= float(q) <= hi


# ---------------------------------------------------------------------------
# farthest rule


@pytest.mark.parametrize(
    "store, arriving, geometry, removed",
    [
        ((1, 1, 0, 1), 0, "line", 3),
        ((1, 1, 0, 1), 1, "line", 3),
        ((1, 1, 0, 1), 2, "line", 0),
        ((2, 0, 0, 0), 3, "line", 0),
        ((0, 4, 0, 0), 1, "line", 1),  # a store holding only a loses an a
        ((0, 2, 0, 0, 0, 1), 0, "line", 5),
        ((0, 0, 0, 1, 1, 0), 0, "line", 4),
        ((0, 0, 0, 1, 1, 0), 0, "circle", 3),
        ((1, 0, 0, 1, 0, 1), 0, "circle", 3),
        ((0, 3, 0), 1, "circle", 1),
        ((1, 2, 0), 0, "simplex", 1),
        ((3, 0, 0), 0, "simplex", 0),
    ],
)
def test_farthest_rule_hand_cases(store, arriving, geometry, removed):
    out = farthest_removal(np.array([store] * 200), arriving, geometry, np.random.default_rng(0))
    assert (out == removed).all(), (store, arriving, geometry, np.unique(out))


@pytest.mark.parametrize(
    "store, arriving, geometry, law",
    [
        ((2, 0, 1), 1, "line", {0: F(2, 3), 2: F(1, 3)}),
        ((0, 2, 0, 0, 0, 1), 0, "circle", {1: F(2, 3), 5: F(1, 3)}),
        ((0, 0, 1, 0, 3, 0), 0, "circle", {2: F(1, 4), 4: F(3, 4)}),
        ((1, 1, 2), 0, "simplex", {1: F(1, 3), 2: F(2, 3)}),
        ((2, 1, 0), 2, "simplex", {0: F(2, 3), 1: F(1, 3)}),
    ],
)
def test_farthest_rule_ties_proportional_to_counts(store, arriving, geometry, law):
    R = 60_000
    out = farthest_removal(np.array([store] * R), arriving, geometry, np.random.default_rng(3))
    assert set(np.unique(out)) == set(law)
    for b, q in law.items():
        lo, hi = binomial_interval(int((out == b).sum()), R, LEVEL)
        assert lo <= float(q) <= hi, (b, (out == b).mean(), float(q))


# ---------------------------------------------------------------------------
# invariants


def _random_states(rng, R, n, K, r):
    cuts = np.sort(rng.integers(0, r + 1, size=(R, n, K - 1)), axis=2)
    edges = np.concatenate([np.zeros((R, n, 1), int), cuts, np.full((R, n, 1), r)], axis=2)
    return np.diff(edges, axis=2)


@pytest.mark.parametrize("geometry", ["line", "circle", "simplex"])
@pytest.mark.parametrize("ties", ["clipped", "uniform"])
def test_counts_stay_valid(geometry, ties):
    rng = np.random.default_rng(11)
    counts = _random_states(rng, 300, 6, 4, 5)
    for step in range(20):
        counts = step_mirror_chain(counts, 1 + step % 5, [0, 0.3, 1][step % 3], geometry, ties, rng)
        assert (counts >= 0).all() and (counts.sum(axis=2) == 5).all()


@pytest.mark.parametrize("geometry", ["line", "circle", "simplex"])
@pytest.mark.parametrize("ties", ["clipped", "uniform"])
def test_absorbing_states_never_move(geometry, ties):
    rng = np.random.default_rng(12)
    r, K, n = 4, 3, 6
    consensus = np.zeros((50, n, K), int)
    consensus[:, :, 1] = r
    split = np.zeros((50, n, K), int)  # silos of sizes 3 and 3 with k = 2
    split[:, :3, 0] = r
    split[:, 3:, 2] = r
    for k in (1, 2, 5):
        for p in (0, 0.5):
            assert (step_mirror_chain(consensus, k, p, geometry, ties, rng) == consensus).all()
            if k <= 2:
                assert is_absorbing(split, k, p).all()
                assert (step_mirror_chain(split, k, p, geometry, ties, rng) == split).all()
    # With a silo of only k agents the state does move (r >= 2, p < 1): the test is tight here.
    assert not is_absorbing(split, 3, 0.5).any()
    moved = (step_mirror_chain(split, 3, 0.5, geometry, ties, rng) != split).any(axis=(1, 2))
    assert moved.any()
    # p = 1: every all-vertex state stays.
    lonely = split.copy()
    lonely[:, 0] = 0
    lonely[:, 0, 1] = r
    assert is_absorbing(lonely, 1, 1).all()
    assert (step_mirror_chain(lonely, 1, 1, geometry, ties, rng) == lonely).all()


def test_memory_one_every_state_absorbing():
    res = simulate_mirror_chain(5, 3, 1, 2, 0.5, replicates=10, seed=0)
    assert res.unabsorbed == 0 and (res.steps == 0).all()
    assert res.silos_at_absorption == {3: 10}


def test_large_system_to_horizon():
    res = simulate_mirror_chain(30, 30, 5, 5, 0.5, replicates=200, max_steps=80, record_silos=80, seed=80)
    assert res.silos.shape == (200, 81, 30)
    S = silo_counts(res.silos)
    assert (S[:, 0] == 30).all()
    assert res.final_silos.shape == (200,) and (res.final_silos == S[:, 80]).all()
    assert res.polarized + res.consensus + res.unabsorbed == 200
    assert (res.steps[res.steps >= 0] <= 80).all()
    for j in np.flatnonzero(res.steps >= 0):  # absorbed replicates stay put to T
        t = res.steps[j]
        assert (res.silos[j, t:] == res.silos[j, t]).all()


def test_seeds_reproducible_and_independent_of_replicates():
    kwargs = dict(start=REFERENCE_START, seed=9)
    a = simulate_mirror_chain(4, 2, 3, 1, 0.5, replicates=100, record_silos=20, **kwargs)
    b = simulate_mirror_chain(4, 2, 3, 1, 0.5, replicates=100, record_silos=20, **kwargs)
    c = simulate_mirror_chain(4, 2, 3, 1, 0.5, replicates=40, **kwargs)
    assert (a.steps == b.steps).all() and (a.silos == b.silos).all()
    assert (a.steps[:40] == c.steps).all()
    assert (a.silos[:40, -1] >= 0).all() and a.seed == 9
    d = simulate_mirror_chain(4, 2, 3, 1, 0.5, replicates=100, seed=10, start=REFERENCE_START)
    assert (a.steps != d.steps).any()


def test_unabsorbed_reported():
    # Default start with n = K = 5: five silos of one agent (k = 1), not absorbing;
    # one step cannot absorb every replicate.
    res = simulate_mirror_chain(5, 5, 3, 1, 0.5, replicates=50, max_steps=1, seed=1)
    assert res.unabsorbed == 50 - res.polarized - res.consensus
    assert res.unabsorbed > 0
    lo, hi = res.polarization_ci
    assert hi >= binomial_interval(res.polarized + res.unabsorbed, 50, LEVEL)[1] - 1e-12
    assert (res.steps[res.steps < 0] == -1).all()


# ---------------------------------------------------------------------------
# bad inputs


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(neighbours=0), "neighbours"),
        (dict(neighbours=4), "neighbours"),
        (dict(mirror=1.5), "mirror"),
        (dict(mirror=-0.1), "mirror"),
        (dict(mirror="half"), "mirror"),
        (dict(memory=0), "memory"),
        (dict(components=1), "components"),
        (dict(agents=1, neighbours=1), "agents"),
        (dict(geometry="torus"), "geometry"),
        (dict(ties="index"), "ties"),
        (dict(start=((2, 1), (1, 2), (3, 0), (0, 2))), "start"),
        (dict(start=((2, 1), (1, 2), (3, 0))), "start"),
        (dict(replicates=0), "replicates"),
        (dict(max_steps=0), "max_steps"),
        (dict(record_silos=20, max_steps=10), "record_silos"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_inputs(kwargs, name):
    args = dict(agents=4, components=2, memory=3, neighbours=1, mirror=0.5)
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        simulate_mirror_chain(**args)
    message = str(info.value)
    assert name in message and "\n" not in message


def test_too_large_refused_before_allocating():
    with pytest.raises(TooLargeError, match="GiB"):
        simulate_mirror_chain(30, 30, 5, 5, 0.5, replicates=10**6, record_silos=80, max_steps=80)


def test_step_bad_inputs():
    with pytest.raises(InputError, match="counts"):
        step_mirror_chain(np.array([[[2, 1], [1, 1]]]), 1, 0.5)
    with pytest.raises(InputError, match="neighbours"):
        step_mirror_chain(np.array([[[2, 1], [1, 2]]]), 2, 0.5)
