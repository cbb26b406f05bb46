"""Certified expected absorption times and the certified path at large memory
(markovgmm.analysis.certified, issue 12 item 3).

Every interval is checked against an independent exact computation
(``markovgmm.analysis.absorb`` on the exact chain, rational linear algebra).
"""

from fractions import Fraction as F

import numpy as np
import pytest
from scipy.sparse.linalg import splu

import markovgmm.analysis.certified as certified
from markovgmm import System, build_chain
from markovgmm.analysis import absorb, certified_absorb, certified_expected_time
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.certified import CertificationError, _Certifier
from markovgmm.analysis.classes import closed_classes

SYSTEMS = [
    dict(agents=2, components=2, memory=5),
    dict(agents=2, components=2, memory=6, schedule="async"),
    dict(agents=3, components=2, memory=4, graph="path"),
    dict(agents=3, components=2, memory=4, schedule="async"),
    dict(agents=2, components=3, memory=3),
    dict(model="mirror", agents=3, components=2, memory=3, neighbours=1, mirror="1/5"),
    dict(model="mirror", agents=2, components=2, memory=4, schedule="async"),
]


def _transient_starts(chain, count=3, seed=7):
    transient = closed_classes(chain).transient
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.choice(transient, size=min(count, len(transient)), replace=False)]


