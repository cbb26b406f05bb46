"""Certified enclosures (markovgmm.analysis.certified, issue 5 item 3).

Every interval is compared exactly with an independently computed rational:
the exact absorbing-chain solve (validated against Storm in test_core_storm),
the public reference value, or the closed form of MODEL.md 4 (LB3 lemma).
The float solver is also deliberately broken to show that the certificate,
not the float answer, carries the proof.
"""

import json
from fractions import Fraction
from math import comb

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import spsolve

from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.certified import (
    CertificationError,
    certified_absorb,
    certified_absorption,
    decimal_bounds,
    direct_solver,
)
from markovgmm.analysis.classes import closed_classes
from markovgmm.cli import main
from markovgmm.errors import InputError

F = Fraction

SYSTEMS = [
    dict(agents=2, components=2, memory=4),
    dict(agents=2, components=2, memory=6, schedule="async"),
    dict(agents=3, components=2, memory=4, graph="path"),
    dict(agents=3, components=2, memory=3, graph="path", schedule="async"),
    dict(agents=2, components=3, memory=4),
    dict(agents=2, components=3, memory=5, prune=1),
    dict(agents=3, components=2, memory=4, ownership="open", graph="path"),
    dict(agents=2, components=2, memory=5, ownership="open"),
    dict(agents=3, components=3, memory=2, graph="star"),
]


def _starts(chain, structure, count, seed):
    transient = structure.transient
    rng = np.random.default_rng(seed)
    picked = rng.choice(transient, size=min(count, len(transient)), replace=False)
    closed = np.flatnonzero(structure.class_of >= 0)[:1]
    return [int(s) for s in np.r_[picked, closed]]


