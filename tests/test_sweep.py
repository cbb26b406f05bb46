"""Sweeps (markovgmm.sweep, ``markovgmm sweep``): results equal direct calls,
resume without recomputation, refusal of oversized cells, one-line config errors.

The cluster is an in-process LocalCluster (threads), started once."""

import csv
import json
from fractions import Fraction

import pytest

import markovgmm.sweep as sweep
from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.cli import main
from markovgmm.errors import InputError
from markovgmm.numbers import fraction_str

distributed = pytest.importorskip("dask.distributed")

GRID = {"agents": [2], "memory": [3, 4], "schedule": ["sync", "async"], "starts": ["balanced"], "results": ["exact", "float"]}


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


COMPUTED = []  # keys of the cells computed (workers are threads of this process; list.append is atomic)


def counting_compute_cell(cell, *args, **kwargs):
    COMPUTED.append(cell["key"])
    return ORIGINAL_COMPUTE_CELL(cell, *args, **kwargs)


ORIGINAL_COMPUTE_CELL = sweep.compute_cell


@pytest.fixture
def counted(monkeypatch):
    """Count the cells actually computed."""
    COMPUTED.clear()
    monkeypatch.setattr(sweep, "compute_cell", counting_compute_cell)
    return COMPUTED


def read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_grid_equals_direct_calls(client, tmp_path, counted):
    out = tmp_path / "table.csv"
    summary = sweep.run_sweep(dict(GRID, lumped=["auto", False]), str(out), client=client, quiet=True)
    rows = read(out)
    assert (summary.cells, summary.computed, summary.failed, len(rows), len(counted)) == (8, 8, 0, 8, 8)
    assert list(rows[0]) == sweep.COLUMNS
    assert len({r["cell"] for r in rows}) == 8
    for row in rows:
        assert row["error"] == ""
        system = System(agents=2, components=2, memory=int(row["memory"]), schedule=row["schedule"])
        state = tuple(tuple(int(x) for x in part.split(",")) for part in row["start"].split(";"))
        exact = build_chain(system, exact=True)
        direct = absorption_probabilities(exact, exact.index(state))
        assert row["polarization_exact"] == fraction_str(direct.polarization())
        assert row["consensus_exact"] == fraction_str(direct.consensus())
        assert row["expected_steps_exact"] == fraction_str(direct.expected_steps[0])
        assert Fraction(row["polarization_exact"]) + Fraction(row["consensus_exact"]) + Fraction(row["other_exact"]) == 1
        floats = build_chain(system, exact=False)
        direct_float = absorption_probabilities(floats, floats.index(state))
        # The worker's float solve may sum in another order (threads): agree to float64 rounding, not bitwise.
        assert float(row["polarization_float"]) == pytest.approx(direct_float.polarization(), rel=1e-13, abs=1e-16)
        assert float(row["polarization_float"]) == pytest.approx(float(direct.polarization()), rel=1e-9)
        assert int(row["full_states"]) == exact.n_states
        built = exact if row["lumped"] == "false" else build_chain(system, exact=True, lump=True)
        assert (int(row["states"]), int(row["transitions"])) == (built.n_states, built.n_transitions)
    assert {r["lumped"] for r in rows if int(r["states"]) < int(r["full_states"])} == {"auto"}
    # MODEL.md 3's public reference value (Storm's exact engine), independent of this code.
    reference = [r for r in rows if r["memory"] == "4" and r["schedule"] == "sync"]
    assert [r["polarization_exact"] for r in reference] == ["139813/1630674"] * 2


def test_resume_computes_only_missing_cells(client, tmp_path, counted):
    out = tmp_path / "table.csv"
    half = dict(GRID, schedule=["sync"])
    first = sweep.run_sweep(half, str(out), client=client, quiet=True)
    assert (first.computed, len(counted)) == (2, 2)
    before = {r["cell"]: r for r in read(out)}
    # Interrupted mid-write: a cut-off row (no newline) is dropped and its cell recomputed.
    with open(out, "a") as handle:
        handle.write("deadbeefdeadbeef,2,2,3")
    counted.clear()
    second = sweep.run_sweep(GRID, str(out), client=client, quiet=True)
    assert (second.cells, second.already, second.computed, len(counted)) == (4, 2, 2, 2)
    rows = read(out)
    assert len(rows) == 4 and len({r["cell"] for r in rows}) == 4
    assert all(r["schedule"] == "async" for r in rows[2:])
    for key, row in before.items():  # finished rows left as they were
        assert next(r for r in rows if r["cell"] == key) == row
    counted.clear()
    third = sweep.run_sweep(GRID, str(out), client=client, quiet=True)
    assert (third.already, third.computed, len(counted), len(read(out))) == (4, 0, 0, 4)


