"""Issue 13 data integrity and API seams, issue 12 item 5 start-up: each test fails on the old behaviour."""

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import markovgmm
from markovgmm import InputError, System, build_chain
from markovgmm.cli import COMMANDS, build_parser, main

F = Fraction


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


# --- data integrity: the float path never prints a number it cannot vouch for -------------------------------


def test_float_absorb_tiny_probability_is_certified(capsys):
    # float64 alone answers -1.6e-19 here; the true value is 7.7001855e-20.
    out = run_json(["absorb", "-m", "3", "-N", "40", "--json", "--quiet"], capsys)
    lo, hi = (F(x) for x in out["float_check"]["intervals"]["polarization"])
    assert 0 < lo <= F(out["polarization"]) <= hi and float(lo) == pytest.approx(7.7001855e-20, rel=1e-7)
    assert "polarization" in out["float_check"]["replaced"] and out["polarization_float"] < 0
    for value in (out["polarization"], out["consensus"], *out["consensus_by_component"], out["other"]):
        assert 0 <= value <= 1
    assert main(["absorb", "-m", "3", "-N", "40", "--quiet"]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.startswith("P(polarisation)"))
    assert "7.70018551" in line and not line.split()[1].startswith("-") and "cannot vouch" in text


def test_float_absorb_unchecked_says_unreliable(capsys):
    assert main(["absorb", "-m", "3", "-N", "40", "--quiet", "--check", "off"]) == 0
    text = capsys.readouterr().out
    assert "polarization is unreliable" in text and "no digit certain" in text


