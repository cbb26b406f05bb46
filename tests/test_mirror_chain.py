"""The mirroring chain (MODEL.md 6.2): reference values, an independent
Fraction implementation (tests/mirror_reference.py), Storm's exact engine,
lumped vs full, float vs exact, certified intervals, closed classes, inputs."""

import json
import random
from fractions import Fraction

import numpy as np
import pytest

import mirror_reference as ref
from markovgmm import InputError, System, build_chain
from markovgmm.analysis.absorption import absorb, absorption_probabilities
from markovgmm.analysis.classes import closed_classes
from markovgmm.chain.mirror import farthest_rule, distance_order, mirror_agent_laws, mirror_table
from markovgmm.chain.states import local_states
from markovgmm.cli import main
from markovgmm.system import default_start

F = Fraction
REFERENCE_START = ((2, 1), (1, 2), (3, 0), (0, 3))


def mirror(**kwargs):
    base = dict(model="mirror", agents=4, components=2, memory=3, neighbours=1, mirror="1/2")
    base.update(kwargs)
    return System(**base)


@pytest.mark.parametrize(
    "ties, polarization, consensus",
    [("clipped", F(1030259, 1367387), F(337128, 1367387)), ("uniform", F(2807203, 4492843), F(1685640, 4492843))],
)
@pytest.mark.parametrize("lump", [False, True])
def test_public_reference_values(ties, polarization, consensus, lump):
    report = absorb(build_chain(mirror(ties=ties), lump=lump), REFERENCE_START)
    assert report["polarization"] == polarization
    assert report["consensus"] == consensus
    assert report["other"] == 0
    assert report["silos_law"] == {1: consensus, 2: polarization}


def _random_state(rng, n, K, r):
    comps = [c for c in ref.compositions(K, r)]
    return tuple(rng.choice(comps) for _ in range(n))


SMALL = [
    dict(agents=2, components=2, memory=2, neighbours=1, mirror="1/5", geometry="line"),
    dict(agents=3, components=2, memory=3, neighbours=2, mirror=0, geometry="line"),
    dict(agents=3, components=3, memory=2, neighbours=1, mirror="1/2", geometry="simplex"),
    dict(agents=3, components=3, memory=2, neighbours=2, mirror="1/5", geometry="circle", ties="uniform"),
    dict(agents=4, components=2, memory=2, neighbours=3, mirror=1, geometry="line"),
    dict(agents=4, components=3, memory=2, neighbours=2, mirror="1/2", geometry="line", ties="uniform"),
    dict(agents=3, components=4, memory=2, neighbours=1, mirror="1/3", geometry="circle"),
    dict(agents=2, components=3, memory=4, neighbours=1, mirror="1/2", geometry="simplex"),
]


@pytest.mark.parametrize("kwargs", SMALL, ids=lambda k: str(sorted(k.items())))
def test_rows_equal_the_independent_reference(kwargs):
    system = System(model="mirror", **kwargs)
    chain = build_chain(system, lump=False)
    rng = random.Random(str(kwargs))
    K, r, k, p = system.components, system.memory, system.neighbours, system.mirror
    for _ in range(6):
        state = _random_state(rng, system.agents, K, r)
        expected = ref.transition_row(state, K, r, k, p, system.geometry, system.ties)
        s = chain.index(state)
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        got = {chain.counts(int(t)): F(int(v), chain.denominator) for t, v in zip(chain.indices[lo:hi], chain.values[lo:hi])}
        assert sum(got.values()) == 1
        assert {key: v for key, v in got.items() if v} == {key: v for key, v in expected.items() if v}


def test_every_row_sums_to_exactly_one():
    for kwargs in SMALL[:5]:
        chain = build_chain(System(model="mirror", **kwargs), lump=False)
        sums = np.add.reduceat(chain.values.astype(object), chain.indptr[:-1])
        assert all(int(x) == chain.denominator for x in sums)


@pytest.mark.parametrize("kwargs", SMALL[:6], ids=lambda k: str(sorted(k.items())))
def test_absorption_equals_the_reference_full_lumped_float(kwargs):
    system = System(model="mirror", **kwargs)
    start = _random_state(random.Random(1 + len(str(kwargs))), system.agents, system.components, system.memory)
    expected = ref.absorption(start, system.components, system.memory, system.neighbours, system.mirror, system.geometry, system.ties)
    full = absorb(build_chain(system, lump=False), start)
    lumped = absorb(build_chain(system, lump=True), start)
    for report in (full, lumped):
        assert report["polarization"] == expected["polarization"]
        assert report["consensus_by_component"] == expected["consensus_by_component"]
        assert report["expected_steps"] == expected["expected_steps"]
        assert report["other"] == expected["other"]
        assert report["silos_law"] == {key: v for key, v in expected["silos_law"].items() if v}
    floats = absorb(build_chain(system, exact=False, lump=True), start)
    assert abs(floats["polarization"] - float(expected["polarization"])) < 1e-10
    assert abs(floats["expected_steps"] - float(expected["expected_steps"])) < 1e-8 * max(1, float(expected["expected_steps"]))


