"""Start-up CPU of the command line (issue 12 item 5) and decimal output of big
rationals (issue 13).

Part 1: user+sys CPU seconds of a fresh interpreter (``resource`` child
times), median of ``REPEATS`` runs, for ``--help``, ``--version``, command
helps and small ``absorb`` runs, beside ``python -c pass`` and ``python -c
"import numpy"`` measured in the same script (ratios: the machine is shared).

Part 2: one decimal rounding of rationals whose numerator and denominator
have 1,000 to 30,000 digits: :func:`markovgmm.numbers.decimal_digits` (one
scaled integer division) against the formatter it replaced (text lengths of
``p`` and ``q`` and ``Fraction`` powers of ten), in this process, median of 5.

Part 3: the threshold ``analysis.classes.SMALL_STATES`` of the scipy-free
backend: in one process (scipy already imported, so only the computation is
timed), the float absorption solve from every state and the certified
kernel (exact system, default float solver, 6 refinements of ``A t = 1``) on
all transient states of unlumped m=3, K=2 chains, with each backend forced
by the threshold; median of 3.

Writes benchmarks/results_startup.md.
"""

import os
import random
import resource
import statistics
import subprocess
import sys
import time
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
REPEATS = 7
PY = sys.executable
MG = [PY, "-m", "markovgmm"]
CASES = [
    ("python -c pass", [PY, "-c", "pass"]),
    ('python -c "import numpy"', [PY, "-c", "import numpy"]),
    ('python -c "import numpy, scipy.sparse.csgraph, scipy.sparse.linalg"', [PY, "-c", "import numpy, scipy.sparse.csgraph, scipy.sparse.linalg"]),
    ('python -c "import networkx"', [PY, "-c", "import networkx"]),
    (
        "build the default chain only (m=2, K=2, N=4, float, lumped; no analysis)",
        [PY, "-c", "from markovgmm import System; from markovgmm.chain.build import build_chain; "
         "build_chain(System(agents=2, components=2, memory=4), exact=False, lump='auto')"],
    ),
    ("markovgmm --help", MG + ["--help"]),
    ("markovgmm --version", MG + ["--version"]),
    ("markovgmm absorb --help", MG + ["absorb", "--help"]),
    ("markovgmm claims --help", MG + ["claims", "--help"]),
    ("markovgmm simulate --help", MG + ["simulate", "--help"]),
    ("markovgmm absorb --quiet (m=2, K=2, N=4; float + certified check)", MG + ["absorb", "--quiet"]),
    ("markovgmm absorb --quiet --check off", MG + ["absorb", "--quiet", "--check", "off"]),
    ("markovgmm absorb --quiet -m 3 -N 6", MG + ["absorb", "--quiet", "-m", "3", "-N", "6"]),
    ("markovgmm absorb --quiet --exact", MG + ["absorb", "--quiet", "--exact"]),
]


