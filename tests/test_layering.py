"""Building never imports analysis (the describe -> build -> analyse layering):
no module of markovgmm.chain imports markovgmm.analysis, and lumped.py does not
import build.py (the old import circle)."""

import ast
from pathlib import Path

CHAIN = Path(__file__).resolve().parent.parent / "markovgmm" / "chain"


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def test_chain_never_imports_analysis():
    offenders = [
        (path.name, name)
        for path in sorted(CHAIN.glob("*.py"))
        for name in _imports(path)
        if name.startswith("..analysis") or name.startswith("markovgmm.analysis")
    ]
    assert offenders == []


def test_lumped_does_not_import_build():
    assert not any(name in (".build", "markovgmm.chain.build") for name in _imports(CHAIN / "lumped.py"))