def test_certified_interval_contains_the_exact_value():
    from markovgmm.analysis.certified import certified_absorb

    system = mirror(agents=5, memory=3, neighbours=2, mirror="1/5")
    start = ((2, 1), (1, 2), (3, 0), (0, 3), (1, 2))
    chain = build_chain(system, lump=True)
    exact = absorb(chain, start)
    box = certified_absorb(chain, chain.index(start))
    low, high = (F(x) for x in box["polarization_interval"])
    assert low <= exact["polarization"] <= high
    assert high - low <= F(1, 10**9) * exact["polarization"]


def test_farthest_rule_by_geometry():
    counts = local_states(3, 3)
    row = lambda c: int(np.flatnonzero((counts == c).all(axis=1))[0])  # noqa: E731
    line = farthest_rule(counts, distance_order("line", 3))
    simplex = farthest_rule(counts, distance_order("simplex", 3))
    circle = farthest_rule(counts, distance_order("circle", 4 - 1))
    # A 0 arrives at (1,1,1): on the line component 2 is farthest; on the simplex 1 and 2 tie.
    assert line[row([1, 1, 1]), 0].tolist() == [0, 0, 6]
    assert simplex[row([1, 1, 1]), 0].tolist() == [0, 3, 3]
    # Ties are drawn in proportion to counts: (0,2,1), a 0 arrives, simplex: 1 with 2/3, 2 with 1/3.
    assert simplex[row([0, 2, 1]), 0].tolist() == [0, 4, 2]
    # A store holding only the arriving component loses one of it.
    assert line[row([3, 0, 0]), 0].tolist() == [6, 0, 0]
    # On a circle of 3 every pair is adjacent: the same as the simplex.
    assert (circle == simplex).all()
    four = farthest_rule(local_states(2, 4), distance_order("circle", 4))
    counts4 = local_states(2, 4)
    r4 = int(np.flatnonzero((counts4 == [0, 1, 1, 0]).all(axis=1))[0])
    assert four[r4, 0].tolist() == [0, 0, 2, 0]  # component 2 is opposite 0 on a circle of 4


def test_partner_tie_rule_clipped_prefers_the_vertex_agent():
    # MODEL.md 6.2: from (2,1), the vertex agent (3,0) is slightly nearer than (1,2) under `clipped`.
    t = mirror_table(mirror())
    ranks = np.array([[int(np.flatnonzero((t.counts == c).all(axis=1))[0]) for c in REFERENCE_START]])
    for ties, expected in (("clipped", {2}), ("uniform", {1, 2})):
        system = mirror(ties=ties)
        from markovgmm.chain.mirror import partner_keys, partner_law

        law = partner_law(partner_keys(t.counts[ranks], ties), 1, system.mirror)[0, 0]
        assert set(np.flatnonzero(law[1:]) + 1) == expected
        assert law[0] * 2 == law.sum()  # p = 1/2 on oneself


def test_closed_classes_are_the_all_vertex_states_with_large_silos():
    """proofs/mirror_closed_classes.md: for r >= 2 and p < 1 an all-vertex
    state is absorbing exactly when every silo has at least k + 1 agents; for
    p = 1 or r = 1 (a one-point copy answers with the query itself) every
    all-vertex state is; every closed class is one absorbing state; checked
    on the classes the builder finds."""
    rng = random.Random(7)
    for trial in range(12):
        n = rng.randint(2, 4)
        kwargs = dict(
            agents=n, components=rng.randint(2, 3), memory=1 if trial == 0 else rng.randint(2, 3), neighbours=rng.randint(1, n - 1),
            mirror=rng.choice(["0", "1/3", "1/2", "1"]), geometry=rng.choice(["line", "circle", "simplex"]),
            ties=rng.choice(["clipped", "uniform"]),
        )
        system = System(model="mirror", **kwargs)
        chain = build_chain(system, lump=False)
        structure = closed_classes(chain)
        labels = chain.vertex_labels()
        singletons = {c.states[0] for c in structure.classes if len(c.states) == 1}
        for s in range(chain.n_states):
            if (labels[s] < 0).any():
                continue
            sizes = np.bincount(labels[s], minlength=system.components)
            absorbing = system.mirror == 1 or system.memory == 1 or all(size == 0 or size >= system.neighbours + 1 for size in sizes)
            assert (s in singletons) == absorbing, (kwargs, chain.counts(s))
        assert all(len(c.states) == 1 for c in structure.classes)


