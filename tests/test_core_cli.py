"""The absorb and demo commands (MODEL.md 3)."""

import json
from fractions import Fraction

import markovgmm
from markovgmm import System, build_chain
from markovgmm.analysis import absorption_probabilities
from markovgmm.cli import main
from markovgmm.cli.demo import demo_table

F = Fraction


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_absorb_json_exact(capsys):
    out = run_json(["absorb", "--agents", "2", "--memory", "4", "--exact", "--json", "--horizon", "3"], capsys)
    for key in ("states", "transient", "polarization", "consensus", "consensus_by_component", "expected_steps", "classes"):
        assert key in out
    assert out["polarization"] == "139813/1630674"
    assert out["states"] == 25 and out["transient"] == 21
    assert F(out["consensus"]) + F(out["polarization"]) == 1
    assert [F(x) for x in out["consensus_by_component"]] == [F(1490861, 3261348)] * 2
    polar = [c for c in out["classes"] if c["kind"] == "polarised"]
    assert len(polar) == 2 and all(c["camp_sizes"] == [1, 1] for c in polar)
    assert sum(F(c["probability"]) for c in out["classes"]) == 1
    assert out["absorption_time_cdf"][:3] == ["0", "0", "13/2048"]


def test_absorb_json_float_and_start(capsys):
    out = run_json(["absorb", "--agents", "3", "--memory", "3", "--start", "3,0;2,1;0,3", "--json"], capsys)
    chain = build_chain(System(agents=3, components=2, memory=3))
    exact = absorption_probabilities(chain, chain.index(((3, 0), (2, 1), (0, 3))))
    assert isinstance(out["polarization"], float)
    assert abs(out["polarization"] - float(exact.polarization())) < 1e-12
    assert out["start"] == [[3, 0], [2, 1], [0, 3]]


def test_absorb_human_output(capsys):
    assert main(["absorb", "--exact", "--graph", "path", "--agents", "3", "--memory", "2"]) == 0
    out = capsys.readouterr().out
    assert "P(polarisation)" in out and "graph=path" in out and "closed classes" in out


def test_demo_table_exact_and_float_agree():
    rows = demo_table(((2, 4), (3, 4)))
    assert rows[0]["polarization_exact"] == F(139813, 1630674)
    for row in rows:
        assert abs(float(row["polarization_exact"]) - row["polarization_float"]) < 1e-12


def test_demo_json(capsys):
    out = run_json(["demo", "--json"], capsys)
    assert out["version"] == markovgmm.__version__
    rows = out["rows"]
    assert [(r["agents"], r["memory"]) for r in rows] == [(m, N) for m in (2, 3) for N in range(4, 9)]
    assert rows[0]["polarization_exact"] == "139813/1630674"
    # More memory makes polarisation rarer in this family.
    for m in (2, 3):
        values = [F(r["polarization_exact"]) for r in rows if r["agents"] == m]
        assert all(a > b for a, b in zip(values, values[1:]))


def test_absorb_certified_text_shows_the_expected_time_interval(capsys):
    """`absorb --certified` prints E[absorption time]'s certified interval, and it holds the exact value."""
    from fractions import Fraction

    from markovgmm.analysis.absorption import absorb
    from markovgmm.chain.build import build_chain
    from markovgmm.system import System

    assert main(["absorb", "--certified", "--quiet"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("expected steps"))
    lo, hi = (Fraction(v.strip()) for v in line[line.index("[") + 1 : line.index("]")].split(","))
    exact = absorb(build_chain(System(agents=2, components=2, memory=4), exact=True), ((2, 2), (2, 2)))["expected_steps"]
    assert lo <= exact <= hi and hi - lo < Fraction(1, 10**12)
