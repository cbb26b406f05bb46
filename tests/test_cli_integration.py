"""The command layer over the library: absorb on lumped chains and the
certified Gaussian route agree with the library functions they wrap."""

import json

import pytest

from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorb, absorption_probabilities
from markovgmm.cli import main


@pytest.mark.parametrize("start", [((2, 2), (2, 2), (3, 1)), ((4, 0), (2, 2), (1, 3))])
def test_library_absorb_on_a_lumped_chain_equals_the_full_chain(start):
    system = System(agents=3, components=2, memory=4)
    full = absorb(build_chain(system), start)
    lumped = absorb(build_chain(system, lump=True), start)
    for key in ("polarization", "consensus", "consensus_by_component", "other", "expected_steps", "states", "transient"):
        assert lumped[key] == full[key], key
    assert lumped["lumped_states"] < lumped["states"] and full["lumped_states"] is None
    assert sum(c["probability"] for c in lumped["classes"]) == 1


def test_certified_gaussian_interval_contains_the_float_chain_value(capsys):
    system = System(agents=2, components=2, memory=3, ownership="gaussian")
    chain = build_chain(system, exact=False)
    value = absorption_probabilities(chain, chain.index(((2, 1), (1, 2)))).polarization()
    assert main(["absorb", "-N", "3", "--ownership", "gaussian", "--start", "2,1;1,2", "--certified", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    low, high = report["polarization_interval"]
    assert low <= value <= high and high - low < 1e-3


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=3, components=2, memory=5), ((3, 2), (1, 4), (5, 0))),
        (dict(agents=3, components=2, memory=4, graph="path", schedule="async"), ((3, 1), (2, 2), (1, 3))),
        (dict(agents=2, components=3, memory=3, reading=((1, 0), ("1/3", "2/3"))), ((2, 1, 0), (0, 1, 2))),
    ],
)
def test_polarization_probability_solved_on_orbits_equals_the_full_solve(kwargs, start):
    from markovgmm.analysis.absorption import polarization_probability

    chain = build_chain(System(**kwargs))
    s = chain.index(start)
    assert polarization_probability(chain, s) == absorption_probabilities(chain, s).polarization()