def test_float_absorb_digits_are_vouched_for(capsys):
    out = run_json(["absorb", "-m", "2", "-N", "4", "--json", "--quiet"], capsys)
    error = out["float_check"]["errors"]["polarization"]
    assert out["float_check"]["method"] == "certified" and 0 <= error < 1e-13
    assert abs(F(out["polarization"]) - F(139813, 1630674)) <= F(error)
    assert main(["absorb", "-m", "2", "-N", "4", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "P(polarisation)       0.08573939364949" in text and "±" in text


# --- one start parser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    return build_chain(System(agents=2, components=2, memory=4))


def test_start_accepts_numbers_states_text_numpy(chain):
    from markovgmm.analysis import absorb, absorption_probabilities, absorption_time_distribution, certified_absorb

    state = ((2, 2), (2, 2))
    n = chain.index(state)
    forms = [n, np.int64(n), state, [[2, 2], [2, 2]], np.array(state), ((np.int32(2), 2), (2, 2)), "2,2;2,2"]
    for start in forms:
        assert absorb(chain, start)["polarization"] == F(139813, 1630674)
        assert absorption_probabilities(chain, start).polarization() == F(139813, 1630674)
        assert F(certified_absorb(chain, start)["polarization_interval"][0]) <= F(139813, 1630674)
        assert absorption_time_distribution(chain, start, 1)[0] == 0


@pytest.mark.parametrize("bad", [25, -1, np.int64(99), True, 2.5, "x", ((4, 0),)])
def test_bad_start_is_an_input_error(chain, bad):
    from markovgmm.analysis import absorb, absorption_probabilities, absorption_time_distribution, certified_absorb
    from markovgmm.analysis.bounds import bounds_report

    for f in (absorb, absorption_probabilities, certified_absorb, lambda c, s: absorption_time_distribution(c, s, 1)):
        with pytest.raises(InputError, match="start"):
            f(chain, bad)
    with pytest.raises(InputError, match="start"):
        bounds_report(chain, bad, horizon=2)


# --- JSON naming, version ------------------------------------------------------------------------------------


def test_version_everywhere(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"markovgmm {markovgmm.__version__}"
    assert run_json(["absorb", "--json", "--quiet"], capsys)["version"] == markovgmm.__version__
    certified = run_json(["absorb", "--certified", "--json", "--quiet"], capsys)
    assert certified["version"] == markovgmm.__version__
    assert certified["polarization_relative_width"] == certified["relative_width"] < 1e-12


# --- start-up: lazy imports, Ctrl-C --------------------------------------------------------------------------


def test_cli_import_and_help_are_light():
    code = (
        "import sys, contextlib, io\n"
        "import markovgmm.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    markovgmm.cli.main(['--help'])\n"
        "heavy = [m for m in ('numpy', 'scipy', 'sympy', 'networkx', 'matplotlib', 'flint', 'tqdm') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_command_table_matches_modules():
    import argparse
    import importlib

    for name, (module, help_text) in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"markovgmm.cli.{module}").register(sub)
        assert sub.choices[name] is not None
        assert sub._choices_actions[0].help == help_text, name
    assert sorted(build_parser()._subparsers._group_actions[0].choices) == sorted(COMMANDS)


def test_ctrl_c_during_imports(monkeypatch, capsys):
    import importlib

    def interrupted(name, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    assert main(["absorb"]) == 130
    assert capsys.readouterr().err == "markovgmm absorb: interrupted\n"


def test_progress_silent_off_terminal():
    code = (
        "import sys\n"
        "from markovgmm.progress import progress_bar\n"
        "with progress_bar(10, 'x') as bar:\n"
        "    bar.update(3)\n"
        "print(bar.n, 'tqdm' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "3 False" and run.stderr == ""


# --- simulate-chain's reference value on the lumped chain ------------------------------------------------------


def test_chain_value_is_solved_on_orbits(monkeypatch):
    from markovgmm.analysis import absorption_probabilities as solve
    from markovgmm.chain import build as build_module
    from markovgmm.cli import simulate_chain

    seen = []
    real = build_module.build_chain

    def spy(*args, **kwargs):
        chain = real(*args, **kwargs)
        seen.append(chain.lumped)
        return chain

    monkeypatch.setattr(build_module, "build_chain", spy)
    system = System(agents=3, components=2, memory=3)
    start = ((2, 1), (1, 2), (2, 1))
    exact, value = simulate_chain.chain_value(system, start)
    full = real(system)
    assert seen == [True] and exact == solve(full, full.index(start)).polarization() and value == float(exact)


# --- sweep CSV: bounds that survive float64 parsing --------------------------------------------------------------


def _read_bounds(path):
    """The CSV's bounds as a float64 reader sees them: pandas if installed, else csv + float()."""
    try:
        import pandas
    except ImportError:
        import csv

        with open(path, newline="") as handle:
            return [(float(r["polarization_lower"]), float(r["polarization_upper"]), r) for r in csv.DictReader(handle)]
    frame = pandas.read_csv(path, dtype={"polarization_exact": str, "polarization_lower_exact": str, "polarization_upper_exact": str})
    return [(float(r["polarization_lower"]), float(r["polarization_upper"]), r) for _, r in frame.iterrows()]


def test_sweep_csv_bounds_keep_the_enclosure_as_floats(tmp_path):
    import csv

    from markovgmm import sweep

    config = {"agents": [2, 3], "memory": [4, 5, 6, 7, 8], "results": ["exact", "certified"]}
    rows = [sweep.compute_cell(cell) for cell in sweep.expand_cells(sweep.load_config(config))]
    path = tmp_path / "table.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=sweep.COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: sweep._cell_text(row.get(k, "")) for k in sweep.COLUMNS})
    read = _read_bounds(path)
    assert len(read) == 10
    for lo, hi, row in read:
        exact = F(str(row["polarization_exact"]))
        assert F(lo) <= exact <= F(hi), row["cell"]
        assert F(str(row["polarization_lower_exact"])) <= exact <= F(str(row["polarization_upper_exact"]))
    for value in [F(1, 3), F(139813, 1630674), F(2, 7) * F(10) ** -30, F(1)]:
        assert F(sweep.float_outward(value, up=False)) <= value <= F(sweep.float_outward(value, up=True))
