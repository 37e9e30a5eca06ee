"""Attribute values: loose input parsing, single-attribute rules and the canonical text forms.

``accept`` is the API's reading of one JSON request value: the canonical Python value, or
``IGNORED`` when the API drops the value without an error (a boolean ``resumingPurchase``, Q21).
The server and the target both read values through it, so a value the server accepts is one the
target accepts, in the same canonical form. ``coerce`` is the same without the ignore rule, and
``parse_text`` reads a query-string value (§5.2). They raise ``InvalidValue`` with a message
meant for a JSON:API error ``detail``. Canonical values: ``str``, ``int``, ``Decimal`` (two
places), ``bool``, timezone-aware UTC ``datetime``, ``list[str]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final

from optiply.resources.spec import Attribute, Kind

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
CENT = Decimal("0.01")

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+(\.0*)?")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")  # an unencoded '+' in a query string


class InvalidValue(ValueError):
    """A value that does not fit its attribute; ``str(error)`` is the detail."""


class _Ignored(Enum):
    IGNORED = "ignored"


IGNORED: Final = _Ignored.IGNORED
"""What ``accept`` returns for a value the API silently drops."""


def accept(attribute: Attribute, value: Any) -> Any:
    """The API's reading of a JSON value for ``attribute``: canonical, or ``IGNORED``.

    >>> from optiply.resources.registry import get
    >>> accept(get("products").attribute("resumingPurchase"), False)
    <_Ignored.IGNORED: 'ignored'>
    >>> accept(get("products").attribute("stockLevel"), 12.0)
    12
    """
    if attribute.ignore_booleans and isinstance(value, bool):
        return IGNORED
    return coerce(attribute, value)


def coerce(attribute: Attribute, value: Any) -> Any:
    """Parse a JSON request value for ``attribute`` and check its single-attribute rules.

    >>> from optiply.resources.registry import get
    >>> coerce(get("products").attribute("price"), "12.349")
    Decimal('12.34')
    >>> coerce(get("products").attribute("stockLevel"), "7")
    7
    """
    if value is None:
        if not attribute.nullable:
            raise InvalidValue(f"{attribute.name} must not be null")
        return None
    parsed = _COERCERS[attribute.kind](attribute, value)
    check(attribute, parsed)
    return parsed


def parse_text(attribute: Attribute, text: str) -> Any:
    """Parse a query-string value (a filter) for ``attribute``; no range rules apply.

    >>> from optiply.resources.registry import get
    >>> parse_text(get("products").attribute("status"), "ENABLED")
    'enabled'
    """
    kind = attribute.kind
    if "\x00" in text:
        raise InvalidValue("filter values must not contain NUL characters")
    if kind in (Kind.ID, Kind.INTEGER, Kind.REFERENCE):
        return _integer(attribute, text, positive_ids=False)
    if kind is Kind.DECIMAL:
        return _decimal(attribute, text)
    if kind is Kind.BOOLEAN:
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidValue(f"'{text}' is not a boolean (true or false)")
    if kind is Kind.DATETIME:
        return parse_datetime(_SPACE_OFFSET.sub(r"+\1", text.strip()))
    if kind is Kind.ENUM:
        return _enum(attribute, text)
    if kind is Kind.UUID:
        return text.strip().lower()
    return text


def check(attribute: Attribute, value: Any) -> None:
    """Apply the single-attribute rules (ranges, lengths) to a canonical value."""
    if attribute.minimum is not None and value < attribute.minimum:
        raise InvalidValue(_range_message(attribute))
    if attribute.maximum is not None and value > attribute.maximum:
        raise InvalidValue(_range_message(attribute))
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValue(f"{attribute.name} must not contain NUL characters")
        if _SURROGATE.search(value):  # "\ud800" in JSON: no character, and no database takes it
            raise InvalidValue(f"{attribute.name} must be text: it holds a lone UTF-16 surrogate")
        if attribute.max_length is not None and len(value) > attribute.max_length:
            raise InvalidValue(
                f"{attribute.name} must be at most {attribute.max_length} characters long"
            )
        if attribute.exact_length is not None and len(value) != attribute.exact_length:
            raise InvalidValue(
                f"{attribute.name} must be exactly {attribute.exact_length} characters long"
            )
        if attribute.required and not value.strip():
            raise InvalidValue(f"{attribute.name} must not be blank")


def _range_message(attribute: Attribute) -> str:
    low, high = attribute.minimum, attribute.maximum
    nullable = "null or " if attribute.nullable else ""
    if low is not None and high is not None:
        if high == low + 1 and isinstance(low, int):
            return f"{attribute.name} must be {nullable}{low} or {high}"
        return f"{attribute.name} must be {nullable}between {low} and {high}, inclusive"
    if low is not None:
        return f"{attribute.name} must be {nullable}greater than or equal to {low}"
    return f"{attribute.name} must be {nullable}less than or equal to {high}"


def parse_datetime(text: str) -> datetime:
    """Parse ISO-8601 with ``Z``, an offset or no zone (UTC), any fraction, or a date alone.

    >>> parse_datetime("2024-03-05T10:00:00.1234567+01:00").isoformat()
    '2024-03-05T09:00:00.123456+00:00'
    >>> parse_datetime("0001-01-01T00:00:00+01:00")
    Traceback (most recent call last):
    optiply.resources.types.InvalidValue: '0001-01-01T00:00:00+01:00' is before the year 1 in UTC
    """
    cleaned = _LONG_FRACTION.sub(r"\1", text.strip())
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidValue(f"'{text}' is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an offset moves it past datetime's years 1 to 9999
        side = "before the year 1" if parsed.year == 1 else "after the year 9999"
        raise InvalidValue(f"'{text}' is {side} in UTC") from None


def format_datetime(value: datetime) -> str:
    """The wire form: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (docs/behaviour.md, Responses).

    >>> format_datetime(parse_datetime("2024-01-02T03:04:05+00:00"))
    '2024-01-02T03:04:05Z'
    """
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.removesuffix(".000000") + "Z"


def format_decimal(value: Decimal) -> str:
    """A decimal's wire form: a string with exactly two places (docs/behaviour.md, Responses)."""
    return str(value.quantize(CENT, rounding=ROUND_DOWN))