def test_default_start_and_cli_json_keys(capsys):
    system = mirror(agents=5, memory=2, neighbours=2)
    assert default_start(system) == ((2, 0), (0, 2), (2, 0), (0, 2), (2, 0))
    code = main(["absorb", "--model", "mirror", "--agents", "5", "--memory", "2", "--neighbours", "2", "--mirror", "1/2", "--exact", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("states", "transient", "polarization", "consensus", "consensus_by_component", "other", "expected_steps", "silos_law", "classes"):
        assert key in report
    for cls in report["classes"]:
        assert {"kind", "silos", "silo_sizes", "probability"} <= set(cls)
    direct = absorb(build_chain(system, lump=True), default_start(system))
    assert F(report["polarization"]) == direct["polarization"]
    assert sum(F(v) for v in report["silos_law"].values()) == 1


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(neighbours=0), "neighbours"),
        (dict(neighbours=4), "neighbours"),
        (dict(mirror="3/2"), "mirror"),
        (dict(mirror="-0.1"), "mirror"),
        (dict(memory=0), "memory"),
        (dict(geometry="square"), "geometry"),
        (dict(ties="random"), "ties"),
        (dict(replace=2), "replace"),
        (dict(graph="path"), "graph"),
        (dict(agents=1, neighbours=1), "agents"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, word):
    with pytest.raises(InputError, match=word):
        mirror(**kwargs)


def test_bad_start_counts_are_refused(capsys):
    code = main(["absorb", "--model", "mirror", "--agents", "2", "--memory", "3", "--start", "2,0;1,2"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sum to memory=3" in err[0]


def test_exact_and_float_laws_come_from_the_same_numbers():
    system = mirror(agents=3, memory=3, neighbours=2, mirror="1/5", geometry="line")
    chain = build_chain(system, lump=False)
    ranks = chain.agent_ranks[:50]
    _, exact_vals, denom = mirror_agent_laws(system, ranks, exact=True)
    _, float_vals, _ = mirror_agent_laws(system, ranks, exact=False)
    assert np.array_equal(exact_vals.astype(np.float64) / denom, float_vals)
    assert (exact_vals.sum(axis=-1) == denom).all()


STORM_MIRROR = [
    (dict(agents=2, components=2, memory=2, neighbours=1, mirror="1/5"), ((1, 1), (2, 0))),
    (dict(agents=2, components=2, memory=4, neighbours=1, mirror="1/2", geometry="simplex"), ((3, 1), (1, 3))),
    (dict(agents=3, components=2, memory=3, neighbours=1, mirror="1/2"), ((2, 1), (1, 2), (3, 0))),
    (dict(agents=3, components=2, memory=2, neighbours=2, mirror=0), ((1, 1), (2, 0), (0, 2))),
    (dict(agents=3, components=3, memory=2, neighbours=1, mirror="1/5", geometry="simplex"), ((1, 1, 0), (0, 1, 1), (2, 0, 0))),
    (dict(agents=4, components=2, memory=3, neighbours=1, mirror="1/2"), REFERENCE_START),
    (dict(agents=4, components=2, memory=2, neighbours=3, mirror=1), ((1, 1), (1, 1), (2, 0), (0, 2))),
    (dict(agents=4, components=2, memory=2, neighbours=2, mirror="1/5", ties="uniform"), ((1, 1), (2, 0), (0, 2), (1, 1))),
    (dict(agents=2, components=3, memory=3, neighbours=1, mirror="1/2", geometry="simplex"), ((1, 1, 1), (3, 0, 0))),
    (dict(agents=3, components=3, memory=2, neighbours=2, mirror="1/2", geometry="line"), ((1, 0, 1), (0, 2, 0), (1, 1, 0))),
]


@pytest.mark.parametrize("kwargs, start", STORM_MIRROR, ids=lambda x: str(x))
def test_storm_exact_engine_agrees_on_the_mirroring_chain(kwargs, start, tmp_path):
    stormpy = pytest.importorskip("stormpy")
    from markovgmm.io import write_drn

    chain = build_chain(System(model="mirror", **kwargs), lump=False)
    s = chain.index(start)
    result = absorption_probabilities(chain, s)
    path = tmp_path / "mirror.drn"
    write_drn(chain, s, path)
    text = path.read_text()
    structure = closed_classes(chain)
    closed = {int(x) for c in structure.classes for x in c.states}
    # Labels sit on closed-class states only (besides init).
    for line in text.splitlines():
        if line.startswith("state "):
            parts = line.split()
            if len(parts) > 2 and set(parts[2:]) - {"init"}:
                assert int(parts[1]) in closed

    def storm(label):
        if not any(line.startswith("state ") and label in line.split()[2:] for line in text.splitlines()):
            return F(0)  # a DRN label exists only where some state carries it: no such class, probability 0
        model = stormpy.build_model_from_drn[stormpy.Rational](str(path))
        prop = stormpy.parse_properties(f'P=? [F "{label}"]')[0]
        return F(str(stormpy.model_checking(model, prop).get_value(model.initial_states[0])))

    assert storm("polar") == result.polarization()
    for k, value in enumerate(result.consensus_by_component()):
        assert storm(f"consensus_{k}") == value