@pytest.mark.parametrize("lump", [False, True])
@pytest.mark.parametrize("params", SYSTEMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_expected_time_contains_exact(params, lump):
    chain = build_chain(System(**params), exact=True, lump=lump)
    for start in _transient_starts(chain):
        exact = absorb(chain, start)["expected_steps"]
        assert isinstance(exact, F)
        box = certified_expected_time(chain, start)
        assert box.target == "expected_steps" and box.converged
        assert box.contains(exact) and box.relative_width <= 1e-12 and box.lower >= 1


def test_expected_time_closed_start_and_count_tuple():
    chain = build_chain(System(agents=2, components=2, memory=4), exact=True)
    box = certified_expected_time(chain, ((4, 0), (0, 4)))
    assert (box.lower, box.upper, box.refinements) == (0, 0, 0)
    start = ((2, 2), (1, 3))
    exact = absorb(chain, start)["expected_steps"]
    assert certified_expected_time(chain, start).contains(exact)
    assert certified_expected_time(chain, chain.index(start)).contains(exact)


def _adversarial_solver(epsilon):
    """First solve (z of A z = 1) a plain LU solve; later ones A^{-1} r + epsilon max|r| z, so the
    estimate is t + epsilon' z and the exact value sits at the lower end of the proven interval
    (proofs/certified_enclosure.md, check 5): an interval narrower than delta z misses it."""

    def factor(A):
        lu = splu(A.tocsc())
        z = lu.solve(np.ones(A.shape[0]))
        calls = [0]

        def solve(r):
            calls[0] += 1
            c = lu.solve(r)
            return c if calls[0] == 1 else c + epsilon * float(np.abs(r).max()) * z

        return solve

    return factor


@pytest.mark.parametrize(
    "params, start",
    [
        (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
        (dict(agents=3, components=2, memory=3, graph="path", schedule="async"), ((1, 2), (2, 1), (3, 0))),
    ],
)
def test_expected_time_adversarial_solver_is_tight_at_the_lower_end(params, start):
    chain = build_chain(System(**params), exact=True)
    exact = absorb(chain, start)["expected_steps"]
    box = certified_expected_time(chain, start, max_refinements=1, float_solver=_adversarial_solver(1e-6))
    assert box.contains(exact)
    assert box.upper - box.lower > 0 and exact - box.lower <= F(1, 10**6) * (box.upper - box.lower)


def _fail_whole(self):
    raise CertificationError("forced: whole-system certificate unavailable")


@pytest.mark.parametrize("exact_block", [0, 400])
def test_expected_time_blockwise(exact_block, monkeypatch):
    """The blockwise certificate (whole-system solve refused on purpose; large
    blocks by certified refinement with exact_block=0, exactly otherwise)."""
    monkeypatch.setattr(certified, "_EXACT_BLOCK", exact_block)
    monkeypatch.setattr(_Certifier, "_prepare", _fail_whole)
    chain = build_chain(System(agents=3, components=2, memory=5), exact=True, lump=True)
    for start in _transient_starts(chain, 4):
        exact = absorb(chain, start)["expected_steps"]
        box = certified_expected_time(chain, start, rtol=1e-12)
        assert box.refinements == 0  # the blockwise path reports no whole-system solves
        assert box.contains(exact) and box.relative_width <= 1e-12


def test_expected_time_blockwise_with_a_useless_solver():
    """A float solver returning zeros: the whole system cannot be certified, the
    blockwise path (small blocks exact) still gives the exact value's interval."""
    chain = build_chain(System(agents=3, components=2, memory=6, graph="path"), exact=True)
    start = chain.index(((3, 3), (2, 4), (4, 2)))
    exact = absorb(chain, start)["expected_steps"]
    box = certified_expected_time(chain, start, float_solver=lambda A: np.zeros_like)
    assert box.contains(exact) and box.relative_width <= 1e-12


def test_certified_absorb_reports_expected_steps():
    chain = build_chain(System(agents=3, components=2, memory=4), exact=True, lump=True)
    start = ((2, 2), (1, 3), (3, 1))
    report = certified_absorb(chain, start)
    lo, hi = (F(x) for x in report["expected_steps_interval"])
    exact = absorb(chain, start)["expected_steps"]
    assert lo <= exact <= hi and hi - lo <= F(1, 10**12) * lo
    dlo, dhi = (F(x) for x in report["expected_steps_decimal"])
    assert dlo <= lo and hi <= dhi
    assert F(report["polarization_interval"][0]) <= absorption_probabilities(chain, chain.index(start)).polarization()


def test_expected_time_blockwise_adversarial_solver_is_tight(monkeypatch):
    """Blockwise, every block by certified refinement, one adversarial solve per
    right-hand side: the exact value sits at the lower end of the proven interval,
    so a block spread narrower than the proof's would miss it."""
    monkeypatch.setattr(certified, "_EXACT_BLOCK", 0)
    monkeypatch.setattr(_Certifier, "_prepare", _fail_whole)
    chain = build_chain(System(agents=3, components=2, memory=4), exact=True, lump=True)
    start = chain.index(((2, 2), (1, 3), (3, 1)))
    exact = absorb(chain, start)["expected_steps"]
    box = certified_expected_time(chain, start, max_refinements=1, float_solver=_adversarial_solver(1e-6))
    assert box.contains(exact)
    assert box.upper - box.lower > 0 and exact - box.lower <= F(1, 10**6) * (box.upper - box.lower)


# ----------------------------------------------------------------------- the large-memory path


def _force_blockwise_iterative(monkeypatch, threshold=30):
    """Shrink the thresholds so a small lumped chain takes the large-memory path:
    block by block, every block by certified refinement, blocks above
    ``threshold`` states by the incomplete-LU iterative solver."""
    monkeypatch.setattr(certified, "ITERATIVE_STATES", threshold)
    monkeypatch.setattr(certified, "_EXACT_BLOCK", 0)
    calls = []
    original = certified.iterative_solver

    def counted(A, **kwargs):
        calls.append(A.shape[0])
        return original(A, **kwargs)

    monkeypatch.setattr(certified, "iterative_solver", counted)
    return calls


@pytest.mark.parametrize("params", [dict(agents=3, components=2, memory=7), dict(agents=3, components=2, memory=6, schedule="async")])
def test_iterative_block_solver_path_contains_exact(params, monkeypatch):
    calls = _force_blockwise_iterative(monkeypatch)
    chain = build_chain(System(**params), exact=True, lump=True)
    start = chain.index(((4, 3), (3, 4), (4, 3)) if params["memory"] == 7 else ((3, 3), (2, 4), (4, 2)))
    exact = absorption_probabilities(chain, start)
    box = certified.certified_absorption(chain, start, rtol=1e-12, max_refinements=30)
    assert calls and min(calls) > 30  # the iterative solver did the large block(s), and only those
    assert box.refinements == 0 and box.contains(exact.polarization()) and box.relative_width <= 1e-12
    steps = certified_expected_time(chain, start, rtol=1e-12, max_refinements=30)
    assert steps.contains(absorb(chain, start)["expected_steps"]) and steps.relative_width <= 1e-12


def test_iterative_solver_whole_system():
    """iterative_solver as the whole-system float solver (unlumped chain)."""
    chain = build_chain(System(agents=3, components=2, memory=5), exact=True)
    start = chain.index(((3, 2), (2, 3), (4, 1)))
    box = certified.certified_absorption(chain, start, float_solver=certified.iterative_solver, max_refinements=30)
    assert box.refinements > 0 and box.contains(absorption_probabilities(chain, start).polarization()) and box.relative_width <= 1e-12


def _useless(A):
    return np.zeros_like


def test_wide_fallback_is_proven_when_the_float_solver_is_useless(monkeypatch):
    """Every block by refinement with a solver returning zeros: fallback="raise"
    refuses, fallback="wide" gives maximum-principle bounds narrowed by exact
    monotone sweeps, which contain the exact value at every state tried."""
    monkeypatch.setattr(certified, "_EXACT_BLOCK", 0)
    chain = build_chain(System(agents=3, components=2, memory=5), exact=True, lump=True)
    exact = absorption_probabilities(chain)
    with pytest.raises(CertificationError):
        certified.certified_absorption(chain, ((3, 2), (2, 3), (3, 2)), float_solver=_useless)
    widths = []
    for start in _transient_starts(chain, 8, seed=3):
        for target, value in [("polarised", exact.polarization(start)), (0, exact.consensus_by_component(start)[0])]:
            box = certified.certified_absorption(chain, start, target=target, float_solver=_useless, fallback="wide")
            assert box.contains(value)
            if box.lower == box.upper:  # target unreachable: the exact point, no float solve
                continue
            assert "maximum-principle" in box.note and box.refinements == 0
            assert box.upper <= 1 and box.lower >= 0
            widths.append(box.upper - box.lower)
    assert max(widths) < 1  # not just [0, 1]: the bound uses the exact bounds below each block
    with pytest.raises(CertificationError, match="never leaves"):
        certified_expected_time(chain, _transient_starts(chain, 1)[0], float_solver=_useless, fallback="wide")


def test_wide_fallback_bound_is_a_super_solution():
    """The maximum-principle bound c 1 of one block satisfies (d I - V) c 1 >= r exactly, and is the least such constant."""
    from markovgmm.analysis.exact_kernel import ExactSystem

    chain = build_chain(System(agents=3, components=2, memory=5), exact=True, lump=True)
    cert = _Certifier(chain, ((3, 2), (2, 3), (3, 2)), None, 12)
    system = ExactSystem(chain, cert.transient)
    rng = np.random.default_rng(5)
    inside = system.product(np.ones(system.n, dtype=np.int64))  # row sums of V inside the set
    r = np.array([int(v) if s < system.d else 0 for v, s in zip(rng.integers(0, 10**6, system.n), inside.tolist())], dtype=object)
    lo, hi = certified._BlockwiseCertifier._maximum_principle(system, r, r, sweeps=0)
    c = int(hi[0])
    assert all(v == 0 for v in lo.tolist()) and all(int(v) == c for v in hi.tolist())
    residual = [system.d * c - int(v) for v in system.product(np.full(system.n, c, dtype=np.int64)).tolist()]
    assert all(a >= int(b) for a, b in zip(residual, r.tolist()))
    smaller = [system.d * (c - 1) - int(v) for v in system.product(np.full(system.n, c - 1, dtype=np.int64)).tolist()]
    assert any(a < int(b) for a, b in zip(smaller, r.tolist()))
    # after sweeps: lo a sub-solution, hi a super-solution, lo <= hi, both exactly checked
    lo, hi = certified._BlockwiseCertifier._maximum_principle(system, r, r, sweeps=50)
    for X, sign in [(lo, -1), (hi, 1)]:
        dAX = [system.d * int(x) - int(v) for x, v in zip(X.tolist(), certified._big_product(system, X).tolist())]
        assert all(sign * (a - int(b)) >= 0 for a, b in zip(dAX, r.tolist()))
    assert all(0 <= int(a) <= int(b) <= c for a, b in zip(lo.tolist(), hi.tolist()))


def test_iterative_solver_gmres_fallback_still_certifies():
    """BiCGSTAB stopped after one iteration (info != 0): the GMRES retry's answer
    goes through the same exact residual check, and the interval contains the exact value."""
    chain = build_chain(System(agents=3, components=2, memory=5), exact=True)
    start = chain.index(((3, 2), (2, 3), (4, 1)))
    solver = lambda A: certified.iterative_solver(A, rtol=1e-15, maxiter=1)  # noqa: E731
    box = certified.certified_absorption(chain, start, float_solver=solver, max_refinements=40)
    assert box.refinements > 0 and box.contains(absorption_probabilities(chain, start).polarization())
