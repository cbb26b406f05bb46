"""Lower bounds LB1-LB3 on P(polarisation) (MODEL.md 4) and ``markovgmm bounds``.

Every bound is compared with the exact value by exact rational comparison;
the bounds themselves are checked against independent computations: Storm's
exact bounded-reachability engine (LB1), an exhaustive max-product search on
the naive reference chain (LB2), the transition probabilities of the naive
reference chain along the divergence path (LB3), and the exact absorption
probabilities of the chain from one-frozen states (the birth-death lemma).
"""

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markovgmm import System, build_chain
from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.analysis.bounds import (
    bounds_report,
    closed_form_applies,
    closed_form_bound,
    closed_form_two_phase,
    divergence_path,
    frozen_polarization,
    horizon_bounds,
    path_bounds,
)
from markovgmm.cli import main
from markovgmm.errors import InputError

from reference import transition_row

F = Fraction

SYSTEMS = [
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=2, memory=4, schedule="async"), ((3, 1), (1, 3))),
    (dict(agents=3, components=2, memory=3, graph="path"), ((2, 1), (1, 2), (2, 1))),
    (dict(agents=3, components=2, memory=2, graph="path", schedule="async"), ((1, 1), (1, 1), (1, 1))),
    (dict(agents=2, components=3, memory=3), ((1, 1, 1), (1, 1, 1))),
    (dict(agents=2, components=2, memory=4, ownership="open"), ((2, 2), (1, 3))),
    (dict(agents=3, components=2, memory=2, graph="path", ownership="open"), ((1, 1), (2, 0), (0, 2))),
]
IDS = [f"{'-'.join(f'{k}={v}' for k, v in kw.items())}" for kw, _ in SYSTEMS]


@pytest.fixture(scope="module")
def reports():
    out = {}
    for (kwargs, start), name in zip(SYSTEMS, IDS):
        chain = build_chain(System(**kwargs))
        out[name] = (chain, chain.index(start), bounds_report(chain, chain.index(start), horizon=12, paths=4))
    return out


@pytest.mark.parametrize("name", IDS)
def test_every_bound_brackets_the_exact_value_exactly(reports, name):
    chain, start, report = reports[name]
    exact = report["polarization"]
    assert isinstance(exact, Fraction)
    lower, upper = report["horizon"]["lower"], report["horizon"]["upper"]
    assert len(lower) == len(upper) == 13
    assert all(isinstance(x, Fraction) for x in lower + upper)
    assert all(x <= exact <= y for x, y in zip(lower, upper))
    assert all(a <= b for a, b in zip(lower, lower[1:]))
    assert all(b <= a for a, b in zip(upper, upper[1:]))
    path = report["path"]
    assert path["best"] <= path["top_k"] <= exact
    assert path["found"] <= path["k"] == 4
    if report["closed_form"] is not None:
        assert report["closed_form"] <= report["closed_form_two_phase"] <= exact
        assert report["closed_form"] <= path["best"]
    assert report["checks"]["all"] is True
    assert all(v is not False for v in report["checks"].values())
    if exact:
        assert report["ratio"]["horizon.lower"] == lower[-1] / exact
        assert report["ratio"]["path.top_k"] == path["top_k"] / exact
        assert 0 <= report["ratio"]["path.best"] <= report["ratio"]["path.top_k"] <= 1 <= report["ratio"]["horizon.upper"]


def test_open_ownership_never_polarises(reports):
    for name in IDS:
        if "ownership=open" not in name:
            continue
        _, _, report = reports[name]
        assert report["polarization"] == 0
        assert set(report["horizon"]["lower"]) == {0}
        assert report["path"]["best"] == 0 and report["path"]["found"] == 0
        assert report["ratio"]["path.best"] is None


@pytest.mark.parametrize("name", [IDS[1], IDS[3], IDS[4]])
def test_horizon_bounds_equal_storm_bounded_reachability(reports, name, tmp_path):
    """LB1 against Storm's exact engine: P(F<=T polar) and 1 - P(F<=T absorbed & !polar)."""
    stormpy = pytest.importorskip("stormpy")
    from markovgmm.io import write_drn

    chain, start, report = reports[name]
    path = tmp_path / "chain.drn"
    write_drn(chain, start, path)
    model = stormpy.build_model_from_drn[stormpy.Rational](str(path))

    def storm(formula):
        result = stormpy.model_checking(model, stormpy.parse_properties(f"P=? [{formula}]")[0])
        return F(str(result.get_value(model.initial_states[0])))

    for T in (0, 1, 5, 12):
        assert storm(f'F<={T} "polar"') == report["horizon"]["lower"][T]
        assert 1 - storm(f'F<={T} ("absorbed" & !"polar")') == report["horizon"]["upper"][T]


