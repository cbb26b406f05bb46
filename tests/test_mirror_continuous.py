"""The continuous mirroring system (MODEL.md 6.1): markovgmm.simulate.mirror and ``simulate --model mirror``."""

import io
import json
import math
from contextlib import redirect_stdout

import numpy as np
import pytest

from markovgmm import observables
from markovgmm.cli import main
from markovgmm.errors import InputError, TooLargeError
from markovgmm.simulate import mirror as mm
from markovgmm.simulate.continuous import distance_matrices
from markovgmm.simulate.mirror import (
    default_start,
    draw_partners,
    draw_step,
    em_step,
    farthest_index,
    mirror_means,
    mirror_step,
    simulate_mirror,
)

SMALL = dict(agents=8, components=4, memory=3, neighbours=2, mirror=0.3, steps=12)


# --- reproducibility -------------------------------------------------------------------------------


def test_same_seed_same_output_and_different_seed_differs():
    a = simulate_mirror(**SMALL, replicates=3, seed=11)
    b = simulate_mirror(**SMALL, replicates=3, seed=11)
    c = simulate_mirror(**SMALL, replicates=3, seed=12)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.silos, b.silos)
    assert not np.array_equal(a.weights, c.weights)


@pytest.mark.parametrize("tie_order", ["random", "index"])
def test_replicate_does_not_depend_on_the_number_of_replicates_or_the_batch(tie_order, monkeypatch):
    many = simulate_mirror(**SMALL, replicates=5, seed=3, tie_order=tie_order)
    one = simulate_mirror(**SMALL, replicates=1, seed=3, tie_order=tie_order)
    three = simulate_mirror(**SMALL, replicates=3, seed=3, tie_order=tie_order)
    assert np.array_equal(many.weights[0], one.weights[0])
    assert np.array_equal(many.weights[:3], three.weights)
    monkeypatch.setattr(mm, "_BATCH_FLOATS", 1)  # one replicate per batch
    assert np.array_equal(simulate_mirror(**SMALL, replicates=5, seed=3, tie_order=tie_order).weights, many.weights)
    assert not np.array_equal(many.weights[0], many.weights[1])


# --- invariants ------------------------------------------------------------------------------------


@pytest.mark.parametrize("geometry", ["line", "circle", "simplex"])
def test_weights_stay_on_the_clipped_simplex(geometry):
    eps = 1e-6
    run = simulate_mirror(**{**SMALL, "mirror": 0.0}, geometry=geometry, eps=eps, replicates=2, seed=5)
    w = run.weights[:, 1:]
    assert np.allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    assert w.min() >= eps / (1 + 4 * eps) and w.max() <= 1.0
    assert run.weights.dtype == np.float64 and run.weights.shape == (2, 13, 8, 4)


def test_default_start_and_its_silos():
    w = default_start(7, 3, 1e-3)
    assert np.allclose(w.sum(axis=1), 1) and observables.silos_of_weights(w).tolist() == [0, 1, 2, 0, 1, 2, 0]
    run = simulate_mirror(agents=7, components=3, steps=0, seed=1)
    assert run.silo_counts.tolist() == [[3]] and np.array_equal(run.weights[0, 0], default_start(7, 3, 1e-12))


def test_geometries():
    line, circle, simplex = (mirror_means(g, 6, 2.0) for g in ("line", "circle", "simplex"))
    assert line[:, 0].tolist() == [0, 2, 4, 6, 8, 10]
    assert np.allclose(np.linalg.norm(circle, axis=1), 2 / math.sqrt(2))
    assert np.allclose(np.linalg.norm(circle[1] - circle[0]), np.linalg.norm(circle[4] - circle[3]))
    pair = np.linalg.norm(simplex[:, None] - simplex[None], axis=-1)
    assert np.allclose(pair[~np.eye(6, dtype=bool)], 2.0) and simplex.shape == (6, 6)


