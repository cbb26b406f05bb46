"""The population-scale lumped sync build (markovgmm.chain.population): the
same exact chain as the expanded lumped build and as the full chain merged by
orbits, on random small systems of both models, and Storm's exact engine."""

from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from peak_memory import run_child

from markovgmm import System, build_chain
from markovgmm.analysis import absorption_probabilities
from markovgmm.chain import population
from markovgmm.chain.lumped import build_lumped_chain, lumping_map
from markovgmm.chain.symmetry import agent_group


def _expanded(system, exact):
    with mock.patch.object(population, "applies", lambda s, g: False):
        return build_lumped_chain(system, exact=exact)


def _random_systems(seed, count):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        if rng.random() < 0.5:
            K = int(rng.integers(2, 4))
            N = int(rng.integers(2, 5 if K == 2 else 4))
            kw = dict(agents=int(rng.integers(2, 5)), components=K, memory=N, replace=int(rng.integers(1, min(N, 2) + 1)))
            kw["ownership"] = str(rng.choice(["support", "open"]))
            if rng.random() < 0.3 and N >= 3:
                kw["prune"] = 1
        else:
            n = int(rng.integers(3, 6))
            kw = dict(model="mirror", agents=n, components=int(rng.integers(2, 4)), memory=int(rng.integers(1, 4)))
            kw.update(neighbours=int(rng.integers(1, n)), mirror=str(rng.choice(["0", "1/2", "1/3"])))
            kw["ties"] = str(rng.choice(["clipped", "uniform"]))
        out.append(kw)
    return out


SYSTEMS = _random_systems(12, 14)


