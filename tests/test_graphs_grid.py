"""The precomputed graphs grid (docs/graphs_grid.json, issue 11 item 2) stays true.

A few entries are recomputed exactly and compared with the file; the
verdict / ranking logic is shown to fail on a doctored table; every edge list
is its atlas graph; the summary stored in the file is the one recomputed from
its entries.
"""

import json
import sys
from fractions import Fraction as F

import networkx as nx
import pytest

from markovgmm.analysis import theorems as th
from markovgmm.cli import main

sys.set_int_max_str_digits(0)


@pytest.fixture(scope="module")
def grid():
    with open(th.GRAPHS_GRID, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def entries():
    return th.read_graph_grid()


def _find(entries, m, N, atlas):
    (e,) = [e for e in entries if (e["m"], e["N"], e["atlas"]) == (m, N, atlas)]
    return e


@pytest.mark.parametrize("m, N, atlas", [(5, 4, 38), (4, 5, 14), (3, 8, 6), (2, 7, 3)])
def test_exact_entries_recomputed(entries, m, N, atlas):
    e = _find(entries, m, N, atlas)
    assert e["arithmetic"] == "exact"
    again = th.graph_entry(nx.graph_atlas(atlas), N, arithmetic="exact", atlas=atlas)
    assert again["polarization"] == e["polarization"] and again["edges"] == e["edges"]


def test_certified_entry_contains_exact_value(entries):
    # the complete graph on 5 agents lumps to few states: its exact value is cheap at N = 6
    e = _find(entries, 5, 6, 52)
    assert e["arithmetic"] == "certified" and e["name"] == "complete"
    lo, hi = e["polarization_interval"]
    exact = th.graph_entry(nx.graph_atlas(52), 6, arithmetic="exact")["polarization"]
    assert lo <= exact <= hi and lo < hi and (hi - lo) <= F(1, 10**12) * lo


def test_edge_lists_are_the_connected_atlas_graphs(grid):
    by_size = {}
    for e in grid["graphs"]:
        g = nx.graph_atlas(e["atlas"])
        assert [list(x) for x in sorted(tuple(sorted(x)) for x in g.edges())] == e["edges"]
        assert nx.is_isomorphic(nx.Graph([tuple(x) for x in e["edges"]]), g) and g.number_of_nodes() == e["m"]
        assert nx.is_connected(g)
        by_size.setdefault((e["m"], e["N"]), set()).add(e["atlas"])
    # every connected graph on m nodes, once per N (1, 2, 6, 21 of them), computed independently of the file
    for (m, N), atlases in by_size.items():
        expected = {i for i, g in enumerate(nx.graph_atlas_g()) if g.number_of_nodes() == m and nx.is_connected(g)}
        assert atlases == expected
    assert {len(by_size[(m, 4)]) for m in (2, 3, 4, 5)} == {1, 2, 6, 21} and len(by_size) == 20


def test_arithmetic_labels(grid):
    for e in grid["graphs"]:
        if e["arithmetic"] == "exact":
            assert "polarization" in e and "polarization_interval" not in e
        else:
            assert e["arithmetic"] == "certified" and "polarization" not in e
            lo, hi = (F(x) for x in e["polarization_interval"])
            assert 0 < lo <= hi and hi - lo <= F(1, 10**12) * lo


def test_summary_in_file_is_recomputed_from_entries(grid, entries):
    from markovgmm.numbers import jsonable

    again = {k: v for k, v in th.complete_minimises(entries).items() if k != "graphs"}
    assert jsonable(again) == grid["summary"]


def _table(entries, m, N):
    return [dict(e) for e in entries if (e["m"], e["N"]) == (m, N)]


def test_verdict_fails_on_a_doctored_exact_table(entries):
    table = _table(entries, 4, 4)
    assert th.complete_minimises(table)["verdict"] == "holds"
    (complete,) = [e for e in table if e["name"] == "complete"]
    star = next(e for e in table if e["name"] == "star")
    star["polarization"] = complete["polarization"] - F(1, 10**6)
    r = th.complete_minimises(table)
    assert r["verdict"] == "fails" and r["per_size"][0]["verdict"] == "fails"
    (c,) = r["counterexamples"]
    assert c["atlas"] == star["atlas"] and c["name"] == "star" and c["edges"] == star["edges"]
    assert r["max_deviation"] == F(1, 10**6)
    assert r["ranking"][0]["order"][0]["atlas"] == star["atlas"]


def test_verdict_with_intervals(entries):
    table = _table(entries, 5, 6)
    r = th.complete_minimises(table)
    (complete,) = [e for e in table if e["name"] == "complete"]
    c_lo, c_hi = th._bounds(complete)
    other = next(e for e in table if e["name"] == "path")
    # an interval certainly below the complete graph's: a counterexample
    other.update(arithmetic="certified", polarization_interval=(c_lo / 2, c_lo * 3 / 4))
    other.pop("polarization", None)
    r = th.complete_minimises(table)
    assert r["verdict"] == "fails" and r["counterexamples"][0]["atlas"] == other["atlas"]
    assert r["max_deviation"] == c_lo / 4
    # an interval overlapping the complete graph's: undecided
    other["polarization_interval"] = (c_lo / 2, c_hi)
    r = th.complete_minimises(table)
    assert r["verdict"] == "open" and r["per_size"][0]["undecided"] == [other["edges"]]
    assert r["ranking"][0]["certain"] is False


def test_maximiser_is_the_largest_value(entries):
    r = th.complete_minimises(entries)
    for mx in r["maximisers"]:
        group = [e for e in entries if (e["m"], e["N"]) == (mx["m"], mx["N"])]
        top = max(group, key=lambda e: th._bounds(e)[1])
        assert mx["atlas"] == top["atlas"]


def test_cli_reads_the_grid(capsys, grid):
    code = main(["verify", "--theorem", "graphs", "--grid", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == grid["summary"]["verdict"] and code == (1 if out["verdict"] == "fails" else 0)
    assert len(out["graphs"]) == len(grid["graphs"])
    main(["verify", "--theorem", "graphs", "--grid"])
    text = capsys.readouterr().out
    assert "m=5 N=8" in text and "certified interval" in text


def test_cli_bad_grid_file(tmp_path, capsys):
    bad = tmp_path / "g.json"
    bad.write_text("[1, 2]")
    assert main(["verify", "--theorem", "graphs", "--grid", str(bad)]) == 2
    assert "grid" in capsys.readouterr().err


def test_cli_names_a_counterexample(tmp_path, capsys, grid):
    doctored = json.loads(json.dumps(grid))
    table = [e for e in doctored["graphs"] if (e["m"], e["N"]) == (4, 4)]
    (complete,) = [e for e in table if e["name"] == "complete"]
    star = next(e for e in table if e["name"] == "star")
    star["polarization"] = str(F(complete["polarization"]) - F(1, 1000))
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"graphs": doctored["graphs"]}))
    assert main(["verify", "--theorem", "graphs", "--grid", str(path)]) == 1
    text = capsys.readouterr().out
    assert "theorem graphs: FAILS" in text and f"COUNTEREXAMPLE m=4 N=4 star edges={[tuple(x) for x in star['edges']]}" in text
