"""Claims A1-A3 (markovgmm.analysis.claims, ``markovgmm claims``; MODEL.md 4).

Independent referees: tests/reference.py's naive transition law (one-step
means, propagated laws), sympy's exact square roots, the absorption
probabilities (for the limit), and (one-state closed classes, as under support) the
bound |E||D_t||_F - limit| <=
max||D||_F * P(not absorbed by t), which ties the limit to the propagation.
"""

import json
from fractions import Fraction
from math import isqrt

import numpy as np
import mpmath
import pytest
import sympy

import reference
from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities, absorption_time_distribution
from markovgmm.analysis.claims import (
    RadicalSum,
    a1_check,
    a1_symbolic,
    a2_check,
    a3_limit,
    claims_report,
    decimal_bound,
    frobenius_squared_numerators,
    markov_series,
    moment_series,
)
from markovgmm.cli import main
from markovgmm.errors import InputError
from test_propagation import naive_laws

F = Fraction


def ident(kwargs):
    return ",".join(f"{a}={b}" for a, b in kwargs.items())


def frobenius_sq(state, N):
    """||D||_F^2 of a state tuple, by the definition (ordered pairs)."""
    pis = [[F(c, N) for c in counts] for counts in state]
    return sum(sum((a - b) ** 2 for a, b in zip(pi, pj)) for pi in pis for pj in pis)


# ----------------------------------------------------------------------------- A1


@pytest.mark.parametrize(
    "kwargs",
    [dict(agents=2, components=2, memory=4), dict(agents=3, components=3, memory=3, replace=2), dict(agents=2, components=2, memory=3, replace=3)],
    ids=ident,
)
def test_a1_symbolic_is_derived_from_the_chains_table(kwargs):
    system = System(**kwargs)
    result = a1_symbolic(system)
    assert result["holds"] and not result["failing_local_states"]
    N, r, m = system.memory, system.replace, system.agents
    pi, pj = sympy.symbols("p_ik p_jk")
    names = {"p_ik": pi, "p_jk": pj}
    assert sympy.simplify(sympy.sympify(result["sync"]["residual"], locals=names) - sympy.Rational(r, N) * (pi - pj)) == 0
    assert sympy.simplify(sympy.sympify(result["async"]["residual"], locals=names) - sympy.Rational(r, N * m) * (pi - pj)) == 0
    assert result["sync"]["residual_at_equal_laws"] == result["async"]["residual_at_equal_laws"] == "0"
    assert result["sync"]["factor"] == str(F(N - r, N)) and result["async"]["factor"] == str(F(N * m - r, N * m))


def test_a1_symbolic_fails_on_a_wrong_table_and_under_pruning():
    """The field can fail: a deliberately wrong per-agent table (one coefficient moved to
    another successor) and pruning (which changes the mean) both give holds = False."""
    import copy

    from markovgmm.chain.assembly import local_table

    system = System(agents=2, components=2, memory=3)
    table = copy.deepcopy(local_table(system))
    c = 1  # a local state with two distinct successors
    succ = table.successors[c].tolist()
    e0, e1 = 0, next(e for e in range(1, len(succ)) if succ[e] != succ[0])
    table.numerators[c, e0, 0], table.numerators[c, e1, 0] = table.numerators[c, e1, 0], table.numerators[c, e0, 0]
    bad = a1_symbolic(system, table=table)
    assert not bad["holds"] and bad["failing_local_states"] == [tuple(int(x) for x in table.counts[c])]
    assert bad["sync"]["residual_at_equal_laws"] != "0" and not bad["sync"]["holds"] and not bad["async"]["holds"]
    assert not a1_symbolic(System(agents=2, components=2, memory=4, prune=1))["holds"]
    assert claims_report(build_chain(System(agents=2, components=2, memory=4, prune=1)), 0, horizon=1)["A1"]["symbolic"]["holds"] is False


A1_SYSTEMS = [
    dict(agents=2, components=2, memory=3),
    dict(agents=3, components=2, memory=2, schedule="async"),
    dict(agents=2, components=3, memory=2),
    dict(agents=3, components=2, memory=2, graph="path", ownership="open"),
    dict(agents=2, components=2, memory=4, prune=1, ownership="open"),
    dict(agents=2, components=2, memory=3, replace=2, ownership="open", schedule="async"),
    dict(agents=2, components=3, memory=2, ownership="open"),
]


