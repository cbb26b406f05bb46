"""The ``decay`` theorem family (issue 11 item 3): markovgmm.analysis.decay, proofs/decay_rate.md."""

import math
from fractions import Fraction

import pytest

from markovgmm import System, build_chain
from markovgmm.analysis import absorb
from markovgmm.analysis.decay import (
    decay_family,
    interval_ratio,
    lumped_states,
    path_lower_bound,
    path_rate,
    polarisation_upper_bound,
    time_lower_bound,
    time_upper_bound,
)
from markovgmm.errors import InputError
from markovgmm.system import balanced_counts


def _start(m, N):
    return tuple(balanced_counts(N, 2) for _ in range(m))


@pytest.fixture(scope="module")
def family():
    return decay_family(agents=(2, 3), memories={2: tuple(range(2, 13)), 3: tuple(range(2, 9))}, exact_upto=12)


@pytest.fixture(scope="module")
def exact():
    out = {}
    for m, Ns in ((2, range(2, 13)), (3, range(2, 9))):
        for N in Ns:
            rep = absorb(build_chain(System(agents=m, components=2, memory=N), lump=True), _start(m, N))
            out[(m, N)] = (rep["polarization"], rep["expected_steps"])
    return out


def _chain_path_sum(m, N):
    """Independent L_N: walk the full chain's own transition probabilities along every orientation.

    From the balanced start, the non-lone agents step towards label c and the lone agent away from it,
    each until it is at a vertex; every step contributes P(s, t) / (1 - P(s, s)).  The orientations with
    distinct first steps are summed (their path events are disjoint)."""
    chain = build_chain(System(agents=m, components=2, memory=N))
    values = {}
    for lone in range(m):
        for c in (0, 1):
            a = [s[0] for s in _start(m, N)]
            s = chain.index(tuple((x, N - x) for x in a))
            value, first = Fraction(1), None
            while any(0 < x < N for x in a):
                toward = 1 if c == 0 else -1
                a = [x if not 0 < x < N else (x - toward if i == lone else x + toward) for i, x in enumerate(a)]
                t = chain.index(tuple((x, N - x) for x in a))
                value *= chain.probability(s, t) / (1 - chain.probability(s, s))
                first = t if first is None else first
                s = t
            values[first] = value
    return sum(values.values()), len(values)


@pytest.mark.parametrize("m,N", [(2, 2), (2, 3), (2, 4), (2, 5), (2, 6), (3, 2), (3, 3), (3, 4)])
def test_path_bound_equals_the_chain_path_sum(m, N):
    total, distinct = _chain_path_sum(m, N)
    assert distinct == (2 if m == 2 else 2 * m)
    assert path_lower_bound(m, N) == total


def test_path_bound_below_exact_and_reference(exact):
    # MODEL.md 3's Storm-checked reference value
    assert exact[(2, 4)][0] == Fraction(139813, 1630674)
    for (m, N), (p, _) in exact.items():
        assert 0 < path_lower_bound(m, N) <= p


def test_time_bound_below_exact(exact):
    for (m, N), (_, e) in exact.items():
        assert time_lower_bound(m, N) <= e
    # the bound is of the right order: the exact E_N is within a factor 8 of it
    assert all(e <= 8 * time_lower_bound(m, N) for (m, N), (_, e) in exact.items())


def test_family_intervals_contain_exact_values_and_ratios(family, exact):
    assert family["theorem"] == "decay"
    assert family["verdict"] == "open"
    assert family["max_deviation"] == 0
    assert family["sides"]["P_lower"]["verdict"] == "holds"
    assert family["sides"]["E_lower"]["verdict"] == "holds"
    assert family["sides"]["P_upper"]["verdict"] == "open"  # m = 3 asked: no upper bound for all N there
    assert family["sides"]["P_upper"]["violations"] == [] and family["sides"]["E_upper"]["violations"] == []
    assert family["sides"]["exact_cross_check"]["verdict"] == "holds"
    assert len(family["checked"]) == 11 + 7
    for m, rows in family["series"].items():
        for row in rows:
            p, e = exact[(m, row["N"])]
            assert row["P_exact"] == p and row["E_exact"] == e
            assert row["P"]["lower"] <= p <= row["P"]["upper"]
            assert row["E"]["lower"] <= e <= row["E"]["upper"]
            nxt = exact.get((m, row["N"] + 1))
            if nxt is None:
                assert row["P_ratio_next"] is None
                continue
            lo, hi = row["P_ratio_next"]["interval"]
            assert lo <= nxt[0] / p <= hi
            lo, hi = row["E_ratio_next"]["interval"]
            assert lo <= nxt[1] / e <= hi


