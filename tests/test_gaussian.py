"""Gaussian ownership (markovgmm.chain.gaussian): the quadrature kernel
against mpmath, the support limit, point simulation, and through the chain
against the chain Monte Carlo (which draws real Gaussian points)."""

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.chain.build import build_chain
from markovgmm.chain.gaussian import gaussian_kernel, gaussian_kernel_mp, reduced_means
from markovgmm.chain.laws import labelling_kernel
from markovgmm.chain.states import local_states
from markovgmm.cli import main
from markovgmm.errors import InputError
from markovgmm.simulate.chain_mc import binomial_interval, simulate_chain
from markovgmm.system import System

PLANAR = dict(means=((0, 0), (2, 1), (-1, 2)), covariance=((2, "1/2"), ("1/2", 1)))
SPATIAL = dict(means=((0, 0, 0), (1, 0, 1), (0, 2, 0), (1, 1, -1)), covariance=((1, 0, 0), (0, 2, 0), (0, 0, "1/2")))

KERNEL_SYSTEMS = [
    dict(components=2, memory=4),
    dict(components=3, memory=4, means=(0, 1, 3)),
    dict(components=2, memory=5, means=(0, 10)),
    dict(components=3, memory=3, **PLANAR),
    dict(components=4, memory=2, **SPATIAL),
]


def _system(**kwargs):
    return System(agents=1, ownership="gaussian", **kwargs)


@pytest.mark.parametrize("kwargs", KERNEL_SYSTEMS)
def test_rows_zero_weights_and_vertices(kwargs):
    system = _system(**kwargs)
    K, N = system.components, system.memory
    counts = local_states(N, K)
    result = gaussian_kernel(system, counts)
    kernel = result.kernel
    assert kernel.shape == (len(counts), K, K)
    assert np.abs(kernel.sum(axis=2) - 1).max() < 1e-14
    # A component with zero weight owns nothing, exactly.
    zero = np.broadcast_to((counts == 0)[:, None, :], kernel.shape)
    assert (kernel[zero] == 0).all()
    assert (kernel[~zero] > 0).all()
    # A memory holding one label labels everything with it.
    for c_index in np.flatnonzero(counts.max(axis=1) == N):
        held = int(counts[c_index].argmax())
        assert (kernel[c_index, :, held] == 1).all()
    assert result.converged or result.dimension > 1
    assert result.error < 1e-9


def test_reduction_dimension():
    assert reduced_means(_system(components=3, memory=2)).shape == (3, 1)
    assert reduced_means(_system(components=3, memory=2, **PLANAR)).shape == (3, 2)
    assert reduced_means(_system(components=4, memory=2, **SPATIAL)).shape == (4, 3)
    # Collinear means in 2-D reduce to one dimension.
    collinear = _system(components=3, memory=2, means=((0, 0), (1, 1), (3, 3)))
    assert reduced_means(collinear).shape == (3, 1)


@pytest.mark.parametrize("kwargs", KERNEL_SYSTEMS[:3])
def test_quadrature_agrees_with_mpmath(kwargs):
    system = _system(**kwargs)
    counts = local_states(system.memory, system.components)
    pick = counts[np.flatnonzero((counts > 0).sum(axis=1) >= 2)[:3]]
    quad = gaussian_kernel(system, pick)
    high, error = gaussian_kernel_mp(system, pick, dps=25)
    assert float(error.max()) < 1e-20
    difference = np.abs(quad.kernel - high.astype(float)).max()
    # Stated accuracy: the n-vs-2n estimate, plus float64 rounding.
    assert difference <= quad.error + 1e-14, (difference, quad.error)


def test_mpmath_path_is_one_dimensional_only():
    with pytest.raises(InputError, match="dimension 2"):
        gaussian_kernel_mp(_system(components=3, memory=2, **PLANAR), [[1, 1, 0]])


def test_closed_form_two_components():
    """K=2, one dimension: P(0 -> 1) = E[1 / (1 + (w0/w1) exp(mu x - ...))] --
    checked against an independent scipy.integrate.quad of the posterior."""
    from scipy.integrate import quad
    from scipy.stats import norm

    system = _system(components=2, memory=5, means=(0, 2), covariance=((4,),))
    kernel = gaussian_kernel(system, [[2, 3]]).kernel[0]
    w = np.array([0.4, 0.6])
    mu, sd = np.array([0.0, 2.0]), 2.0

    def owner1(x):
        dens = w * norm.pdf(x, mu, sd)
        return dens[1] / dens.sum()

    for k in range(2):
        value, _ = quad(lambda x: owner1(x) * norm.pdf(x, mu[k], sd), -40, 40, epsabs=1e-14, epsrel=1e-13, limit=200)
        assert abs(kernel[k, 1] - value) < 1e-12


