"""The streamed certificate (issue 12, item 2): a float population chain whose
exact rows are regenerated on demand, certified by the adjoint enclosure
(proofs/certified_enclosure.md, Claims 8-10) without storing an exact entry."""

from fractions import Fraction

import numpy as np
import pytest
from peak_memory import run_child

from markovgmm.analysis.absorption import absorb, absorption_probabilities
from markovgmm.analysis.certified import certified_absorb, certified_absorption, certified_expected_time
from markovgmm.analysis.classes import closed_classes
from markovgmm.analysis.exact_kernel import ExactSystem, StreamedExactSystem
from markovgmm.chain import population
from markovgmm.chain.lumped import build_lumped_chain, build_streamed_chain, streaming_applies
from markovgmm.errors import InputError, TooLargeError
from markovgmm.system import System

SYSTEMS = [
    dict(agents=4, components=2, memory=4),  # D^m below 2^62: int64 numerators split into limbs
    dict(agents=12, components=2, memory=2),  # D^m = 2^67..2^68: the int64-limb convolution
    dict(agents=10, components=2, memory=3),  # D^m beyond 2^64
    dict(agents=3, components=3, memory=3),
    dict(model="mirror", agents=5, components=2, memory=3, neighbours=1, mirror="1/3"),
]


def _ids(kw):
    return "-".join(f"{k}{v}" for k, v in kw.items())


@pytest.mark.parametrize("kwargs", SYSTEMS, ids=_ids)
def test_streamed_product_equals_the_stored_exact_transpose(kwargs):
    """V^T C and V C from the regenerated rows equal the Python-integer
    products over the stored exact chain, entry for entry; the class sums equal the stored
    rows' sums into each closed class; the float chain equals the stored one."""
    system = System(**kwargs)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    assert np.array_equal(streamed.indptr, stored.indptr) and np.array_equal(streamed.indices, stored.indices)
    assert np.allclose(streamed.matrix().data, stored.matrix().data, rtol=1e-14, atol=0)
    structure = closed_classes(stored)
    T = structure.transient
    reference = ExactSystem(stored, T)
    kernel = StreamedExactSystem(streamed, T, class_of=structure.class_of)
    assert kernel.d == int(stored.denominator)
    vals = np.array([int(v) for v in reference.vals.tolist()], dtype=object)
    rng = np.random.default_rng(7)
    for C in (rng.integers(-(2**53), 2**53, size=len(T)), np.ones(len(T), dtype=np.int64), rng.integers(-3, 4, size=len(T))):
        expected = np.zeros(len(T), dtype=object)
        np.add.at(expected, reference.cols, vals * np.array([int(c) for c in C], dtype=object)[reference.rows])
        assert (kernel.product(C) == expected).all()
        forward = np.zeros(len(T), dtype=object)
        np.add.at(forward, reference.rows, vals * np.array([int(c) for c in C], dtype=object)[reference.cols])
        assert (kernel.product(C, forward=True) == forward).all()
    pos, cls, num = kernel.class_numerators
    got = {(int(p), int(c)): int(v) for p, c, v in zip(pos, cls, num)}
    want = {}
    for p, t in enumerate(T.tolist()):
        for k in range(stored.indptr[t], stored.indptr[t + 1]):
            c = int(structure.class_of[stored.indices[k]])
            if c >= 0:
                want[(p, c)] = want.get((p, c), 0) + int(stored.values[k])
    assert got == want and kernel.passes == 6