def test_checked_systems_are_the_defaults(family):
    first = family["checked"][0]
    s = System(agents=2, components=2, memory=first["memory"])
    assert (first["replace"], first["schedule"], first["ownership"]) == (s.replace, s.schedule, s.ownership)
    assert first["start"] == [list(c) for c in _start(2, first["memory"])]


def test_wrong_bounds_make_the_verdict_fail():
    memories = (2, 3, 4)
    good = decay_family(agents=(2,), memories=memories, exact_upto=0)
    upper = {row["N"]: row["P"]["upper"] for row in good["series"][2]}
    wrong = decay_family(agents=(2,), memories=memories, exact_upto=0,
                         bound_override=lambda m, N: Fraction(1, 10))
    assert wrong["verdict"] == "fails"
    assert wrong["sides"]["P_lower"]["violations"] == [(2, 4)]  # P_2 = 1/3, P_3 = 0.145, P_4 = 0.086
    assert wrong["max_deviation"] == Fraction(1, 10) - upper[4]
    wrong_t = decay_family(agents=(2,), memories=memories, exact_upto=0,
                           time_bound_override=lambda m, N: Fraction(N * N))
    assert wrong_t["verdict"] == "fails" and wrong_t["sides"]["E_lower"]["violations"] == [(2, 2), (2, 3), (2, 4)]


def test_interval_ratio():
    a, b = Fraction(1, 3), Fraction(1, 2)
    c, d = Fraction(2), Fraction(3)
    lo, hi = interval_ratio((a, b), (c, d))
    assert lo == a / d and hi == b / c
    assert interval_ratio((a, b), (Fraction(0), d)) is None


def test_rate_of_the_path_bound():
    assert math.isclose(path_rate(2), 1 + math.log(2) + math.log(3) / 2, rel_tol=1e-12)
    # -(1/N) log L_N increases towards alpha_m from below along even N (independent: the exact L_N)
    for m in (2, 3):
        bounds = [path_lower_bound(m, N) for N in (40, 80, 160, 320)]
        rates = [(math.log(b.denominator) - math.log(b.numerator)) / N for b, N in zip(bounds, (40, 80, 160, 320))]
        assert all(x < y < path_rate(m) for x, y in zip(rates, rates[1:]))
        gaps = [path_rate(m) - r for r in rates]
        assert all(b < 0.7 * a for a, b in zip(gaps, gaps[1:]))


def test_rate_enclosure_is_proven_and_contains_the_float():
    """path_rate_enclosure contains alpha_m computed independently (closed form for m = 2 in interval
    arithmetic at 60 digits; Gauss-Legendre quadrature at 40 digits for m = 3, 4), and path_rate's float."""
    import mpmath
    from mpmath import iv

    from markovgmm.analysis.decay import path_rate_enclosure

    from mpmath.libmp import to_rational

    iv.dps = 60
    closed = 1 + iv.log(2) + iv.log(3) / 2
    iv.dps = 15
    lo, hi = path_rate_enclosure(2)
    c_lo, c_hi = (Fraction(*to_rational(e)) for e in closed._mpi_)
    assert lo <= c_lo and c_hi <= hi
    for m in (3, 4):
        lo, hi = path_rate_enclosure(m)
        assert 0 < hi - lo < Fraction(1, 10**6)
        with mpmath.workdps(40):
            def G(u):
                q = mpmath.mpf(1) / 2 + (m - 2) * u / (2 * m)
                a, b = (1 - u) / 2, (1 + u) / 2
                stay = (1 - q) * (1 - a) + q * a, (1 - q) * (1 - b) + q * b  # 1 - s(x), rewritten
                return mpmath.log(q ** (m - 1) * (1 - q) / (1 - stay[0] * stay[1] ** (m - 1)))

            value = mpmath.mpf(m) / 2 * (1 + mpmath.log(2)) - mpmath.quad(G, [0, 1], method="gauss-legendre") / 2
            assert lo < Fraction(str(value)) < hi
        assert lo - Fraction(1, 10**15) <= Fraction(path_rate(m)) <= hi + Fraction(1, 10**15)


@pytest.mark.parametrize("kwargs", [dict(agents=(1,)), dict(agents=(5,)), dict(memories=(1,)), dict(rtol=0),
                                    dict(rtol="x"), dict(agents=(2,), memories=(401,))])
def test_bad_input(kwargs):
    with pytest.raises(InputError):
        decay_family(**kwargs)


