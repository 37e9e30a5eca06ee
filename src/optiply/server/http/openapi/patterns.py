"""Patterns of the values the server reads and renders: numbers within digit limits and
bounds, words in any case, ids, date-times, and strings without NUL.

They are ECMA-262 regular expressions that Python's re reads the same way. They describe the
spellings the server reads; it also reads a few they leave out (spaces around numbers,
exponents, numeric strings of 19 digits), as the descriptions say.
"""

from __future__ import annotations

from decimal import Decimal

from optiply.resources import Attribute

DEFAULT_DIGITS = 17  # integer digits of a decimal without a limit of its own (types._decimal)
_TEXT_DIGITS = 18  # numeric strings are documented up to 18 digits, always within 64 bits


def _digit_range(low: str, high: str) -> str:
    """A pattern for the digit strings of one length from ``low`` to ``high``."""
    rest = len(low) - 1
    if low == "0" * len(low) and high == "9" * len(high):
        return _any_digits(len(low))
    if low[0] == high[0]:
        return low[0] + _digit_range(low[1:], high[1:])
    parts = [low[0] + _digit_range(low[1:], "9" * rest)]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(_digit_class(int(low[0]) + 1, int(high[0]) - 1) + _any_digits(rest))
    parts.append(high[0] + _digit_range("0" * rest, high[1:]))
    return "(?:" + "|".join(parts) + ")"


def _digit_class(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


def _any_digits(count: int) -> str:
    return {0: "", 1: "[0-9]"}.get(count, f"[0-9]{{{count}}}")


def _natural_range(low: int, high: int) -> str:
    """A pattern for the numbers ``low`` to ``high`` (0 <= low <= high), no leading zeros.

    >>> _natural_range(1, 365)
    '(?:[1-9][0-9]{0,1}|(?:1[0-9]{2}|2[0-9]{2}|3(?:0[0-9]|[1-5][0-9]|6(?:0|[1-4]|5))))'
    >>> _natural_range(0, 1), _natural_range(1, 10**18 - 1)
    ('(?:0|1)', '[1-9][0-9]{0,17}')
    """
    parts = ["0"] if low == 0 else []
    low = max(low, 1)
    full, partial = [], []  # full: widths whose every number is in range
    for width in range(len(str(low)), len(str(high)) + 1):
        start, end = max(low, 10 ** (width - 1)), min(high, 10**width - 1)
        if start == 10 ** (width - 1) and end == 10**width - 1:
            full.append(width)
        elif start <= end:
            partial.append(_digit_range(str(start), str(end)))
    if full:  # one [1-9][0-9]{a,b} for them all
        fewest, most = full[0] - 1, full[-1] - 1
        tail = _any_digits(most) if fewest == most else f"[0-9]{{{fewest},{most}}}"
        parts.append("[1-9]" + tail)
    parts += partial
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def integer_text(low: int, high: int) -> str:
    r"""Integers from ``low`` to ``high`` as text (sign, leading zeros and ``.0`` allowed), at
    most ``_TEXT_DIGITS`` digits; unanchored.

    >>> print(integer_text(0, 1))
    (?:\+?0*(?:0|1))(?:\.0*)?
    """
    widest = 10**_TEXT_DIGITS - 1
    low, high = max(low, -widest), min(high, widest)
    parts = []
    if high >= 0:
        parts.append(r"\+?0*" + _natural_range(max(low, 0), high))
    if low < 0:
        parts.append("-0*" + _natural_range(max(1, -high), -low))
    return "(?:" + "|".join(parts) + r")(?:\.0*)?"


def decimal_text(attribute: Attribute, *, bounded: bool) -> str:
    """Plain decimal notation within the digit limit (and, when ``bounded``, the attribute's
    bounds, as they apply after rounding toward zero to two places); unanchored."""
    digits = attribute.integer_digits or DEFAULT_DIGITS
    low, high = (attribute.minimum, attribute.maximum) if bounded else (None, None)
    sign = "[+-]?" if low is None or low < 0 else r"\+?"
    numbers = [rf"[0-9]{{1,{digits}}}(?:\.[0-9]*)?", r"\.[0-9]+"]
    if high is not None:  # below 10^k: at most k digits; 10^k itself if it rounds to .00
        top = _power_of_ten(high)
        numbers[0] = rf"[0-9]{{1,{top}}}(?:\.[0-9]*)?"
        numbers.append(f"{high:f}" + r"(?:\.(?:0{0,2}|00[0-9]*))?")
    return f"{sign}0*(?:{'|'.join(numbers)})"


def rendered_decimal(attribute: Attribute) -> str:
    """What a response holds: exactly two decimals, within the digit limit and bounds."""
    digits = attribute.integer_digits or DEFAULT_DIGITS
    if attribute.maximum is not None:
        top = _power_of_ten(attribute.maximum)
        return rf"^(?:[0-9]{{1,{top}}}\.[0-9]{{2}}|{attribute.maximum:f}\.00)$"
    sign = "-?" if attribute.minimum is None or attribute.minimum < 0 else ""
    return rf"^{sign}[0-9]{{1,{digits}}}\.[0-9]{{2}}$"


def _power_of_ten(value: int | Decimal) -> int:
    exponent = len(str(int(value))) - 1
    if value != 10**exponent:
        raise NotImplementedError(f"a decimal maximum must be a power of ten, got {value}")
    return exponent


def any_case(words: list[str]) -> str:
    """``words`` in any case; unanchored.

    >>> any_case(["on", "close_out"])
    '(?:[oO][nN]|[cC][lL][oO][sS][eE]_[oO][uU][tT])'
    """
    spelled = ["".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in words]
    return "(?:" + "|".join(spelled) + ")"


def anchored(text: str) -> str:
    return f"^{text}$"


NO_NUL = r"^[^\x00]*$"  # no string value may contain a NUL character
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"  # required strings: some character not a space
ID_TEXT = r"^[1-9][0-9]{0,18}$"  # ids: positive 64-bit integers, as strings
NULL = any_case(["null"])
BOOLEAN_TEXT = any_case(["true", "false"])
# Date-times a filter reads (fromisoformat): the years 1000-8999 keep every offset in range.
DATETIME_TEXT = (
    r"[1-8][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])?)?"
)
RENDERED_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$"
