"""Start-up and small costs (issue 12 item 5, issue 13): which heavy libraries
a command imports, the networkx-free named graphs, decimal output of big
rationals, and simulate-chain's reference value on the lumped chain.

No timing here (speed is in benchmarks/bench_startup.py): the import checks
assert *which* modules a fresh interpreter has loaded after a command, so a
future top-level import of a heavy library trips them.
"""

import json
import random
import subprocess
import sys
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction as F

import pytest

from markovgmm.numbers import decimal_digits, decimal_str

HEAVY = ("networkx", "scipy", "sympy", "matplotlib", "flint", "mpmath", "tqdm", "stormpy", "numpy", "dask", "pandas")

_PROBE = r"""
import contextlib, io, json, runpy, sys
sys.argv = ["markovgmm"] + json.loads(sys.argv[1])
code = None
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("markovgmm", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code
print(json.dumps({"code": code, "loaded": sorted(h for h in HEAVY if h in sys.modules)}))
"""


def _loaded(argv):
    """Heavy top-level packages in ``sys.modules`` after ``markovgmm ARGV`` in a fresh interpreter."""
    code = f"HEAVY = {list(HEAVY)!r}\n" + _PROBE
    run = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["code"] in (0, None), (argv, run.stderr)
    return set(out["loaded"])


COMMANDS = ["absorb", "bounds", "claims", "demo", "ensemble", "llm", "simulate", "simulate-chain", "sweep", "verify"]


def test_help_imports_no_heavy_library():
    assert _loaded(["--help"]) == set()
    assert _loaded(["--version"]) == set()


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_imports_no_heavy_library(command):
    loaded = _loaded([command, "--help"])
    # ensemble and simulate read their defaults from modules that compute with numpy; nothing heavier.
    assert loaded <= ({"numpy"} if command in ("ensemble", "simulate") else set()), loaded


@pytest.mark.parametrize(
    "argv",
    [
        ["absorb", "--quiet"],
        ["absorb", "--quiet", "-m", "3", "-N", "6"],
        ["absorb", "--json", "-K", "3", "-N", "3"],
        ["absorb", "--quiet", "--schedule", "async"],
        ["absorb", "--quiet", "--model", "mirror"],
    ],
)
def test_small_absorb_imports_only_what_it_computes_with(argv):
    loaded = _loaded(argv)
    # numpy alone carries the float solve and its certified check on a small chain (the scipy-free
    # backend, analysis.classes.SMALL_STATES); no scipy, graph, symbolic, plotting, multiprecision,
    # progress-bar (off a terminal) or model-checking library.
    assert loaded == {"numpy"}, loaded


def test_absorb_above_the_small_threshold_uses_scipy_sparse():
    # m=3, N=12 unlumped: 2,197 states, above SMALL_STATES, so the sparse backend is used.
    loaded = _loaded(["absorb", "--quiet", "-m", "3", "-N", "12", "--lump", "off", "--check", "off"])
    assert "scipy" in loaded, loaded


def test_absorb_on_a_graph_without_full_symmetry_needs_networkx_only_for_its_group():
    # the automorphism search (VF2) is networkx's; the named graph itself is built without it
    loaded = _loaded(["absorb", "-m", "3", "-N", "4", "--graph", "path", "--quiet", "--lump", "off"])
    assert loaded == {"numpy"}, loaded
    loaded = _loaded(["absorb", "-m", "3", "-N", "4", "--graph", "path", "--quiet"])
    assert "networkx" in loaded and not loaded & {"sympy", "matplotlib", "mpmath", "tqdm", "stormpy"}, loaded


def test_small_exact_absorb_imports_no_graph_or_symbolic_library():
    loaded = _loaded(["absorb", "--exact", "--quiet"])
    assert loaded == {"flint", "numpy"}, loaded