def failing_compute_cell(cell, *args, **kwargs):
    if cell["memory"] == 3:
        raise RuntimeError("a bug, not an input error")
    return ORIGINAL_COMPUTE_CELL(cell, *args, **kwargs)


def test_unexpected_failures_write_no_row_and_are_retried(client, tmp_path, monkeypatch):
    out = tmp_path / "table.csv"
    config = dict(GRID, schedule=["sync"], results=["float"])
    monkeypatch.setattr(sweep, "compute_cell", failing_compute_cell)
    summary = sweep.run_sweep(config, str(out), client=client, quiet=True)
    assert (summary.computed, summary.failed) == (1, 1)
    assert "RuntimeError: a bug, not an input error" in summary.failures[0]
    assert [r["memory"] for r in read(out)] == ["4"]
    monkeypatch.setattr(sweep, "compute_cell", ORIGINAL_COMPUTE_CELL)
    again = sweep.run_sweep(config, str(out), client=client, quiet=True)
    assert (again.already, again.computed, again.failed) == (1, 1, 0)
    assert sorted(r["memory"] for r in read(out)) == ["3", "4"]


def test_scheduler_address(cluster, tmp_path):
    out = tmp_path / "table.csv"
    summary = sweep.run_sweep({"memory": [4], "results": ["exact"]}, str(out), scheduler=cluster.scheduler_address, quiet=True)
    assert summary.computed == 1
    assert [r["polarization_exact"] for r in read(out)] == ["139813/1630674"]


def test_refused_and_failed_cells_get_one_line_rows(client, tmp_path, counted):
    out = tmp_path / "table.csv"
    config = {"agents": [2, 3], "memory": [4], "prune": [0, 2], "max_states": 100, "results": ["exact"], "lumped": False}
    summary = sweep.run_sweep(config, str(out), client=client, quiet=True)
    rows = {(r["agents"], r["prune"]): r for r in read(out)}
    assert len(rows) == 4 and summary.refused == 3 and summary.computed == 1 and len(counted) == 1
    assert rows[("2", "0")]["polarization_exact"] == "139813/1630674"
    assert rows[("3", "0")]["error"] == (
        "skipped: m=3, K=2, N=4, r=1, sync, support, graph=complete: 125 states over max_states=100; "
        "try lumped=true (symmetry group S_3)"
    )
    assert rows[("3", "0")]["polarization_exact"] == ""
    assert rows[("2", "2")]["error"].startswith("prune must satisfy components*prune < memory")


def test_exact_skipped_over_max_exact_states(client, tmp_path):
    out = tmp_path / "table.csv"
    config = {"agents": [3], "memory": [4], "max_exact_states": 100, "results": ["exact", "float"], "lumped": False}
    sweep.run_sweep(config, str(out), client=client, quiet=True)
    (row,) = read(out)
    assert row["polarization_exact"] == "" and float(row["polarization_float"]) > 0
    assert row["error"] == "exact skipped: 125 states over max_exact_states=100"


def test_certified_interval_contains_exact(client, tmp_path):
    pytest.importorskip("markovgmm.analysis.certified")
    out = tmp_path / "table.csv"
    config = {"agents": [2, 3], "memory": [4], "results": ["exact", "certified"]}
    sweep.run_sweep(config, str(out), client=client, quiet=True)
    rows = read(out)
    assert len(rows) == 2
    for row in rows:
        assert row["error"] == ""
        assert Fraction(row["polarization_lower"]) <= Fraction(row["polarization_exact"]) <= Fraction(row["polarization_upper"])
        assert 0 <= float(row["polarization_relative_width"]) < 1e-9


