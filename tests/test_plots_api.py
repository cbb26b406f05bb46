"""Plots that compose (issue 13): every public plot function takes its data
and an optional ``ax=`` / ``fig=``, draws there and returns the Figure; the
CLI's ``--figure FILE`` draws the command's own JSON numbers; one JSON name
per quantity (docs/json.md), with a ``version`` field in every command's JSON.

The numbers read back from the Axes artists are compared with the data
given (a run's arrays, the command's JSON), never with a copy of the
plotting code's arithmetic."""

from __future__ import annotations

import json
import struct
from fractions import Fraction

import numpy as np
import pytest
from matplotlib.figure import Figure

import markovgmm
from markovgmm import plots, plots_mirror
from markovgmm.cli import main
from markovgmm.errors import InputError
from markovgmm.simulate.continuous import simulate
from markovgmm.simulate.mirror import simulate_mirror

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _capture(monkeypatch, module, name):
    """Wrap ``module.name`` so that the figures it returns are recorded."""
    drawn = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        fig = original(*args, **kwargs)
        drawn.append(fig)
        return fig

    monkeypatch.setattr(module, name, wrapper)
    return drawn


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def pool_run():
    return simulate(agents=3, steps=8, replicates=4, seed=5, quiet=True)


@pytest.fixture(scope="module")
def mirror_run():
    return simulate_mirror(agents=6, components=3, steps=6, replicates=2, seed=1, quiet=True)


def _calls(pool_run, mirror_run):
    """(name, call(ax_or_fig), takes) for every public plot function: ``takes`` is "ax" or "fig"."""
    grid = plots.polarization_grid(dict(agents=2, components=2, memory=2))
    curve = {"separations": [1.0, 2.0], "mean": [3.0, 2.0], "standard_error": [0.1, 0.1], "chain": 2.5, "geometry": "line"}
    report = markovgmm.analysis.absorption.absorb(
        markovgmm.build_chain(markovgmm.System(agents=2, components=2, memory=2)), ((1, 1), (1, 1)), horizon=3
    )
    return [
        ("plot_frobenius", lambda target: plots.plot_frobenius(pool_run, ax=target), "ax"),
        ("plot_weight_histograms", lambda target: plots.plot_weight_histograms(pool_run, times=[0, 8], fig=target), "fig"),
        ("plot_polarization_heatmap", lambda target: plots.plot_polarization_heatmap(grid=grid, ax=target), "ax"),
        (
            "plot_expected_frobenius_overlay",
            lambda target: plots.plot_expected_frobenius_overlay(dict(agents=2, components=2, memory=2), ((1, 1), (1, 1)),
                                                                 horizon=4, replicates=3, ax=target),
            "ax",
        ),
        ("plot_absorption", lambda target: plots.plot_absorption(report, fig=target), "fig"),
        ("plot_silo_trajectories", lambda target: plots_mirror.plot_silo_trajectories(mirror_run, ax=target), "ax"),
        ("plot_silo_grid", lambda target: plots_mirror.plot_silo_grid({(0.5, 1): mirror_run}, fig=target), "fig"),
        ("plot_silos_against_k", lambda target: plots_mirror.plot_silos_against_k({1: np.array([3, 4]), 2: np.array([2, 2])}, ax=target), "ax"),
        ("plot_absorption_time_vs_separation", lambda target: plots_mirror.plot_absorption_time_vs_separation([curve], ax=target), "ax"),
    ]


def test_every_public_plot_function_draws_into_the_given_axes_and_returns_its_figure(pool_run, mirror_run):
    public = {n for n in plots.__all__ + plots_mirror.__all__ if n.startswith("plot_")}
    calls = _calls(pool_run, mirror_run)
    assert {name for name, _, _ in calls} == public  # a new plot function must be added here
    for name, call, takes in calls:
        host, axes = plots.new_figure(6, 4)
        if takes == "ax":
            target = axes[0, 0]
            fig = call(target)
            assert fig is host, name
            assert target.has_data(), name  # drawn there, not on a figure of its own
        else:
            empty = Figure()
            fig = call(empty)
            assert fig is empty and fig.axes and any(ax.has_data() for ax in fig.axes), name
        alone = call(None)  # without a target: a new figure, not pyplot's current one
        assert isinstance(alone, Figure) and alone is not host, name


def test_frobenius_lines_are_the_run_curves(pool_run):
    fig = plots.plot_frobenius(pool_run)
    lines = fig.axes[0].lines
    for r in range(pool_run.replicates):
        np.testing.assert_array_equal(lines[r].get_ydata(), pool_run.frobenius[r])
    np.testing.assert_allclose(lines[pool_run.replicates].get_ydata(), pool_run.frobenius.mean(axis=0), rtol=1e-15)