def test_mirroring_only_p1_agents_never_see_the_others():
    """With p = 1 the partner is always the agent itself: its trajectory does not depend on any other agent."""
    base = dict(agents=6, components=3, memory=4, neighbours=2, mirror=1.0, steps=15, sigma=0.6, seed=9)
    rng = np.random.default_rng(0)
    start = rng.dirichlet(np.ones(3), size=6)
    other = start.copy()
    other[1:] = rng.dirichlet(np.ones(3), size=5)  # every agent but agent 0 changed
    a = simulate_mirror(**base, start=start)
    b = simulate_mirror(**base, start=other)
    assert np.array_equal(a.weights[0, :, 0], b.weights[0, :, 0])
    assert not np.array_equal(a.weights[0, :, 1], b.weights[0, :, 1])
    # well separated (delta / sigma = 40) from the default start: every agent stays in its own silo
    run = simulate_mirror(agents=12, components=4, mirror=1.0, sigma=1 / 40, steps=40, replicates=3, seed=2)
    assert np.array_equal(run.silos, np.broadcast_to(run.silos[:, :1], run.silos.shape))
    assert (run.silo_counts == 4).all() and (run.stability == 1).all()


def test_well_separated_em_step_returns_the_store_composition():
    rng = np.random.default_rng(1)
    K, r, eps, sigma = 5, 7, 1e-12, 1.0
    means = mirror_means("line", K, 40.0)
    comps = rng.integers(0, K, size=(50, r))
    points = means[comps] + sigma * rng.standard_normal((50, r, 1))
    prior = rng.dirichlet(np.ones(K), size=50)
    prior[:10] = default_start(10, K, eps)  # priors almost at a vertex
    w, s = em_step(prior, mm._sqdist(points, means), eps, sigma)
    counts = np.stack([np.bincount(c, minlength=K) for c in comps]) / r
    expected = np.clip(counts, eps, 1 - eps)
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(w, expected, rtol=1e-9, atol=1e-15) and s == sigma
    assert np.all(w >= eps * (1 - 1e-9))


def test_farthest_index_matches_a_brute_force_loop():
    rng = np.random.default_rng(2)
    store = rng.normal(size=(40, 6, 3))
    store[:5, 3] = store[:5, 1]  # exact ties: the lowest index wins
    point = rng.normal(size=(40, 3))
    got = farthest_index(store, point)
    for b in range(40):
        best, far = -1.0, None
        for q in range(6):
            dist = math.sqrt(sum((store[b, q, c] - point[b, c]) ** 2 for c in range(3)))
            if dist > best:
                best, far = dist, q
        assert got[b] == far


# --- partners ---------------------------------------------------------------------------------------


def test_index_ties_at_the_default_start_pick_agent_0():
    n = 30
    w = default_start(n, n, 1e-12)
    rng = np.random.default_rng(3)
    for _ in range(5):
        partners = draw_partners(w, 1, 0.0, rng.random(n), rng.random(n), "index")
        assert partners.tolist() == [1] + [0] * (n - 1)
    partners = np.stack([draw_partners(w, 5, 0.0, rng.random(n), rng.random(n), "index") for _ in range(200)])
    assert set(partners[:, 7].tolist()) == {0, 1, 2, 3, 4}
    assert set(partners[:, 3].tolist()) == {0, 1, 2, 4, 5}
    # K > n: the same, every pair at the same distance
    assert draw_partners(default_start(4, 9, 1e-12), 1, 0.0, np.zeros(4), np.zeros(4), "index").tolist() == [1, 0, 0, 0]
    # and through the simulator: the first step's partners
    run_w = simulate_mirror(agents=n, components=n, steps=0, seed=1).weights[:, 0]
    draws = draw_step([np.random.default_rng(1)], n, 1)
    means = mirror_means("line", n, 1.0)
    stores = means[np.arange(n) % n][None, :, None, :] + np.zeros((1, n, 5, 1))
    partners = mirror_step(run_w, stores, mm._sqdist(stores, means), draws, means, 1, 0.0, 1e-12, 0.2, tie_order="index")[4]
    assert partners.tolist() == [[1] + [0] * (n - 1)]


