"""Library swaps of issue 13, each against an independent reference: the
Clopper-Pearson interval against scipy's binomtest and a 40-digit mpmath
solution of its defining equations; the block order of the transient part
against networkx's condensation; the state index against numpy's
ravel/unravel; RadicalSum bounds against python-flint arb balls."""

from fractions import Fraction

import mpmath
import networkx as nx
import numpy as np
import pytest
from scipy.stats import binomtest

from markovgmm.analysis.claims import RadicalSum
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.linalg import _block_order, submatrix
from markovgmm.chain.build import build_chain
from markovgmm.chain.states import all_states, global_index, local_ranks
from markovgmm.simulate.chain_mc import binomial_interval
from markovgmm.system import System

GRID = [(k, n) for n in (1, 2, 5, 10, 37, 100, 1000) for k in sorted({0, 1, n // 3, n // 2, n - 1, n})]
LEVELS = (0.5, 0.95, 0.999, 1 - 1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_clopper_pearson_equals_binomtest(level):
    for k, n in GRID:
        lo, hi = binomial_interval(k, n, level)
        ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
        assert abs(lo - ci.low) < 1e-12 and abs(hi - ci.high) < 1e-12, (k, n, level)
        assert (lo == 0) == (k == 0) and (hi == 1) == (k == n)


def _bisect(f):
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    for _ in range(140):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if f(mid) > 0 else (mid, hi)
    return (lo + hi) / 2


def test_clopper_pearson_solves_its_equations_to_1e_15():
    """P(X >= k | lo) = alpha / 2 and P(X <= k | hi) = alpha / 2, solved at 40 digits."""
    with mpmath.workdps(40):
        for level in (0.95, 1 - 1e-6):
            a = mpmath.mpf(1 - level)
            for k, n in GRID[::2]:
                lo, hi = binomial_interval(k, n, level)
                if k > 0:
                    exact = _bisect(lambda p: mpmath.betainc(k, n - k + 1, 0, p, regularized=True) - a / 2)
                    assert abs(lo - exact) < 1e-15, (k, n, level)
                if k < n:
                    exact = _bisect(lambda p: mpmath.betainc(k + 1, n - k, 0, p, regularized=True) - (1 - a / 2))
                    assert abs(hi - exact) < 1e-15, (k, n, level)


@pytest.mark.parametrize(
    "kwargs",
    [dict(agents=3, components=2, memory=4, ownership="gaussian"), dict(agents=2, components=3, memory=4), dict(agents=3, components=2, memory=3, graph="path")],
)
def test_block_order_is_a_reverse_topological_order_of_the_condensation(kwargs):
    chain = build_chain(System(**kwargs), exact=False)
    transient = np.flatnonzero(closed_classes(chain).class_of < 0)
    blocks = _block_order(chain, transient)
    rows, cols, _, n = submatrix(chain, transient, transient)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(rows.tolist(), cols.tolist()))
    assert sorted(map(frozenset, (b.tolist() for b in blocks)), key=min) == sorted(
        map(frozenset, nx.strongly_connected_components(graph)), key=min
    )
    position = np.empty(n, dtype=np.int64)
    for i, block in enumerate(blocks):
        position[block] = i
    assert (position[cols] <= position[rows]).all()  # every block comes after the blocks it reaches


def test_state_index_matches_numpy_and_the_mixed_radix_formula():
    for L, m in ((1, 3), (3, 1), (4, 3), (7, 2)):
        ranks = all_states(L, m)
        index = global_index(ranks, L)
        assert index.tolist() == list(range(L**m))
        formula = sum(ranks[:, i] * L ** (m - 1 - i) for i in range(m))  # agent 0 most significant
        assert (index == formula).all()
        assert (local_ranks(index, L, m) == ranks).all()
        assert (np.stack(np.unravel_index(index, (L,) * m), axis=-1) == ranks).all()
    with pytest.raises(ValueError):
        global_index([[3, 0]], 3)  # out-of-range ranks are refused, never wrapped


def _arb_bounds(terms, prec):
    from flint import arb, ctx, fmpq

    def fraction(x):
        man, exp = x.man_exp()
        return Fraction(int(man)) * Fraction(2) ** int(exp)

    saved = ctx.prec
    ctx.prec = prec
    try:
        total = arb(0)
        for f, a in terms.items():
            total += arb(fmpq(a.numerator, a.denominator)) * arb(f).sqrt()
        return fraction(total.mid()) - fraction(total.rad()), fraction(total.mid()) + fraction(total.rad())
    finally:
        ctx.prec = saved


def test_radical_sum_bounds_agree_with_arb_balls():
    samples = [
        {1: Fraction(2, 3), 2: Fraction(1, 7), 3: Fraction(-5, 11), 6: Fraction(3, 13)},
        {2: Fraction(1), 3: Fraction(-1)},
        {5: Fraction(10**20 + 1, 3)},
    ]
    for terms in samples:
        x = RadicalSum(terms)
        lo, hi = x.bounds(120)
        alo, ahi = _arb_bounds(terms, 200)
        assert lo <= hi and hi - lo <= Fraction(len(terms) * 2, 2**120) * max(1, max(abs(a) for a in terms.values()))
        assert max(lo, alo) <= min(hi, ahi)  # the same number inside both
        assert lo <= alo and ahi <= hi  # the 200-bit arb ball sits inside the 120-bit bounds


def test_lifting_runs_blas_on_one_thread_and_restores_it():
    """linalg's Dixon lifting limits BLAS to one thread through threadpoolctl (issue 13), and restores it."""
    import numpy  # noqa: F401  (loads numpy's BLAS, so threadpoolctl sees it)
    from threadpoolctl import threadpool_info, threadpool_limits

    from markovgmm.analysis.linalg import one_blas_thread

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    assert blas_threads(), "numpy's BLAS is not visible to threadpoolctl"
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        with one_blas_thread():
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == before