def _legend_outside_every_axes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.has_data():
                assert not box.overlaps(ax.get_window_extent(renderer)), "legend over the data"
    return legends


def test_legends_sit_outside_the_data(pool_run, mirror_run):
    assert _legend_outside_every_axes(plots.plot_frobenius(pool_run))
    assert _legend_outside_every_axes(plots.plot_weight_histograms(pool_run, times=[0, 4, 8]))
    assert _legend_outside_every_axes(plots_mirror.plot_silos_against_k({1: np.array([3, 4]), 5: np.array([2, 2])}))
    overlay = plots.plot_expected_frobenius_overlay(dict(agents=2, components=2, memory=2), ((1, 1), (1, 1)), horizon=4, replicates=3)
    assert _legend_outside_every_axes(overlay)


def test_weight_bars_have_categorical_ticks_and_the_run_weights():
    run = simulate(agents=2, components=3, dim=2, steps=3, replicates=1, seed=4, quiet=True)
    fig = plots.plot_weight_histograms(run, times=[0, 3])
    for ax, t in zip(fig.axes, [0, 3]):
        assert list(ax.get_xticks()) == [0, 1, 2]
        assert [label.get_text() for label in ax.get_xticklabels()] == ["0", "1", "2"]
        heights = np.array([bar.get_height() for bar in ax.patches]).reshape(2, 3)  # agent-major
        np.testing.assert_array_equal(heights, run.weights[0, t])
        centres = np.array([bar.get_x() + bar.get_width() / 2 for bar in ax.patches]).reshape(2, 3)
        assert (np.abs(centres.mean(axis=0) - np.arange(3)) < 1e-12).all()  # each group centred on its tick


def test_many_agents_get_a_colour_bar_not_a_dropped_legend():
    run = simulate(agents=12, steps=2, replicates=1, seed=1, quiet=True)
    fig = plots.plot_weight_histograms(run, times=[0, 2])
    drawn = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(drawn) == 2 and all(len(ax.lines) == 12 for ax in drawn)
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1 and "agent" in colour_bars[0].get_ylabel()
    small = plots.plot_weight_histograms(simulate(agents=3, steps=2, replicates=1, seed=1, quiet=True), times=[0, 2])
    assert [t.get_text() for t in small.axes[-1].get_legend().get_texts()] == ["agent 0", "agent 1", "agent 2"]


def test_heatmap_is_log_scaled_holds_the_grid_and_has_readable_ticks_at_N30():
    from matplotlib.colors import LogNorm

    N = 30
    # A synthetic grid over decades (the drawing is under test, not the solve).
    a, b = np.meshgrid(np.arange(N + 1), np.arange(N + 1), indexing="ij")
    grid = np.where(a == b, 0.0, 10.0 ** (-np.abs(a - b) / 2.0))
    fig = plots.plot_polarization_heatmap(grid=grid)
    ax = fig.axes[0]
    image = ax.images[0]
    assert isinstance(image.norm, LogNorm)
    data = image.get_array()
    assert data.mask[np.arange(N + 1), np.arange(N + 1)].all()  # P = 0 masked (grey)
    np.testing.assert_array_equal(data.data[a != b], grid[a != b])
    assert list(ax.get_xticks()) == list(ax.get_yticks()) == [0, 5, 10, 15, 20, 25, 30]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        boxes = [label.get_window_extent(renderer) for label in labels if label.get_text()]
        assert len(boxes) == 7
        assert not any(p.overlaps(q) for i, p in enumerate(boxes) for q in boxes[i + 1 :])
    for N in (4, 13, 23, 31, 44):
        ticks = plots.heatmap_ticks(N)
        assert ticks[0] == 0 and ticks[-1] == N and min(np.diff(ticks)) >= (1 if N <= 12 else 2)


def test_heatmap_of_a_system_equals_the_grid_of_single_solves():
    from markovgmm.analysis.absorption import absorption_probabilities

    system = markovgmm.System(agents=2, components=2, memory=3)
    fig = plots.plot_polarization_heatmap(system)
    chain = markovgmm.build_chain(system, exact=True)
    data = fig.axes[0].images[0].get_array()
    for a in range(4):
        for b in range(4):
            value = absorption_probabilities(chain, chain.index(((a, 3 - a), (b, 3 - b)))).polarization()
            assert (data.mask[a, b] and value == 0) or data[a, b] == float(value)
    with pytest.raises(InputError, match="system"):
        plots.plot_polarization_heatmap()
    with pytest.raises(InputError, match="agents=2"):
        plots.polarization_grid(markovgmm.System(agents=3, components=2, memory=2))