def test_random_ties_at_the_default_start_are_uniform_and_mirroring_has_probability_p():
    n, draws = 6, 6000
    w = np.broadcast_to(default_start(n, n, 1e-12), (draws, n, n))
    rng = np.random.default_rng(4)
    partners = draw_partners(w, 1, 0.0, rng.random((draws, n)), rng.random((draws, n)))
    counts = np.bincount(partners[:, 0], minlength=n)
    assert counts[0] == 0 and np.all(np.abs(counts[1:] / draws - 0.2) < 0.025)
    partners = draw_partners(w, 3, 0.25, rng.random((draws, n)), rng.random((draws, n)))
    own = partners == np.arange(n)
    assert abs(own.mean() - 0.25) < 0.02


def test_random_ties_follow_the_exact_partner_law():
    """MODEL.md 6.2: strictly nearer agents get (1-p)/k each, the E tied at the k-th distance (1-p)(k-L)/(kE)."""
    # agent 0 at a vertex; agent 1 nearest (L = 1); agents 2-5 all at the same point (E = 4); agent 6 farthest
    w = np.array([[1.0, 0.0, 0.0]] + [[0.9, 0.1, 0.0]] + [[0.5, 0.5, 0.0]] * 4 + [[0.0, 0.0, 1.0]])
    draws, k, p = 40000, 3, 0.2
    rng = np.random.default_rng(7)
    W = np.broadcast_to(w, (draws,) + w.shape)
    partners = draw_partners(W, k, p, rng.random((draws, 7)), rng.random((draws, 7)))[:, 0]
    freq = np.bincount(partners, minlength=7) / draws
    law = np.array([p, (1 - p) / k] + [(1 - p) * (k - 1) / (k * 4)] * 4 + [0.0])
    assert np.all(np.abs(freq - law) < 4 * np.sqrt(law * (1 - law) / draws) + 1e-12), (freq, law)
    index = draw_partners(W, k, p, rng.random((draws, 7)), rng.random((draws, 7)), "index")[:, 0]
    freq = np.bincount(index, minlength=7) / draws
    law = np.array([p, (1 - p) / k, (1 - p) / k, (1 - p) / k, 0, 0, 0])  # the two lowest-index tied agents
    assert np.all(np.abs(freq - law) < 4 * np.sqrt(law * (1 - law) / draws) + 1e-12), (freq, law)


def test_nearest_neighbours_win_over_farther_ones():
    w = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0]])
    rng = np.random.default_rng(5)
    got = {tuple(draw_partners(w, 2, 0.0, rng.random(4), rng.random(4)).tolist()) for _ in range(100)}
    for partners in got:
        assert partners[0] in (1, 2) and partners[3] in (1, 2) and partners[1] in (0, 2)


# --- the vectorised step against a per-agent loop ------------------------------------------------------


def _loop_em(w, points, means, eps, sig, variance):
    K, d = means.shape
    w = np.clip(w, eps, 1 - eps)
    w = w / w.sum()
    rhos, sqs = [], []
    for x in points:
        sq = np.array([float(np.sum((x - means[c]) ** 2)) for c in range(K)])
        score = np.log(w) - sq / (2 * sig**2) - d * np.log(sig)
        rho = np.exp(score - score.max())
        rhos.append(rho / rho.sum())
        sqs.append(sq)
    rhos, sqs = np.array(rhos), np.array(sqs)
    new = np.clip(rhos.mean(axis=0), eps, 1 - eps)
    new /= new.sum()
    if not variance:
        return new, sig
    mass = rhos.sum(axis=0)
    var = np.where(mass > 0, (rhos * sqs).sum(axis=0) / (d * mass), sig**2)
    return new, np.maximum(np.sqrt(var), 0.01)