@pytest.mark.parametrize(
    "means, nearest_note",
    [((0, 12, 40), "1-D"), (((0, 0), (14, 0), (0, 40)), "2-D")],
)
def test_well_separated_means_approach_support(means, nearest_note):
    gauss = _system(components=3, memory=3, means=means)
    support = System(agents=1, components=3, memory=3, means=means)
    counts = local_states(3, 3)
    g = gaussian_kernel(gauss, counts).kernel
    s = labelling_kernel(support, counts)
    assert np.abs(g - s).max() < 1e-6, nearest_note
    # With means 0, 1, 2 they do not: the Gaussian kernel mixes labels.
    close = gaussian_kernel(_system(components=3, memory=3), counts).kernel
    assert np.abs(close - labelling_kernel(System(agents=1, components=3, memory=3), counts)).max() > 0.2


@pytest.mark.parametrize("kwargs", [KERNEL_SYSTEMS[1], KERNEL_SYSTEMS[3], KERNEL_SYSTEMS[4]])
def test_point_simulation_agrees_with_kernel(kwargs):
    """Draw real points x ~ N(mu_k, Sigma) in the original coordinates, label each
    by a draw from the posterior (scipy densities), compare the label frequencies
    with the kernel (Clopper-Pearson, Bonferroni over the entries, 99.9%)."""
    system = _system(**kwargs)
    K = system.components
    means = np.array([[float(x) for x in mu] for mu in system.means])
    cov = np.array([[float(x) for x in row] for row in system.covariance])
    counts = local_states(system.memory, K)
    pick = counts[np.flatnonzero((counts > 0).sum(axis=1) >= 2)[:2]]
    kernel = gaussian_kernel(system, pick).kernel
    rng = np.random.default_rng(2024)
    draws = 20_000
    level = 1 - 0.001 / (len(pick) * K * K)
    for c_index, c in enumerate(pick):
        w = c / system.memory
        for k in range(K):
            x = rng.multivariate_normal(means[k], cov, size=draws)
            dens = np.stack([w[j] * multivariate_normal(means[j], cov).pdf(x) for j in range(K)], axis=1)
            post = dens / dens.sum(axis=1, keepdims=True)
            labels = (post.cumsum(axis=1) < rng.random(draws)[:, None]).sum(axis=1)
            freq = np.bincount(np.minimum(labels, K - 1), minlength=K)
            for j in range(K):
                lo, hi = binomial_interval(int(freq[j]), draws, level)
                assert lo <= kernel[c_index, k, j] <= hi, (c, k, j, freq[j] / draws, kernel[c_index, k, j])


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
        (dict(agents=2, components=3, memory=3, schedule="async", **PLANAR), ((1, 1, 1), (2, 1, 0))),
    ],
)
def test_chain_with_gaussian_kernel_vs_chain_monte_carlo(kwargs, start):
    """The float chain built on the quadrature kernel against the chain Monte
    Carlo, which labels real Gaussian points from the posterior."""
    system = System(ownership="gaussian", **kwargs)
    chain = build_chain(system, exact=False)
    exact = absorption_probabilities(chain, chain.index(start))
    result = simulate_chain(system, start, runs=20_000, seed=99)
    assert result.unabsorbed == 0
    lo, hi = result.interval_of(result.polarized)
    assert lo <= exact.polarization() <= hi
    for k, p in enumerate(exact.consensus_by_component()):
        lo, hi = result.interval_of(result.consensus_by_component[k])
        assert lo <= p <= hi


def test_gaussian_differs_from_support_when_means_are_close():
    # With means 0 and 1 (one standard deviation apart) nothing is frozen early:
    # mislabelling pushes agents apart far more often than under support.
    g = build_chain(System(agents=2, components=2, memory=4, ownership="gaussian"), exact=False)
    s = build_chain(System(agents=2, components=2, memory=4), exact=True)
    pg = absorption_probabilities(g, g.index(((2, 2), (2, 2)))).polarization()
    ps = absorption_probabilities(s, s.index(((2, 2), (2, 2)))).polarization()
    assert pg > 2 * float(ps)
    # ... and with means 8 apart they nearly agree.
    far = build_chain(System(agents=2, components=2, memory=4, ownership="gaussian", means=(0, 8)), exact=False)
    pf = absorption_probabilities(far, far.index(((2, 2), (2, 2)))).polarization()
    assert abs(pf - float(ps)) < 1e-3


