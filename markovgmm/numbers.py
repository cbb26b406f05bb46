"""Exact numbers in and out: parsing user input to rationals, printing them.

The exact path never touches a float.  User input that is a float is read
through its decimal string (``0.1`` means 1/10), integers and
:class:`fractions.Fraction` are taken as they are, strings may be ``"p/q"``
or decimals.  Output of exact values is the string ``"p/q"`` (``"0"`` and
``"1"`` for the integers), which JSON consumers parse without loss.
Decimal approximations of exact values (:func:`decimal_digits`,
:func:`decimal_str`) are rounded once, directly from the numerator and
denominator, in a chosen direction (nearest, or outward for bounds).
"""

import math
import re
from fractions import Fraction
from numbers import Rational

__all__ = [
    "to_fraction",
    "fraction_str",
    "int_str",
    "decimal_digits",
    "decimal_str",
    "jsonable",
    "MAX_EXPONENT",
    "MAX_DIGITS",
    "ROUNDINGS",
]

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
    if type(value) is Fraction:  # already in lowest terms: no second gcd of long numerators
        return value
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


#: Integers longer than this many bits are written by python-flint (:func:`int_str`).
_FLINT_BITS = 1000


def int_str(n):
    """Decimal text of an integer of any size.

    Python refuses ``str(n)`` past 4,300 digits (a guard against its
    quadratic conversion); exact probabilities pass that at m=3, N=20, and
    well below it Python's conversion is already the slow part of writing
    exact results (hundreds of microseconds at 3,000 digits).  Integers
    beyond :data:`_FLINT_BITS` bits (about 300 digits) are converted by
    python-flint (GMP, subquadratic) instead; the size test is a bit length,
    not a comparison with a power of ten.

    >>> len(int_str(10**5000)), int_str(-(2**2000))[:8]
    (5001, '-1148130')
    """
    n = int(n)
    if n.bit_length() <= _FLINT_BITS:
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


#: Rounding directions of :func:`decimal_digits`: to nearest (ties to even),
#: towards -infinity (``"floor"``, a lower bound) or +infinity (``"ceiling"``, an upper bound).
ROUNDINGS = ("nearest", "floor", "ceiling")

_LOG10_2 = 0.30102999566398119521


def decimal_digits(value, digits, rounding="nearest"):
    """``value`` rounded to ``digits`` significant decimal digits, as
    ``(sign, mantissa, exponent)``: ``sign`` is -1, 0 or 1, ``mantissa`` an
    integer with exactly ``digits`` digits (0 for ``value == 0``), and the
    rounded value is ``sign * mantissa * 10**(exponent - digits + 1)``, so
    ``exponent`` is the power of ten of the leading digit.

    ``rounding``: ``"nearest"`` (ties to even mantissa), ``"floor"`` (the
    result is ``<= value``) or ``"ceiling"`` (``>= value``).  Rounding that
    carries into a new digit (``9.99 -> 10.0``) gives mantissa
    ``10**(digits-1)`` with the exponent one higher.

    Cost: one integer division ``p 10^k // q`` (or ``p // (q 10^-k)``) with
    ``k`` chosen from the bit lengths of ``p`` and ``q`` so that the quotient
    has ``digits`` to ``digits + 2`` digits, and linear-time checks of the
    remainder; no conversion of ``p`` or ``q`` to text.  Numerators and
    denominators of tens of thousands of digits take milliseconds.

    >>> decimal_digits(Fraction(1, 3), 5), decimal_digits(Fraction(-2, 3), 3, "floor")
    ((1, 33333, -1), (-1, 667, -1))
    >>> decimal_digits(Fraction(999, 1000), 2, "ceiling"), decimal_digits(Fraction(5, 2), 1)
    ((1, 10, 0), (1, 2, 0))
    """
    from .errors import InputError

    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise InputError(f"digits must be a positive integer, got {digits!r}")
    if rounding not in ROUNDINGS:
        raise InputError(f"rounding must be one of {', '.join(ROUNDINGS)}, got {rounding!r}")
    value = to_fraction(value)
    p, q = value.numerator, value.denominator
    if p == 0:
        return 0, 0, 0
    sign = 1 if p > 0 else -1
    p = abs(p)
    # 2^(bp-1) <= p < 2^bp and 2^(bq-1) <= q < 2^bq, so log10(p/q) lies in
    # ((bp-bq-1) log10 2, (bp-bq+1) log10 2): the leading power of ten is
    # guess+1 or guess+2, guess (one lower) leaves room for float error in the product.
    guess = math.floor((p.bit_length() - q.bit_length() - 1) * _LOG10_2) - 1
    shift = digits - 1 - guess  # quotient floor(|value| 10^shift) has digits .. digits+3 digits
    if shift >= 0:
        quotient, remainder = divmod(p * 10**shift, q)
        divisor = q
    else:
        divisor = q * 10**-shift
        quotient, remainder = divmod(p, divisor)
    # |value| 10^shift = quotient + remainder / divisor
    extra = len(str(quotient)) - digits  # quotient is small: digits + O(1) digits
    if extra < 0:  # cannot happen by the bounds above; kept as a guard
        raise ArithmeticError("decimal_digits: exponent estimate too high; please report this")
    unit = 10**extra
    mantissa, dropped = divmod(quotient, unit)
    exponent = guess + extra
    # the discarded part, as a fraction of one unit of the last kept digit: (dropped + remainder/divisor) / unit
    inexact = dropped != 0 or remainder != 0
    up = False
    if rounding == "nearest":
        twice = 2 * (dropped * divisor + remainder)  # compared with unit * divisor
        whole = unit * divisor
        up = twice > whole or (twice == whole and mantissa % 2 == 1)
    elif inexact:
        up = (rounding == "ceiling") == (sign > 0)  # away from zero for ceiling of +, floor of -
    if up:
        mantissa += 1
        if mantissa == 10**digits:
            mantissa, exponent = 10 ** (digits - 1), exponent + 1
    return sign, mantissa, exponent


def decimal_str(value, digits=17, rounding="nearest"):
    """``value`` in scientific notation with ``digits`` significant digits,
    rounded once from the exact rational (see :func:`decimal_digits`),
    trailing zeros dropped: ``"3.3333e-1"``, ``"1e0"``, ``"0"``.

    >>> decimal_str(Fraction(1, 3), 5), decimal_str(Fraction(1, 3), 5, "ceiling"), decimal_str(Fraction(-1, 8), 3)
    ('3.3333e-1', '3.3334e-1', '-1.25e-1')
    """
    sign, mantissa, exponent = decimal_digits(value, digits, rounding)
    if sign == 0:
        return "0"
    text = str(mantissa)
    tail = text[1:].rstrip("0")
    return f"{'-' if sign < 0 else ''}{text[0]}{'.' + tail if tail else ''}e{exponent}"


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
