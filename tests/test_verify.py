"""``markovgmm verify``: claims A1-A3 and bounds LB1-LB3 over a family (MODEL.md 4)."""

import json
from fractions import Fraction

import pytest

from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.verify import DEFAULT_FAMILY, system_from_dict, verify_family
from markovgmm.cli import main
from markovgmm.errors import InputError

F = Fraction


@pytest.fixture(scope="module")
def report():
    return verify_family(horizon=10, paths=3)


def test_default_family_rows(report):
    rows = report["rows"]
    assert len(rows) == len(DEFAULT_FAMILY)
    assert report["all_bounds_hold"] is True
    for entry, row in zip(DEFAULT_FAMILY, rows):
        system, start, _ = system_from_dict(entry)
        chain = build_chain(system)
        exact = absorption_probabilities(chain, chain.index(start)).polarization()
        assert row["polarization"] == exact
        assert row["bounds_hold"] is True
        assert row["LB1_lower"] <= exact <= row["LB1_upper"]
        if system.ownership == "open":
            # MODEL.md 4: under open ownership on the complete graph A1 and A2 hold and the limit is 0.
            assert exact == 0 and row["A3_limit"] == 0 and row["A3_holds"] is True
            assert row["A1_holds"] is True and row["A2_first_failure"] is None
        else:
            assert exact > 0 and row["A3_holds"] is False and row["A1_holds"] is False
        if system.agents == 2 and system.components == 2 and system.ownership == "support":
            assert row["A3_limit"] == 2 * exact  # MODEL.md 4, A3: 2 P(polarisation) for m=2, K=2
    assert rows[0]["polarization"] == F(139813, 1630674)  # MODEL.md's public reference value


def test_appendix_breaks_are_stated_with_the_limit(report):
    broken = [row for row in report["rows"] if not row["A3_holds"]]
    assert len(report["appendix_breaks"]) == len(broken) == len(DEFAULT_FAMILY) - 1
    first = report["appendix_breaks"][0]
    assert "Appendix A breaks" in first and "139813/815337" in first and "support" in first
    assert all("not 0" in line for line in report["appendix_breaks"])


def test_cli_verify_table(capsys):
    assert main(["verify", "--horizon", "6", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Where seed 002's Appendix A argument breaks" in out
    assert "139813/815337" in out
    assert "every bound holds on every system" in out
    assert out.count("(FAILS)") == len(DEFAULT_FAMILY) - 1
    assert "0 (holds)" in out


def test_cli_verify_config_json(tmp_path, capsys):
    config = tmp_path / "family.json"
    config.write_text(
        json.dumps(
            [
                {"agents": 2, "components": 2, "memory": 2, "start": [[1, 1], [1, 1]]},
                {"agents": 2, "components": 2, "memory": 3, "schedule": "async", "exact": False},
                {"agents": 2, "components": 2, "memory": 3, "ownership": "open", "graph": "path"},
            ]
        )
    )
    assert main(["verify", "--config", str(config), "--horizon", "4", "--json", "--quiet"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"horizon", "paths", "rows", "appendix_breaks", "all_bounds_hold", "version"}
    first, second, third = data["rows"]
    assert first["polarization"] == "1/3" and first["A3_limit"] == "2/3"  # proofs/check_LB2: P = 1/3 here
    assert first["bounds_hold"] is True and first["arithmetic"] == "exact"
    assert second["arithmetic"] == "float" and second["bounds_hold"] is None
    assert abs(second["A3_limit"] - 2 * second["polarization"]) < 1e-12
    assert third["polarization"] == "0" and third["A3_holds"] is True
    assert len(data["appendix_breaks"]) == 2
    assert data["all_bounds_hold"] is True


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"agents": 2}', "non-empty JSON list"),
        ('[{"agents": 2, "components": 2, "memory": 2, "colour": 1}]', "unknown key 'colour'"),
        ('[{"agents": 2, "components": 2, "memory": 0}]', "memory must be an integer >= 1"),  # memory defaults to 4, as on the CLI
        ('[{"agents": 2, "components": 2, "memory": 2, "start": "1,1"}]', "start"),
        ('[{"agents": 2, "components": 2, "memory": 2, "schedule": "never"}]', "schedule"),
    ],
)
def test_cli_verify_bad_config(tmp_path, capsys, content, message):
    config = tmp_path / "bad.json"
    config.write_text(content)
    assert main(["verify", "--config", str(config), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_verify_missing_file_and_bad_options(capsys):
    assert main(["verify", "--config", "/nonexistent/family.json", "--quiet"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", "--epsilon", "0", "--quiet"]) == 2
    assert "epsilon" in capsys.readouterr().err


def test_system_from_dict_defaults():
    system, start, exact = system_from_dict({"agents": 3, "components": 2, "memory": 5, "graph": "path"})
    assert system == System(agents=3, components=2, memory=5, graph="path")
    assert start == ((3, 2), (3, 2), (3, 2)) and exact is True
    with pytest.raises(InputError, match="exact"):
        system_from_dict({"agents": 2, "components": 2, "memory": 2, "exact": "yes"})


@pytest.mark.parametrize("start", ["9,9;2,2", "x", [[1]], 5])
def test_bad_start_in_a_family_entry_names_the_parameter_once(start):
    from markovgmm.analysis.verify import system_from_dict
    from markovgmm.errors import InputError

    with pytest.raises(InputError) as err:
        system_from_dict({"agents": 2, "components": 2, "memory": 4, "start": start})
    message = str(err.value)
    assert message.count("start:") == 1 and "\n" not in message, message