# --- named graphs without networkx ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["complete", "path", "ring", "star"])
def test_named_graph_matches_networkx(name):
    from markovgmm.system import System, _named_edges, _NamedGraph, graph_from_name, reading_matrix

    for m in range(1, 8):
        if name == "ring" and m < 3:
            continue
        nx_graph = graph_from_name(name, m)
        assert sorted(map(sorted, nx_graph.edges())) == sorted(map(sorted, _named_edges(name, m)))
        assert list(nx_graph.nodes()) == list(range(m))
        for closed in (True, False):
            try:
                expected = reading_matrix(nx_graph, m=m, closed=closed)
            except Exception as err:  # open neighbourhood of an isolated agent: the same refusal
                with pytest.raises(type(err)):
                    System(agents=m, components=2, memory=2, graph=name, closed_neighbourhood=closed)
                continue
            assert reading_matrix(_NamedGraph(name, m), m=m, closed=closed) == expected
            assert System(agents=m, components=2, memory=2, graph=name, closed_neighbourhood=closed).W == expected
            # the same W as the System built from the networkx graph itself
            assert System(agents=m, components=2, memory=2, graph=nx_graph, closed_neighbourhood=closed).W == expected


# --- decimal output of big rationals --------------------------------------------------------------------------

_MODES = {"nearest": ROUND_HALF_EVEN, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING}


def _reference(value, digits, rounding):
    """``(sign, mantissa, exponent)`` from the decimal module: one correctly rounded division."""
    if value == 0:
        return 0, 0, 0
    ctx = Context(prec=digits, rounding=_MODES[rounding], Emax=10**9, Emin=-(10**9))
    d = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    sign, body, exp = d.as_tuple()
    mantissa = int("".join(map(str, body)))
    pad = digits - len(str(mantissa))  # an exact quotient comes with fewer digits
    mantissa, exp = mantissa * 10**pad, exp - pad
    return (-1 if sign else 1), mantissa, exp + digits - 1


def _values():
    rng = random.Random(20261202)
    out = [F(0), F(1), F(-1), F(1, 3), F(2, 3), F(-2, 3), F(999, 1000), F(5, 2), F(-5, 2), F(7, 2), F(1, 8)]
    for _ in range(300):  # random rationals of every size
        p = rng.randrange(-(10 ** rng.randrange(1, 60)), 10 ** rng.randrange(1, 60))
        q = rng.randrange(1, 10 ** rng.randrange(1, 60))
        out.append(F(p, q))
    for j in range(-30, 31):  # values just below and at powers of ten, and exact ties at many positions
        out += [F(10) ** j, F(10) ** j - F(1, 10**40), F(10) ** j + F(1, 10**40), F(10**j) if j >= 0 else F(1, 10**-j)]
        out += [F(2 * k + 1, 2) * F(10) ** j for k in (0, 1, 4, 12344, 99999)]
        out += [-(F(10) ** j - F(1, 10**40))]
    return out


@pytest.mark.parametrize("rounding", ["nearest", "floor", "ceiling"])
def test_decimal_digits_agrees_with_decimal_module(rounding):
    for value in _values():
        for digits in (1, 2, 5, 17, 20, 30):
            assert decimal_digits(value, digits, rounding) == _reference(value, digits, rounding), (value, digits)


def test_decimal_digits_huge_values():
    rng = random.Random(7)
    big = [
        F(rng.randrange(10**29_999, 10**30_000), rng.randrange(10**29_980, 10**29_981)),  # about 1e19, both huge
        F(1, 3**40_000),  # tiny: denominator of 19,085 digits
        F(7**35_000, 1),  # huge integer
        F(10**20_000 - 1, 10**20_000),  # just below 1
        F(-(10**25_000) + 1, 10**5),  # just below -10^24995 in absolute value
        F(5 * 10**25_000 + 5, 10**25_001),  # 0.5 + 5e-25001: not a tie
        F(125 * 10**30_000, 10**30_002),  # 1.25 exactly: a tie at 2 digits
    ]
    for value in big:
        for rounding in ("nearest", "floor", "ceiling"):
            for digits in (2, 17, 20):
                assert decimal_digits(value, digits, rounding) == _reference(value, digits, rounding), (digits, rounding)