def test_path_keyword_still_saves_a_png(tmp_path, pool_run):
    fig = plots.plot_frobenius(pool_run, path=tmp_path / "sub" / "f.png")
    assert isinstance(fig, Figure)
    width, height = _png_size(tmp_path / "sub" / "f.png")
    assert (width, height) == (round(6.4 * 110), round(4.0 * 110))


# --------------------------------------------------------------------------- --figure


def test_absorb_figure_draws_the_json_numbers(tmp_path, capsys, monkeypatch):
    drawn = _capture(monkeypatch, plots, "plot_absorption")
    path = tmp_path / "absorb.png"
    out = _json(capsys, ["absorb", "--exact", "--horizon", "12", "--figure", str(path), "--json", "--quiet"])
    width, height = _png_size(path)
    assert 400 <= width <= 2000 and 200 <= height <= 1200
    (fig,) = drawn
    bars, cdf = fig.axes[0], fig.axes[1]
    expected = [Fraction(v) for v in out["consensus_by_component"]] + [Fraction(out["polarization"])]
    assert expected[-1] == Fraction(139813, 1630674)  # MODEL.md 3 reference value
    assert [bar.get_height() for bar in bars.patches] == [float(v) for v in expected]
    assert [t.get_text() for t in bars.get_xticklabels()] == ["consensus on 0", "consensus on 1", "polarisation"]
    assert list(cdf.lines[0].get_ydata()) == [float(Fraction(v)) for v in out["absorption_time_cdf"]]
    assert list(cdf.lines[0].get_xdata()) == list(range(13))


def test_absorb_figure_float_with_other_class(tmp_path, capsys, monkeypatch):
    drawn = _capture(monkeypatch, plots, "plot_absorption")
    path = tmp_path / "open.png"
    # open ownership on a ring of 3: every agent reads two, so some starts can end in "other" classes or not;
    # the bars must be the JSON's values whatever they are.
    out = _json(capsys, ["absorb", "-m", "3", "-K", "3", "-N", "2", "--ownership", "open", "--figure", str(path), "--json", "--quiet"])
    (fig,) = drawn
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    expected = list(out["consensus_by_component"]) + [out["polarization"]] + ([out["other"]] if out["other"] else [])
    assert heights == expected
    assert len(fig.axes) == 1  # no --horizon: no distribution panel


def test_simulate_figure_pool_draws_the_json_curves(tmp_path, capsys, monkeypatch):
    drawn = _capture(monkeypatch, plots, "plot_frobenius")
    path = tmp_path / "pool.png"
    out = _json(capsys, ["simulate", "-R", "3", "-T", "10", "--seed", "7", "--figure", str(path), "--json", "--quiet"])
    assert _png_size(path)[0] >= 400
    (fig,) = drawn
    lines = fig.axes[0].lines
    for r, curve in enumerate(out["frobenius"]):
        assert list(lines[r].get_ydata()) == curve
    assert out["version"] == markovgmm.__version__


def test_simulate_figure_mirror_draws_the_json_silos(tmp_path, capsys, monkeypatch):
    drawn = _capture(monkeypatch, plots_mirror, "plot_silo_trajectories")
    path = tmp_path / "mirror.png"
    argv = ["simulate", "--model", "mirror", "-m", "6", "-K", "3", "-T", "5", "-R", "2", "--seed", "2", "--figure", str(path), "--json", "--quiet"]
    out = _json(capsys, argv)
    assert _png_size(path)[0] >= 400
    (fig,) = drawn
    silos = np.array(out["replicates"][0]["silos"])  # (T + 1, n)
    n = silos.shape[1]
    lines = fig.axes[0].lines
    assert len(lines) == n
    for i, line in enumerate(lines):
        shift = 0.3 * (i / (n - 1) - 0.5)  # the documented offset of plot_silo_trajectories
        np.testing.assert_allclose(np.asarray(line.get_ydata()) - shift, silos[:, i], atol=1e-12)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["absorb", "--figure", "{tmp}/a.jpg"], "figure: must be a file path ending in .png"),
        (["absorb", "--figure", "{tmp}/missing/a.png"], "figure: must be in an existing folder"),
        (["absorb", "--figure", "{tmp}/dir.png"], "figure: must be a file, got the directory"),
        (["absorb", "--certified", "--figure", "{tmp}/a.png"], "figure: not available with --certified"),
        (["simulate", "--figure", "{tmp}/a.pdf"], "figure: must be a file path ending in .png"),
        (["simulate", "--model", "mirror", "--figure", ""], "figure: must be a file path"),
    ],
)
def test_bad_figure_path_is_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "dir.png").mkdir()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "a.png").exists()