@pytest.mark.parametrize("kwargs", SYSTEMS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_same_exact_chain_as_the_expanded_build(kwargs):
    system = System(**kwargs)
    assert population.applies(system, agent_group(system))
    new, old = build_lumped_chain(system), _expanded(system, exact=True)
    assert new.denominator == old.denominator
    assert np.array_equal(new.indptr, old.indptr) and np.array_equal(new.indices, old.indices)
    assert [int(v) for v in new.values] == [int(v) for v in old.values]
    assert np.array_equal(new.representatives, old.representatives)
    new_f, old_f = build_lumped_chain(system, exact=False), _expanded(system, exact=False)
    assert np.array_equal(new_f.indices, old_f.indices)
    np.testing.assert_allclose(new_f.values, old_f.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(new_f.values, new.matrix().data, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kwargs", SYSTEMS[:8], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_rows_are_the_full_chain_merged_by_orbit(kwargs):
    system = System(**kwargs)
    lumped, full = build_lumped_chain(system), build_chain(system)
    orbit = lumping_map(lumped, full)
    for o, rep in enumerate(lumped.representatives.tolist()):
        row = {}
        for k in range(full.indptr[rep], full.indptr[rep + 1]):
            t = int(orbit[full.indices[k]])
            row[t] = row.get(t, 0) + Fraction(int(full.values[k]), full.denominator)
        got = {
            int(lumped.indices[k]): Fraction(int(lumped.values[k]), lumped.denominator)
            for k in range(lumped.indptr[o], lumped.indptr[o + 1])
        }
        assert got == row


def test_falls_back_off_the_symmetric_group_and_under_async():
    path = System(agents=3, components=2, memory=3, graph="path")
    assert not population.applies(path, agent_group(path))
    slow = System(agents=3, components=2, memory=3, schedule="async")
    assert not population.applies(slow, agent_group(slow))


def test_public_reference_value_through_the_new_build():
    system = System(agents=2, components=2, memory=4)
    chain = build_chain(system, lump=True)
    result = absorption_probabilities(chain, chain.index(((2, 2), (2, 2))))
    assert result.polarization() == Fraction(139813, 1630674)


def test_mirror_reference_value_through_the_new_build():
    system = System(model="mirror", agents=4, components=2, memory=3, neighbours=1, mirror="1/2")
    chain = build_chain(system, lump=True)
    result = absorption_probabilities(chain, chain.index(((2, 1), (1, 2), (3, 0), (0, 3))))
    assert result.polarization() == Fraction(1030259, 1367387)


STORM_CASES = [
    (dict(agents=4, components=2, memory=3), ((2, 1), (2, 1), (1, 2), (1, 2))),
    (dict(model="mirror", agents=5, components=2, memory=3, neighbours=1, mirror="1/3"), ((3, 0), (2, 1), (0, 3), (1, 2), (2, 1))),
    (dict(agents=3, components=3, memory=2, replace=2), ((1, 1, 0), (0, 1, 1), (1, 0, 1))),
]


@pytest.mark.parametrize("kwargs, start", STORM_CASES, ids=lambda x: str(x))
def test_storm_exact_engine_on_the_new_lumped_chain(kwargs, start, tmp_path):
    stormpy = pytest.importorskip("stormpy")
    from markovgmm.io import write_drn

    chain = build_chain(System(**kwargs), lump=True)
    s = chain.index(start)
    path = tmp_path / "chain.drn"
    write_drn(chain, s, path)
    model = stormpy.build_model_from_drn[stormpy.Rational](str(path))
    result = stormpy.model_checking(model, stormpy.parse_properties('P=? [F "polar"]')[0])
    assert Fraction(str(result.get_value(model.initial_states[0]))) == absorption_probabilities(chain, s).polarization()


_RSS_CHILD = r"""
from markovgmm.system import System
from markovgmm.chain.assembly import estimate_cost, local_table
from markovgmm.chain.build import build_chain
kw, lump = json.loads(sys.argv[1]), sys.argv[2] == "1"
system = System(**kw)
build_chain(System(**dict(kw, memory=2)), lump=lump)  # first-call set-up, not the build's memory
table = local_table(system)
cost = estimate_cost(system, table, lumped=lump)
base = status("VmRSS:")
reset_peak()
chain = build_chain(system, lump=lump, memory_limit=1 << 60)
print(json.dumps(dict(estimate=cost["bytes"], peak=status("VmHWM:") - base, transitions=chain.n_transitions, estimated=cost["transitions"])))
"""


@pytest.mark.parametrize(
    "kwargs, lump",
    [
        (dict(agents=7, components=2, memory=8), True),
        (dict(agents=3, components=2, memory=30), False),
        (dict(model="mirror", agents=8, components=2, memory=5, neighbours=2, mirror="1/2"), True),
    ],
    ids=["pool-m7-N8-lumped", "pool-m3-N30-full", "mirror-n8-r5-lumped"],
)
def test_memory_estimate_against_measured_peak(kwargs, lump):
    import json

    got = run_child(_RSS_CHILD, json.dumps(kwargs), "1" if lump else "0")
    # Transitions within 15% of the built chain, bytes above the peak and at most 3x it (+32 MiB of slack).
    assert abs(got["estimated"] - got["transitions"]) <= 0.15 * got["transitions"]
    assert got["peak"] <= got["estimate"] <= 3 * got["peak"] + 32 * 2**20, got


def test_component_symmetry_group_falls_back_to_the_expanded_build():
    from markovgmm.chain.symmetry import symmetry_group

    system = System(agents=3, components=2, memory=4)
    group = symmetry_group(system)
    assert group.has_components and not population.applies(system, group)
    assert population.applies(system, agent_group(system))


def test_refusal_names_a_smaller_memory_that_fits():
    from markovgmm.chain.assembly import estimate_cost
    from markovgmm.errors import TooLargeError

    limit = 200 * 2**20
    with pytest.raises(TooLargeError, match=r"largest memory that fits here is memory=(\d+)") as err:
        build_chain(System(agents=9, components=2, memory=12), lump=True, exact=False, memory_limit=limit)
    import re

    fits = int(re.search(r"memory=(\d+) \(", str(err.value)).group(1))
    assert estimate_cost(System(agents=9, components=2, memory=fits), lumped=True)["bytes"] <= limit
    assert estimate_cost(System(agents=9, components=2, memory=fits + 1), lumped=True)["bytes"] > limit


def test_chain_repr_and_exact_matrix():
    from markovgmm.errors import TooLargeError

    chain = build_chain(System(agents=2, components=2, memory=4), lump=True)
    assert repr(chain) == "<Chain pool m=2 K=2 N=4 sync, lumped S_2: 15 states, 64 transitions, exact>"
    M = chain.exact_matrix()
    for s in range(chain.n_states):
        for t in range(chain.n_states):
            assert Fraction(str(M.to_Matrix()[s, t])) == chain.probability(s, t)
    with pytest.raises(TooLargeError, match="max_entries"):
        chain.exact_matrix(max_entries=10)
    with pytest.raises(TooLargeError, match="float build"):
        build_chain(System(agents=2, components=2, memory=4), exact=False).exact_matrix()
