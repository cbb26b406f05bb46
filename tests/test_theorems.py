"""Theorem families of ``markovgmm verify --theorem`` (issue 11): exact checks that can fail."""

import json
from fractions import Fraction

import networkx as nx
import pytest

from markovgmm import System, build_chain
from markovgmm.analysis import theorems as th
from markovgmm.analysis.bounds import horizon_bounds
from markovgmm.cli import main
from markovgmm.system import reading_matrix

F = Fraction


# ---- voter -----------------------------------------------------------------


def test_stationary_law_is_exact_and_fixed():
    W = reading_matrix(nx.star_graph(3))  # closed neighbourhoods: v_i proportional to deg_i + 1
    v = th.stationary_law(W)
    assert v == [F(4, 10), F(2, 10), F(2, 10), F(2, 10)]
    assert [sum(v[j] * W[j][i] for j in range(4)) for i in range(4)] == v
    assert th.stationary_law(th.WEIGHTED_W) == [F(1, 6), F(1, 3), F(1, 2)]


def test_voter_identity_on_every_start_star_and_directed():
    for graph in ("star", th._directed_example()):
        for schedule in ("sync", "async"):
            m = 4 if graph == "star" else 3
            s = System(agents=m, components=2, memory=2, graph=graph, schedule=schedule, ownership="open")
            r = th.voter_martingale(s)
            assert r["verdict"] == "holds" and r["consensus_deviation"] == 0 and r["martingale_deviation"] == 0
            assert r["consensus_only"] and r["n_starts"] == 3**m


def test_voter_example_value_on_the_star():
    # P(consensus on 0) from "centre at vertex 0, leaves at vertex 1" is v_centre = 2/5 exactly.
    s = System(agents=4, components=2, memory=2, graph="star", ownership="open")
    chain = build_chain(s)
    from markovgmm.analysis.absorption import absorb

    report = absorb(chain, ((2, 0), (0, 2), (0, 2), (0, 2)))
    assert report["consensus_by_component"] == [F(2, 5), F(3, 5)]


def test_voter_wrong_v_is_caught():
    s = System(agents=4, components=2, memory=2, graph="star", ownership="open")
    r = th.voter_martingale(s, v=[F(1, 4)] * 4)  # the uniform law, not the stationary one
    assert r["verdict"] == "fails" and not r["v_stationary"] and r["martingale_deviation"] > 0
    fam = th.voter_family([dict(agents=4, components=2, memory=2, graph="star")], v_override=lambda s: [F(1, 4)] * 4)
    assert fam["verdict"] == "fails" and fam["max_deviation"] == r["consensus_deviation"]


def test_voter_periodic_sync_r_equals_N_has_non_consensus_classes():
    # MODEL.md 3's example: open neighbourhoods, N = r = 2, path: a polarised swap class.
    s = System(agents=2, components=2, memory=2, replace=2, graph="path", closed_neighbourhood=False, ownership="open")
    r = th.voter_martingale(s)
    assert not th.reading_is_aperiodic(s.W)
    assert r["verdict"] == "holds" and not r["consensus_only"] and not r["predicted_consensus_only"]
    assert r["martingale_deviation"] == 0 and r["consensus_deviation"] == F(1, 2)
    # async on the same graph: consensus only, identity exact
    r = th.voter_martingale(System(agents=2, components=2, memory=2, replace=2, graph="path",
                                   closed_neighbourhood=False, ownership="open", schedule="async"))
    assert r["consensus_only"] and r["consensus_deviation"] == 0


def test_voter_support_distortion_is_reported():
    r = th.voter_family([dict(agents=3, components=2, memory=2, graph="path")])
    d = r["support_distortion"][0]
    assert r["verdict"] == "holds" and d["consensus_deviation"] > 0 and d["interior_deviation"] > 0


# ---- graphs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs_report():
    return th.graph_extremes(max_agents=4, memories=(4,))


def test_graphs_measured_values(graphs_report):
    by = {(e["m"], e["name"]): e["polarization"] for e in graphs_report["graphs"]}
    assert by[(2, "complete")] == F(139813, 1630674)  # MODEL.md 3's reference value
    assert round(float(by[(4, "complete")]), 3) == 0.303 and round(float(by[(4, "ring")]), 3) == 0.389
    assert round(float(by[(4, "star")]), 3) == 0.471 and round(float(by[(4, "path")]), 3) == 0.481
    assert len([e for e in graphs_report["graphs"] if e["m"] == 4]) == 6  # connected graphs on 4 nodes
    assert graphs_report["verdict"] == "holds" and graphs_report["max_deviation"] == 0
    order = graphs_report["ranking"][-1]["order"]
    assert order[0]["name"] == "complete" and order[-1]["name"] == "path"


