"""Start-up CPU of the command line (issue 12 item 5): user+sys seconds of a
fresh interpreter, median of 5 runs, for ``--help``, ``--version``,
``absorb --help``, a small ``absorb`` (m=2, N=4, float with its certified
check) and bare ``import`` of the heavy dependencies for the floor.
Writes benchmarks/results_startup.md."""

import os
import resource
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("import numpy, scipy.sparse.csgraph (floor of any chain work)", [sys.executable, "-c", "import numpy, scipy.sparse.csgraph"]),
    ("import networkx (markovgmm.system imports it)", [sys.executable, "-c", "import networkx"]),
    ("markovgmm --help", [sys.executable, "-m", "markovgmm", "--help"]),
    ("markovgmm --version", [sys.executable, "-m", "markovgmm", "--version"]),
    ("markovgmm absorb --help", [sys.executable, "-m", "markovgmm", "absorb", "--help"]),
    ("markovgmm absorb -m 2 -N 4 --check off", [sys.executable, "-m", "markovgmm", "absorb", "-m", "2", "-N", "4", "--check", "off"]),
    ("markovgmm absorb -m 2 -N 4", [sys.executable, "-m", "markovgmm", "absorb", "-m", "2", "-N", "4"]),
]


def cpu(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    lines = ["# Start-up CPU (issue 12 item 5)", "", f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared); "
             "user+sys CPU seconds of a fresh process, median of 5.", "", "| command | CPU s |", "|---|---|"]
    for label, argv in CASES:
        value = statistics.median(cpu(argv) for _ in range(5))
        lines.append(f"| `{label}` | {value:.3f} |")
        print(lines[-1], flush=True)
    with open(os.path.join(ROOT, "benchmarks", "results_startup.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