@pytest.mark.parametrize("kwargs", A1_SYSTEMS, ids=ident)
def test_a1_failing_states_match_the_naive_one_step_law(kwargs):
    system = System(**kwargs)
    chain = build_chain(system)
    N, m = system.memory, system.agents
    factor = F(N - system.replace, N) if system.schedule == "sync" else F(N * m - system.replace, N * m)
    expected_failing = set()
    for state in reference.all_states(system):
        row = reference.transition_row(system, state)
        mean = [[sum(p * F(t[i][k], N) for t, p in row.items()) for k in range(system.components)] for i in range(m)]
        for i in range(m):
            for j in range(i + 1, m):
                for k in range(system.components):
                    if mean[i][k] - mean[j][k] != factor * F(state[i][k] - state[j][k], N):
                        expected_failing.add(state)
    report = a1_check(chain)
    assert report["factor"] == factor
    assert {item["state"] for item in report["failing_states"]} == expected_failing
    assert report["holds"] == (not expected_failing)
    assert report["unexplained"] == 0
    # reasons are the right ones for the system
    kinds = {k for k, v in report["reason_counts"].items() if v}
    if system.ownership == "open" and system.graph == "complete" and system.prune == 0:
        assert not expected_failing
    if system.ownership == "support" and system.graph == "complete":
        assert kinds == {"ownership"}
        for item in report["failing_states"]:  # some agent lacks a component it reads
            state = item["state"]
            reads = lambda i, k: sum(system.W[i][j] * state[j][k] for j in range(m))  # noqa: E731
            assert any(state[i][k] == 0 and reads(i, k) > 0 for i in range(m) for k in range(system.components))
    if system.graph == "path":
        assert kinds == {"graph"}
    if system.prune:
        assert kinds == {"pruning"}


def test_a1_float_chain_agrees_with_exact():
    system = System(agents=2, components=3, memory=2)
    exact, floating = a1_check(build_chain(system)), a1_check(build_chain(system, exact=False))
    assert exact["failing_states"] == floating["failing_states"]


# ----------------------------------------------------------------------------- moments


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=2, components=2, memory=3), ((2, 1), (1, 2))),
        (dict(agents=3, components=2, memory=2, schedule="async"), ((2, 0), (1, 1), (0, 2))),
        (dict(agents=2, components=3, memory=2, graph="path"), ((2, 0, 0), (0, 1, 1))),
    ],
    ids=lambda x: ident(x) if isinstance(x, dict) else "",
)
def test_moment_series_matches_naive_propagation(kwargs, start):
    system = System(**kwargs)
    chain = build_chain(system)
    N, m, K = system.memory, system.agents, system.components
    rows = moment_series(chain, chain.index(start), 4)
    for row, law in zip(rows, naive_laws(system, start, 4)):
        for i in range(m):
            for j in range(i + 1, m):
                diff = [sum(p * F(s[i][k] - s[j][k], N) for s, p in law.items()) for k in range(K)]
                absd = [sum(p * F(abs(s[i][k] - s[j][k]), N) for s, p in law.items()) for k in range(K)]
                assert row["mean_difference"][(i, j)] == diff
                assert row["mean_abs_difference"][(i, j)] == absd
        assert row["expected_frobenius_squared"] == sum(p * frobenius_sq(s, N) for s, p in law.items())
        naive_law = {}
        for s, p in law.items():
            naive_law[frobenius_sq(s, N)] = naive_law.get(frobenius_sq(s, N), F(0)) + p
        assert dict(row["frobenius_law"]) == naive_law
        # E||D_t||_F: exact radical form equals sympy's sum of exact square roots
        exact = sum(sympy.Rational(p.numerator, p.denominator) * sympy.sqrt(sympy.Rational(v.numerator, v.denominator)) for v, p in naive_law.items())
        ours = sum(sympy.Rational(a.numerator, a.denominator) * sympy.sqrt(f) for f, a in row["expected_frobenius"].terms.items())
        assert sympy.simplify(exact - ours) == 0
        lo, hi = row["expected_frobenius"].bounds()
        assert lo <= hi and hi - lo < F(1, 2**100)


