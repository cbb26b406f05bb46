"""Camp laws at absorption and the mean-field recursion (markovgmm.analysis.camps, proofs/camps_mean_field.md)."""

import importlib.util
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from markovgmm import System, build_chain
from markovgmm.analysis import camps
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.classes import closed_classes
from markovgmm.errors import InputError

HALF = Fraction(1, 2)


def _load_check():
    path = Path(__file__).resolve().parent.parent / "proofs" / "check_camps_mean_field.py"
    spec = importlib.util.spec_from_file_location("check_camps_mean_field", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sizes_from_full_classes(system):
    """Camp-size law from the full chain's own ClosedClass.camps (classes.py), independent of camps_of."""
    chain = build_chain(system, exact=True)
    start = tuple((system.memory - system.memory // 2, system.memory // 2) for _ in range(system.agents))
    result = absorption_probabilities(chain, chain.index(start))
    sizes, number = Counter(), Counter()
    for cls, p in zip(result.classes, result.class_probabilities[0]):
        if p:
            sizes[cls.camp_sizes] += p
            number[len(cls.camps)] += p
    return dict(sizes), dict(number)


@pytest.mark.parametrize("params", [dict(agents=3, components=2, memory=3), dict(agents=4, components=2, memory=2),
                                    dict(agents=2, components=3, memory=3), dict(agents=3, components=3, memory=2)])
def test_lumped_occupation_law_equals_the_full_chain(params):
    system = System(**params)
    lumped = camps.camp_law(system)["occupation"]
    assert lumped == camps.camp_law_full(system)
    assert sum(lumped.values()) == 1


def test_camp_sizes_and_camps_agree_with_the_closed_classes_own_camps():
    system = System(agents=4, components=2, memory=3)
    law = camps.camp_law(system)
    sizes, number = _sizes_from_full_classes(system)
    assert law["camp_sizes"] == sizes
    assert law["camps"] == number


def test_a_wrong_camp_map_is_caught():
    """Break on purpose: a camp map that counts empty components as camps."""
    system = System(agents=4, components=2, memory=3)

    def wrong(n):
        return len(n), tuple(sorted(n, reverse=True))

    law = camps.camp_law(system, camp_map=wrong)
    sizes, number = _sizes_from_full_classes(system)
    assert law["camps"] != number and law["camp_sizes"] != sizes


def test_two_agents_two_memory_by_hand():
    """m = 2, N = 2 from (1,1),(1,1): P(polarisation) = 1/3 (each consensus 1/3), prediction Bin(2, 1/2):
    TV = (1/12 + 1/6 + 1/12) / 2 = 1/6."""
    system = System(agents=2, components=2, memory=2)
    law = camps.camp_law(system)
    assert law["occupation"] == {(0, 2): Fraction(1, 3), (1, 1): Fraction(1, 3), (2, 0): Fraction(1, 3)}
    row = camps.camps_compare(system, horizon=0)
    assert row["tv"]["occupation"] == Fraction(1, 6)
    assert row["prediction"]["occupation"] == {(0, 2): Fraction(1, 4), (1, 1): HALF, (2, 0): Fraction(1, 4)}


def test_simulation_within_clopper_pearson():
    system = System(agents=4, components=2, memory=3)
    exact = camps.camp_law(system)["occupation"]
    sim = camps.camp_law_simulated(system, runs=3000, seed=11)
    assert sim["unabsorbed"] == 0
    for n, p in exact.items():
        lo, hi = sim["intervals"].get(n, (Fraction(0), Fraction(1)))
        assert lo <= p <= hi, (n, p, lo, hi)


def test_one_step_identity_on_the_chain_and_a_wrong_recursion_fails():
    check = _load_check()
    system = System(agents=3, components=2, memory=3)
    chain = build_chain(system, exact=True)
    assert camps.one_step_identity(system, chain) == 0
    assert check.one_step_deviation(system, chain) == 0
    assert check.one_step_deviation(system, chain, check.scaled_pool_step) > 0


def test_one_agent_law_matches_the_chains_marginal_row():
    """P_q written from MODEL.md against the chain's own row of agent 0 (m = 2, other agent fixed)."""
    system = System(agents=2, components=3, memory=3, replace=2)
    chain = build_chain(system, exact=True)
    state = ((2, 1, 0), (0, 1, 2))
    s = chain.index(state)
    q = tuple(Fraction(state[0][k] + state[1][k], 6) for k in range(3))
    marginal = {}
    lo, hi = chain.indptr[s], chain.indptr[s + 1]
    for t, v in zip(chain.indices[lo:hi].tolist(), chain.values[lo:hi].tolist()):
        c = chain.counts(t)[0]
        marginal[c] = marginal.get(c, 0) + Fraction(int(v), int(chain.denominator))
    assert camps.one_agent_law(system, state[0], q) == marginal


def test_mean_field_one_step_equals_the_chain_then_departs():
    """E q_1 = q_1 exactly (claim 1, q linear); at t = 2 the m = 2 chain and the recursion differ."""
    system = System(agents=2, components=2, memory=3)
    exact = camps.pool_frequencies(system, horizon=2)
    mf = [q for _, q in camps.mean_field_exact(system, steps=2)]
    assert exact[1] == mf[1]
    assert exact[2] != mf[2]


def test_enclosure_contains_the_exact_recursion():
    system = System(agents=1, components=3, memory=3)
    exact = camps.mean_field_exact(system, steps=5)
    enc = camps.mean_field_enclosure(system, steps=5)
    for t, (mu, q) in enumerate(exact):
        assert all(enc["lower"][t][c] <= mu.get(c, 0) <= enc["upper"][t][c] for c in enc["lower"][t])
        assert all(a <= x <= b for a, x, b in zip(enc["q_lower"][t], q, enc["q_upper"][t]))


def test_a_wrong_recursion_leaves_the_enclosure():
    """Break on purpose: the exact trajectory of a recursion that pulls q towards 0 is not enclosed."""
    check = _load_check()
    system = System(agents=1, components=2, memory=3)
    wrong = camps.mean_field_exact(system, steps=4, step=check.scaled_pool_step)
    enc = camps.mean_field_enclosure(system, steps=4)
    assert any(not enc["q_lower"][t][0] <= q[0] <= enc["q_upper"][t][0] for t, (_, q) in enumerate(wrong))


def test_symmetric_limit_is_one_half_and_asymmetric_is_enclosed():
    sym = camps.mean_field_limit(System(agents=1, components=2, memory=4))
    assert sym["exact"] and sym["point"] == (HALF, HALF)
    assert sym["lower"][0] <= HALF <= sym["upper"][0]
    asym = camps.mean_field_limit(System(agents=1, components=2, memory=3))
    assert not asym["exact"]
    assert asym["upper"][0] - asym["lower"][0] < Fraction(1, 10**12)
    # the vertex mass at any finite t is a lower bound on the limit (claim 4)
    mu6 = camps.mean_field_exact(System(agents=1, components=2, memory=3), steps=6)[-1][0]
    assert mu6[(3, 0)] <= asym["lower"][0] and mu6[(0, 3)] <= asym["lower"][1]


def test_fixed_time_bound_holds_on_exact_values():
    check = _load_check()
    assert check.check_fixed_time_bound(agents=(2, 4), horizon=5) == []


def test_multinomial_and_total_variation():
    law = camps.multinomial_law(3, (Fraction(1, 3), Fraction(2, 3), Fraction(0)))
    assert sum(law.values()) == 1 and law[(1, 2, 0)] == Fraction(3 * 1 * 4, 27)
    assert camps.total_variation(law, law) == 0


def test_bad_input():
    with pytest.raises(InputError, match="complete graph"):
        camps.camp_law(System(agents=3, components=2, memory=2, graph="path"))
    with pytest.raises(InputError, match="schedule"):
        camps.camp_law(System(agents=2, components=2, memory=2, schedule="async"))
    with pytest.raises(InputError, match="ownership"):
        camps.mean_field_limit(System(agents=2, components=2, memory=2, ownership="open"))
    with pytest.raises(InputError, match="agents"):
        camps.camps_family(agents=(1, 2))


def test_family_small():
    r = camps.camps_family(agents=(2, 3, 4), memories=(2, 3), k3_memories=(), full_check=((3, 2, 2),),
                           simulate=(), horizon=4)
    assert r["theorem"] == "camps" and r["verdict"] == "open" and r["max_deviation"] == 0
    assert all(c["holds"] for c in r["checks"])
    assert len(r["checked"]) == 6
    # symmetric start: the one-agent marginal is exactly Q = 1/2 (claim 5 and the agents' symmetry)
    assert all(row["marginal"] == (HALF, HALF) for row in r["table"] if row["memory"] == 2)


def test_box_point_stays_in_the_box_where_the_normalised_midpoint_does_not():
    """The reported Q must be a probability vector inside the certified box (proofs/camps_mean_field.md (4)).
    Break tried: the old point (midpoint / its sum) leaves the box [0.9, 1] x [0, 0.5]."""
    check = _load_check()
    lower, upper = check.WIDE_BOX
    assert not check.box_point_ok(lower, check.normalised_midpoint(lower, upper), upper)
    Q = camps.box_point(lower, upper)
    assert Q == (Fraction(11, 12), Fraction(1, 12)) and check.box_point_ok(lower, Q, upper)
    with pytest.raises(AssertionError, match="no probability vector"):
        camps.box_point((Fraction(0), Fraction(0)), (Fraction(1, 3), Fraction(1, 3)))
    for K, N in ((2, 3), (3, 3)):  # a wide enclosure (3 steps) and the default one
        for steps in (3, 4000):
            lim = camps.mean_field_limit(System(agents=1, components=K, memory=N), max_steps=steps)
            assert check.box_point_ok(lim["lower"], lim["point"], lim["upper"])


def test_family_fails_when_the_limit_point_leaves_the_box(monkeypatch):
    """Break on purpose: a non-exact limit whose point is outside its box must make the verdict 'fails'
    (the old check looked at the point only for exact limits)."""
    real = camps.mean_field_limit

    def shifted(*args, **kwargs):
        lim = real(*args, **kwargs)
        return {**lim, "point": (lim["upper"][0] + Fraction(1, 100), lim["lower"][1] - Fraction(1, 100))}

    kwargs = dict(agents=(2,), memories=(3,), k3_memories=(), full_check=(), simulate=(), horizon=0)
    assert camps.camps_family(**kwargs)["verdict"] == "open"
    monkeypatch.setattr(camps, "mean_field_limit", shifted)
    r = camps.camps_family(**kwargs)
    assert r["verdict"] == "fails" and not r["checks"][0]["holds"]


def test_conditional_spread_step_of_the_fixed_time_bound():
    """Claim (2) step (b) exactly on the chain; the halved bound L/(4 sqrt m) is violated (so the check can fail)."""
    check = _load_check()
    cases = [dict(agents=4, components=2, memory=2), dict(agents=3, components=3, memory=2)]
    assert check.check_conditional_spread(cases=cases) == []
    assert check.check_conditional_spread(cases=cases[:1], scale=Fraction(1, 2)) != []


def test_no_mass_stays_interior_steps_of_the_proof():
    """proofs/camps_mean_field.md (4b): the escape moves and the counting, with their controls
    (4 x the step bound; a window of ceil(N/r) steps) reported violated."""
    check = _load_check()
    assert check.check_escape_moves(samples=2) == [] and check.check_escape_counting() == []
    assert check.check_escape_moves(samples=0, scale=4) != []
    assert check.escape_walk_fails(4, 1, 2, 4) and not check.escape_walk_fails(4, 1, 2, 8)
