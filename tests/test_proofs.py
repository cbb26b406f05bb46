"""Run every checking script in ``proofs/``: each ``check_*.py`` verifies the
algebra of the proof beside it (sympy / mpmath) and exits non-zero on failure."""

import subprocess
import sys
from pathlib import Path

import pytest

PROOFS = Path(__file__).resolve().parent.parent / "proofs"
SCRIPTS = sorted(PROOFS.glob("check_*.py"))


def test_every_proof_has_a_checking_script():
    statements = {p.stem for p in PROOFS.glob("*.md") if p.stem.upper() != "README"}
    checked = {p.stem[len("check_") :] for p in SCRIPTS}
    assert statements <= checked, f"proofs without a checking script: {sorted(statements - checked)}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_proof_script_passes(script):
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=PROOFS)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
