"""LLM run reader and silo assignment (issue 10): every shipped file against an
independent parse written from the data README's rule, malformed cells,
the longer-name rule, the JSONL format and ``markovgmm llm silos``."""

import ast
import csv
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from markovgmm.cli import main
from markovgmm.errors import InputError
from markovgmm.llm.runs import FLOWERS, default_data_dir, read_csv_half, read_jsonl, read_runs, read_shipped_run, silo_matcher

DATA = default_data_dir()
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"LLM data folder {DATA} not present")

# The README's list, typed again here (not imported) so a change to FLOWERS is caught.
README_FLOWERS = (
    "rose, orchid, tulip, lily, sunflower, lotus, peony, hydrangea, dahlia, magnolia, iris, gardenia, poppy, hyacinth, "
    "wisteria, daffodil, daisy, chrysanthemum, lavender, carnation, marigold, hibiscus, bluebell, zinnia, anemone, "
    "azalea, calla lily, cherry blossom, bird of paradise, gerbera daisy"
).split(", ")


def direct_silo(text):
    """README rule by plain str.find: earliest position, longer name at a tie, else -1."""
    low = text.lower()
    best = None
    for index, name in enumerate(README_FLOWERS):
        pos = low.find(name)
        if pos >= 0 and (best is None or (pos, -len(name)) < (best[0], -len(README_FLOWERS[best[1]]))):
            best = (pos, index)
    return -1 if best is None else best[1]


