"""Symmetry lumping (issue 5, item 1): the agents' symmetry group, canonical
orbit representatives, and the lumped chain against the full chain, Storm and
the CLI (proofs/lumpability.md)."""

import json
from fractions import Fraction
from itertools import permutations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.chain.build import build_chain
from markovgmm.chain.lumped import build_lumped_chain, lumping_map, split_closed_classes
from markovgmm.chain.states import all_states, global_index
from markovgmm.chain.symmetry import agent_group, canonical_ranks, n_orbits, orbit_representatives, orbit_sizes
from markovgmm.cli import main
from markovgmm.errors import InputError, TooLargeError
from markovgmm.system import System

F = Fraction


def brute_force_group(system):
    W = np.array(system.W, dtype=object)
    m = system.agents
    return sorted(p for p in permutations(range(m)) if (W[np.ix_(p, p)] == W).all())


@pytest.mark.parametrize(
    "kwargs, order",
    [
        (dict(agents=4), 24),
        (dict(agents=5, graph="ring"), 10),
        (dict(agents=4, graph="star"), 6),
        (dict(agents=4, graph="path"), 2),
        (dict(agents=3, graph="path", closed_neighbourhood=False), 2),
        (dict(agents=3, reading=((F(1, 2), F(1, 2), 0), (F(1, 3), F(1, 3), F(1, 3)), (0, F(1, 4), F(3, 4)))), 1),
        (dict(agents=1), 1),
    ],
)
def test_agent_group_is_the_automorphism_group_of_W(kwargs, order):
    system = System(components=2, memory=2, **kwargs)
    group = agent_group(system)
    expected = brute_force_group(system)
    assert group.order == order == len(expected)
    assert sorted(map(tuple, group.permutations.tolist())) == expected


def test_weighted_graph_symmetry_respects_weights():
    g = nx.Graph()
    g.add_weighted_edges_from([(0, 1, 1), (1, 2, 1), (2, 3, 2), (3, 0, 2)])
    system = System(agents=4, components=2, memory=2, graph=g, edge_weight="weight")
    assert sorted(map(tuple, agent_group(system).permutations.tolist())) == brute_force_group(system)
    assert agent_group(system).order == 2


@pytest.mark.parametrize("graph, m", [("ring", 4), ("star", 4), ("path", 3), ("complete", 3)])
def test_canonical_forms_and_orbit_sizes_by_brute_force(graph, m):
    system = System(agents=m, components=2, memory=2, graph=graph)
    group, L = agent_group(system), system.n_local_states
    states = all_states(L, m)
    perms = brute_force_group(system)
    orbits = [sorted({tuple(s[list(p)]) for p in perms}) for s in states.tolist() for s in [np.array(s)]]
    canonical = canonical_ranks(states, group, L)
    assert [tuple(c) for c in canonical.tolist()] == [o[0] for o in orbits]
    assert orbit_sizes(states, group, L).tolist() == [len(o) for o in orbits]
    reps = orbit_representatives(group, L)
    assert sorted({o[0] for o in orbits}) == [tuple(r) for r in reps.tolist()]
    assert len(reps) == n_orbits(group, L)
    assert (np.diff(global_index(reps, L)) > 0).all()


LUMP_SYSTEMS = [
    dict(agents=3, components=2, memory=4),
    dict(agents=3, components=2, memory=3, schedule="async"),
    dict(agents=3, components=3, memory=2),
    dict(agents=2, components=2, memory=5, replace=2),
    dict(agents=4, components=2, memory=2, graph="ring"),
    dict(agents=4, components=2, memory=2, graph="star", schedule="async"),
    dict(agents=3, components=2, memory=4, graph="path", prune=1),
    dict(agents=3, components=3, memory=2, ownership="open"),
    dict(agents=3, components=2, memory=3, means=(0, 1), covariance=((2,),)),
]


@pytest.mark.parametrize("kwargs", LUMP_SYSTEMS, ids=str)
def test_lumped_and_full_chains_agree_exactly_from_every_state(kwargs):
    system = System(**kwargs)
    full, lumped = build_chain(system), build_chain(system, lump=True)
    assert lumped.lumped and not full.lumped and lumped.n_states < full.n_states
    assert lumped.denominator == full.denominator
    # Every lumped row sums to exactly 1.
    sums = np.add.reduceat(lumped.values.astype(object), lumped.indptr[:-1]) if lumped.n_transitions else []
    assert all(int(x) == lumped.denominator for x in sums)
    orbit = lumping_map(lumped, full)
    assert np.bincount(orbit).tolist() == lumped.orbit_size.tolist()
    rf, rl = absorption_probabilities(full), absorption_probabilities(lumped)
    for s in range(full.n_states):
        o = int(orbit[s])
        assert full.index(full.counts(s)) == s and lumped.index(full.counts(s)) == o
        assert rf.polarization(s) == rl.polarization(o)
        assert rf.consensus_by_component(s) == rl.consensus_by_component(o)
        assert rf.other(s) == rl.other(o)
        assert rf.expected_steps[s] == rl.expected_steps[o]


def test_lumped_float_path_agrees_with_exact():
    system = System(agents=4, components=2, memory=4)
    exact, floating = build_chain(system, lump=True), build_chain(system, exact=False, lump=True)
    start = ((2, 2), (3, 1), (1, 3), (2, 2))
    a = absorption_probabilities(exact, exact.index(start))
    b = absorption_probabilities(floating, floating.index(start))
    assert abs(float(a.polarization()) - b.polarization()) < 1e-12
    assert abs(float(a.expected_steps[0]) - b.expected_steps[0]) < 1e-9


