"""markovgmm: exact analysis of interacting Gaussian mixture models as a Markov chain.

Describe a system (:class:`System`), build its chain (:func:`build_chain`),
analyse the chain (:mod:`markovgmm.analysis`).  The contract is MODEL.md.
"""

from .chain import Chain, build_chain
from .errors import InputError, TooLargeError
from .system import System

__all__ = ["System", "Chain", "build_chain", "InputError", "TooLargeError"]
__version__ = "0.1.0"