def test_graphs_perturbed_value_fails(graphs_report):
    entries = [dict(e) for e in graphs_report["graphs"]]
    star = next(e for e in entries if e["m"] == 4 and e["name"] == "star")
    star["polarization"] = F(3, 10)  # below the complete graph's 0.3029
    r = th.complete_minimises(entries)
    assert r["verdict"] == "fails" and r["counterexamples"][0]["name"] == "star"
    complete = next(e for e in entries if e["m"] == 4 and e["name"] == "complete")["polarization"]
    assert r["max_deviation"] == complete - F(3, 10)


# ---- order -----------------------------------------------------------------


def test_order_of_starts():
    r = th.start_order(memories=(3, 4, 6), schedules=("sync",))
    c = r["candidates"]
    assert r["verdict"] == "holds"
    assert not c["disagreement"]["holds"] and not c["vertex_distance"]["holds"]
    assert c["pool_majorisation_interior"]["holds"] and c["consensus_coupling"]["holds"]
    # pool majorisation fails only against a frozen agent: (5,5) vs (6,4) at N = 6
    bad = c["pool_majorisation"]["first"][0]
    assert bad["N"] == 6 and {bad["smaller"], bad["larger"]} >= {(5, 5)}
    tab = {t["N"]: t for t in r["tables"]}[4]["polarization"]
    assert tab["2,2"] == F(139813, 1630674)
    assert tab["2,2"] > tab["3,2"] > tab["4,2"] == F(5, 68)  # the non-monotone example


def test_order_perturbed_table_fails():
    def hook(N, schedule, table):
        table = dict(table)
        table[(1, 1)] = (table[(1, 1)][0], F(1))  # P(consensus on 0) from (1,1) above that of (2,2)
        return table

    r = th.start_order(memories=(3,), schedules=("sync",), table_hook=hook)
    assert r["verdict"] == "fails" and not r["candidates"]["consensus_coupling"]["holds"]


# ---- rate ------------------------------------------------------------------


def test_rate_bound_against_exact_gap():
    chain = build_chain(System(agents=2, components=2, memory=4))
    start = ((2, 2), (2, 2))
    r = th.lb1_rate(chain, start, horizon=30)
    hb = horizon_bounds(chain, start, 30)
    assert r["gap"] == [u - lo for u, lo in zip(hb["upper"], hb["lower"])]
    assert r["verdict"] == "holds" and r["certificate_holds"]
    assert all(g <= b for g, b in zip(r["gap"], r["gap_bound"]))
    assert r["rho_lower"] <= r["rho_upper"] and r["rho_upper"] - r["rho_lower"] < F(1, 100)
    assert r["gap"][0] == 1 and r["C"] >= 1


def test_rate_wrong_spectral_bound_fails():
    chain = build_chain(System(agents=2, components=2, memory=4))
    r = th.lb1_rate(chain, ((2, 2), (2, 2)), horizon=30)
    wrong = th.lb1_rate(chain, ((2, 2), (2, 2)), horizon=30, rho=r["rho_lower"] * F(99, 100))
    assert wrong["verdict"] == "fails" and not wrong["certificate_holds"]
    fam = th.rate_family(systems=th.RATE_SYSTEMS[:2], horizon=10, rho_override=lambda s: F(1, 2))
    assert fam["verdict"] == "fails"


def test_collatz_wielandt_brackets():
    rows = [[(0, 2), (1, 1)], [(0, 1), (1, 2)]]  # Q = [[2,1],[1,2]]/4, rho = 3/4
    lo, hi = th.collatz_wielandt(rows, 4, [1, 1])
    assert lo == hi == F(3, 4)
    lo, hi = th.collatz_wielandt(rows, 4, [1, 2])
    assert lo < F(3, 4) < hi


# ---- CLI -------------------------------------------------------------------


def test_cli_theorem_json(capsys):
    assert main(["verify", "--theorem", "graphs", "--max-agents", "3", "--memories", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["theorem"] == "graphs" and out["verdict"] == "holds"
    assert {"checked", "max_deviation", "graphs"} <= set(out)
    assert out["graphs"][1] == {"edges": [[0, 1], [0, 2]], "m": 3, "N": 2, "name": "path", "atlas": 6,
                                "arithmetic": "exact", "polarization": "67/112"}


def test_cli_theorem_text_and_unknown(capsys):
    assert main(["verify", "--theorem", "rate"]) == 0
    assert "theorem rate: HOLDS" in capsys.readouterr().out
    assert main(["verify", "--theorem", "nonsense"]) == 2
