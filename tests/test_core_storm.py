"""Cross-checks against the Storm model checker (exact engine) and sympy (MODEL.md 3)."""

from fractions import Fraction

import pytest
import sympy
from sympy.stats import DiscreteMarkovChain

from markovgmm import System, build_chain
from markovgmm.analysis import absorption_probabilities, closed_classes
from markovgmm.io import read_prism_tra, write_drn, write_prism

stormpy = pytest.importorskip("stormpy")

F = Fraction

STORM_SYSTEMS = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=2, memory=4, schedule="async"), ((3, 1), (1, 3))),
    (dict(agents=3, components=2, memory=3, graph="path"), ((2, 1), (1, 2), (2, 1))),
    (dict(agents=3, components=2, memory=2, graph="path", schedule="async"), ((1, 1), (1, 1), (1, 1))),
    (dict(agents=2, components=3, memory=3), ((1, 1, 1), (1, 1, 1))),
    (dict(agents=2, components=3, memory=3, schedule="async", replace=2), ((2, 1, 0), (0, 1, 2))),
    (dict(agents=2, components=2, memory=5, replace=2), ((3, 2), (2, 3))),
    (dict(agents=3, components=2, memory=3), ((2, 1), (2, 1), (1, 2))),
]


def storm_value(path, label, exact=True):
    kind = stormpy.Rational if exact else float
    model = stormpy.build_model_from_drn[kind](str(path))
    prop = stormpy.parse_properties(f'P=? [F "{label}"]')[0]
    result = stormpy.model_checking(model, prop)
    value = result.get_value(model.initial_states[0])
    return F(str(value)) if exact else float(value)


@pytest.mark.parametrize("kwargs, start", STORM_SYSTEMS, ids=lambda x: str(x))
def test_storm_exact_engine_agrees(kwargs, start, tmp_path):
    system = System(**kwargs)
    chain = build_chain(system)
    s = chain.index(start)
    result = absorption_probabilities(chain, s)
    path = tmp_path / "chain.drn"
    write_drn(chain, s, path)
    assert storm_value(path, "polar") == result.polarization()
    for k, value in enumerate(result.consensus_by_component()):
        assert storm_value(path, f"consensus_{k}") == value


def test_storm_reads_the_explicit_dialect(tmp_path):
    chain = build_chain(System(agents=2, components=2, memory=4))
    start = chain.index(((2, 2), (2, 2)))
    tra, lab = write_prism(chain, start, str(tmp_path / "chain"), dialect="storm")
    model = stormpy.build_model_from_explicit(tra, lab)
    result = stormpy.model_checking(model, stormpy.parse_properties('P=? [F "polar"]')[0])
    # Storm's float engine stops at its default precision 1e-6 (STORM.md).
    assert abs(result.get_value(model.initial_states[0]) - 139813 / 1630674) < 1e-6


def test_prism_files_round_trip_exactly(tmp_path):
    chain = build_chain(System(agents=2, components=3, memory=2, schedule="async"))
    tra, lab = write_prism(chain, 0, str(tmp_path / "chain"), fractions=True)
    n, entries = read_prism_tra(tra)
    assert n == chain.n_states and len(entries) == chain.n_transitions
    for (s, t), p in entries.items():
        assert chain.probability(s, t) == p
    header = open(lab).readline()
    assert header.startswith('0="init" 1="deadlock"') and '"polar"' in header


def test_sympy_discrete_markov_chain_agrees():
    # 25 states: sympy's absorbing-chain algebra is an independent exact computation.
    chain = build_chain(System(agents=2, components=2, memory=4))
    n = chain.n_states
    T = sympy.zeros(n, n)
    for s in range(n):
        for k in range(chain.indptr[s], chain.indptr[s + 1]):
            T[s, int(chain.indices[k])] = sympy.Rational(int(chain.values[k]), chain.denominator)
    markov = DiscreteMarkovChain("X", list(range(n)), T)
    assert markov.is_absorbing_chain()
    absorbing = sorted(s for s in range(n) if T[s, s] == 1)
    structure = closed_classes(chain)
    assert absorbing == sorted(c.states[0] for c in structure.classes)
    # sympy orders recurrent states first, then transient ones, as its decompose() reports.
    order = [int(x) for x in markov.decompose()[0]]
    recurrent, transient = order[: len(absorbing)], order[len(absorbing) :]
    assert sorted(recurrent) == absorbing
    B = markov.absorbing_probabilities()  # rows: transient, columns: recurrent, in that order
    polar = [recurrent.index(c.states[0]) for c in structure.classes if c.kind == "polarised"]
    ours = absorption_probabilities(chain)
    for row, s in enumerate(transient):
        expected = sum(B[row, j] for j in polar)
        assert F(int(expected.p), int(expected.q)) == ours.polarization(s)
    # Expected steps from the fundamental matrix.
    Nf = markov.fundamental_matrix()
    for row, s in enumerate(transient):
        steps = sum(Nf[row, j] for j in range(len(transient)))
        assert F(int(steps.p), int(steps.q)) == ours.expected_steps[s]
