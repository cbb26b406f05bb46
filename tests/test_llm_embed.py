"""Embedding metric (issue 10): D = 0 for identical responses, invariance
under agent order, the MDS figure drawn from the matrix the JSON reports,
the content-hash cache, the offline model, the missing-extra message."""

import json
import sys

import numpy as np
import pytest

from markovgmm.errors import InputError
from markovgmm.llm.embed import (
    ORIGINAL_MODEL,
    EmbeddingCache,
    classical_mds,
    distance_matrices,
    embed_run,
    embed_texts,
    embedding_report,
    frobenius_norms,
    mds_figure,
    mds_of_run,
    static_model_embedder,
)
from markovgmm.llm.runs import FLOWERS, LLMRun

static_model = pytest.importorskip("static_model", reason="install markovgmm[embed] (tokenlearn-static-model)")


def _run(seed=0, steps=5, agents=6, p=0.5, k=1, replicate=0):
    rng = np.random.default_rng(seed)
    words = ["petals", "fragrant", "vibrant", "delicate", "sunlight", "garden", "timeless", "soft"]
    rows = []
    for t in range(steps):
        rows.append(
            tuple(
                f"The prettiest flower is the {FLOWERS[int(rng.integers(0, 30 if t == 0 else 3))]}, "
                f"{' '.join(rng.choice(words, 4))}."
                for _ in range(agents)
            )
        )
    return LLMRun(tuple(rows), p=p, k=k, replicate=replicate)


def test_offline_model_loads_and_embeds():
    embed = static_model_embedder()
    e = embed(["The prettiest flower is the rose.", "The prettiest flower is the orchid."])
    assert e.shape[0] == 2 and e.shape[1] >= 16
    assert np.all(np.isfinite(e)) and not np.allclose(e[0], e[1])


def test_identical_responses_give_zero_distance(tmp_path):
    text = "The prettiest flower is the lotus, rising from still water."
    run = LLMRun(((text,) * 5, ("The prettiest flower is the rose.",) + (text,) * 4))
    d = distance_matrices(embed_run(run, cache=tmp_path))
    assert np.all(d[0] == 0) and frobenius_norms(d)[0] == 0
    assert d[1][0, 1] > 0 and np.all(d[1][1:, 1:] == 0)


def test_distances_invariant_under_agent_order(tmp_path):
    run = _run()
    perm = np.random.default_rng(1).permutation(run.agents)
    shuffled = LLMRun(tuple(tuple(row[j] for j in perm) for row in run.responses))
    d = distance_matrices(embed_run(run, cache=tmp_path))
    ds = distance_matrices(embed_run(shuffled, cache=tmp_path))
    assert np.allclose(ds, d[:, perm][:, :, perm], atol=1e-12)
    assert np.allclose(frobenius_norms(ds), frobenius_norms(d))


def test_classical_mds_recovers_planar_distances():
    x = np.random.default_rng(3).normal(size=(12, 2))
    d = distance_matrices(x)
    assert np.allclose(distance_matrices(classical_mds(d, dims=2)), d, atol=1e-9)


def test_mds_figure_drawn_from_reported_matrix(tmp_path):
    run = _run(steps=6)
    e = embed_run(run, cache=tmp_path)
    mds = json.loads(json.dumps(mds_of_run(run, e, [0, 3, 5])))  # as the JSON reports it
    n = run.agents
    joint = np.asarray(mds["distances"])
    coords = np.asarray(mds["coordinates"])
    assert np.allclose(classical_mds(joint), coords)
    # the joint matrix restricted to one step is that step's D_t
    assert np.allclose(joint[n : 2 * n, n : 2 * n], distance_matrices(e[3]))
    fig = mds_figure(mds)
    axes = [ax for ax in fig.axes if ax.collections]
    assert len(axes) == 3
    for a, ax in enumerate(axes):
        assert np.allclose(ax.collections[0].get_offsets(), coords[a * n : (a + 1) * n])


def test_cache_embeds_each_text_once(tmp_path):
    calls = []
    base = static_model_embedder()

    def counting(texts):
        calls.append(len(texts))
        return base(texts)

    counting.model_id = "counting-test"
    texts = ["a rose", "a tulip", "a rose", "a lily"]
    first, new = embed_texts(texts, embedder=counting, cache=tmp_path)
    assert new == 3 and calls == [3]
    again, new = embed_texts(texts + ["a daisy"], embedder=counting, cache=EmbeddingCache(tmp_path, "counting-test"))
    assert new == 1 and calls == [3, 1]
    assert np.allclose(again[:4], first, atol=1e-6)


def test_report_states_stand_in(tmp_path):
    runs = [_run(seed=s, replicate=s) for s in range(2)]
    report = embedding_report(runs, chosen=(0.5, 1, 1), mds_steps=[0, 4], cache=tmp_path)
    assert report["original_model"] == ORIGINAL_MODEL and "stand-in" in report["note"]
    assert [len(r["frobenius"]) for r in report["runs"]] == [5, 5]
    assert report["mds"]["replicate"] == 1
    with pytest.raises(InputError, match="run: no run"):
        embedding_report(runs, chosen=(0.7, 1, 0), cache=tmp_path)


def test_missing_model_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "static_model", None)
    with pytest.raises(InputError, match=r"markovgmm\[embed\]"):
        static_model_embedder()


def test_cli_embed_json_and_figure(tmp_path, capsys):
    import csv
    import gzip

    data = tmp_path / "data"
    data.mkdir()
    run = _run(steps=4, agents=5)
    for name, rows in (("output5_1_0.csv.gz", run.responses[:2]), ("output5_1_0_2nd.csv.gz", run.responses[2:])):
        with gzip.open(data / name, "wt", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([""] + [str(i) for i in range(5)])
            for r, row in enumerate(rows):
                writer.writerow([str(r)] + [repr([text]) for text in row])
    from markovgmm.cli import main

    figure = tmp_path / "mds.png"
    argv = ["llm", "embed", "--data", str(data), "--cache", str(tmp_path / "cache"), "--run", "0.5,1,0", "--mds-steps", "0,3"]
    assert main(argv + ["--json", "--figure", str(figure)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["responses"] == 20 and report["original_model"] == ORIGINAL_MODEL
    assert np.allclose(report["runs"][0]["frobenius"], frobenius_norms(distance_matrices(embed_run(run, cache=tmp_path / "cache"))))
    assert report["mds"]["steps"] == [0, 3] and figure.stat().st_size > 5_000
    assert main(argv) == 0 and "stand-in" in capsys.readouterr().out