@pytest.mark.parametrize("lump", [False, True])
@pytest.mark.parametrize("params", SYSTEMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_interval_contains_exact_value(params, lump):
    chain = build_chain(System(**params), lump=lump)
    structure = closed_classes(chain)
    exact = absorption_probabilities(chain, None, structure=structure)
    for start in _starts(chain, structure, 3, seed=len(params)):
        row = exact.row_of(start)
        report = certified_absorb(chain, start)
        assert report["converged"]
        targets = [
            (report["polarization_interval"], exact.polarization(row), report["relative_width"]),
            (report["consensus_interval"], exact.consensus(row), report["consensus_relative_width"]),
            (report["other"]["interval"], exact.other(row), report["other"]["relative_width"]),
        ]
        targets += [
            (box["interval"], value, box["relative_width"])
            for box, value in zip(report["consensus_by_component"], exact.consensus_by_component(row))
        ]
        for (lo, hi), value, width in targets:
            lo, hi = F(lo), F(hi)
            assert lo <= value <= hi
            if value == 0:
                assert lo == hi == 0  # structural zeros are exact
            else:
                assert 0 < lo and width <= 1e-12 and (hi - lo) <= F(1, 10**12) * value
        lo, hi = (F(x) for x in report["polarization_decimal"])  # outward decimals still enclose
        assert lo <= exact.polarization(row) <= hi


def test_reference_value():
    chain = build_chain(System(agents=2, components=2, memory=4))
    box = certified_absorption(chain, ((2, 2), (2, 2)))
    assert box.lower <= F(139813, 1630674) <= box.upper
    assert box.lower <= box.estimate <= box.upper
    assert box.relative_width < 1e-12 and box.converged


def test_closed_form_tiny_probability():
    """MODEL.md 4 lemma: one agent frozen on label 0, the other holding y items
    of it; P(polarisation) = sum_{k>=y} 1/C(N+k,k) / sum_k 1/C(N+k,k), here ~1.8e-23."""
    N = 40
    chain = build_chain(System(agents=2, components=2, memory=N))
    for y in (N - 1, N // 2, 1):
        exact = sum(F(1, comb(N + k, k)) for k in range(y, N)) / sum(F(1, comb(N + k, k)) for k in range(N))
        box = certified_absorption(chain, ((N, 0), (y, N - y)))
        assert box.lower <= exact <= box.upper
        assert 0 < box.lower and box.relative_width < 1e-12
    assert exact > F(1, 50) and box.upper < 1  # y = 1: not tiny


def _float_lu_polarisation(chain, start):
    """Plain float64 sparse LU on the same chain, no refinement."""
    structure = closed_classes(chain)
    transient = structure.transient
    P = chain.matrix()
    polar = np.isin(structure.class_of, [i for i, c in enumerate(structure.classes) if c.kind == "polarised"])
    A = sp.identity(len(transient)) - P[transient][:, transient]
    b = np.asarray(P[transient][:, polar].sum(axis=1)).ravel()
    return spsolve(A.tocsc(), b)[np.searchsorted(transient, start)]


def test_tiny_probability_m3_exact():
    """m=3, N=10 (lumped): the interval contains the exact rational solution."""
    chain = build_chain(System(agents=3, components=2, memory=10), lump=True)
    start = chain.index(((5, 5),) * 3)
    exact = absorption_probabilities(chain, start).polarization()
    box = certified_absorption(chain, start)
    assert box.lower <= exact <= box.upper and box.relative_width < 1e-12


def test_tiny_probability_float_lu_loses_accuracy():
    """m=3, N=30 lumped, P ~ 3.6e-14: plain float LU is off in the 5th digit,
    the certified interval is 1e-12-tight (so it pins the value the LU misses)."""
    N = 30
    chain = build_chain(System(agents=3, components=2, memory=N), lump=True)
    start = chain.index(((15, 15),) * 3)
    box = certified_absorption(chain, start)
    assert 1e-15 < box.lower and box.relative_width < 1e-12
    plain = F(float(_float_lu_polarisation(chain, start)))
    assert abs(plain - box.estimate) > 1e-8 * box.estimate  # the LU's relative error ...
    assert not box.contains(plain)  # ... puts it far outside the certified interval


def _noisy_solver(scale, relative_noise, seed):
    def factory(A):
        solve = direct_solver(A)
        rng = np.random.default_rng(seed)

        def wrong(r):
            c = solve(r)
            return scale * c * (1 + relative_noise * rng.standard_normal(len(c)))

        return wrong

    return factory


@pytest.mark.parametrize(
    "scale,noise,max_refinements,converges",
    [(1.0, 1e-3, 12, True), (0.9, 0.0, 30, True), (1.3, 0.0, 3, False), (1.0, 1e-6, 1, False), (3.0, 0.0, 12, False)],
)
def test_perturbed_float_solver_still_encloses(scale, noise, max_refinements, converges):
    """A biased, noisy or divergent (scale 3) float solver: the interval still
    holds; only its width suffers."""
    chain = build_chain(System(agents=3, components=2, memory=6, graph="path"))
    start = chain.index(((3, 3), (2, 4), (4, 2)))
    exact = absorption_probabilities(chain, start)
    report = certified_absorb(
        chain, start, float_solver=_noisy_solver(scale, noise, seed=7), max_refinements=max_refinements
    )
    lo, hi = (F(x) for x in report["polarization_interval"])
    assert lo <= exact.polarization() <= hi
    for box, value in zip(report["consensus_by_component"], exact.consensus_by_component()):
        lo, hi = (F(x) for x in box["interval"])
        assert lo <= value <= hi
    assert report["converged"] == converges
    if converges:
        assert report["relative_width"] < 1e-12
    else:
        assert report["relative_width"] is None or report["relative_width"] > 1e-9


@pytest.mark.parametrize("answer", [np.zeros_like, lambda r: -r])
def test_useless_solver_refuses(answer, monkeypatch):
    """A solver that gives nothing, or nothing with A z > 0, yields no
    certificate (blockwise fallback forced onto the same float solver)."""
    import markovgmm.analysis.certified as certified

    monkeypatch.setattr(certified, "_EXACT_BLOCK", 0)
    chain = build_chain(System(agents=2, components=2, memory=4))
    with pytest.raises(CertificationError):
        certified_absorption(chain, ((2, 2), (2, 2)), float_solver=lambda A: answer)


def test_closed_and_unreachable_starts_are_exact():
    chain = build_chain(System(agents=2, components=2, memory=4))
    at_vertex = certified_absorption(chain, ((4, 0), (0, 4)))
    assert (at_vertex.lower, at_vertex.upper) == (1, 1)
    consensus = certified_absorption(chain, ((4, 0), (4, 0)), target=1)
    assert (consensus.lower, consensus.upper) == (0, 0) and consensus.relative_width == 0.0


def test_bad_input():
    system = System(agents=2, components=2, memory=4)
    with pytest.raises(InputError, match="exact build"):
        certified_absorption(build_chain(system, exact=False), 0)
    chain = build_chain(system)
    with pytest.raises(InputError, match="target"):
        certified_absorption(chain, 0, target="camps")
    with pytest.raises(InputError, match="target"):
        certified_absorption(chain, 0, target=2)
    with pytest.raises(InputError, match="start"):
        certified_absorption(chain, 25)


@settings(max_examples=200, deadline=None)
@given(st.fractions(min_value=-(10**6), max_value=10**6), st.integers(1, 25))
def test_decimal_bounds_round_outward(value, digits):
    lo, hi = decimal_bounds(value, value, digits)
    assert F(lo) <= value <= F(hi)
    assert F(hi) - F(lo) <= abs(value) * F(2, 10 ** (digits - 1))
    if value.denominator == 1 and len(str(abs(value.numerator)).rstrip("0")) <= digits:
        assert F(lo) == F(hi) == value


def test_cli_certified_json(capsys):
    assert main(["absorb", "-m", "2", "-N", "4", "--certified", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = (F(x) for x in out["polarization_interval"])
    assert lo <= F(139813, 1630674) <= hi and out["relative_width"] < 1e-12
    lo, hi = (F(x) for x in out["polarization_decimal"])
    assert lo <= F(139813, 1630674) <= hi
    lo, hi = (F(x) for x in out["consensus_interval"])
    assert lo <= 1 - F(139813, 1630674) <= hi
    assert out["arithmetic"] == "certified" and out["states"] == 25


def test_cli_certified_human(capsys):
    assert main(["absorb", "-m", "2", "-N", "4", "--certified", "--quiet", "--lump", "off"]) == 0
    text = capsys.readouterr().out
    # lower bound within rtol=1e-12 (relative) below the exact 139813/1630674 = 8.57393936494970...e-2
    assert "P(polarisation)       [8.573939364949" in text and "relative width" in text


def test_exact_products_agree_with_python_integers():
    """Both exact kernels (int64 limbs, Python integers) give V @ C exactly."""
    from markovgmm.analysis.exact_kernel import ExactSystem as _ExactSystem

    chain = build_chain(System(agents=3, components=2, memory=6))
    transient = closed_classes(chain).transient
    system = _ExactSystem(chain, transient)
    assert system.limb_bits >= 8
    rows, cols, vals = system.rows.tolist(), system.cols.tolist(), system.vals.tolist()
    rng = np.random.default_rng(3)
    for bits in (3, 40, 62):
        C = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=system.n, dtype=np.int64)
        expected = [0] * system.n
        for r, c, v in zip(rows, cols, vals):
            expected[r] += int(v) * int(C[c])
        assert system.product_by_limbs(C).tolist() == expected
        assert system.product_by_objects(C).tolist() == expected


def test_too_large_stops_early(monkeypatch):
    import markovgmm.analysis.certified as certified
    from markovgmm.errors import TooLargeError

    monkeypatch.setattr(certified, "MAX_LU_STATES", 10)
    chain = build_chain(System(agents=2, components=2, memory=4))
    with pytest.raises(TooLargeError, match="21 transient states.*lump"):
        certified_absorption(chain, ((2, 2), (2, 2)))


@pytest.mark.parametrize(
    "params,start",
    [
        (dict(agents=2, components=2, memory=5, graph="path", schedule="async"), ((3, 2), (1, 4))),
        (dict(agents=3, components=2, memory=3), ((2, 1), (2, 1), (1, 2))),
    ],
)
def test_storm_exact_engine_inside(params, start, tmp_path):
    """Storm's exact engine (independent of markovgmm's solver) lies in the interval."""
    stormpy = pytest.importorskip("stormpy")
    from markovgmm.io import write_drn

    chain = build_chain(System(**params))
    s = chain.index(start)
    path = tmp_path / "chain.drn"
    write_drn(chain, s, path)
    model = stormpy.build_model_from_drn[stormpy.Rational](str(path))
    report = certified_absorb(chain, s)
    for label, interval in [("polar", report["polarization_interval"]), ("consensus", report["consensus_interval"])]:
        result = stormpy.model_checking(model, stormpy.parse_properties(f'P=? [F "{label}"]')[0])
        value = F(str(result.get_value(model.initial_states[0])))
        assert F(interval[0]) <= value <= F(interval[1])


@pytest.mark.parametrize("kwargs,match", [(dict(rtol=0), "rtol"), (dict(rtol="tiny"), "rtol"), (dict(max_refinements=0), "max_refinements")])
def test_bad_tolerances(kwargs, match):
    chain = build_chain(System(agents=2, components=2, memory=4))
    with pytest.raises(InputError, match=match):
        certified_absorption(chain, ((2, 2), (2, 2)), **kwargs)


def test_blockwise_fallback_certifies_when_the_whole_system_cannot():
    """A solver too poor for the whole system (A z = 1 fails): the block-by-block
    certificate (small blocks exact, outward rounding) still encloses the exact
    value, tightly; the refusal test above shows the same solver alone fails."""
    chain = build_chain(System(agents=3, components=2, memory=6, graph="path"))
    start = chain.index(((3, 3), (2, 4), (4, 2)))
    exact = absorption_probabilities(chain, start)
    box = certified_absorption(chain, start, float_solver=lambda A: np.zeros_like, rtol=1e-12)
    assert box.contains(exact.polarization()) and box.converged and box.relative_width <= 1e-12
    consensus = certified_absorption(chain, start, target=0, float_solver=lambda A: np.zeros_like, rtol=1e-12)
    assert consensus.contains(exact.consensus_by_component()[0]) and consensus.relative_width <= 1e-12


@pytest.mark.parametrize("exact_block", [0, 400])
def test_blockwise_bounds_enclose_every_state(exact_block, monkeypatch):
    """Blockwise bounds at every transient state (large blocks by certified
    refinement with exact_block=0, small ones exact otherwise) contain the exact solution."""
    import markovgmm.analysis.certified as certified
    from markovgmm.analysis.certified import _BlockwiseCertifier, _Certifier, _target_states

    monkeypatch.setattr(certified, "_EXACT_BLOCK", exact_block)
    chain = build_chain(System(agents=3, components=2, memory=5), lump=True)
    cert = _Certifier(chain, chain.index(((3, 2), (2, 3), (3, 2))), None, 12)
    _name, in_target = _target_states(cert.structure, "polarised", 2)
    LO, HI = _BlockwiseCertifier(chain, cert.transient, 12, None).bounds(in_target, 200)
    exact = absorption_probabilities(chain)
    for k, s in enumerate(cert.transient.tolist()):
        value = exact.polarization(s)
        assert F(int(LO[k]), 1 << 200) <= value <= F(int(HI[k]), 1 << 200)
        assert F(int(HI[k]) - int(LO[k]), 1 << 200) <= F(1, 2**150)
