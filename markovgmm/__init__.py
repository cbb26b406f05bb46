"""markovgmm: exact analysis of interacting Gaussian mixture models as a Markov chain.

Describe a system (:class:`System`), build its chain (:func:`build_chain`),
analyse the chain (:mod:`markovgmm.analysis`).  The contract is MODEL.md.

The names below are imported on first use (PEP 562), so that ``import
markovgmm`` and the command line start without numpy, scipy or networkx.
"""

__all__ = ["System", "Chain", "build_chain", "InputError", "TooLargeError", "__version__"]
__version__ = "0.1.0"

_LAZY = {
    "System": ("system", "System"),
    "Chain": ("chain", "Chain"),
    "build_chain": ("chain", "build_chain"),
    "InputError": ("errors", "InputError"),
    "TooLargeError": ("errors", "TooLargeError"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
