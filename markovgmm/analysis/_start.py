"""The one reader of a ``start`` argument, used by every analysis.

A start may be given as

- a state number (``int`` or a numpy integer; on a lumped chain the number of
  an orbit), checked against ``0 .. n_states - 1``;
- the state itself: one count vector per agent, as tuples, lists or a numpy
  array (numpy integers accepted), checked by
  :meth:`~markovgmm.system.System.check_state`;
- the text ``"c11,c12;c21,c22;..."`` the CLI's ``--start`` reads.

Anything else, and a state number out of range, is an
:class:`~markovgmm.errors.InputError` with a one-line message (never an
``IndexError`` from deep inside scipy).
"""

from __future__ import annotations

import operator

import numpy as np

from ..errors import InputError

__all__ = ["parse_start", "start_number", "start_state"]


def _is_number(start):
    return isinstance(start, (int, np.integer)) and not isinstance(start, (bool, np.bool_))


def _as_state(chain, start):
    system = chain.system
    if isinstance(start, str):
        from ..system import parse_start as parse_text

        start = parse_text(start, system.agents, system.components, system.memory)
    if isinstance(start, np.ndarray):
        if start.dtype.kind not in "iu":
            raise InputError(f"start: count vectors must be integers, got an array of {start.dtype}")
        start = start.tolist()
    try:
        state = tuple(tuple(_count(c) for c in counts) for counts in start)
    except TypeError:
        raise InputError(
            f"start: expected a state number or one count vector per agent, got {type(start).__name__} {start!r}"
        ) from None
    return system.check_state(state)


def _count(c):
    if isinstance(c, (bool, np.bool_)):
        raise InputError(f"start: counts must be integers, got {c!r}")
    if isinstance(c, np.integer):
        return int(c)
    if isinstance(c, int):
        return c
    try:
        return operator.index(c)
    except TypeError:
        raise InputError(f"start: counts must be integers, got {c!r}") from None


def parse_start(chain, start):
    """``(number, state)``: the state number on ``chain`` and the count
    vectors (None when ``start`` is an orbit number on a lumped chain: the
    orbit does not name one state).

    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=2))
    >>> parse_start(chain, np.int64(4)), parse_start(chain, "1,1;1,1")
    ((4, ((1, 1), (1, 1))), (4, ((1, 1), (1, 1))))
    """
    if _is_number(start):
        number = int(start)
        if not 0 <= number < chain.n_states:
            raise InputError(f"start: a state number must be in 0..{chain.n_states - 1}, got {number}")
        return number, (None if chain.lumped else chain.counts(number))
    if start is None:
        raise InputError("start: expected a state number or one count vector per agent, got None")
    state = _as_state(chain, start)
    return chain.index(state), state


def start_number(chain, start):
    """The state number of ``start`` on ``chain`` (see :func:`parse_start`)."""
    return parse_start(chain, start)[0]


def start_state(chain, start):
    """The count vectors of ``start`` (None for an orbit number on a lumped chain)."""
    return parse_start(chain, start)[1]
