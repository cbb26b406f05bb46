"""`markovgmm verify --theorem decay|camps`: the CLI runs the library families
(issue 11 items 3-4) and prints what they return."""

import json
from fractions import Fraction

import pytest

from markovgmm.analysis import theorems
from markovgmm.analysis.absorption import absorb
from markovgmm.chain.build import build_chain
from markovgmm.cli import main
from markovgmm.system import System


def test_every_family_is_built():
    assert theorems.THEOREMS == ("voter", "graphs", "order", "rate", "decay", "camps")
    assert not hasattr(theorems, "BUILT")


def test_cli_decay_json_holds_the_exact_chain_values(capsys):
    assert main(["verify", "--theorem", "decay", "--memories", "2,3,4", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["theorem"] == "decay" and out["verdict"] in ("holds", "open") and Fraction(out["max_deviation"]) == 0
    assert {(c["agents"], c["memory"]) for c in out["checked"]} == {(m, N) for m in (2, 3) for N in (2, 3, 4)}
    for m in (2, 3):
        for point in out["series"][str(m)]:
            N = point["N"]
            exact = absorb(build_chain(System(agents=m, components=2, memory=N), exact=True), ((N // 2, N - N // 2),) * m)
            lo, hi = (Fraction(x) for x in point["P"]["interval"])
            assert lo <= exact["polarization"] <= hi
            lo, hi = (Fraction(x) for x in point["E"]["interval"])
            assert lo <= exact["expected_steps"] <= hi


def test_cli_camps_json(capsys):
    assert main(["verify", "--theorem", "camps", "--memories", "2", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["theorem"] == "camps" and out["verdict"] == "open" and Fraction(out["max_deviation"]) == 0
    # K = 2 systems for m = 2..8 at N = 2, and the cheap K = 3 ones
    assert [(c["agents"], c["components"], c["memory"]) for c in out["checked"]][:7] == [(m, 2, 2) for m in range(2, 9)]
    for row in out["table"]:
        law = row["law"]
        assert sum(Fraction(p) for p in law["occupation"].values()) == 1
        if row["components"] == 2 and row["agents"] <= 4:
            # two camps at absorption = polarisation, from the full chain by absorb (an independent path)
            system = System(agents=row["agents"], components=2, memory=row["memory"])
            start = tuple(tuple(c) for c in row["start"])
            assert Fraction(law["camps"].get("2", "0")) == absorb(build_chain(system, exact=True), start)["polarization"]


@pytest.mark.parametrize("args, message", [
    (["--theorem", "decay", "--memories", "2,401"], "memories must be up to 20 comma-separated integers from 1 to 400"),
    (["--theorem", "camps", "--memories", "2,31"], "from 1 to 30"),
    (["--theorem", "decays"], "theorem must be one of"),
])
def test_cli_theorem_bad_options(capsys, args, message):
    assert main(["verify", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