def cpu(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def old_decimal_bound(x, up, digits=20):
    """The formatter ``decimal_bound`` replaced (analysis/claims.py before issue 13)."""
    x = Fraction(x)
    if x == 0:
        return "0"
    e = len(str(abs(x.numerator))) - len(str(x.denominator))
    if Fraction(10) ** e > abs(x):
        e -= 1
    shift = digits - 1 - e
    scaled = x * Fraction(10) ** shift
    n = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    if len(str(abs(n))) > digits:
        e += 1
    sign, text = ("-", str(-n)) if n < 0 else ("", str(n))
    return f"{sign}{text[0]}.{text[1:].rstrip('0') or '0'}e{e}"


def seconds(function, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        function()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def old_fraction_str(value):
    """``fraction_str`` before issue 13: a second ``Fraction`` normalisation, a ``10**4000`` range test and ``str``."""
    value = Fraction(int(value.numerator), int(value.denominator))

    def int_str(n):
        if -(10**4000) < n < 10**4000:
            return str(n)
        import flint

        return str(flint.fmpz(n))

    if value.denominator == 1:
        return int_str(value.numerator)
    return f"{int_str(value.numerator)}/{int_str(value.denominator)}"


def fraction_rows():
    from markovgmm.numbers import fraction_str

    rng = random.Random(2)
    rows = []
    for size in (100, 1_000, 3_000):
        values = []
        for _ in range(200):
            q = rng.randrange(10 ** (size - 1), 10**size)
            values.append(Fraction(rng.randrange(1, q), q))
        assert [fraction_str(v) for v in values] == [old_fraction_str(v) for v in values]
        old = seconds(lambda: [old_fraction_str(v) for v in values], 3)
        new = seconds(lambda: [fraction_str(v) for v in values], 3)
        rows.append(f"| {size:,} | {old * 1e3:.1f} ms | {new * 1e3:.1f} ms | {old / new:.1f} |")
        print(rows[-1], flush=True)
    return rows


def decimal_rows():
    from markovgmm.analysis.claims import decimal_bound

    sys.set_int_max_str_digits(0)  # the old formatter converts p and q to text (Python refuses past 4,300 digits)
    rng = random.Random(1)
    rows = []
    for size in (1_000, 5_000, 10_000, 30_000):
        # a probability near 1e-20 with numerator and denominator of `size` digits, as the certified path produces
        q = rng.randrange(10 ** (size - 1), 10**size)
        p = q // 10**20 + rng.randrange(1, 10**5)
        x = Fraction(p, q)
        assert decimal_bound(x, up=True) == old_decimal_bound(x, up=True)
        old = seconds(lambda: old_decimal_bound(x, up=True))
        new = seconds(lambda: decimal_bound(x, up=True))
        rows.append(f"| {size:,} | {len(str(x.numerator)):,} / {len(str(x.denominator)):,} | {old * 1e3:.2f} ms | {new * 1e3:.3f} ms | {old / new:.0f} |")
        print(rows[-1], flush=True)
    return rows


def threshold_rows():
    import numpy as np
    import scipy.sparse.csgraph  # noqa: F401  (imported up front: only the computation is timed)
    import scipy.sparse.linalg  # noqa: F401

    from markovgmm import System
    from markovgmm.analysis import classes
    from markovgmm.analysis.absorption import absorption_probabilities
    from markovgmm.analysis.certified import _float_solve, default_solver
    from markovgmm.analysis.exact_kernel import ExactSystem
    from markovgmm.chain.build import build_chain

    def kernel(chain, transient):
        system = ExactSystem(chain, transient)
        solve = _float_solve(system, default_solver)
        system.refine(np.full(system.n, system.d, dtype=object), lambda X, E, R: False, 6, solve)

    def timed(function):
        times = []
        for _ in range(3):
            t0 = time.process_time()
            function()
            times.append(time.process_time() - t0)
        return statistics.median(times)

    saved = classes.SMALL_STATES
    rows = []
    try:
        for N in (4, 5, 6, 7, 8, 10, 12):
            system = System(agents=3, components=2, memory=N)
            float_chain, exact_chain = build_chain(system, exact=False), build_chain(system)
            transient = classes.closed_classes(exact_chain).transient
            cells = []
            for threshold in (10**9, -1):  # dense numpy, then scipy.sparse
                classes.SMALL_STATES = threshold
                cells += [timed(lambda: absorption_probabilities(float_chain)), timed(lambda: kernel(exact_chain, transient))]
            rows.append(f"| {N} | {float_chain.n_states:,} | {len(transient):,} | {cells[0] * 1e3:.1f} | {cells[2] * 1e3:.1f} | {cells[1] * 1e3:.1f} | {cells[3] * 1e3:.1f} |")
            print(rows[-1], flush=True)
    finally:
        classes.SMALL_STATES = saved
    return rows


def main():
    lines = [
        "# Start-up CPU (issue 12 item 5) and decimal output (issue 13)",
        "",
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared); `python benchmarks/bench_startup.py`. "
        f"User+sys CPU seconds of a fresh process, median of {REPEATS}; ratios to `python -c pass` and to "
        '`python -c "import numpy"` measured in the same run.',
        "",
        "| command | CPU s | / pass | / import numpy |",
        "|---|---|---|---|",
    ]
    base = {}
    for label, argv in CASES:
        value = statistics.median(cpu(argv) for _ in range(REPEATS))
        base.setdefault(label, value)
        p, n = base["python -c pass"], base.get('python -c "import numpy"', value)
        lines.append(f"| `{label}` | {value:.3f} | {value / p:.1f} | {value / n:.2f} |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "What the rows show: `--help`, `--version` and the command helps import no numpy, scipy or networkx",
        "(`simulate --help` imports numpy for its defaults); tests/test_startup.py asserts which libraries each",
        "of these, and a small `absorb`, leaves unimported.  Building a small chain needs numpy only (the named",
        "reading graphs no longer go through networkx).  A small `absorb` (at most `SMALL_STATES` states, see",
        "below) imports no scipy: closed classes and reachability by an iterative Tarjan / breadth-first search",
        "on the chain's CSR arrays, dense numpy block solves, and the certified check's exact products as dense",
        "int64 matrices with a dense float solver (tests/test_startup.py asserts `{numpy}` is all it loads;",
        "tests/test_small_backend.py compares the two backends).  Compare it with the",
        "`import numpy, scipy.sparse...` row, the import it no longer pays.  (With scipy 1.17 and numpy 2.4,",
        "`import scipy.sparse` also loads `numpy.f2py` and `numpy.testing` through `scipy._lib.array_api_compat`.)",
        "Absolute CPU follows the shared machine's load: in six runs of this script (the scipy-free backend in",
        "place) the default `absorb --quiet` took 0.222-0.297 s while `import numpy` took 0.142-0.187 s; its",
        "ratio to `import numpy` was 1.52-1.63 in every run (3.81 in the run before the backend).",
        "",
        "## The threshold of the scipy-free backend (`analysis.classes.SMALL_STATES`)",
        "",
        "Milliseconds of CPU in one process with scipy already imported (the computation only), median of 3;",
        "unlumped m=3, K=2 chains; float solve from every state (`absorption_probabilities`), and the",
        "certified kernel on all transient states (exact system, default float solver, 6 refinements).",
        "",
        "| N | states | transient | float dense | float sparse | certified dense | certified sparse |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += threshold_rows()
    lines += [
        "",
        "The dense certified kernel grows as the square of the transient states (dense int64 products) plus the",
        "cube (one dense inverse); the sparse one about linearly.  Below the threshold the dense float solve is the faster one.",
        "`SMALL_STATES = 400`: at 335 transient states the dense certified kernel costs about 1-1.5 ms more per",
        "refinement than the sparse one, and a certified check runs at most 12 refinements in each of its K + 5",
        "refinement loops (K + 4 quantities and A z = 1), so the extra cost stays below the scipy import it saves (the",
        "`import numpy, scipy.sparse...` row minus the `import numpy` row).  Dense BLAS / LAPACK calls of 64 or",
        "more states run on one BLAS thread (threadpoolctl): on this shared machine several threads cost many",
        "times the CPU.",
    ]
    lines += [
        "",
        "## Decimal output of a big rational (20 significant digits, rounded up)",
        "",
        "`decimal_bound` of analysis/claims.py (and `decimal_bounds` of the certified path) now call",
        "`markovgmm.numbers.decimal_digits`: one division `p 10^k // q`, `k` from the bit lengths.",
        "The old formatter (text of `p` and `q`, `Fraction` powers of ten) is timed beside it on the same value;",
        "both print the same string (checked).  Value: about 1e-20 with `p` and `q` of the stated digits.",
        "",
        "| digits of q | digits p / q | old | new | old / new |",
        "|---|---|---|---|---|",
    ]
    lines += decimal_rows()
    lines += [
        "",
        "## Exact text `p/q` of 200 rationals (`fraction_str`, the JSON of `claims`, `absorb --exact`, sweep CSVs)",
        "",
        "New: no second normalisation of a Fraction (`to_fraction` returns it), a bit-length test instead of a",
        "`10**4000` comparison per integer, and python-flint (GMP) for integers over 1,000 bits.  Same strings (checked).",
        "",
        "| digits of q | old | new | old / new |",
        "|---|---|---|---|",
    ]
    lines += fraction_rows()
    with open(os.path.join(ROOT, "benchmarks", "results_startup.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
