"""Gaussian ownership (markovgmm.chain.gaussian): the quadrature kernel
against mpmath, the support limit, point simulation, and through the chain
against the chain Monte Carlo (which draws real Gaussian points)."""

import json
import math
from fractions import Fraction

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


# ---- certified path: ball-arithmetic kernel enclosure, exact transition bounds -------------------

ENCLOSURE_SYSTEMS = [
    dict(components=2, memory=4),
    dict(components=3, memory=4, means=(0, 1, 3)),
    dict(components=2, memory=5, means=(0, 10)),  # well separated
    dict(components=3, memory=3, means=(0, 12, 40)),  # very well separated: entries down to 1e-200
    dict(components=3, memory=3, means=(0, "1/2", 3), covariance=(("9/4",),)),
    dict(components=3, memory=2, means=((0, 0), (1, 1), (3, 3)), covariance=((2, "1/2"), ("1/2", 1))),  # collinear
    dict(components=2, memory=3, **{k: v[:2] if k == "means" else v for k, v in PLANAR.items()}),  # K=2 in 2-D
]


def _mp_fraction(x):
    man, exp = x.man_exp  # exact: no re-rounding to the working precision
    return Fraction(int(man)) * Fraction(2) ** int(exp)


def _mp_kernel_entry(system, c, k, j, dps=50):
    """P(k -> j) at memory c by mpmath at ``dps`` digits, independently of the
    code under test: the original coordinates when d = 1; for d > 1 the
    posterior along the line of the means, whose squared Mahalanobis unit is
    computed by mpmath's own matrix inverse."""
    import mpmath

    with mpmath.workdps(dps):
        mu = [mpmath.matrix([mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator for x in m]) for m in system.means]
        cov = mpmath.matrix([[mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator for x in row] for row in system.covariance])
        inv = cov**-1
        # whitened one-dimensional coordinates: x_l = <mu_l - mu_0, u> / |u| in the Sigma^{-1} inner product
        u = next(m - mu[0] for m in mu if mpmath.norm(m - mu[0]) > 0)
        unit = mpmath.sqrt((u.T * inv * u)[0])
        x = [((m - mu[0]).T * inv * u)[0] / unit for m in mu]
        w = [mpmath.mpf(int(v)) / system.memory for v in c]

        def integrand(z):
            y = x[k] + z
            dens = [w[l] * mpmath.exp(-((y - x[l]) ** 2) / 2) if w[l] else 0 for l in range(len(w))]
            return dens[j] / mpmath.fsum(dens) * mpmath.npdf(z)

        cuts = sorted(set(float(v - x[k]) for v in x))
        return mpmath.quad(integrand, [-mpmath.inf] + cuts + [mpmath.inf])


@pytest.mark.parametrize("kwargs", ENCLOSURE_SYSTEMS)
def test_enclosure_contains_high_precision_values(kwargs):
    from markovgmm.chain.gaussian import KERNEL_BITS, gaussian_kernel_enclosure

    system = _system(**kwargs)
    counts = local_states(system.memory, system.components)
    lower, upper = gaussian_kernel_enclosure(system, counts)
    assert all(isinstance(x, Fraction) and x.denominator <= 2**KERNEL_BITS for x in lower.ravel().tolist() + upper.ravel().tolist())
    assert (lower <= upper).all() and max(float(x) for x in (upper - lower).ravel()) < 1e-13
    # Rows: the true entries sum to 1, so the bounds bracket 1.
    assert (lower.sum(axis=2) <= 1).all() and (upper.sum(axis=2) >= 1).all()
    # Exact zeros and ones stay exact.
    zero = np.broadcast_to((counts == 0)[:, None, :], lower.shape)
    assert (upper[zero] == 0).all()
    for c_index in np.flatnonzero(counts.max(axis=1) == system.memory):
        assert (lower[c_index, :, counts[c_index].argmax()] == 1).all()
    # Against 50-digit mpmath values on one or two mixed memories, every entry.
    pick = np.flatnonzero((counts > 0).sum(axis=1) >= 2)[: 1 if system.components > 2 else 2]
    for c_index in pick:
        for k in range(system.components):
            for j in range(system.components):
                value = _mp_fraction(_mp_kernel_entry(system, counts[c_index], k, j))
                assert lower[c_index, k, j] <= value <= upper[c_index, k, j], (counts[c_index], k, j)


def test_enclosure_agrees_with_float_quadrature_everywhere():
    """Every entry of the float kernel (quadrature error < 1e-12) lies within
    1e-12 of the enclosure, on all memories."""
    from markovgmm.chain.gaussian import gaussian_kernel_enclosure

    for kwargs in ENCLOSURE_SYSTEMS[:5]:
        system = _system(**kwargs)
        lower, upper = gaussian_kernel_enclosure(system)
        kernel = gaussian_kernel(system).kernel
        assert (lower.astype(float) - 1e-12 <= kernel).all() and (kernel <= upper.astype(float) + 1e-12).all()


