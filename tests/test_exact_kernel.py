"""The exact kernel of the certified path (markovgmm.analysis.exact_kernel)
and the int64-limb storage of big numerators (markovgmm.chain.assembly,
markovgmm.chain.population): every exact product is checked against
Python-integer arithmetic over the nonzeros, every limb build against the
Python-integer build, and the float block solver against its residual."""

from fractions import Fraction as F
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from peak_memory import run_child
import scipy.sparse as sp

from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.certified import certified_absorption
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.exact_kernel import ExactSystem, block_solver
from markovgmm.chain import population
from markovgmm.chain.assembly import int64_limbs, numerators_to_float
from markovgmm.chain.build import build_chain
from markovgmm.chain.lumped import build_lumped_chain
from markovgmm.system import System, balanced_counts


def _python_product(system, C):
    """V @ C by a plain loop over the nonzeros in Python integers."""
    out = [0] * system.n
    for r, c, v in zip(system.rows.tolist(), system.cols.tolist(), system.vals.tolist()):
        out[r] += int(v) * int(C[c])
    return out


def _random_chain(rng, n, value_bits, row_length):
    """A chain-like object with random nonnegative numerators of ``value_bits`` bits."""
    rows, cols, vals = [], [], []
    for r in range(n):
        targets = np.sort(rng.choice(n, size=min(n, int(rng.integers(1, row_length + 1))), replace=False))
        rows += [r] * len(targets)
        cols += targets.tolist()
        vals += [int.from_bytes(rng.bytes(value_bits // 8 + 1), "little") % (1 << value_bits) for _ in targets]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    big = value_bits >= 62
    values = np.array(vals, dtype=object) if big else np.array(vals, dtype=np.int64)
    return SimpleNamespace(n_states=n, indptr=indptr, indices=np.array(cols, dtype=np.int64), values=values,
                           denominator=1 << value_bits)


@pytest.mark.parametrize("value_bits", [5, 40, 61, 62, 63, 100, 218, 700])
def test_product_is_exact_on_random_big_numerators(value_bits):
    rng = np.random.default_rng(value_bits)
    chain = _random_chain(rng, 60, value_bits, 40)
    system = ExactSystem(chain, np.arange(chain.n_states))
    for bits in (2, 31, 53, 63):
        C = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=system.n, dtype=np.int64)
        expected = _python_product(system, C)
        assert system.product(C).tolist() == expected
        assert system.product_by_objects(C).tolist() == expected


def test_every_piece_and_every_limb_matters():
    """Dropping one piece of V, or one limb of C, changes the product: the test above would catch it."""
    rng = np.random.default_rng(7)
    system = ExactSystem(_random_chain(rng, 40, 218, 30), np.arange(40))
    C = rng.integers(-(2**52), 2**52, size=system.n, dtype=np.int64)
    expected = _python_product(system, C)
    pieces = list(system._pieces)
    assert len(pieces) >= 4
    for drop in range(len(pieces)):
        system._pieces, system._stacked = pieces[:drop] + pieces[drop + 1 :], None
        assert system.product(C).tolist() != expected
    system._pieces, system._stacked = pieces, None
    assert system.product(C).tolist() == expected
    # a C limb too narrow for the pieces would overflow int64 silently: widen it past the bound and watch
    system.limb_bits += 20
    assert system.product(C).tolist() != expected


def test_int64_limbs_and_floats_of_big_numerators():
    rng = np.random.default_rng(5)
    values = [int(x) for x in rng.integers(-(2**62), 2**62, size=50)]
    values = [v * (1 << int(s)) + int(t) for v, s, t in zip(values, rng.integers(0, 900, size=50), rng.integers(0, 2**40, size=50))]
    array = np.array(values, dtype=object)
    limbs = int64_limbs(array)
    assert all(limb.dtype == np.int64 for limb in limbs)
    assert [sum(int(l[i]) << (48 * j) for j, l in enumerate(limbs)) for i in range(50)] == values
    assert all(((l >= 0) & (l < 2**48)).all() for l in limbs[:-1])
    with pytest.raises(OverflowError):  # a bound that is too small never gives wrong limbs
        int64_limbs(array, bound=2**62)
    d = (1 << 1000) + 12345
    floats = numerators_to_float(np.abs(array), d)
    exact = [float(F(abs(v), d)) for v in values]
    np.testing.assert_allclose(floats, exact, rtol=4e-16, atol=0)


@pytest.mark.parametrize(
    "kwargs",
    [dict(agents=8, components=2, memory=6), dict(model="mirror", agents=8, components=2, memory=4, neighbours=2, mirror="1/2")],
    ids=["pool-m8-N6", "mirror-n8-r4"],
)
def test_population_limbs_match_python_integers(kwargs):
    """The int64-limb convolution gives the same exact chain as the Python-integer one."""
    system = System(**kwargs)
    new = build_lumped_chain(system)
    assert int(new.denominator) >= 2**62 and new.values.dtype == object
    with mock.patch.object(population, "_INT64_LIMBS", False):
        old = build_lumped_chain(system)
    assert np.array_equal(new.indptr, old.indptr) and np.array_equal(new.indices, old.indices)
    assert new.values.tolist() == old.values.tolist()


def test_population_limbs_match_the_expanded_build():
    """Numerators beyond int64 (65 bits) equal the expanded lumped build's (no convolution at all)."""
    system = System(agents=10, components=2, memory=3)
    new = build_lumped_chain(system)
    assert int(new.denominator).bit_length() == 65
    with mock.patch.object(population, "applies", lambda s, g: False):
        old = build_lumped_chain(system)
    assert np.array_equal(new.indices, old.indices) and new.values.tolist() == [int(v) for v in old.values]


@pytest.mark.parametrize("mN", [(6, 8), (7, 7), (8, 6)])
def test_product_on_lumped_chains(mN):
    m, N = mN
    chain = build_chain(System(agents=m, components=2, memory=N), lump=True)
    system = ExactSystem(chain, closed_classes(chain).transient)
    rng = np.random.default_rng(m)
    C = rng.integers(-(2**53), 2**53, size=system.n, dtype=np.int64)
    assert system.product(C).tolist() == system.product_by_objects(C).tolist()


def test_block_solver_solves_block_triangular_systems():
    rng = np.random.default_rng(2)
    chain = build_chain(System(agents=6, components=2, memory=5), lump=True, exact=False)
    transient = closed_classes(chain).transient
    A = sp.identity(len(transient), format="csr") - chain.matrix()[transient][:, transient]
    r = rng.random(len(transient))
    for merge in (1, 7, 64, 10**6):
        x = block_solver(A, merge=merge)(r)
        np.testing.assert_allclose(A @ x, r, rtol=0, atol=1e-12)
    dense = np.triu(rng.random((30, 30)) < 0.2) * rng.random((30, 30)) + 3 * np.eye(30)
    perm = rng.permutation(30)
    M = sp.csr_matrix(dense[perm][:, perm])
    np.testing.assert_allclose(block_solver(M)(r[:30]), np.linalg.solve(M.toarray(), r[:30]), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [dict(agents=10, components=2, memory=3), dict(model="mirror", agents=5, components=2, memory=3, neighbours=2, mirror="1/2")],
    ids=["pool-m10-N3", "mirror-n5-r3"],
)
def test_certified_interval_contains_the_exact_value_with_big_numerators(kwargs):
    system = System(**kwargs)
    chain = build_chain(system, lump=True)
    assert int(chain.denominator) >= 2**62
    if system.model == "pool":
        target, start = "polarised", chain.index((balanced_counts(system.memory, 2),) * system.agents)
        exact = absorption_probabilities(chain, start).polarization()
    else:  # this mirroring chain never polarises: consensus on component 0 from the first undecided orbit
        target = 0
        for start in np.flatnonzero(closed_classes(chain).class_of < 0).tolist():
            exact = absorption_probabilities(chain, start).consensus_by_component()[0]
            if 0 < exact < 1:
                break
    assert 0 < exact < 1
    box = certified_absorption(chain, start, target=target, rtol=1e-12)
    assert box.converged and box.lower <= exact <= box.upper and box.lower < box.upper


_RSS_CHILD = r"""
from markovgmm.system import System
from markovgmm.chain.assembly import estimate_cost, local_table
from markovgmm.chain.build import build_chain
kw = json.loads(sys.argv[1])
system = System(**kw)
build_chain(System(**dict(kw, memory=2)), lump=True)  # first-call set-up, not the build's memory
cost = estimate_cost(system, local_table(system), lumped=True)
base = status("VmRSS:")
reset_peak()
chain = build_chain(system, lump=True, memory_limit=1 << 60)
assert int(chain.denominator) >= 2**62
print(json.dumps(dict(estimate=cost["bytes"], peak=status("VmHWM:") - base, transitions=chain.n_transitions, estimated=cost["transitions"])))
"""


@pytest.mark.parametrize("mN", [(8, 6), (9, 5), (10, 5)], ids=lambda mN: f"m{mN[0]}-N{mN[1]}")
def test_memory_estimate_of_big_numerator_builds_against_measured_peak(mN):
    """estimate_cost of the exact population build with numerators beyond
    int64 (int64-limb convolution, Python-integer storage) is above the
    measured peak RSS of the build and at most 3x it (+32 MiB)."""
    import json

    got = run_child(_RSS_CHILD, json.dumps(dict(agents=mN[0], components=2, memory=mN[1])))
    assert abs(got["estimated"] - got["transitions"]) <= 0.15 * got["transitions"]
    assert got["peak"] <= got["estimate"] <= 3 * got["peak"] + 32 * 2**20, got