def _reference_best_path(system, start_state, polarised, closed, longest):
    """Exact max over first-passage paths by a max-product search on the naive reference chain."""
    rows = {}

    def row(s):
        if s not in rows:
            rows[s] = transition_row(system, s)
        return rows[s]

    into = lambda s: sum((p for t, p in row(s).items() if t in polarised), F(0))  # noqa: E731
    best_to = {start_state: F(1)}
    for _ in range(longest):
        new = dict(best_to)
        for s, w in best_to.items():
            for t, p in row(s).items():
                if t not in closed and w * p > new.get(t, F(0)):
                    new[t] = w * p
        best_to = new
    return max(w * into(s) for s, w in best_to.items())


@pytest.mark.parametrize("index", [0, 1, 3, 4])
def test_best_path_equals_reference_maximum(reports, index):
    kwargs, start_state = SYSTEMS[index]
    chain, start, report = reports[IDS[index]]
    system = System(**kwargs)
    from markovgmm.analysis.classes import closed_classes

    structure = closed_classes(chain)
    polarised = {chain.counts(s) for c in structure.classes if c.kind == "polarised" for s in c.states}
    closed = {chain.counts(s) for c in structure.classes for s in c.states}
    expected = _reference_best_path(system, start_state, polarised, closed, longest=len(structure.transient))
    assert report["path"]["best"] == expected
    assert report["path"]["best_path"][0] == start_state
    assert len(report["path"]["best_path"]) == report["path"]["best_steps"]


def test_path_bounds_edge_cases():
    chain = build_chain(System(agents=2, components=2, memory=3))
    polar = path_bounds(chain, ((3, 0), (0, 3)))
    assert polar["best"] == 1 and polar["best_steps"] == 0 and polar["top_k"] == 1
    consensus = path_bounds(chain, ((3, 0), (3, 0)))
    assert consensus["best"] == 0 and consensus["found"] == 0
    with pytest.raises(InputError, match="paths"):
        path_bounds(chain, ((2, 1), (1, 2)), k=0)
    with pytest.raises(InputError, match="horizon"):
        horizon_bounds(chain, ((2, 1), (1, 2)), -1)


@pytest.mark.parametrize("N", [3, 4, 5, 6])
def test_closed_form_is_the_reference_path_product(N):
    """LB3 against the naive reference chain's probabilities along the divergence path."""
    system = System(agents=2, components=2, memory=N)
    for a in range(N + 1):
        for b in range(N + 1):
            start = ((a, N - a), (b, N - b))
            path = divergence_path(system, start)
            bound = closed_form_bound(system, start)
            if path is None:
                assert bound == 0
                continue
            product = F(1)
            for s, t in zip(path, path[1:]):
                product *= transition_row(system, s).get(t, F(0))
            assert product == bound
            # The path is a first passage: only its last state is polarised.
            assert all(not (max(x[0]) == N and max(x[1]) == N and x[0] != x[1]) for x in path[:-1])
            last = path[-1]
            assert max(last[0]) == N and max(last[1]) == N and last[0] != last[1]


@pytest.mark.parametrize("m, N", [(3, 3), (3, 4), (4, 2)])
def test_m_agent_closed_forms_against_reference_and_exact(m, N):
    """LB3 for m agents: the lone-agent path product on the naive reference chain,
    closed_form <= two_phase <= exact, and Lemma 1 with (m-1)N against the chain."""
    from itertools import product

    system = System(agents=m, components=2, memory=N)
    chain = build_chain(system)
    result = absorption_probabilities(chain)
    applied = 0
    for xs in product(range(N + 1), repeat=m):
        start = tuple((x, N - x) for x in xs)
        exact = result.polarization(result.row_of(chain.index(start)))
        bound, two = closed_form_bound(system, start), closed_form_two_phase(system, start)
        assert bound <= two <= exact
        path = divergence_path(system, start)
        if path is None:
            assert bound == 0
            continue
        applied += 1
        product_ = F(1)
        for s, t in zip(path, path[1:]):
            product_ *= transition_row(system, s).get(t, F(0))
        assert product_ == bound > 0
        labels = {c.index(N) for c in path[-1]} if all(N in c for c in path[-1]) else set()
        assert len(labels) == 2  # ends polarised
    assert applied > (N + 1) ** m // 2
    for y in range(N + 1):
        state = ((N, 0),) * (m - 1) + ((y, N - y),)
        assert result.polarization(result.row_of(chain.index(state))) == frozen_polarization(N, y, m)