def test_time_bound_below_first_freeze_time():
    """Theorem 3 bounds E[tau_1] (first step with an agent at a vertex), computed exactly by the proof's script."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "proofs"))
    try:
        import check_decay_rate as check
    finally:
        sys.path.pop(0)
    for m, N in ((2, 2), (2, 3), (2, 4), (2, 5), (2, 6), (3, 2), (3, 3), (3, 4)):
        chain = build_chain(System(agents=m, components=2, memory=N), lump=True)
        t1 = check.first_freeze_time(chain, m, N)
        assert time_lower_bound(m, N) <= t1 <= absorb(chain, _start(m, N))["expected_steps"]


def test_too_large_is_refused_before_any_work():
    from markovgmm.errors import TooLargeError

    assert lumped_states(2, 4) == build_chain(System(agents=2, components=2, memory=4), lump=True).n_states
    assert lumped_states(3, 5) == build_chain(System(agents=3, components=2, memory=5), lump=True).n_states
    with pytest.raises(TooLargeError, match=r"m=3, N=400 has 10,827,401 lumped states.*N <= 104"):
        decay_family(agents=(3,), memories=(2, 400))


def test_progress_counts_every_point():
    from markovgmm.analysis.decay import decay_plan

    seen = []
    decay_family(agents=(2, 3), memories=(2, 3), exact_upto=0, progress=seen.append)
    assert seen == list(range(1, len(decay_plan(agents=(2, 3), memories=(2, 3))) + 1)) == [1, 2, 3, 4]


def _h_step(chain, i, N, base):
    """E[base^|a'-b'|] - base^|a-b| from state i, with the full chain's own transition probabilities."""
    total = Fraction(0)
    for j in range(chain.n_states):
        p = chain.probability(i, j)
        if p:
            (a, _), (b, _) = chain.counts(j)
            total += p * base ** abs(a - b)
    (a, _), (b, _) = chain.counts(i)
    return total - base ** abs(a - b)


def test_upper_supermartingale_on_the_full_chain():
    """Theorem 4 steps 1-2 on the unlumped chain (the check script uses the lumped one): 2^|delta| does not grow
    in expectation off B = {both interior, |delta| < max(2, ceil(N/3))}; 3^|delta| does at some frozen state."""
    for N in (5, 6, 9):
        chain = build_chain(System(agents=2, components=2, memory=N), lump=False)
        thr = max(2, -(-N // 3))
        grows3 = False
        for i in range(chain.n_states):
            (a, _), (b, _) = chain.counts(i)
            inner = (0 < a < N, 0 < b < N)
            if not any(inner) or (all(inner) and abs(a - b) < thr):
                continue
            assert _h_step(chain, i, N, 2) <= 0, (N, a, b)
            grows3 = grows3 or (not all(inner) and _h_step(chain, i, N, 3) > 0)
        assert grows3


def test_upper_bounds_above_exact_values(exact):
    for N in range(2, 13):
        p, e = exact[(2, N)]
        F = min(Fraction(N * (N * N - N % 2)), Fraction(111 * N * N, 10))
        U = F * Fraction(2) ** (max(2, -(-N // 3)) + 1 - N)
        assert polarisation_upper_bound(2, N) == U and p <= U
        assert e <= time_upper_bound(2, N) == F + 2 * N * sum(Fraction(1, k) for k in range(1, N))
    # order N^2: at N = 200 the bound is below 12 N^2
    assert time_upper_bound(2, 200) < 12 * 200**2
    # the proven rate: U_N <= 2^(5/3) N^3 2^(-2N/3), cubed to stay exact (equality at N = 4, 10, ...)
    assert all(polarisation_upper_bound(2, N) ** 3 <= Fraction(32 * N**9, 4**N) for N in range(4, 300))
    with pytest.raises(InputError):
        polarisation_upper_bound(3, 10)
    with pytest.raises(InputError):
        time_upper_bound(3, 10)


def test_m2_family_holds_and_wrong_upper_bounds_fail():
    memories = tuple(range(2, 9))
    good = decay_family(agents=(2,), memories=memories, exact_upto=8)
    assert good["verdict"] == "holds" and good["max_deviation"] == 0
    assert all(good["sides"][k]["verdict"] == "holds" for k in ("P_lower", "P_upper", "E_lower", "E_upper"))
    for row in good["series"][2]:
        assert row["P_lower_bound"] <= row["P_exact"] <= row["P_upper_bound"]
        assert row["E_lower_bound"] <= row["E_exact"] <= row["E_upper_bound"]
    wrong = decay_family(agents=(2,), memories=memories, exact_upto=0, upper_override=lambda m, N: Fraction(1, 4**N))
    assert wrong["verdict"] == "fails" and wrong["sides"]["P_upper"]["violations"] == [(2, N) for N in memories]
    lower = {row["N"]: row["P"]["lower"] for row in good["series"][2]}
    assert wrong["max_deviation"] >= lower[8] - Fraction(1, 4**8) > 0
    wrong_t = decay_family(agents=(2,), memories=memories, exact_upto=0,
                           time_upper_override=lambda m, N: Fraction(N * N, 2))
    assert wrong_t["verdict"] == "fails" and wrong_t["sides"]["E_upper"]["violations"] == [(2, N) for N in memories]
