"""Chain Monte Carlo (markovgmm.simulate.chain_mc) against the exact chain.

The simulator makes the draws of MODEL.md 2 run by run and never reads a
transition probability, so agreement with the exact absorption
probabilities (within 99.9% Clopper-Pearson intervals, fixed seeds) and with
exact one-step rows checks both codes against each other.
"""

import json
from fractions import Fraction

import numpy as np
import pytest

from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.chain.build import build_chain
from markovgmm.cli import main
from markovgmm.errors import InputError
from markovgmm.simulate.chain_mc import binomial_interval, simulate_chain, step_memories
from markovgmm.system import System

F = Fraction

# (system keyword arguments, start state)
SYSTEMS = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=2, memory=4, schedule="async"), ((3, 1), (2, 2))),
    (dict(agents=3, components=2, memory=3, graph="path"), ((2, 1), (1, 2), (2, 1))),
    (dict(agents=3, components=2, memory=3, graph="path", schedule="async"), ((3, 0), (1, 2), (1, 2))),
    (dict(agents=3, components=2, memory=3, graph="star"), ((1, 2), (2, 1), (2, 1))),
    (dict(agents=2, components=3, memory=3), ((1, 1, 1), (1, 1, 1))),
    (dict(agents=2, components=3, memory=3, schedule="async"), ((2, 1, 0), (0, 1, 2))),
    (dict(agents=2, components=2, memory=5, replace=2), ((3, 2), (2, 3))),
    (dict(agents=2, components=3, memory=4, replace=2, schedule="async"), ((2, 1, 1), (1, 1, 2))),
    (dict(agents=2, components=2, memory=5, prune=1), ((3, 2), (2, 3))),
    (dict(agents=2, components=3, memory=6, replace=2, prune=1), ((2, 2, 2), (3, 2, 1))),
    (dict(agents=3, components=2, memory=3, ownership="open", graph="path"), ((2, 1), (1, 2), (2, 1))),
    (dict(agents=2, components=2, memory=4, means=(0, 5)), ((1, 3), (3, 1))),
]
RUNS = 20_000


def _exact(system, start):
    chain = build_chain(system, exact=True)
    return absorption_probabilities(chain, chain.index(start))


@pytest.mark.parametrize("number", range(len(SYSTEMS)))
def test_exact_value_in_interval(number):
    kwargs, start = SYSTEMS[number]
    system = System(**kwargs)
    exact = _exact(system, start)
    result = simulate_chain(system, start, runs=RUNS, seed=1000 + number)
    assert result.unabsorbed == 0 and result.runs == RUNS
    assert result.polarized + result.consensus + result.other == RUNS
    lo, hi = result.interval_of(result.polarized)
    assert lo <= float(exact.polarization()) <= hi
    for k, p in enumerate(exact.consensus_by_component()):
        lo, hi = result.interval_of(result.consensus_by_component[k])
        assert lo <= float(p) <= hi, (k, p, lo, hi)
    # Mean absorption time: normal interval at 99.9% around the sample mean.
    mean, se = result.mean_steps, result.steps_standard_error
    assert abs(mean - float(exact.expected_steps[0])) <= 3.29 * se, (mean, float(exact.expected_steps[0]), se)


def test_other_class_under_open_ownership():
    # Agents 0 and 1 read only themselves; agent 2 reads both.  Once 0 and 1 sit at
    # different vertices, agent 2 keeps moving for ever: a closed class of kind "other".
    W = ((1, 0, 0), (0, 1, 0), (F(1, 2), F(1, 2), 0))
    system = System(agents=3, components=2, memory=2, ownership="open", reading=W)
    start = ((1, 1), (1, 1), (2, 0))
    exact = _exact(system, start)
    assert exact.other() > 0
    result = simulate_chain(system, start, runs=RUNS, seed=7)
    assert result.unabsorbed == 0 and result.polarized == 0
    lo, hi = result.interval_of(result.other)
    assert lo <= float(exact.other()) <= hi
    # Without the chain's closed classes the "other" runs never stop: they hit the cap.
    capped = simulate_chain(system, start, runs=500, seed=7, closed_limit=0, max_steps=200)
    assert capped.unabsorbed > 0 and capped.other == 0
    lo, hi = capped.interval_of(capped.consensus)
    assert lo <= float(exact.consensus()) <= hi


