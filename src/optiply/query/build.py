"""Turn a ``ListQuery`` back into query items: the inverse of ``optiply.query.parse``.

The client uses it, so both sides of the wire share one grammar. For a normalized query (EQ/NEQ
filters merged per attribute, values distinct, no text value spelled ``null``),
``parse(build(query), spec) == query``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from optiply.query.ast import Filter, ListQuery
from optiply.query.operators import Operator
from optiply.resources.types import format_datetime, format_decimal


def build(query: ListQuery) -> list[tuple[str, str]]:
    """The query items that ask for ``query``, in a stable order.

    EQ filters use the short ``filter[attr]`` form, the others ``filter[attr][OP]``; several
    values become repeated keys. ``page[limit]`` is always sent, ``page[offset]`` when not 0.

    Args:
        query: The filters, sort keys and page to encode.

    Returns:
        ``(key, value)`` pairs, ready for URL encoding.

    >>> from optiply.query.parse import parse
    >>> from optiply.resources.registry import get
    >>> query = parse([("filter[price][ge]", "9.5"), ("filter[id]", "1,2"), ("sort", "-id")],
    ...               get("products"))
    >>> build(query)  # doctest: +NORMALIZE_WHITESPACE
    [('filter[price][GE]', '9.50'), ('filter[id]', '1'), ('filter[id]', '2'),
     ('sort', '-id'), ('page[limit]', '50')]
    """
    items = [item for condition in query.filters for item in _filter(condition)]
    if query.sort:
        keys = ",".join(("-" if key.descending else "") + key.attribute.name for key in query.sort)
        items.append(("sort", keys))
    items.append(("page[limit]", str(query.page.limit)))
    if query.page.offset:
        items.append(("page[offset]", str(query.page.offset)))
    return items


def _filter(condition: Filter) -> list[tuple[str, str]]:
    key = f"filter[{condition.attribute.name}]"
    if condition.operator is not Operator.EQ:
        key += f"[{condition.operator}]"
    return [(key, format_value(value)) for value in condition.values]


def format_value(value: Any) -> str:
    """The query-string text of a canonical filter value.

    >>> [format_value(v) for v in (None, True, Decimal("1.5"), 7, "ENABLED")]
    ['null', 'true', '1.50', '7', 'ENABLED']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)