def _integer(attribute: Attribute, value: Any, *, positive_ids: bool = True) -> int:
    if isinstance(value, bool):
        raise InvalidValue(f"{attribute.name} must be an integer, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):  # Decimal: a JSON reader that keeps decimals
        number = _whole(attribute, value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(Decimal(value.strip()))
    else:
        raise InvalidValue(f"{attribute.name} must be an integer, got {_show(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidValue(f"{attribute.name} is out of the 64-bit integer range")
    if positive_ids and attribute.kind in (Kind.REFERENCE, Kind.ID) and number < 1:
        raise InvalidValue(f"{attribute.name} must be a positive id, got {number}")
    return number


def _whole(attribute: Attribute, value: float | Decimal) -> int:
    """An integer written as a number with a fraction of zeros (``12.0``)."""
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite() or number != number.to_integral_value():
        raise InvalidValue(f"{attribute.name} must be an integer, got {_show(value)}")
    if number.adjusted() > 19:  # far outside 64 bits: never build the huge int
        raise InvalidValue(f"{attribute.name} is out of the 64-bit integer range")
    return int(number)


def _decimal(attribute: Attribute, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValue(f"{attribute.name} must be a number, not a boolean")
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int | str):
            number = Decimal(value.strip() if isinstance(value, str) else value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidValue(f"{attribute.name} must be a number, got {_show(value)}") from None
    if not number.is_finite():
        raise InvalidValue(f"{attribute.name} must be a finite number, got {_show(value)}")
    digits = attribute.integer_digits or 17
    if number and number.adjusted() >= digits:  # no arithmetic: 1e1000000 would overflow
        raise InvalidValue(f"{attribute.name} must have at most {digits} digits before the point")
    rounded = number.quantize(CENT, rounding=ROUND_DOWN)  # §8.4: round toward zero
    return rounded if rounded else abs(rounded)  # never "-0.00"


def _boolean(attribute: Attribute, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"{attribute.name} must be a boolean, got {_show(value)}")


def _string(attribute: Attribute, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidValue(f"{attribute.name} must be a string, got {_show(value)}")


def _datetime(attribute: Attribute, value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidValue(f"{attribute.name} must be an ISO-8601 date-time, got {_show(value)}")
    try:
        return parse_datetime(value)
    except InvalidValue:
        raise InvalidValue(
            f"{attribute.name} must be an ISO-8601 date-time, got {value!r}"
        ) from None


def _enum(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{attribute.name} must be a string, got {_show(value)}")
    lowered = value.strip().lower()
    lowered = dict(attribute.choice_aliases).get(lowered, lowered)
    if lowered not in attribute.choices:
        allowed = ", ".join(attribute.choices)
        raise InvalidValue(f"{attribute.name} must be one of {allowed}; got {value!r}")
    return lowered


def _emails(attribute: Attribute, value: Any) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:  # a JSON array sent as text (a CSV or a pandas column)
            value = json.loads(value)
        except ValueError:
            raise InvalidValue(f"{attribute.name} is not a valid JSON array of addresses") from None
    elif isinstance(value, str):
        value = [part for part in re.split(r"[,;]", value) if part.strip()]
    if not isinstance(value, list):
        raise InvalidValue(f"{attribute.name} must be an array of e-mail addresses")
    addresses = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidValue(f"{attribute.name} must be an array of e-mail addresses")
        address = item.strip()
        if "\x00" in address:
            raise InvalidValue(f"Supplier email {address!r} is not a valid address")
        # Imported here: it compiles its grammar on import (~30 ms), and most callers (the
        # target's start-up) never check an address.
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            raise InvalidValue(f"Supplier email {address!r} is not a valid address") from None
        addresses.append(address)
    return addresses


def _reject(attribute: Attribute, value: Any) -> Any:
    raise InvalidValue(f"{attribute.name} cannot be written")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_COERCERS: dict[Kind, Callable[[Attribute, Any], Any]] = {
    Kind.ID: _integer,
    Kind.INTEGER: _integer,
    Kind.REFERENCE: _integer,
    Kind.DECIMAL: _decimal,
    Kind.BOOLEAN: _boolean,
    Kind.STRING: _string,
    Kind.DATETIME: _datetime,
    Kind.UUID: _string,
    Kind.ENUM: _enum,
    Kind.EMAILS: _emails,
    Kind.OBJECT: _reject,
    Kind.LINES: _reject,
}