def test_line_coordinates_match_the_float_reduction():
    from markovgmm.chain.gaussian import line_coordinates

    for kwargs in ENCLOSURE_SYSTEMS:
        system = _system(**kwargs)
        t, Q = line_coordinates(system)
        eta = reduced_means(system)[:, 0]
        exact = np.array([float(x) for x in t]) * np.sqrt(float(Q))
        assert np.allclose(np.abs(exact - exact[0]), np.abs(eta - eta[0]), atol=1e-12)


def test_transition_bounds_reproduce_the_exact_chain():
    """With lower = upper = a rational kernel, the certified assembly gives
    floor/ceil of the exact chain's transitions (build_chain, exact=True)."""
    from fractions import Fraction as F

    from markovgmm.chain.gaussian import VALUE_BITS, _transition_bounds

    unit = 2**VALUE_BITS
    for kwargs in (dict(agents=2, components=3, memory=3, means=(0, 1, 3)), dict(agents=3, components=2, memory=3, schedule="async", replace=2)):
        system = System(**kwargs)
        kernel = labelling_kernel(system, local_states(system.memory, system.components))
        exact_kernel = np.vectorize(F, otypes=[object])(kernel)
        indptr, cols, low, high, _, _ = _transition_bounds(system, exact_kernel, exact_kernel)
        chain = build_chain(system, exact=True)
        assert (indptr == chain.indptr).all() and (cols == chain.indices).all()
        for position, value in enumerate(chain.values.tolist()):
            scaled = F(int(value), int(chain.denominator)) * unit
            assert low[position] == math.floor(scaled) and high[position] == math.ceil(scaled)


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=2, components=2, memory=4, means=(0, 5)), ((2, 2), (1, 3))),
        (dict(agents=3, components=2, memory=3, schedule="async", graph="path"), ((1, 2), (2, 1), (1, 2))),
        (dict(agents=2, components=2, memory=3, replace=2), ((1, 2), (2, 1))),
    ],
)
def test_interval_iteration_brackets_the_exact_value(kwargs, start):
    """A box of zero width (the rational support kernel): the fixed-point
    interval value iteration brackets the exact rational P(polarisation) of
    the exact chain (analysis.absorption), and closes to within 1e-7."""
    from markovgmm.chain.gaussian import box_polarization_interval

    system = System(**kwargs)
    exact_kernel = np.vectorize(Fraction, otypes=[object])(labelling_kernel(system, local_states(system.memory, system.components)))
    chain = build_chain(system, exact=True)
    value = absorption_probabilities(chain, chain.index(start)).polarization()
    out = box_polarization_interval(system, exact_kernel, exact_kernel, start, tol=1e-9)
    assert Fraction(out["lower"]) <= value <= Fraction(out["upper"])
    assert out["upper"] - out["lower"] < 1e-7


CERTIFIED_CASES = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=3, memory=2, means=(0, 1, 3), schedule="async"), ((1, 1, 0), (0, 1, 1))),
    (dict(agents=3, components=2, memory=3, means=(0, 3), graph="path"), ((1, 2), (2, 1), (1, 2))),
]


@pytest.mark.parametrize("kwargs, start", CERTIFIED_CASES)
def test_certified_interval_contains_high_precision_value(kwargs, start):
    """The interval contains P(polarisation) of the float chain built on the
    20-digit mpmath kernel (independent of the enclosure; its own error is
    float64 rounding, ~1e-13), and a tighter tolerance gives a nested interval."""
    from markovgmm.chain.gaussian import gaussian_polarization_interval

    system = System(ownership="gaussian", **kwargs)
    counts = local_states(system.memory, system.components)
    mp_kernel, _ = gaussian_kernel_mp(system, counts, dps=20)
    chain = build_chain(system, exact=False, kernel=mp_kernel.astype(float))
    value = absorption_probabilities(chain, chain.index(start)).polarization()
    out = gaussian_polarization_interval(system, start, tol=1e-4)
    assert out["lower"] <= value - 1e-12 and value + 1e-12 <= out["upper"]
    assert out["upper"] - out["lower"] < 1e-4 and out["kernel_width"] < 1e-13
    tight = gaussian_polarization_interval(system, start, tol=1e-8)
    assert out["lower"] <= tight["lower"] <= value - 1e-12 and value + 1e-12 <= tight["upper"] <= out["upper"]
    assert tight["upper"] - tight["lower"] < 1e-7


def test_certified_path_needs_means_on_a_line():
    from markovgmm.chain.gaussian import gaussian_kernel_enclosure, gaussian_polarization_interval

    with pytest.raises(InputError, match="^means: .*on a line"):
        gaussian_kernel_enclosure(_system(components=3, memory=2, **PLANAR))
    with pytest.raises(InputError, match="ownership"):
        gaussian_polarization_interval(System(agents=2, components=2, memory=2), ((1, 1), (1, 1)))
    with pytest.raises(InputError, match="prec"):
        gaussian_kernel_enclosure(_system(components=2, memory=2), prec=20)


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
