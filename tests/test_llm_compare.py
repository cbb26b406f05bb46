"""LLM vs GMM vs chain comparison (issue 10): statistics on synthetic silo
arrays (a verdict that flips when the samples are made different), the JSON
keys, the figures, and one small real cell through the CLI."""

import json

import numpy as np
import pytest

from markovgmm.cli import main
from markovgmm.llm.compare import compare, compare_cell, plot_silo_counts, plot_trajectories, summary, two_sample_test
from markovgmm.llm.runs import FLOWERS, LLMRun

CELL_KEYS = {"p", "k", "llm_final_silos", "gmm_final_silos", "chain_final_silos", "test", "p_value", "verdict"}


def synthetic_silos(final_counts, steps=10, agents=30, seed=0):
    """Silo arrays (R, steps, agents) whose last step has the given numbers of silos."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(final_counts), steps, agents), dtype=np.int64)
    for r, s in enumerate(final_counts):
        out[r, 0] = np.arange(agents)
        for t in range(1, steps):
            out[r, t] = rng.permutation(np.arange(agents) % s)
    return out


def test_verdict_flips_when_samples_differ():
    rng = np.random.default_rng(0)
    llm = synthetic_silos(rng.integers(7, 10, size=8))
    same = synthetic_silos(rng.integers(7, 10, size=50), seed=1)
    far = synthetic_silos(rng.integers(12, 16, size=50), seed=2)
    agree = compare_cell(0.2, 1, llm, same, same)
    differ = compare_cell(0.2, 1, llm, far, same)
    assert agree["verdict"] == "agrees" and agree["p_value"] >= 0.05
    assert differ["verdict"] == "differs" and differ["p_value"] < 1e-3
    assert differ["direction"] == "GMM keeps more silos than the LLM"
    assert differ["gmm_final_silos"] == silo_final(far)


def silo_final(silos):
    return [len(set(row.tolist())) for row in silos[:, -1]]


def test_constant_samples():
    assert two_sample_test([1] * 8, [1] * 50) == (1.0, "agrees")
    p, verdict = two_sample_test([1] * 8, [4] * 50)
    assert verdict == "differs" and p < 1e-4


def test_summary_interval():
    s = summary([1, 2, 3, 4])
    assert s["mean"] == 2.5 and s["mean_ci"][0] < 2.5 < s["mean_ci"][1]
    assert np.isclose(s["mean_ci"][1] - s["mean"], 3.182446305 * np.std([1, 2, 3, 4], ddof=1) / 2, rtol=1e-6)


def _llm_runs(cells, replicates=3, steps=10, agents=30):
    runs = []
    for p, k in cells:
        for v in range(replicates):
            silos = synthetic_silos([k % 5 + 1], steps=steps, agents=agents, seed=v)[0]
            runs.append(LLMRun(tuple(tuple(f"the {FLOWERS[s]}" for s in row) for row in silos), p=p, k=k, replicate=v))
    return runs


def test_compare_json_keys_and_figures(tmp_path):
    cells = [(0.2, 1), (0.2, 5), (0.7, 1), (0.7, 5)]

    def fake(p, k, replicates, seed):
        return synthetic_silos(np.full(replicates, 10), steps=12, seed=seed)

    report = compare(_llm_runs(cells), replicates=6, gmm_simulator=fake, chain_simulator=fake)
    assert [(c["p"], c["k"]) for c in report["cells"]] == cells
    for cell in report["cells"]:
        assert CELL_KEYS <= set(cell)
        assert cell["verdict"] in ("agrees", "differs")
        assert len(cell["gmm_final_silos"]) == 6 and len(cell["llm_final_silos"]) == 3
        assert len(cell["silo_counts"]["llm"]["mean"]) == 10
        assert set(cell["early_stability"]) == {"llm", "gmm", "chain"}
    # k = 1 cells: LLM 2 silos vs 10 -> differs; all samples are constant so p is tiny
    assert all(c["verdict"] == "differs" for c in report["cells"])
    public = json.loads(json.dumps({k: v for k, v in report.items() if not k.startswith("_")}))
    assert public["test"].startswith("two-sided Mann-Whitney")
    for draw, name in ((plot_trajectories, "traj.png"), (plot_silo_counts, "counts.png")):
        path = draw(report, tmp_path / name)
        assert path.stat().st_size > 10_000


def test_cli_one_real_cell(tmp_path, capsys):
    pytest.importorskip("markovgmm.simulate.mirror")
    pytest.importorskip("markovgmm.simulate.mirror_chain_mc")
    from markovgmm.llm.runs import default_data_dir

    if not default_data_dir().is_dir():
        pytest.skip("LLM data folder not present")
    code = main(["llm", "compare", "--cells", "0.2:25", "-R", "4", "--json", "--figures", str(tmp_path), "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    (cell,) = report["cells"]
    assert CELL_KEYS <= set(cell) and (cell["p"], cell["k"]) == (0.2, 25)
    assert cell["llm_final_silos"] == [1] * 8
    assert len(cell["gmm_final_silos"]) == 4 and len(cell["chain_final_silos"]) == 4
    assert (tmp_path / "silo_trajectories.png").exists() and (tmp_path / "silo_counts.png").exists()
    assert main(["llm", "compare", "--cells", "0.3:2"]) == 2
    assert "cells: 0.3:2 not in the data" in capsys.readouterr().err