def test_radical_sum_rational_iff_all_squares():
    assert RadicalSum.from_roots({4: F(1, 3), 9: F(1, 3)}).rational() == F(5, 3)
    x = RadicalSum.from_roots({2: F(1, 2), 4: F(1, 2)})
    assert x.rational() is None and str(x) == "1 + 1/2*sqrt(2)"
    assert x.compare(F(1707106, 10**6)) == 1 and x.compare(F(1707107, 10**6)) == -1
    iv = x.interval()
    with mpmath.workprec(400):
        value = 1 + mpmath.sqrt(2) / 2
        assert mpmath.mpf(iv.a) <= value <= mpmath.mpf(iv.b) and mpmath.mpf(iv.b) - mpmath.mpf(iv.a) < mpmath.mpf(2) ** -100
    assert decimal_bound(F(-1, 3), up=True, digits=3) == "-3.33e-1" and decimal_bound(F(999, 1000), up=True, digits=2) == "1.0e0"


def test_frobenius_of_camps():
    # ||D||_F^2 = 2 (m^2 - sum_a n_a^2) at an all-vertex state with camp sizes n_a
    chain = build_chain(System(agents=3, components=3, memory=2))
    f2 = frobenius_squared_numerators(chain)
    for state, sizes in [(((2, 0, 0), (0, 2, 0), (0, 0, 2)), (1, 1, 1)), (((2, 0, 0), (2, 0, 0), (0, 0, 2)), (2, 1))]:
        assert F(int(f2[chain.index(state)]), 4) == 2 * (9 - sum(n * n for n in sizes))


# ----------------------------------------------------------------------------- A2


def test_a2_holds_under_open_ownership_on_the_complete_graph():
    for schedule in ("sync", "async"):
        chain = build_chain(System(agents=3, components=2, memory=3, ownership="open", schedule=schedule))
        result = a2_check(chain, moment_series(chain, chain.index(((3, 0), (1, 2), (0, 3))), 25))
        assert result["holds"] and result["first_failure"] is None and set(result["gap"]) == {0}


def test_a2_first_failure_and_gap_on_a_path_and_under_support():
    system = System(agents=3, components=2, memory=2, graph="path", ownership="open")
    chain = build_chain(system)
    start = ((2, 0), (1, 1), (0, 2))
    result = a2_check(chain, moment_series(chain, chain.index(start), 5))
    laws = naive_laws(system, start, 5)
    a = F(1, 2)
    gaps = []
    for t, law in enumerate(laws):
        gap = 0
        for i in range(3):
            for j in range(i + 1, 3):
                for k in range(2):
                    value = sum(p * F(s[i][k] - s[j][k], 2) for s, p in law.items())
                    gap = max(gap, abs(value - a**t * F(start[i][k] - start[j][k], 2)))
        gaps.append(gap)
    assert result["gap"] == gaps
    assert result["first_failure"] == next(t for t, g in enumerate(gaps) if g)
    # support, complete graph, asymmetric start: fails once a vertex state is reachable
    chain = build_chain(System(agents=2, components=2, memory=3))
    result = a2_check(chain, moment_series(chain, chain.index(((3, 0), (1, 2))), 4))
    assert result["first_failure"] == 1  # agent 0 starts at a vertex: frozen


# ----------------------------------------------------------------------------- A3


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
        (dict(agents=2, components=2, memory=5, schedule="async"), ((4, 1), (1, 4))),
        (dict(agents=2, components=2, memory=4, replace=2), ((3, 1), (2, 2))),
    ],
    ids=lambda x: ident(x) if isinstance(x, dict) else "",
)
def test_a3_limit_is_twice_polarisation_for_two_agents_two_components(kwargs, start):
    chain = build_chain(System(**kwargs))
    result = a3_limit(chain, chain.index(start))
    polarization = absorption_probabilities(chain, chain.index(start)).polarization()
    assert result["polarization"] == polarization > 0
    assert result["limit_expected_frobenius"] == 2 * polarization
    assert result["holds"] is False