def direct_counts(path):
    """S_t of one file: rows read with csv, cells with ast, silos with direct_silo."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    counts = []
    for row in rows:
        silos = {direct_silo(ast.literal_eval(cell)[0]) for cell in row[1:]}
        silos.discard(-1)
        counts.append(len(silos))
    return counts


def test_vocabulary_is_the_readme_list():
    assert list(FLOWERS) == README_FLOWERS


@needs_data
def test_every_shipped_file_matches_a_direct_parse():
    runs = read_runs(DATA)
    assert len(runs) == 96
    checked = 0
    for run in runs:
        assert run.steps == 80 and run.agents == 30
        s = [len(set(row[row >= 0].tolist())) for row in run.silos()]
        first, second = run.sources
        expected = direct_counts(first) + direct_counts(second)
        assert s == expected, run.label()
        checked += 2
    assert checked == len(list(DATA.glob("output*.csv.gz")))


@needs_data
def test_halves_joined_in_order():
    first = DATA / "output2_1_0.csv.gz"
    run = read_shipped_run(first, DATA / "output2_1_0_2nd.csv.gz")
    assert (run.p, run.k, run.replicate) == (0.2, 1, 0)
    assert list(run.responses[40]) == read_csv_half(DATA / "output2_1_0_2nd.csv.gz")[0]
    assert list(run.responses[39]) == read_csv_half(first)[-1]


@pytest.mark.parametrize(
    "text, silo",
    [
        ("The prettiest flower is the calla lily.", 26),
        ("The prettiest flower is the Calla Lily, then the lily", 26),
        ("A lily, and a calla lily", 3),
        ("The gerbera daisy, not the daisy", 29),
        ("The DAISY", 16),
        ("The Orchid, above the rose", 1),  # original-case matching would say rose
        ("Cherry blossoms and bird of paradise", 27),
        ("nothing here", -1),
    ],
)
def test_longer_name_and_earliest_position(text, silo):
    assert silo_matcher()(text) == silo
    assert direct_silo(text) == silo


def test_custom_vocabulary():
    match = silo_matcher(["red", "red wine", "blue"])
    assert match("a Red Wine and blue") == 1
    assert match("blue then red") == 2
    with pytest.raises(InputError, match="vocabulary"):
        silo_matcher(["a", "A"])


def _write_half(path, cells):
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([""] + [str(i) for i in range(len(cells[0]))])
        for r, row in enumerate(cells):
            writer.writerow([str(r)] + row)


def _good(rows=3, agents=4):
    return [[repr([f"The prettiest flower is the {FLOWERS[(i + r) % 30]}."]) for i in range(agents)] for r in range(rows)]


def test_malformed_cell_names_file_row_column(tmp_path):
    cells = _good()
    cells[2][3] = "['unterminated"
    path = tmp_path / "output5_5_0.csv.gz"
    _write_half(path, cells)
    _write_half(tmp_path / "output5_5_0_2nd.csv.gz", _good())
    with pytest.raises(InputError) as err:
        read_shipped_run(path, tmp_path / "output5_5_0_2nd.csv.gz")
    message = str(err.value)
    assert str(path) in message and "row 2" in message and "column 3" in message and "\n" not in message


@pytest.mark.parametrize("bad", ["['a', 'b']", "[1]", "'just a string'", "[]"])
def test_cell_must_hold_one_string(tmp_path, bad):
    cells = _good()
    cells[1][0] = bad
    path = tmp_path / "x.csv.gz"
    _write_half(path, cells)
    with pytest.raises(InputError, match=r"row 1, column 0"):
        read_csv_half(path)


def test_nothing_half_loaded(tmp_path):
    """A folder with one good run and one bad second half: no runs, an error."""
    _write_half(tmp_path / "output2_1_0.csv.gz", _good())
    _write_half(tmp_path / "output2_1_0_2nd.csv.gz", _good())
    bad = _good()
    bad[0][1] = "not a literal"
    _write_half(tmp_path / "output2_1_1.csv.gz", _good())
    _write_half(tmp_path / "output2_1_1_2nd.csv.gz", bad)
    result = None
    with pytest.raises(InputError, match=r"output2_1_1_2nd\.csv\.gz: row 0, column 1"):
        result = read_runs(tmp_path)
    assert result is None


def test_jsonl_format(tmp_path):
    path = tmp_path / "run.jsonl"
    lines = [{"step": t, "agent": i, "response": f"the {FLOWERS[i if t == 0 else 0]}", "p": 0.5, "k": 1} for t in range(3) for i in range(3)]
    path.write_text("\n".join(json.dumps(x) for x in reversed(lines)) + "\n")
    run = read_jsonl(path)
    assert (run.p, run.k, run.steps, run.agents) == (0.5, 1, 3, 3)
    assert run.silos().tolist() == [[0, 1, 2], [0, 0, 0], [0, 0, 0]]
    path.write_text("\n".join(json.dumps(x) for x in lines[:-1]) + "\n")
    with pytest.raises(InputError, match="step 2, agent 2: missing"):
        read_jsonl(path)
    path.write_text(json.dumps(lines[0]) + "\n{oops\n")
    with pytest.raises(InputError, match="line 2"):
        read_jsonl(path)


def test_cli_silos_json(tmp_path, capsys):
    _write_half(tmp_path / "output7_25_3.csv.gz", _good(rows=4, agents=5))
    _write_half(tmp_path / "output7_25_3_2nd.csv.gz", [[repr(["no flower at all"])] * 5] * 2)
    assert main(["llm", "silos", "--data", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (run,) = report["runs"]
    assert (run["p"], run["k"], run["replicate"]) == (0.7, 25, 3)
    assert run["silo_counts"] == [5, 5, 5, 5, 0, 0]
    assert run["unassigned"] == 10 and run["t_star"] == 3
    assert len(run["stability"]) == 5
    assert report["cells"][0]["final_silo_law"] == {"0": 1.0}
    assert main(["llm", "silos", "--data", str(tmp_path)]) == 0
    assert "final silo law" in capsys.readouterr().out


def test_cli_missing_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MARKOVGMM_LLM_DATA", str(tmp_path / "nowhere"))
    assert main(["llm", "silos"]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "--data" in err and err.count("\n") == 1


@needs_data
def test_shipped_cli_table(capsys):
    assert main(["llm", "silos", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["runs"]) == 96
    assert all(len(r["silo_counts"]) == 80 and r["silo_counts"][0] >= 25 for r in report["runs"])
    k1 = [c["mean_final_silos"] for c in report["cells"] if c["k"] == 1]
    assert all(7 <= m <= 9 for m in k1)