def test_closed_form_explicit_values():
    system = System(agents=2, components=2, memory=4)
    # (2,2),(2,2): two divergence steps, q = 1/2: (2*1)*(2*1)*(1/4)^2/4^4 = 1/1024, both freeze at once.
    assert closed_form_bound(system, ((2, 2), (2, 2))) == F(1, 1024)
    assert closed_form_two_phase(system, ((2, 2), (2, 2))) == F(1, 1024)
    # (3,1),(2,2): one step with q = 5/8: 1*2*(15/64)/16 = 15/512, then y = 1:
    # straight path 1*3/32, birth-death h(1) = (1/5 + 1/15 + 1/35)/(1 + 1/5 + 1/15 + 1/35) = 31/136.
    assert closed_form_bound(system, ((3, 1), (2, 2))) == F(15, 512) * F(3, 32)
    assert closed_form_two_phase(system, ((3, 1), (2, 2))) == F(15, 512) * F(31, 136)


@pytest.mark.parametrize("N", [2, 3, 5, 8])
def test_birth_death_lemma_equals_chain_absorption(N):
    system = System(agents=2, components=2, memory=N)
    chain = build_chain(system)
    result = absorption_probabilities(chain)
    for y in range(N + 1):
        for state in (((N, 0), (y, N - y)), ((0, N), (N - y, y)), ((y, N - y), (N, 0))):
            assert result.polarization(result.row_of(chain.index(state))) == frozen_polarization(N, y)


def test_two_phase_never_below_lb3_path_and_below_exact():
    N = 6
    system = System(agents=2, components=2, memory=N)
    chain = build_chain(system)
    result = absorption_probabilities(chain)
    for a in range(N + 1):
        for b in range(N + 1):
            start = ((a, N - a), (b, N - b))
            exact = result.polarization(result.row_of(chain.index(start)))
            assert closed_form_bound(system, start) <= closed_form_two_phase(system, start) <= exact


def test_two_phase_can_be_below_lb2_best_path():
    """What holds is closed_form <= closed_form_two_phase (LB3's own path), not
    closed_form_two_phase >= path.best (LB2): proofs/LB3_closed_form.md, MODEL.md 4."""
    system = System(agents=2, components=2, memory=2)
    chain = build_chain(system)
    start = ((1, 1), (1, 1))
    assert closed_form_two_phase(system, start) == F(1, 16)
    assert path_bounds(chain, chain.index(start), k=1)["best"] == F(1, 8)
    below, total = 0, 0
    for N in (2, 3, 4):
        system = System(agents=2, components=2, memory=N)
        chain = build_chain(system)
        for a in range(1, N):
            for b in range(1, N):
                start = ((a, N - a), (b, N - b))
                two = closed_form_two_phase(system, start)
                assert closed_form_bound(system, start) <= two
                total += 1
                below += two < path_bounds(chain, chain.index(start), k=1)["best"]
    assert 0 < below < total


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        (dict(agents=1, components=2, memory=3), "agents"),
        (dict(agents=3, components=2, memory=3, graph="path"), "complete"),
        (dict(agents=2, components=3, memory=3), "components"),
        (dict(agents=2, components=2, memory=3, replace=2), "replace"),
        (dict(agents=2, components=2, memory=3, schedule="async"), "sync"),
        (dict(agents=2, components=2, memory=3, ownership="open"), "support"),
        (dict(agents=2, components=2, memory=5, prune=1), "prune"),
        (dict(agents=2, components=2, memory=3, closed_neighbourhood=False), "complete"),
    ],
)
def test_closed_form_does_not_apply(kwargs, reason):
    system = System(**kwargs)
    assert reason in closed_form_applies(system)
    start = tuple(((2, 1) + (0,) * (system.components - 2)) if system.memory == 3 else ((3, 2)) for _ in range(system.agents))
    assert closed_form_bound(system, start) is None
    assert closed_form_two_phase(system, start) is None
    assert divergence_path(system, start) is None