@pytest.mark.parametrize(
    "kwargs, state",
    [
        (dict(agents=2, components=3, memory=4, replace=2, prune=1), ((2, 1, 1), (1, 3, 0))),
        (dict(agents=2, components=3, memory=6, prune=1), ((1, 2, 3), (3, 2, 1))),
        (dict(agents=3, components=2, memory=3, schedule="async", graph="path"), ((2, 1), (1, 2), (3, 0))),
        (dict(agents=2, components=3, memory=3, means=(0, 1, 3)), ((0, 1, 2), (3, 0, 0))),
    ],
)
def test_one_step_law_matches_chain_row(kwargs, state):
    """Empirical one-step law from 40000 draws vs the exact row (Bonferroni 99.9%)."""
    system = System(**kwargs)
    chain = build_chain(system, exact=True)
    source = chain.index(state)
    draws = 40_000
    after = step_memories(system, np.broadcast_to(np.array(state), (draws, system.agents, system.components)), np.random.default_rng(5))
    unique, occurrences = np.unique(after.reshape(draws, -1), axis=0, return_counts=True)
    counts = {}
    for row, count in zip(unique.tolist(), occurrences.tolist()):
        K = system.components
        counts[chain.index(tuple(tuple(row[i : i + K]) for i in range(0, len(row), K)))] = count
    lo_, hi_ = chain.indptr[source], chain.indptr[source + 1]
    support = chain.indices[lo_:hi_].tolist()
    assert set(counts) <= set(support)  # never a transition the chain forbids
    level = 1 - 0.001 / len(support)
    for t in support:
        lo, hi = binomial_interval(counts.get(t, 0), draws, level)
        assert lo <= float(chain.probability(source, t)) <= hi


def test_same_seed_same_numbers():
    system = System(agents=3, components=2, memory=4, schedule="async")
    a = simulate_chain(system, runs=800, seed=42).to_dict()
    b = simulate_chain(system, runs=800, seed=42).to_dict()
    c = simulate_chain(system, runs=800, seed=43).to_dict()
    assert a == b
    assert a != c


def test_cap_widens_interval_conservatively():
    system = System(agents=2, components=2, memory=6)
    result = simulate_chain(system, runs=1000, seed=3, max_steps=5)
    assert result.unabsorbed > 0
    lo, hi = result.interval_of(result.polarized)
    plain = binomial_interval(result.polarized, result.runs, result.level)
    assert lo == plain[0] and hi > plain[1]
    exact = _exact(system, ((3, 3), (3, 3))).polarization()
    assert lo <= float(exact) <= hi


def test_binomial_interval_against_beta_quantiles():
    from scipy.stats import binom

    lo, hi = binomial_interval(7, 40, 0.99)
    # Defining property of Clopper-Pearson: P(X >= 7 | lo) = P(X <= 7 | hi) = 0.005.

    assert abs(binom.sf(6, 40, lo) - 0.005) < 1e-9 and abs(binom.cdf(7, 40, hi) - 0.005) < 1e-9
    wlo, whi = binomial_interval(7, 40, 0.99, method="wilson")
    assert 0 < wlo < 7 / 40 < whi < 1
    with pytest.raises(InputError, match="level"):
        binomial_interval(1, 2, 1.5)


def test_bad_input():
    system = System(agents=2, components=2, memory=4)
    with pytest.raises(InputError, match="runs"):
        simulate_chain(system, runs=0)
    with pytest.raises(InputError, match="level"):
        simulate_chain(system, runs=10, level=1.0)
    with pytest.raises(InputError, match="start"):
        simulate_chain(system, ((4, 0), (3, 0)), runs=10)


def test_cli_json(capsys):
    assert main(["simulate-chain", "--runs", "3000", "--seed", "11", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("runs", "polarization_frequency", "polarization_ci", "level", "consensus_frequency", "polarization_exact",
                "polarization_float", "polarization_in_ci", "mean_steps", "unabsorbed", "polarized_runs", "version"):
        assert key in out
    assert out["runs"] == 3000 and out["level"] == 0.999
    assert out["polarization_exact"] == "139813/1630674" and out["polarization_in_ci"] is True
    assert out["polarization_float"] == 139813 / 1630674
    assert out["polarization_ci"][0] <= out["polarization_frequency"] <= out["polarization_ci"][1]
    assert out["polarized_runs"] / out["runs"] == out["polarization_frequency"]
    assert out["polarized_runs"] + out["consensus_runs"] + out["other_runs"] + out["unabsorbed"] == out["runs"]
    assert sum(out["consensus_by_component_runs"]) == out["consensus_runs"]


def test_cli_errors(capsys):
    assert main(["simulate-chain", "--runs", "10", "--level", "2"]) == 2
    assert "level" in capsys.readouterr().err
