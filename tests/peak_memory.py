"""Peak memory of a fresh process, for the tests that hold a memory estimate
against the measured peak (tests/test_population.py, test_exact_kernel.py,
test_streamed.py).  ``PRELUDE`` gives the child ``status(key)`` (bytes of a
``/proc/self/status`` field) and ``reset_peak()`` (VmHWM back to the current
RSS); :func:`run_child` runs a child script and returns its last JSON line."""

import json
import os
import subprocess
import sys

PRELUDE = r"""
import json, sys
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
def reset_peak():
    open("/proc/self/clear_refs", "w").write("5")  # reset VmHWM to the current RSS
"""


def run_child(script, *args, timeout=120):
    """Run ``PRELUDE + script`` with ``args`` in a fresh interpreter on this checkout; its last stdout line as JSON."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + script, *args],
        capture_output=True, text=True, cwd=here, env=dict(os.environ, PYTHONPATH=here), timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-500:]
    return json.loads(done.stdout.strip().splitlines()[-1])