def test_a3_limit_for_three_agents_is_sqrt8_times_polarisation_and_is_approached():
    system = System(agents=3, components=2, memory=2)
    chain = build_chain(system)
    start = chain.index(((1, 1), (1, 1), (2, 0)))
    result = a3_limit(chain, start)
    P = result["polarization"]
    assert isinstance(result["limit_expected_frobenius"], str)  # 2 P sqrt(2): irrational
    lo, hi = (F(x) for x in _decimal_interval(result["limit_expected_frobenius_interval"]))
    assert 0 < lo and lo**2 <= 8 * P**2 <= hi**2 and hi - lo < F(1, 10**15)
    # |E||D_t||_F - limit| <= max ||D||_F * P(not absorbed by t), checked with certified bounds; valid because
    # every closed class under support is one state (proofs/support_closed_classes.md, proofs/A3_limit.md)
    horizon = 60
    rows = moment_series(chain, start, horizon)
    cdf = absorption_time_distribution(chain, start, horizon)
    f2 = frobenius_squared_numerators(chain)
    dmax = F(isqrt(int(f2.max())) + 1, system.memory)
    limit = RadicalSum({2: 2 * P})
    for t in (10, 30, horizon):
        e_lo, e_hi = rows[t]["expected_frobenius"].bounds()
        l_lo, l_hi = limit.bounds()
        slack = dmax * (1 - cdf[t])
        assert e_hi - l_lo >= -slack and e_lo - l_hi <= slack
    assert abs(float(rows[horizon]["expected_frobenius"]) - float(limit)) < 1e-3


def _decimal_interval(pair):
    return [F(sympy.Rational(x)) if "e" not in x else F(sympy.Rational(sympy.Float(x, 60))) for x in pair]


def test_a3_and_a2_under_open_ownership():
    chain = build_chain(System(agents=2, components=3, memory=2, ownership="open"))
    report = claims_report(chain, chain.index(((2, 0, 0), (0, 1, 1))), horizon=15)
    assert report["A3"]["limit_expected_frobenius"] == 0 and report["A3"]["holds"]
    assert report["A3"]["polarization"] == 0
    assert report["A2"]["first_failure"] is None and report["A1"]["holds"]


def test_markov_bound_dominates_exact_probability():
    chain = build_chain(System(agents=3, components=2, memory=2))
    start = chain.index(((1, 1), (1, 1), (2, 0)))
    rows = moment_series(chain, start, 20)
    for epsilon in (F(1, 2), F(3, 2), F(2)):
        for markov, row in zip(markov_series(chain, rows, epsilon), rows):
            assert markov["holds"]
            exact_p = sum((p for v, p in row["frobenius_law"] if v > epsilon**2), F(0))
            assert markov["probability"] == exact_p
            lo, _ = row["expected_frobenius"].bounds()
            assert lo / epsilon >= exact_p or row["expected_frobenius"].compare(exact_p * epsilon) >= 0
    with pytest.raises(InputError):
        markov_series(chain, rows, 0)


def test_float_report_agrees_with_exact():
    system = System(agents=2, components=2, memory=3, schedule="async")
    exact, floating = build_chain(system), build_chain(system, exact=False)
    start = exact.index(((2, 1), (1, 2)))
    rx, rf = claims_report(exact, start, horizon=8), claims_report(floating, start, horizon=8)
    assert abs(float(rx["A3"]["limit_expected_frobenius"]) - rf["A3"]["limit_expected_frobenius"]) < 1e-12
    assert rx["A2"]["first_failure"] == rf["A2"]["first_failure"]
    for a, b in zip(rx["series"], rf["series"]):
        assert abs(a["expected_frobenius"]["float"] - b["expected_frobenius"]["float"]) < 1e-12


def test_claims_report_refuses_bad_input():
    chain = build_chain(System(agents=2, components=2, memory=2))
    with pytest.raises(InputError):
        claims_report(chain, 0, horizon=-1)
    with pytest.raises(InputError):
        claims_report(chain, 0, epsilon="-1/2")


# ----------------------------------------------------------------------------- CLI


