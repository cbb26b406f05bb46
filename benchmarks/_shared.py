"""Helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``,
so this folder is on ``sys.path``)."""

import os
import tempfile
import time

from markovgmm.io import write_drn

__all__ = ["timed", "storm_float"]


def timed(fn):
    """``(fn(), wall seconds)``."""
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def storm_float(chain, start):
    """Storm's float engine (default settings) on the chain's DRN export:
    ``(P(polarisation), seconds for build + check)``, or ``(None, None)``
    without stormpy."""
    try:
        import stormpy
    except ImportError:
        return None, None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chain.drn")
        write_drn(chain, start, path)
        began = time.perf_counter()
        model = stormpy.build_model_from_drn[float](path)
        result = stormpy.model_checking(model, stormpy.parse_properties('P=? [F "polar"]')[0])
        return result.get_value(model.initial_states[0]), time.perf_counter() - began