def test_float_path_agrees_and_is_not_certified():
    system = System(agents=2, components=2, memory=4)
    exact_chain, float_chain = build_chain(system), build_chain(system, exact=False)
    start = ((2, 2), (2, 2))
    exact = bounds_report(exact_chain, start, horizon=6, paths=3)
    approx = bounds_report(float_chain, start, horizon=6, paths=3)
    assert approx["checks"] is None and approx["arithmetic"] == "float"
    assert isinstance(approx["polarization"], float)
    for key in ("lower", "upper"):
        assert all(abs(a - float(b)) < 1e-12 for a, b in zip(approx["horizon"][key], exact["horizon"][key]))
    assert abs(approx["path"]["top_k"] - float(exact["path"]["top_k"])) < 1e-15
    assert approx["closed_form"] == float(exact["closed_form"])


def test_cli_bounds_json(capsys):
    code = main(["bounds", "--start", "2,2;2,2", "--horizon", "4", "--paths", "3", "--json", "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["polarization"] == "139813/1630674"
    assert report["arithmetic"] == "exact"
    assert len(report["horizon"]["lower"]) == len(report["horizon"]["upper"]) == 5
    assert report["closed_form"] == "1/1024"
    assert report["path"]["best"] == "1/1024"
    assert set(report["ratio"]) == {"horizon.lower", "horizon.upper", "path.best", "path.top_k", "closed_form", "closed_form_two_phase"}
    assert report["checks"]["all"] is True


def test_cli_bounds_text_float_and_null(capsys):
    assert main(["bounds", "--schedule", "async", "--horizon", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "LB3 does not apply: needs schedule=sync" in text
    assert "all hold (exact rational comparisons)" in text
    assert main(["bounds", "--schedule", "async", "--horizon", "3", "--json", "--float", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["closed_form"] is None and report["checks"] is None


def test_cli_bounds_bad_input(capsys):
    assert main(["bounds", "--paths", "0", "--quiet"]) == 2
    assert "paths must be a positive integer" in capsys.readouterr().err
    assert main(["bounds", "--horizon", "-1", "--quiet"]) == 2
    assert "horizon" in capsys.readouterr().err



@st.composite
def small_systems(draw):
    m = draw(st.integers(2, 3))
    N = draw(st.integers(2, 4 if m == 2 else 3))
    schedule = draw(st.sampled_from(["sync", "async"]))
    graph = draw(st.sampled_from(["complete", "path"]))
    xs = draw(st.lists(st.integers(0, N), min_size=m, max_size=m))
    return System(agents=m, components=2, memory=N, schedule=schedule, graph=graph), tuple((x, N - x) for x in xs)


@settings(max_examples=25, deadline=None)
@given(small_systems(), st.integers(0, 8), st.integers(1, 4))
def test_bounds_bracket_exactly_on_random_systems(case, horizon, k):
    system, start = case
    report = bounds_report(build_chain(system), start, horizon=horizon, paths=k)
    exact = report["polarization"]
    assert report["checks"]["all"] is True
    assert report["horizon"]["lower"][-1] <= exact <= report["horizon"]["upper"][-1]
    assert report["path"]["best"] <= report["path"]["top_k"] <= exact
    if report["closed_form"] is not None:
        assert report["closed_form"] <= report["closed_form_two_phase"] <= exact


def test_cli_bounds_mirror_json(capsys):
    """`bounds --model mirror`: the exact value is MODEL.md 6.2's public one; the
    closed-form mirror bound needs an all-vertex start, and says so otherwise."""
    from fractions import Fraction

    args = ["bounds", "--model", "mirror", "--agents", "4", "--memory", "3", "--neighbours", "1", "--mirror", "1/2",
            "--horizon", "4", "--paths", "2", "--json", "--quiet"]
    assert main(args + ["--start", "2,1;1,2;3,0;0,3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert Fraction(report["polarization"]) == Fraction(1030259, 1367387)
    assert report["mirror_closed_form"] is None and "every agent at a vertex" in report["mirror_closed_form_applies"]
    assert report["checks"]["all"] is True and "mirror_closed_form <= exact" not in report["checks"]
    # an all-vertex start with two silos is absorbing: the bound is exact there
    assert main(args + ["--start", "3,0;0,3;3,0;0,3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["polarization"] == report["mirror_closed_form"] == "1"
    assert report["checks"]["mirror_closed_form <= exact"] is True and report["ratio"]["mirror_closed_form"] == "1"