def test_claims_cli_json(capsys):
    assert main(["claims", "--memory", "4", "--horizon", "4", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] is True
    assert out["A1"]["holds"] is False and out["A1"]["failing_states"]
    assert out["A2"]["first_failure"] is None  # balanced symmetric start: both sides are 0
    assert out["A3"]["polarization"] == "139813/1630674"
    assert out["A3"]["limit_expected_frobenius"] == "139813/815337"
    assert len(out["series"]) == 5


def test_claims_cli_text_and_errors(capsys):
    assert main(["claims", "--memory", "3", "--ownership", "open", "--horizon", "3", "--float", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "float64" in text and "holds at every state" in text
    assert main(["claims", "--epsilon", "0"]) == 2
    assert "epsilon" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, start",
    [
        (dict(agents=3, components=3, memory=2), ((2, 0, 0), (1, 1, 0), (0, 1, 1))),
        (dict(agents=2, components=2, memory=4, schedule="async"), ((3, 1), (1, 3))),
        (dict(agents=3, components=2, memory=3, graph="path"), ((3, 0), (2, 1), (0, 3))),
        (dict(agents=2, components=2, memory=3, ownership="open"), ((3, 0), (0, 3))),
    ],
    ids=lambda x: ident(x) if isinstance(x, dict) else "",
)
def test_a3_grouped_solve_agrees_with_per_class_absorption(kwargs, start):
    chain = build_chain(System(**kwargs))
    s = chain.index(start)
    fast = a3_limit(chain, s)  # one right-hand side per value of ||D||_F
    full = a3_limit(chain, s, absorption=absorption_probabilities(chain, s))  # one per closed class
    for key in ("limit_expected_frobenius", "polarization", "limit_law", "holds"):
        assert fast[key] == full[key]


def test_claims_cli_series_options(capsys):
    assert main(["claims", "--memory", "3", "--horizon", "2", "--json", "--quiet", "--series", "none"]) == 0
    assert "series" not in json.loads(capsys.readouterr().out)
    assert main(["claims", "--memory", "3", "--horizon", "2", "--json", "--quiet", "--series", "float"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["series"][1]["expected_frobenius_squared"], float)
    assert isinstance(out["A3"]["polarization"], str)  # the claims themselves stay exact


def test_a1_under_gaussian_ownership_explains_every_failure():
    chain = build_chain(System(agents=2, components=2, memory=3, ownership="gaussian"), exact=False)
    report = a1_check(chain)
    P = chain.matrix().toarray()
    pis = chain.local_counts[chain.agent_ranks] / 3.0
    mean_diff = P @ (pis[:, 0, :] - pis[:, 1, :])
    expected = {chain.counts(s) for s in range(chain.n_states) if np.abs(mean_diff[s] - (2 / 3) * (pis[s, 0] - pis[s, 1])).max() > 1e-9}
    assert {item["state"] for item in report["failing_states"]} == expected
    assert report["unexplained"] == 0 and report["reason_counts"]["ownership"] == len(expected) > 0


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def small_systems(draw):
    m = draw(st.integers(2, 3))
    K = draw(st.integers(2, 3 if m == 2 else 2))
    N = draw(st.integers(1, 3))
    kwargs = dict(
        agents=m,
        components=K,
        memory=N,
        schedule=draw(st.sampled_from(["sync", "async"])),
        ownership=draw(st.sampled_from(["support", "open"])),
        graph=draw(st.sampled_from(["complete", "path"])),
    )
    system = System(**kwargs)
    local = reference.local_states(N, K)
    start = tuple(draw(st.sampled_from(local)) for _ in range(m))
    return system, start


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_systems())
def test_properties_on_random_small_systems(case):
    system, start = case
    chain = build_chain(system)
    s = chain.index(start)
    report = claims_report(chain, s, horizon=6, epsilon=F(1, 3))
    assert report["A1"]["unexplained"] == 0
    assert report["A1"]["holds"] == (report["A1"]["n_failing"] == 0)
    for row, markov in zip(report["series"], report["A3"]["markov"]):
        assert markov["holds"]
        law = row["frobenius_law"]
        assert sum(item["probability"] for item in law) == 1
        # Jensen: (E||D||_F)^2 <= E||D||_F^2, with the certified lower bound of E||D||_F
        assert sum(item["probability"] * item["frobenius_squared"] for item in law) == row["expected_frobenius_squared"]
        lower = F(row["expected_frobenius"]["interval"][0])  # a certified lower bound, e.g. "7.3864e-1"
        assert 0 <= lower and lower**2 <= row["expected_frobenius_squared"]
    a3 = report["A3"]
    if system.agents == 2:
        assert a3["limit_expected_frobenius"] == 2 * a3["polarization"]
    if system.ownership == "open" and system.graph_name == "complete":
        assert a3["limit_expected_frobenius"] == 0 and report["A1"]["holds"] and report["A2"]["first_failure"] is None