def test_lump_auto_keeps_full_chain_without_symmetry():
    reading = ((F(1, 2), F(1, 2), 0), (F(1, 3), F(1, 3), F(1, 3)), (0, F(1, 4), F(3, 4)))
    system = System(agents=3, components=2, memory=2, reading=reading)
    assert not build_chain(system, lump="auto").lumped
    forced = build_chain(system, lump=True)
    assert forced.lumped and forced.n_states == system.n_states
    assert build_chain(System(agents=3, components=2, memory=2), lump="auto").lumped
    with pytest.raises(InputError, match="lump"):
        build_chain(system, lump="yes")


def test_split_closed_classes_matches_full_chain():
    system = System(agents=3, components=2, memory=4)
    full, lumped = build_chain(system), build_lumped_chain(system)
    start = ((2, 2),) * 3
    rf = absorption_probabilities(full, full.index(start))
    rl = absorption_probabilities(lumped, lumped.index(start))
    split = split_closed_classes(lumped, full.agent_ranks[full.index(start)], rl.classes, rl.class_probabilities[0])
    assert [global_index(r, system.n_local_states) for r, _c, _p in split] == [c.states[0] for c in rf.classes]
    assert [p for _r, _c, p in split] == rf.class_probabilities[0]
    asymmetric = ((2, 2), (3, 1), (3, 1))
    rl = absorption_probabilities(lumped, lumped.index(asymmetric))
    assert split_closed_classes(lumped, full.agent_ranks[full.index(asymmetric)], rl.classes, rl.class_probabilities[0]) is None


def test_storm_exact_engine_on_the_lumped_chain(tmp_path):
    stormpy = pytest.importorskip("stormpy")
    from markovgmm.io.export import write_drn

    system = System(agents=3, components=2, memory=4, graph="path")
    full, lumped = build_chain(system), build_chain(system, lump=True)
    start = ((3, 1), (2, 2), (1, 3))
    expected = absorption_probabilities(full, full.index(start)).polarization()
    path = tmp_path / "lumped.drn"
    write_drn(lumped, lumped.index(start), path)
    model = stormpy.build_model_from_drn[stormpy.Rational](str(path))
    result = stormpy.model_checking(model, stormpy.parse_properties('P=? [F "polar"]')[0])
    assert F(str(result.get_value(model.initial_states[0]))) == expected


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_lump_on_and_off_give_identical_results(capsys):
    base = ["absorb", "-m", "3", "-N", "4", "--exact", "--json", "--quiet"]
    on, off = run_json(base + ["--lump", "on"], capsys), run_json(base + ["--lump", "off"], capsys)
    assert on["lumped_states"] == 35 and off["lumped_states"] is None
    assert on["states"] == off["states"] == 125 and on["transient"] == off["transient"]
    for key in ("polarization", "consensus", "consensus_by_component", "other", "expected_steps", "classes", "start"):
        assert on[key] == off[key]
    auto = run_json(base, capsys)
    assert auto["lumped_states"] == 35 and auto["polarization"] == off["polarization"]
    start = ["--start", "2,2;3,1;1,3"]
    on, off = run_json(base + ["--lump", "on"] + start, capsys), run_json(base + ["--lump", "off"] + start, capsys)
    assert on["polarization"] == off["polarization"] and on["expected_steps"] == off["expected_steps"]
    assert on["start"] == [[2, 2], [3, 1], [1, 3]]
    assert sum(c["full_states"] for c in on["classes"]) == len(off["classes"])


def test_too_large_message_names_size_and_suggests_lumping():
    system = System(agents=4, components=2, memory=20)
    with pytest.raises(TooLargeError) as info:
        build_chain(system, exact=False, memory_limit=10**6)
    message = str(info.value)
    assert "194,481 states" in message and "GiB" in message and "--lump on" in message and "10,626 orbits" in message
    with pytest.raises(TooLargeError, match="10,626 orbits"):
        build_chain(system, exact=False, memory_limit=10**6, lump=True)


@settings(max_examples=12, deadline=None)
@given(
    m=st.integers(2, 4),
    edges=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=6),
    schedule=st.sampled_from(["sync", "async"]),
    seed=st.integers(0, 10**6),
)
def test_random_graphs_group_and_lumped_results(m, edges, schedule, seed):
    graph = nx.empty_graph(m)
    graph.add_edges_from((u, v) for u, v in edges if u < m and v < m and u != v)
    system = System(agents=m, components=2, memory=2, graph=graph, schedule=schedule)
    group = agent_group(system)
    assert sorted(map(tuple, group.permutations.tolist())) == brute_force_group(system)
    full, lumped = build_chain(system), build_chain(system, lump=True)
    rng = np.random.default_rng(seed)
    start = tuple((int(a), 2 - int(a)) for a in rng.integers(0, 3, size=m))
    rf = absorption_probabilities(full, full.index(start))
    rl = absorption_probabilities(lumped, lumped.index(start))
    assert rf.polarization() == rl.polarization() and rf.consensus_by_component() == rl.consensus_by_component()
    assert rf.expected_steps == rl.expected_steps