# --------------------------------------------------------------------------- JSON names


def _keys(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}.{k}", str(k)
            yield from _keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for v in obj[:3]:
            yield from _keys(v, path + "[]")


COMMANDS = {
    "absorb": ["absorb", "--json", "--quiet"],
    "absorb-certified": ["absorb", "--certified", "--json", "--quiet"],
    "absorb-mirror": ["absorb", "--model", "mirror", "-m", "3", "-N", "2", "--json", "--quiet"],
    "bounds": ["bounds", "--json", "--quiet"],
    "claims": ["claims", "--horizon", "2", "--json", "--quiet"],
    "demo": ["demo", "--json"],
    "simulate": ["simulate", "-T", "2", "--seed", "1", "--json", "--quiet"],
    "simulate-mirror": ["simulate", "--model", "mirror", "-m", "4", "-K", "2", "-T", "2", "--seed", "1", "--json", "--quiet"],
    "simulate-chain": ["simulate-chain", "--runs", "300", "--json", "--quiet"],
    "simulate-chain-mirror": ["simulate-chain", "--model", "mirror", "-m", "3", "-N", "2", "--runs", "300", "--json", "--quiet"],
    "verify": ["verify", "--max-agents", "2", "--memories", "2", "--json", "--quiet"],
}


@pytest.fixture(scope="module")
def outputs():
    import contextlib
    import io

    result = {}
    for name, argv in COMMANDS.items():
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(argv) == 0, name
        result[name] = json.loads(buffer.getvalue())
    return result


def test_every_command_json_has_the_version(outputs):
    for name, out in outputs.items():
        assert out["version"] == markovgmm.__version__, name


#: Old names (before docs/json.md) that must not come back.
RETIRED = {"ci", "polarised_runs", "polarised_replicates", "consensus_replicates", "exact_in_ci", "chain_in_ci",
           "chain_polarization", "limit_interval", "limit_float", "polarization_lo", "polarization_hi"}


def test_json_keys_follow_one_convention(outputs):
    for name, out in outputs.items():
        for where, key in _keys(out):
            assert key not in RETIRED, (name, where)
            assert "polaris" not in key, (name, where)  # keys spell polarization/polarized with a z
            if key.endswith("_ci"):
                assert key in ("polarization_ci", "consensus_ci", "polarization_in_ci"), (name, where)
    chains = [outputs["simulate-chain"], outputs["simulate-chain-mirror"]]
    for out in chains:
        lo, hi = out["polarization_ci"]
        assert lo <= out["polarization_frequency"] <= hi
        assert out["polarized_runs"] == round(out["polarization_frequency"] * out["runs"])
        assert out["consensus_runs"] == sum(out["consensus_by_component_runs"])
        assert out["polarization_in_ci"] is True
    # the same quantity has the same key in both models of simulate-chain
    shared = set(chains[0]) & set(chains[1])
    for key in ("runs", "polarized_runs", "polarization_frequency", "polarization_ci", "consensus_runs", "consensus_frequency",
                "consensus_ci", "consensus_by_component_runs", "consensus_by_component_frequency", "polarization_exact",
                "polarization_float", "polarization_in_ci", "mean_steps", "unabsorbed", "version"):
        assert key in shared, key
    assert Fraction(outputs["simulate-chain"]["polarization_exact"]) == Fraction(139813, 1630674)
    assert outputs["simulate-chain"]["polarization_float"] == float(Fraction(139813, 1630674))
    assert Fraction(outputs["absorb"]["polarization"]).limit_denominator(10**7) == Fraction(139813, 1630674)
    lo, hi = (Fraction(x) for x in outputs["absorb-certified"]["polarization_interval"])
    assert lo <= Fraction(139813, 1630674) <= hi
    a3 = outputs["claims"]["A3"]
    lo, hi = (Fraction(x) for x in a3["limit_expected_frobenius_interval"])
    assert lo <= Fraction(a3["limit_expected_frobenius"]) <= hi
    assert a3["limit_expected_frobenius_float"] == float(Fraction(a3["limit_expected_frobenius"]))


def test_docs_json_names_every_key_of_the_convention():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()
    for key in ("polarization", "polarization_interval", "polarization_frequency", "polarization_ci", "polarized_runs",
                "polarization_exact", "polarization_float", "polarization_in_ci", "polarization_lower", "polarization_upper",
                "limit_expected_frobenius_interval", "version"):
        assert f"`{key}`" in text, key
