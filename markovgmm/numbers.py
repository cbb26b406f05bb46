"""Exact numbers in and out: parsing user input to rationals, printing them.

The exact path never touches a float.  User input that is a float is read
through its decimal string (``0.1`` means 1/10), integers and
:class:`fractions.Fraction` are taken as they are, strings may be ``"p/q"``
or decimals.  Output of exact values is the string ``"p/q"`` (``"0"`` and
``"1"`` for the integers), which JSON consumers parse without loss.
"""

import re
from fractions import Fraction
from numbers import Rational

__all__ = ["to_fraction", "fraction_str", "int_str", "jsonable", "MAX_EXPONENT", "MAX_DIGITS"]

#: Largest decimal exponent (in absolute value) and longest run of digits a
#: number given as text may have: ``Fraction("1e-99999999")`` would compute
#: ``10**99999999`` before anything could refuse it.
MAX_EXPONENT = 1000
MAX_DIGITS = 4300  # Python's own int-from-text limit

_NUMBER_TEXT = re.compile(r"^\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$")


def to_fraction(value, name="value"):
    """Read ``value`` as an exact rational.

    >>> to_fraction("3/4"), to_fraction(0.1), to_fraction(2)
    (Fraction(3, 4), Fraction(1, 10), Fraction(2, 1))

    Text is checked before it is converted: decimal exponents beyond
    +-:data:`MAX_EXPONENT` and numbers of more than :data:`MAX_DIGITS` digits
    are refused (``1e-99999999`` would otherwise cost ``10**99999999``), and
    only ASCII digits are read.
    """
    from .errors import InputError

    if isinstance(value, bool):
        raise InputError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if hasattr(value, "p") and hasattr(value, "q"):  # python-flint fmpq, sympy Rational
        return Fraction(int(value.p), int(value.q))
    try:
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return Fraction(repr(value))
        text = str(value).strip()
        _check_text(text, name, value)
        return Fraction(text)
    except InputError:
        raise
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{name}: expected a rational number such as 3, 0.25 or 1/3, got {_clip(value)}") from None


def _check_text(text, name, value):
    """Refuse number text whose conversion would be unbounded (see :func:`to_fraction`)."""
    from .errors import InputError

    if not text.isascii():
        raise ValueError
    for part in text.split("/", 1) if "/" in text else (text,):
        match = _NUMBER_TEXT.match(part)
        if match is None:
            raise ValueError
        digits = len(match.group(1) or "") + len(match.group(2) or "")
        exponent = match.group(3)
        if exponent is not None and (len(exponent.lstrip("+-").lstrip("0")) > 6 or abs(int(exponent)) > MAX_EXPONENT):
            # a huge exponent is refused before 10**exponent is formed
            raise InputError(
                f"{name}: the decimal exponent must be between -{MAX_EXPONENT} and {MAX_EXPONENT}, got {_clip(value)}"
            )
        if digits > MAX_DIGITS:
            raise InputError(f"{name}: at most {MAX_DIGITS} digits are read, got {_clip(value)}")


def _clip(value):
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:18]}...{text[-18:]}"


def int_str(n):
    """Decimal text of an integer of any size.

    Python refuses ``str(n)`` past 4,300 digits (a guard against slow
    quadratic conversion); exact probabilities pass that at m=3, N=20, so
    large integers are converted by python-flint instead.

    >>> len(int_str(10**5000))
    5001
    """
    n = int(n)
    if -(10**4000) < n < 10**4000:
        return str(n)
    import flint

    return str(flint.fmpz(n))


def fraction_str(value):
    """Exact value as ``"p/q"`` (integers as ``"p"``), of any size.

    >>> fraction_str(Fraction(6, 8)), fraction_str(Fraction(1))
    ('3/4', '1')
    """
    value = to_fraction(value)
    if value.denominator == 1:
        return int_str(value.numerator)
    return f"{int_str(value.numerator)}/{int_str(value.denominator)}"


def jsonable(obj):
    """Recursively turn results into JSON-ready data: Fractions become ``"p/q"``,
    numpy scalars and arrays become Python numbers and lists."""
    import numpy as np

    if isinstance(obj, Fraction):
        return fraction_str(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