def test_exact_path_refuses_gaussian():
    with pytest.raises(InputError, match="gaussian"):
        build_chain(System(agents=2, components=2, memory=2, ownership="gaussian"), exact=True)


def test_cli_absorb_gaussian(capsys):
    assert main(["absorb", "--ownership", "gaussian", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["polarization"], float) and abs(out["polarization"] + out["consensus"] - 1) < 1e-12
    assert main(["simulate-chain", "--ownership", "gaussian", "--runs", "2000", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["polarization_exact"] is None and out["polarization_in_ci"] is True


@pytest.mark.parametrize("kwargs", KERNEL_SYSTEMS[:3])
def test_enclosure_contains_high_precision_values(kwargs):
    from markovgmm.chain.gaussian import gaussian_kernel_enclosure

    system = _system(**kwargs)
    counts = local_states(system.memory, system.components)
    lower, upper = gaussian_kernel_enclosure(system, counts, cells=2**14)
    assert (lower <= upper).all() and (upper - lower).max() < 5e-3
    pick = np.flatnonzero((counts > 0).sum(axis=1) >= 2)[:3]
    high, _ = gaussian_kernel_mp(system, counts[pick], dps=20)
    high = high.astype(float)
    assert (lower[pick] <= high).all() and (high <= upper[pick]).all()
    # Finer grids give nested-width (narrower) enclosures that still contain the value.
    lower2, upper2 = gaussian_kernel_enclosure(system, counts[pick], cells=2**16)
    assert (upper2 - lower2).max() < max((upper[pick] - lower[pick]).max() / 3, 1e-8)  # 1e-8: rounding margins
    assert (lower2 <= high).all() and (high <= upper2).all()
    # Exact zeros and ones stay exact.
    zero = np.broadcast_to((counts == 0)[:, None, :], lower.shape)
    assert (upper[zero] == 0).all()


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
        (dict(agents=2, components=3, memory=3, means=(0, 1, 3), schedule="async"), ((1, 1, 1), (2, 0, 1))),
    ],
)
def test_certified_interval_contains_float_value(kwargs, start):
    from markovgmm.chain.gaussian import gaussian_polarization_interval

    system = System(ownership="gaussian", **kwargs)
    chain = build_chain(system, exact=False)
    value = absorption_probabilities(chain, chain.index(start)).polarization()
    out = gaussian_polarization_interval(system, start, cells=2**15)
    assert out["lower"] <= value <= out["upper"]
    assert out["upper"] - out["lower"] < 2e-3
    coarse = gaussian_polarization_interval(system, start, cells=2**10)
    assert coarse["lower"] <= out["lower"] and out["upper"] <= coarse["upper"] + 1e-12


def test_certified_path_needs_one_dimension():
    from markovgmm.chain.gaussian import gaussian_kernel_enclosure, gaussian_polarization_interval

    with pytest.raises(InputError, match="dimension 2"):
        gaussian_kernel_enclosure(_system(components=3, memory=2, **PLANAR))
    with pytest.raises(InputError, match="ownership"):
        gaussian_polarization_interval(System(agents=2, components=2, memory=2), ((1, 1), (1, 1)))


def test_closed_classes_are_the_all_vertex_states():
    """What the chain Monte Carlo relies on: under gaussian ownership the closed
    classes are exactly the all-vertex states, each a single absorbing state."""
    from markovgmm.analysis.classes import closed_classes

    for kwargs in (dict(agents=2, components=3, memory=3, means=(0, 1, 3)), dict(agents=3, components=2, memory=3, graph="path")):
        system = System(ownership="gaussian", **kwargs)
        chain = build_chain(system, exact=False)
        structure = closed_classes(chain)
        all_vertex = (chain.vertex_labels() >= 0).all(axis=1)
        assert set(np.flatnonzero(structure.class_of >= 0)) == set(np.flatnonzero(all_vertex))
        assert all(len(c.states) == 1 and c.kind in ("consensus", "polarised") for c in structure.classes)