def test_int_str_is_str_at_every_size():
    from markovgmm.numbers import int_str

    rng = random.Random(3)
    numbers = [0] + [2**bits + k for bits in (999, 1000, 1001) for k in (-1, 0, 1)]
    for digits in (1, 2, 299, 300, 301, 302, 1000, 4299, 4301, 12000):
        numbers += [10 ** (digits - 1), 10**digits - 1, rng.randrange(10 ** (digits - 1), 10**digits)]
    numbers += [-n for n in numbers]
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # the reference: Python's own conversion, limit lifted
    try:
        expected = [str(n) for n in numbers]
    finally:
        sys.set_int_max_str_digits(limit)
    assert [int_str(n) for n in numbers] == expected  # under Python's default limit


def test_decimal_str_text_and_bounds():
    assert decimal_str(F(1, 3), 5) == "3.3333e-1" and decimal_str(F(1, 3), 5, "ceiling") == "3.3334e-1"
    assert decimal_str(F(999, 1000), 2, "ceiling") == "1e0" and decimal_str(F(0)) == "0"
    for value in _values()[:200]:
        lo, hi = decimal_str(value, 7, "floor"), decimal_str(value, 7, "ceiling")
        assert F(lo) <= value <= F(hi)


def _old_decimal_bound(x, up, digits=20):
    """The claims formatter before this change (text lengths of p and q, Fraction powers of ten)."""
    x = F(x)
    if x == 0:
        return "0"
    e = len(str(abs(x.numerator))) - len(str(x.denominator))
    if F(10) ** e > abs(x):
        e -= 1
    shift = digits - 1 - e
    scaled = x * F(10) ** shift
    n = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    if len(str(abs(n))) > digits:
        e += 1
    sign, text = ("-", str(-n)) if n < 0 else ("", str(n))
    return f"{sign}{text[0]}.{text[1:].rstrip('0') or '0'}e{e}"


def _old_round_decimal(value, digits, up):
    """The certified formatter before this change."""
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _old_round_decimal(-value, digits, not up)
    e = len(str(value.numerator)) - len(str(value.denominator))
    while F(10) ** e > value:
        e -= 1
    while F(10) ** (e + 1) <= value:
        e += 1
    scaled = value * F(10) ** (digits - 1 - e)
    mantissa = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    if mantissa == 10**digits:
        mantissa, e = 10 ** (digits - 1), e + 1
    text = str(mantissa)
    body = text[0] + ("." + text[1:].rstrip("0") if text[1:].rstrip("0") else "")
    return f"{body}e{e}"


def test_callers_print_what_they_printed_before():
    from markovgmm.analysis.certified import decimal_bounds
    from markovgmm.analysis.claims import decimal_bound

    for value in _values():
        for digits in (1, 3, 17, 20):
            for up in (False, True):
                assert decimal_bound(value, up=up, digits=digits) == _old_decimal_bound(value, up, digits)
            assert decimal_bounds(value, value, digits) == (_old_round_decimal(value, digits, False), _old_round_decimal(value, digits, True))


# --- simulate-chain's reference value: lumped chain == full chain ---------------------------------------------


@pytest.mark.parametrize(
    "params, start",
    [
        (dict(agents=3, components=2, memory=4), ((3, 1), (1, 3), (2, 2))),
        (dict(agents=3, components=2, memory=3, graph="path"), ((2, 1), (1, 2), (2, 1))),
        (dict(agents=4, components=2, memory=2, graph="ring", schedule="async"), ((2, 0), (1, 1), (0, 2), (1, 1))),
        (dict(agents=2, components=3, memory=3, replace=2), ((1, 1, 1), (3, 0, 0))),
    ],
)
def test_chain_value_lumped_equals_full(params, start):
    from markovgmm import System
    from markovgmm.analysis.absorption import absorption_probabilities
    from markovgmm.chain.build import build_chain
    from markovgmm.cli.simulate_chain import chain_value

    system = System(**params)
    exact, value = chain_value(system, start)
    full = build_chain(system, exact=True, lump=False)
    assert exact == absorption_probabilities(full, full.index(start)).polarization()
    assert value == float(exact)
