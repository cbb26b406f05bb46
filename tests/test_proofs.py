"""Run every checking script in ``proofs/``: each ``check_*.py`` verifies the
algebra of the proof beside it (sympy / mpmath) and exits non-zero on failure."""

import os
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
    # The scripts import this checkout (not a copy pip may have left in site-packages).
    env = {**os.environ, "PYTHONPATH": str(PROOFS.parent)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=PROOFS, env=env)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def _load(name):
    sys.path.insert(0, str(PROOFS))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(PROOFS))


def test_support_closed_class_check_can_fail():
    """check_support_closed_classes.violations is empty under support and trips on `open`
    chains, where supports grow and closed classes of several states exist."""
    import networkx as nx

    from markovgmm import System, build_chain

    check = _load("check_support_closed_classes")
    assert check.violations(build_chain(System(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)])))) == []
    found = check.violations(build_chain(System(agents=3, components=2, memory=2, ownership="open", graph=nx.DiGraph([(0, 2), (1, 2)]))))
    assert any(text.startswith("(i)") for text in found) and any("several states" in text for text in found)


def test_a1_every_state_check_trips_on_a_wrong_async_factor():
    """check_A1_one_step.one_step_violations: silent with the claimed factors, and a wrong
    async factor (the sync one, 1 - r/N) or a wrong rate under r > 1 is caught."""
    from fractions import Fraction

    from markovgmm import System, build_chain

    check = _load("check_A1_one_step")
    chain = build_chain(System(agents=2, components=2, memory=3, replace=2, schedule="async"))
    assert check.one_step_violations(chain) == []
    sync_factors = lambda s: (1 - Fraction(s.replace, s.memory), Fraction(s.replace, s.memory))  # noqa: E731
    assert check.one_step_violations(chain, sync_factors)
    one_item = lambda s: (1 - Fraction(1, s.memory * s.agents), Fraction(1, s.memory * s.agents))  # noqa: E731  (r taken as 1)
    assert check.one_step_violations(chain, one_item)


def test_lb1_check_trips_when_other_classes_count_as_polarised(monkeypatch):
    """check_LB1_horizon.lb1_violations passes on a chain with `other` classes and fails once
    horizon_bounds counts `other` classes as polarised (a deliberate bug in _kind_masks)."""
    import numpy as np

    from markovgmm import System, build_chain
    from markovgmm.analysis import bounds

    check = _load("check_LB1_horizon")
    params, start, horizon = next(case for case in check.CASES if "DiGraph" in repr(case[0].get("graph")))
    chain = build_chain(System(**params))
    assert check.lb1_violations(chain, start, horizon)[0] == []

    def wrong_masks(chain, structure):
        polarised = np.zeros(chain.n_states, dtype=bool)
        other_closed = np.zeros(chain.n_states, dtype=bool)
        for cls in structure.classes:
            (polarised if cls.kind != "consensus" else other_closed)[list(cls.states)] = True
        return polarised, other_closed

    monkeypatch.setattr(bounds, "_kind_masks", wrong_masks)
    bad = check.lb1_violations(chain, start, horizon)[0]
    assert any("lower differs" in text for text in bad)


def test_certified_checks_catch_a_halved_half_width():
    """check_certified_enclosure.tight_violations (the stored certificate) and
    adjoint_tight_violations (the streamed one) pass on certified_absorption
    and fail on a deliberately wrong version whose interval has half the
    proven half-width."""
    from markovgmm.analysis.certified import CertifiedInterval, certified_absorption

    check = _load("check_certified_enclosure")
    assert check.tight_violations() == []
    assert check.adjoint_tight_violations() == []

    def halved(*args, **kwargs):
        box = certified_absorption(*args, **kwargs)
        centre, half = (box.lower + box.upper) / 2, (box.upper - box.lower) / 4
        return CertifiedInterval(box.target, centre - half, centre + half, box.estimate, box.refinements, box.converged)

    assert check.tight_violations(certify=halved)
    assert check.adjoint_tight_violations(certify=halved)