def _loop_step(w, sig, stores, draws, means, k, p, eps, variance, tie_order):
    """MODEL.md 6.1, one synchronous step written agent by agent."""
    B, n, K = w.shape
    new_w, new_sig, new_stores, partners = w.copy(), np.array(sig, dtype=float, copy=True), stores.copy(), np.zeros((B, n), int)
    for b in range(B):
        for i in range(n):
            s_of = (lambda a: np.full(K, sig)) if np.ndim(sig) == 0 else (lambda a: sig[b, a])
            if draws.mirror_uniforms[b, i] < p:
                j = i
            else:
                dist = {a: sum((w[b, i, c] - w[b, a, c]) ** 2 for c in range(K)) for a in range(n) if a != i}
                kth = sorted(dist.values())[k - 1]
                near = [a for a in sorted(dist) if dist[a] < kth]
                tied = [a for a in sorted(dist) if dist[a] == kth]
                u = draws.pick_uniforms[b, i] * k
                pick = min(int(u), k - 1)
                if tie_order == "index":
                    j = sorted(near + tied[: k - len(near)])[pick]
                elif pick < len(near):
                    j = near[pick]
                else:
                    j = tied[min(int((u - pick) * len(tied)), len(tied) - 1)]
            partners[b, i] = j
            c = min(int(np.searchsorted(np.cumsum(w[b, i]), draws.x_uniforms[b, i])), K - 1)
            x = means[c] + s_of(i)[c] * draws.x_normals[b, i]
            copy = stores[b, j].copy()
            copy[int(np.argmax([np.linalg.norm(q - x) for q in copy]))] = x
            tw, ts = _loop_em(w[b, j], copy, means, eps, s_of(j), variance)
            c = min(int(np.searchsorted(np.cumsum(tw), draws.y_uniforms[b, i])), K - 1)
            y = means[c] + ts[c] * draws.y_normals[b, i]
            own = stores[b, i].copy()
            own[int(np.argmax([np.linalg.norm(q - y) for q in own]))] = y
            new_stores[b, i] = own
            new_w[b, i], s_new = _loop_em(w[b, i], own, means, eps, s_of(i), variance)
            if variance:
                new_sig[b, i] = s_new
    return new_w, new_sig, new_stores, partners


@pytest.mark.parametrize(
    "geometry, tie_order, variance, p",
    [("line", "index", False, 0.0), ("circle", "random", False, 0.4), ("simplex", "random", True, 0.3), ("line", "index", True, 0.0)],
)
def test_vectorised_step_equals_a_per_agent_loop(geometry, tie_order, variance, p):
    rng = np.random.default_rng(6)
    B, n, K, r, k, eps, sigma = 3, 7, 4, 3, 3, 1e-9, 0.45
    means = mirror_means(geometry, K, 1.0)
    d = means.shape[1]
    w = rng.dirichlet(np.ones(K), size=(B, n))
    w[:, 2] = w[:, 1]  # exact ties in weight space
    w[:, 5] = w[:, 1]
    w[0, :4] = default_start(4, K, eps)
    stores = means[rng.integers(0, K, size=(B, n, r))] + sigma * rng.standard_normal((B, n, r, d))
    sig = sigma if not variance else rng.uniform(0.1, 0.6, size=(B, n, K))
    draws = draw_step([np.random.default_rng(s) for s in range(B)], n, d)
    got = mirror_step(w, stores, mm._sqdist(stores, means), draws, means, k, p, eps, sig, variance, tie_order)
    want = _loop_step(w, sig, stores, draws, means, k, p, eps, variance, tie_order)
    assert np.array_equal(got[4], want[3])
    assert np.allclose(got[0], want[0], rtol=1e-10, atol=1e-15)
    assert np.allclose(got[2], want[2], rtol=0, atol=1e-12)  # the same point replaced (variances agree to rounding)
    assert np.allclose(got[3], mm._sqdist(got[2], means), rtol=1e-12)
    if variance:
        assert np.allclose(got[1], want[1], rtol=1e-10) and got[1].min() >= 0.01
    assert (got[4] == np.arange(n)).any() == (p > 0)


def test_variance_variant_records_sigmas_with_the_floor():
    run = simulate_mirror(**SMALL, variance=True, replicates=2, seed=1)
    assert run.sigmas.shape == run.weights.shape and run.sigmas.min() >= 0.01
    assert np.all(run.sigmas[:, 0] == 0.2) and not np.all(run.sigmas[:, -1] == 0.2)
    assert simulate_mirror(**SMALL, seed=1).sigmas is None


# --- observables --------------------------------------------------------------------------------------


