"""Errors raised at the boundary of markovgmm.

Input is checked once, where it enters (a :class:`~markovgmm.system.System`,
a CLI flag, a file); the code below trusts it.  Every check raises
:class:`InputError` with a one-line message that names the parameter and what
is allowed, and the CLI prints that line without a traceback.
"""

__all__ = ["InputError", "TooLargeError"]


class InputError(ValueError):
    """A parameter is out of its allowed range; the message says which and why."""


class TooLargeError(InputError):
    """A request would not fit this machine; raised before any work starts."""