def test_cell_keys_are_stable_and_distinct(tmp_path):
    cells = sweep.expand_cells(sweep.load_config(GRID))
    again = sweep.expand_cells(sweep.load_config(dict(reversed(list(GRID.items())))))
    assert [c["key"] for c in cells] == [c["key"] for c in again]
    assert len({c["key"] for c in cells}) == 4
    # "balanced" and the explicit balanced state are the same cell.
    assert len(sweep.expand_cells(sweep.load_config({"memory": 4, "starts": ["balanced", "2,2;2,2"]}))) == 1
    # An edge-list file is keyed by its content.
    graph = tmp_path / "g.txt"
    graph.write_text("0 1\n")
    key = sweep.expand_cells(sweep.load_config({"graph": "g.txt"}, base_dir=str(tmp_path)))[0]["key"]
    graph.write_text("1 0\n0 0\n")
    assert sweep.expand_cells(sweep.load_config({"graph": "g.txt"}, base_dir=str(tmp_path)))[0]["key"] != key


@pytest.mark.parametrize(
    "config, words",
    [
        ({"agent": [2]}, "unknown key 'agent'"),
        ({"memory": []}, "memory must be a value or a non-empty list"),
        ({"agents": ["2"]}, "agents values must be ints"),
        ({"agents": [True]}, "agents values must be ints"),
        ({"lumped": [1]}, "lumped values must be true, false or"),
        ({"lumped": ["yes"]}, "lumped values must be true, false or"),
        ({"memory": [0]}, "memory values must be integers >= 1"),
        ({"schedule": "synch"}, "schedule values must be one of sync, async"),
        ({"graph": ["grid"]}, "graph values must be one of complete, path, ring, star"),
        ({"starts": ["half"]}, "starts values must be 'balanced' or"),
        ({"results": ["exactly"]}, "results must be a non-empty list drawn from exact, float, certified"),
        ({"results": []}, "results must be a non-empty list"),
        ({"max_states": 0}, "max_states must be a positive integer"),
    ],
)
def test_bad_configs_are_one_line_input_errors(config, words):
    with pytest.raises(InputError) as info:
        sweep.load_config(config)
    message = str(info.value)
    assert words in message and "\n" not in message and message.startswith("config: ")


def test_cli_bad_config_and_finished_table(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"agents": [2], "memory": [4,]}')
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("markovgmm sweep: error: config:") and "not valid JSON" in err and "\n" not in err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"agents": [2], "colour": "red"}))
    assert main(["sweep", str(unknown)]) == 2
    assert "unknown key 'colour'" in capsys.readouterr().err
    # A table that is not a sweep table is refused, not overwritten.
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"agents": [2], "memory": [2]}))
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    assert main(["sweep", str(good), "--out", str(other)]) == 2
    assert "not a sweep table" in capsys.readouterr().err
    assert other.read_text() == "a,b\n1,2\n"
    assert main(["sweep", str(good), "--workers", "0"]) == 2


def test_cli_runs_a_local_cluster(tmp_path, capsys):
    config = tmp_path / "grid.json"
    config.write_text(json.dumps({"agents": [2], "memory": [2, 4], "results": ["exact"]}))
    assert main(["sweep", str(config), "--workers", "1"]) == 0
    assert "2 computed" in capsys.readouterr().out
    rows = read(tmp_path / "grid.csv")
    assert [r["polarization_exact"] for r in rows if r["memory"] == "4"] == ["139813/1630674"]
    # N = 2 from (1,1),(1,1), by hand: each agent moves to (2,0) or (0,2) with probability 1/4 each and
    # stays with 1/2.  Both at different vertices: 2/16; one frozen, the other at (1,1): 1/2, after which
    # the other reads q = 3/4 of the frozen label and polarises with probability (1/8) / (1/2) = 1/4.
    # So h = h/4 + 2/16 + (1/2)(1/4), h = 1/3.
    (small,) = [r for r in rows if r["memory"] == "2"]
    assert (small["polarization_exact"], small["consensus_exact"]) == ("1/3", "2/3")


def test_exact_text_past_the_int_str_limit():
    # Exact probabilities from m=3, N=20 on have more than Python's default 4300 digits.
    from markovgmm.numbers import fraction_str

    value = Fraction(10**5000 + 1, 3)
    assert fraction_str(value) == "1" + "0" * 4999 + "1/3"
    assert fraction_str(-value) == "-1" + "0" * 4999 + "1/3"
    assert fraction_str(Fraction(139813, 1630674)) == "139813/1630674"