def test_observables_agree_with_markovgmm_observables():
    run = simulate_mirror(**{**SMALL, "mirror": 0.0}, replicates=4, seed=8)
    silos = observables.silos_of_weights(run.weights)
    assert np.array_equal(run.silos, silos)
    assert np.array_equal(run.silo_counts, observables.silo_counts(silos))
    assert np.array_equal(run.stability, observables.stability(silos))
    assert np.array_equal(run.t_star, observables.last_split_time(silos))
    _, frob = distance_matrices(run.weights)
    assert np.allclose(run.frobenius, frob, rtol=1e-10, atol=1e-13)
    report = json.loads(json.dumps(run.report()))
    assert report["parameters"]["neighbours"] == 2 and len(report["replicates"]) == 4
    rep = report["replicates"][1]
    assert rep["silos"] == silos[1].tolist() and rep["t_star"] == int(run.t_star[1])
    assert rep["silo_counts"] == run.silo_counts[1].tolist() and np.allclose(rep["frobenius"], run.frobenius[1])
    assert len(rep["stability"]) == SMALL["steps"]


# --- input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(neighbours=0), "neighbours"),
        (dict(agents=5, neighbours=5), "neighbours"),
        (dict(mirror=1.5), "mirror"),
        (dict(geometry="square"), "geometry"),
        (dict(sigma=0), "sigma"),
        (dict(delta=-1), "delta"),
        (dict(eps=0.5), "eps"),
        (dict(memory=0), "memory"),
        (dict(tie_order="first"), "tie_order"),
        (dict(start=np.ones((30, 30))), "start"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, word):
    with pytest.raises(InputError, match=word):
        simulate_mirror(**kwargs)


def test_absurd_sizes_are_refused_before_allocating():
    with pytest.raises(TooLargeError, match="GiB"):
        simulate_mirror(replicates=10**6)
    assert mm.estimate_bytes(30, 30, 5, "line", 80, 50) < 100 * 2**20


# --- CLI ------------------------------------------------------------------------------------------------


def _cli(argv):
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


def test_cli_json_and_out(tmp_path):
    out = tmp_path / "mirror.json"
    argv = ["simulate", "--model", "mirror", "-m", "8", "-K", "4", "--memory", "3", "--neighbours", "2", "--mirror", "0.3"]
    code, text = _cli(argv + ["--steps", "12", "-R", "2", "--seed", "4", "--json", "--quiet", "--out", str(out)])
    assert code == 0
    report = json.loads(text)
    assert set(report) == {"parameters", "replicates", "version"}
    assert set(report["replicates"][0]) >= {"silo_counts", "stability", "t_star", "silos", "frobenius"}
    assert report["parameters"]["geometry"] == "line" and report["parameters"]["sigma"] == 0.2
    run = simulate_mirror(**SMALL, replicates=2, seed=4)
    assert report["replicates"][1]["silos"] == run.silos[1].tolist()
    assert json.loads(out.read_text()) == report
    assert [p.name for p in tmp_path.iterdir()] == ["mirror.json"]  # no temporary file left behind
    code, text = _cli(argv + ["--steps", "3", "--seed", "4", "--tie-order", "index", "--variance", "--geometry", "simplex"])
    assert code == 0 and "replicate" in text and "ties index" in text


@pytest.mark.parametrize(
    "flags, word",
    [
        (["--neighbours", "0"], "--neighbours"),
        (["--mirror", "1.5"], "--mirror"),
        (["--geometry", "square"], "--geometry"),
        (["--tie-order", "first"], "--tie-order"),
        (["--alpha", "0.1"], "--alpha"),
        (["-R", "1000000"], "GiB"),
        (["-R", "1000000", "--json"], "GiB"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(flags, word, capsys):
    assert main(["simulate", "--model", "mirror", *flags]) == 2
    err = capsys.readouterr().err
    assert word in err and err.count("\n") == 1


def test_cli_refuses_mirror_flags_for_the_pool_model(capsys):
    assert main(["simulate", "--memory", "3"]) == 2
    assert "--model mirror" in capsys.readouterr().err
    assert main(["simulate", "--model", "chain"]) == 2