@pytest.mark.parametrize("kwargs", SYSTEMS, ids=_ids)
def test_streamed_intervals_contain_the_exact_probabilities(kwargs):
    system = System(**kwargs)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    starts = np.flatnonzero(closed_classes(stored).class_of < 0)
    for start in starts[:: max(1, len(starts) // 4)][:4].tolist():
        report = certified_absorb(streamed, start)
        exact = absorption_probabilities(stored, start)
        pairs = [(report["polarization_interval"], exact.polarization()), (report["consensus_interval"], exact.consensus())]
        pairs += [(box["interval"], value) for box, value in zip(report["consensus_by_component"], exact.consensus_by_component())]
        for (lo, hi), value in pairs:
            assert Fraction(lo) <= value <= Fraction(hi)
            if value > 0:
                assert Fraction(hi) - Fraction(lo) <= Fraction(1, 10**12) * value
        lo, hi = (Fraction(v) for v in report["expected_steps_interval"])
        steps = absorb(stored, start)["expected_steps"]
        assert lo <= steps <= hi and hi - lo <= Fraction(1, 10**12) * steps and report["converged"]


def test_the_certificate_reads_the_exact_rows_not_the_floats(monkeypatch):
    """Moving exact probability between two entries of one row in the stream
    (floats untouched, rows still stochastic) moves the certified interval off
    the true value; a row not summing to d, a zero numerator, a dropped entry
    and a skipped chunk are each refused: the proof rests on the exact rows."""
    system = System(agents=4, components=2, memory=4)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    start = stored.index(((2, 2),) * 4)
    exact = absorption_probabilities(stored, start).polarization()
    assert certified_absorption(streamed, start).contains(exact)
    original = population.ExactRows.chunks

    def edited(change):
        def chunks(self):
            for first, lengths, cols, limbs, den in original(self):
                values = population.limbs_to_int(limbs)
                heads = np.r_[0, np.cumsum(lengths)]
                if first <= start < first + len(lengths):
                    lo, hi = heads[start - first], heads[start - first + 1]
                    change(values[lo:hi])
                yield first, lengths, cols, population.limb_columns(values), den
        return chunks

    def move(row):  # half of the largest entry to the smallest: still positive, same row sum
        big, small = int(np.argmax(row)), int(np.argmin(row))
        half = int(row[big]) // 2
        row[big], row[small] = int(row[big]) - half, int(row[small]) + half

    monkeypatch.setattr(population.ExactRows, "chunks", edited(move))
    assert not certified_absorption(streamed, start).contains(exact)

    def double(row):
        row[:] = row * 2

    def zero(row):
        row[-1], row[0] = 0, int(row[0]) + int(row[-1])

    for change, message in ((double, "does not sum"), (zero, "zero numerator")):
        monkeypatch.setattr(population.ExactRows, "chunks", edited(change))
        with pytest.raises(RuntimeError, match=message):
            certified_absorption(streamed, start)

    def dropped(self):
        for first, lengths, cols, limbs, den in original(self):
            lengths = lengths.copy()
            lengths[0] -= 1
            yield first, lengths, cols[1:], limbs[1:], den

    monkeypatch.setattr(population.ExactRows, "chunks", dropped)
    with pytest.raises(RuntimeError, match="pattern differs"):
        certified_absorption(streamed, start)

    monkeypatch.setattr(population, "chunk_rows", lambda *args, **kwargs: 10)  # 7 chunks of 10 orbits

    def skipped(self):
        for number, chunk in enumerate(original(self)):
            if number != 3:
                yield chunk

    monkeypatch.setattr(population.ExactRows, "chunks", skipped)
    with pytest.raises(RuntimeError, match="expected 30"):
        certified_absorption(streamed, start)
    monkeypatch.setattr(population.ExactRows, "chunks", original)
    assert certified_absorption(streamed, start).contains(exact)  # 7 chunks, none missing


def test_streamed_refusals():
    with pytest.raises(InputError, match="exchangeable"):
        build_streamed_chain(System(agents=3, components=2, memory=3, graph="path"))
    with pytest.raises(InputError, match="exchangeable"):
        build_streamed_chain(System(agents=3, components=2, memory=3, schedule="async"))
    assert not streaming_applies(System(agents=3, components=2, memory=3, schedule="async"))
    with pytest.raises(TooLargeError, match=r"exact rows streamed.*largest memory that fits here is memory=\d"):
        build_streamed_chain(System(agents=8, components=2, memory=8), memory_limit=64 * 2**20)
    system = System(agents=3, components=2, memory=3)
    chain, stored = build_streamed_chain(system), build_lumped_chain(system)
    assert certified_expected_time(chain, 5).contains(absorb(stored, 5)["expected_steps"])
    assert certified_expected_time(chain, 0).upper == 0  # a start in a closed class


_RSS_CHILD = r"""
from markovgmm.system import System, balanced_counts
from markovgmm.chain.assembly import estimate_cost, local_table
from markovgmm.chain.lumped import build_streamed_chain
from markovgmm.analysis.certified import certified_absorb
kw = json.loads(sys.argv[1])
system = System(**kw)
small = build_streamed_chain(System(**dict(kw, memory=2)))
certified_absorb(small, small.index(((1, 1),) * kw["agents"]))  # first-call set-up, not the run's memory
cost = estimate_cost(system, local_table(system), lumped=True, streamed=True)
base = status("VmRSS:")
reset_peak()
chain = build_streamed_chain(system, memory_limit=1 << 60)
report = certified_absorb(chain, chain.index((balanced_counts(kw["memory"], 2),) * kw["agents"]))
print(json.dumps(dict(estimate=cost["bytes"], peak=status("VmHWM:") - base, transitions=chain.n_transitions)))
"""


@pytest.mark.parametrize("mN", [(8, 6), (9, 5)], ids=lambda mN: f"m{mN[0]}-N{mN[1]}")
def test_streamed_memory_estimate_against_measured_peak(mN):
    """estimate_cost(streamed=True) is above the measured peak RSS of the
    streamed build plus its certificate, and at most 3x it (+32 MiB)."""
    import json

    got = run_child(_RSS_CHILD, json.dumps(dict(agents=mN[0], components=2, memory=mN[1])), timeout=300)
    assert got["peak"] <= got["estimate"] <= 3 * got["peak"] + 32 * 2**20, got


def test_cli_certified_streams_when_the_exact_rows_do_not_fit(monkeypatch, capsys):
    """absorb --certified switches to the streamed certificate when the stored
    one (3x the stored build's estimate) would be over the memory limit (here
    a pretend 600 MiB machine), says so before building, and proves an
    interval overlapping the stored path's."""
    import json

    from markovgmm.chain import assembly
    from markovgmm.cli import main

    args = ["absorb", "-m", "9", "-N", "6", "--certified", "--json"]
    assert main(args) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["exact_rows"] == "stored"
    monkeypatch.setattr(assembly, "_total_memory", lambda: 600 * 2**20)  # limit 360 MiB: stored 3 x 274, streamed 215
    assert main(args) == 0
    captured = capsys.readouterr()
    streamed = json.loads(captured.out)
    assert streamed["exact_rows"] == "streamed" and "streaming the exact rows" in captured.err
    for key in ("polarization_interval", "consensus_interval", "expected_steps_interval"):
        lo, hi = (Fraction(v) for v in streamed[key])
        slo, shi = (Fraction(v) for v in stored[key])
        assert max(lo, slo) <= min(hi, shi)  # both proven: they overlap
        assert hi - lo <= Fraction(1, 10**12) * lo


def _forward_scaled(monkeypatch, factor):
    """Make the expected-time float solve return ``factor`` times its answer."""
    from markovgmm.analysis import certified

    real = certified.adjoint_solver

    def solver(chain, transient, rtol=1e-11, maxiter=2000, transpose=True):
        solve = real(chain, transient, rtol=rtol, maxiter=maxiter, transpose=transpose)
        return solve if transpose else (lambda r: factor * solve(r))

    monkeypatch.setattr(certified, "adjoint_solver", solver)


def test_expected_time_super_solution_is_checked_exactly(monkeypatch):
    """The super-solution of A t = 1 is accepted only when A u >= 1 holds
    exactly: an answer 0.1% low needs the 2^-4 margin and still encloses the
    exact E[tau]; one half too low has no margin that works and is refused;
    one 2^60 too high (times beyond 2^52: a negative scale) is valid, wide."""
    from markovgmm.analysis.certified import CertificationError

    system = System(agents=4, components=2, memory=4)
    streamed, stored = build_streamed_chain(system), build_lumped_chain(system)
    start = stored.index(((2, 2),) * 4)
    steps = absorb(stored, start)["expected_steps"]
    _forward_scaled(monkeypatch, 1 - 1e-3)
    box = certified_expected_time(streamed, start)
    assert box.contains(steps) and box.relative_width < 1e-12
    _forward_scaled(monkeypatch, 0.5)
    with pytest.raises(CertificationError, match="no super-solution"):
        certified_expected_time(streamed, start)
    _forward_scaled(monkeypatch, 2.0**60)
    box = certified_expected_time(streamed, start)
    assert box.contains(steps) and box.lower >= 1


def test_float_solver_without_an_answer_is_refused():
    from markovgmm.analysis.certified import CertificationError

    chain = build_streamed_chain(System(agents=3, components=2, memory=3))
    with pytest.raises(CertificationError, match="no usable solution"):
        certified_absorption(chain, 5, float_solver=lambda ch, T: (lambda r: np.full(len(r), np.nan)))


class _WorstRows:
    """Synthetic exact rows at the int64 limb bound: n x n, every numerator
    with both 31-bit limbs at 2^31 - 1 (row sums = d)."""

    def __init__(self, n):
        self.n, self.value = n, (2**31 - 1) * (1 + 2**31)
        self.denominator = n * self.value

    def chunks(self):
        n = self.n
        limbs = np.full((n * n, 2), 2**31 - 1, dtype=np.int64)
        yield 0, np.full(n, n), np.tile(np.arange(n), n), limbs, self.denominator


def test_streamed_products_at_the_int64_limb_bound():
    """Every limb and every C limb at its maximum, on the longest rows and
    columns there are: V^T C and V C still equal the Python-integer products
    (a limb width 2 bits looser overflows here)."""
    from types import SimpleNamespace

    n = 127  # ceil(log2(n + 1)) = 7 bits of row length with nothing to spare
    rows = _WorstRows(n)
    chain = SimpleNamespace(n_states=n, n_transitions=n * n, indptr=np.arange(0, n * n + 1, n), indices=np.tile(np.arange(n), n), exact_rows=rows)
    kernel = StreamedExactSystem(chain, np.arange(n))
    top = 2**63 - 1
    for C in (np.full(n, top, dtype=np.int64), np.full(n, -top, dtype=np.int64), np.where(np.arange(n) % 2, top, -top).astype(np.int64)):
        total = rows.value * sum(int(c) for c in C)
        assert (kernel.product(C) == total).all()  # every column: value times the sum of C
        assert (kernel.product(C, forward=True) == total).all()
