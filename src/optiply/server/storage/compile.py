"""Compile a parsed ``ListQuery`` into SQLAlchemy WHERE conditions and ORDER BY keys.

The only place filters and sort keys become SQL. Results are the same on SQLite and
PostgreSQL; the differences in storage (see ``columns.py``) are bridged here:

- Decimals are text on SQLite, so they are compared and ordered as ``CAST(... AS FLOAT)`` there
  (exact for up to 15 significant digits, i.e. for every realistic amount).
- Date-times are fixed-width UTC text on SQLite; values are bound through the column type, so
  text comparison is time comparison.
- NULLs sort as the largest value in both (ascending: last; descending: first), PostgreSQL's
  default, rendered explicitly so SQLite agrees.
- ``filter[remoteId]`` (an extension) selects ids from the ``remote_ids`` index
  (``remote_id_triggers`` says why) rather than comparing a column.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Float,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from optiply.query.ast import Filter, ListQuery, SortKey
from optiply.query.operators import Operator
from optiply.resources.spec import Attribute, Kind
from optiply.server.storage.tables import remote_ids

_TEXT_KINDS = (Kind.STRING, Kind.UUID, Kind.ENUM)
_PG_TIMESTAMP_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'  # the SQLite storage form
_LIKE_ESCAPE = "\\"


def where(
    table: Table, query: ListQuery, dialect: str, account_ids: Collection[int] = ()
) -> list[ColumnElement[bool]]:
    """The conditions (to be ANDed) selecting the rows of ``table`` that match ``query``.

    Semantics per operator:

    - ``EQ v1 v2``: ``col IN (v1, v2)``; a ``null`` value adds ``OR col IS NULL``.
    - ``NEQ v``: ``col IS NULL OR col <> v``. Rows without a value do differ from ``v``, and
      plain SQL three-valued logic would hide them, which surprises clients. ``NEQ null`` is
      ``col IS NOT NULL`` (and, with other values, excludes the NULL rows again).
    - ``LT``/``LE``/``GT``/``GE``: plain comparisons; NULL rows never match.
    - ``LIKE v`` (Q15): case-insensitive. A value without ``%`` or ``_`` matches anywhere in the
      text (contains); otherwise it is the pattern itself, with ``\\`` escaping a wildcard.
      Non-text columns are matched on their text form (date-times as
      ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, booleans as ``true``/``false``, JSON as JSON text).
    - ``remoteId`` (a filter with a ``key``): ``id IN (the rows of the account whose entry under
      key is one of the values)``, an index probe of ``remote_ids``.

    Args:
        table: The resource table (``RESOURCE_TABLES[spec.type]``).
        query: The parsed query; only its filters are used.
        dialect: The SQLAlchemy dialect name, ``"sqlite"`` or ``"postgresql"``.
        account_ids: The accounts in scope: they narrow the remote-id probe (the index leads
            with the account); the caller scopes the rows themselves.

    Returns:
        One condition per filter.
    """
    return [
        _remote_ids(table, condition, account_ids)
        if condition.key is not None
        else _condition(table, condition, dialect)
        for condition in query.filters
    ]


def _remote_ids(
    table: Table, condition: Filter, account_ids: Collection[int]
) -> ColumnElement[bool]:
    """``id IN (SELECT row_id FROM remote_ids WHERE ...)`` for a ``filter[remoteId]``."""
    values = list(condition.values)
    found = select(remote_ids.c.row_id).where(
        remote_ids.c.resource == table.name,
        remote_ids.c.coupling == condition.key,
        remote_ids.c.remote_id == values[0]
        if len(values) == 1
        else remote_ids.c.remote_id.in_(values),
    )
    if account_ids:
        ids = list(account_ids)
        owner = remote_ids.c.account_id
        found = found.where(owner == ids[0] if len(ids) == 1 else owner.in_(ids))
    return table.c.id.in_(found)


def after(table: Table, keys: Sequence[SortKey], names: Sequence[str], dialect: str) -> Any:
    """Rows strictly after a position in the order ``keys`` (keyset paging), the position's
    values bound at execution as the parameters ``names`` (one per key, in order).

    ``(a, b) > (x, y)`` expands to ``a >= x AND (a > x OR (a = x AND b > y))``, each key in its
    own direction. The leading ``a >= x`` is implied by the rest; it is there for the planner,
    which sees each use of ``x`` as a separate parameter and so can't start an index range at the
    position from the OR alone: without it a page deep in a walk by ``updatedAt`` scans every
    row before the position (about 90 ms a page at a depth of 900,000 rows on SQLite, instead of
    0.1 ms).
    """
    columns = [_comparable(table, key.attribute, dialect) for key in keys]
    values = [
        _parameter(table, key.attribute, name, dialect)
        for key, name in zip(keys, names, strict=True)
    ]
    alternatives = []
    for index, key in enumerate(keys):
        column, value = columns[index], values[index]
        step = column < value if key.descending else column > value
        equal = [c == v for c, v in zip(columns[:index], values[:index], strict=True)]
        alternatives.append(and_(*equal, step))
    if len(keys) == 1:
        return alternatives[0]
    first, column, value = keys[0], columns[0], values[0]
    return and_(column <= value if first.descending else column >= value, or_(*alternatives))


def sort_columns(table: Table, keys: Sequence[SortKey]) -> list[ColumnElement[Any]]:
    """The stored columns of ``keys``, to read the position of a page's last row."""
    return [table.c[key.attribute.column] for key in keys]


def order_by(table: Table, query: ListQuery, dialect: str) -> list[ColumnElement[Any]]:
    """The ORDER BY keys: the query's sort keys, then ``id`` ascending as the tie breaker (Q24).

    Args:
        table: The resource table.
        query: The parsed query; only its sort keys are used.
        dialect: The SQLAlchemy dialect name.

    Returns:
        The keys, never empty, ending with ``id`` unless ``id`` is already a sort key.
    """
    keys = [_sort_key(table, key, dialect) for key in query.sort]
    if not any(key.attribute.kind is Kind.ID for key in query.sort):
        keys.append(table.c.id.asc())
    return keys


def _sort_key(table: Table, key: SortKey, dialect: str) -> ColumnElement[Any]:
    expression = _comparable(table, key.attribute, dialect)
    if key.descending:
        ordered = expression.desc()
        return ordered.nulls_first() if key.attribute.nullable else ordered
    ordered = expression.asc()
    return ordered.nulls_last() if key.attribute.nullable else ordered


def _condition(table: Table, condition: Filter, dialect: str) -> ColumnElement[bool]:
    attribute, operator = condition.attribute, condition.operator
    if operator is Operator.LIKE:
        return _like(table, attribute, condition.values[0], dialect)
    if operator is Operator.EQ:
        return _equal(table, attribute, condition.values, dialect)
    if operator is Operator.NEQ:
        return _not_equal(table, attribute, condition.values, dialect)
    left = _comparable(table, attribute, dialect)
    right = _value(table, attribute, condition.values[0], dialect)
    if operator is Operator.LT:
        return left < right
    if operator is Operator.LE:
        return left <= right
    if operator is Operator.GT:
        return left > right
    return left >= right


def _equal(
    table: Table, attribute: Attribute, values: tuple[Any, ...], dialect: str
) -> ColumnElement[bool]:
    column = table.c[attribute.column]
    present = [value for value in values if value is not None]
    conditions: list[ColumnElement[bool]] = []
    if present:
        conditions.append(_in(table, attribute, present, dialect))
    if None in values:
        conditions.append(column.is_(None))
    return or_(*conditions) if len(conditions) > 1 else conditions[0]


def _not_equal(
    table: Table, attribute: Attribute, values: tuple[Any, ...], dialect: str
) -> ColumnElement[bool]:
    column = table.c[attribute.column]
    present = [value for value in values if value is not None]
    if not present:
        return column.is_not(None)
    different = ~_in(table, attribute, present, dialect)
    if None in values:
        return and_(column.is_not(None), different)
    if attribute.nullable:
        return or_(column.is_(None), different)
    return different


def _in(table: Table, attribute: Attribute, values: list[Any], dialect: str) -> ColumnElement[bool]:
    """``column = value`` for one value, ``column IN (...)`` for several."""
    left = _comparable(table, attribute, dialect)
    if _as_float(attribute, dialect):
        right = [_value(table, attribute, value, dialect) for value in values]
        return left == right[0] if len(right) == 1 else left.in_(right)
    return left == values[0] if len(values) == 1 else left.in_(values)


def _like(table: Table, attribute: Attribute, value: str, dialect: str) -> ColumnElement[bool]:
    text = _text(table, attribute, dialect)
    if "%" not in value and "_" not in value:
        return text.icontains(value, autoescape=True)
    if _ends_with_lone_escape(value):
        value += _LIKE_ESCAPE  # a trailing "\" stands for itself (PostgreSQL would reject it)
    return text.ilike(value, escape=_LIKE_ESCAPE)


def _ends_with_lone_escape(value: str) -> bool:
    """Whether ``value`` ends with an odd number of backslashes."""
    return (len(value) - len(value.rstrip(_LIKE_ESCAPE))) % 2 == 1


def _as_float(attribute: Attribute, dialect: str) -> bool:
    """Whether the attribute's stored form must be cast to compare numerically (SQLite text)."""
    return attribute.kind is Kind.DECIMAL and dialect == "sqlite"


def _comparable(table: Table, attribute: Attribute, dialect: str) -> ColumnElement[Any]:
    """The column, in a form whose SQL comparison and order match the values' order."""
    column = table.c[attribute.column]
    if _as_float(attribute, dialect):
        return cast(column, Float)
    return column


def _value(table: Table, attribute: Attribute, value: Any, dialect: str) -> ColumnElement[Any]:
    """A bound value converted by the column's type, then cast like ``_comparable``."""
    column = table.c[attribute.column]
    bound = literal(value, column.type)
    if _as_float(attribute, dialect):
        return cast(bound, Float)
    return bound


def _parameter(table: Table, attribute: Attribute, name: str, dialect: str) -> ColumnElement[Any]:
    """A parameter bound at execution, converted by the column's type, cast like ``_value``."""
    bound = bindparam(name, type_=table.c[attribute.column].type)
    if _as_float(attribute, dialect):
        return cast(bound, Float)
    return bound


def _text(table: Table, attribute: Attribute, dialect: str) -> ColumnElement[Any]:
    """The column as text, the same on both dialects, for LIKE."""
    column = table.c[attribute.column]
    kind = attribute.kind
    if kind in _TEXT_KINDS:
        return column
    if kind is Kind.BOOLEAN:
        return case((column.is_(None), null()), (column, "true"), else_="false")
    if kind is Kind.DATETIME and dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), _PG_TIMESTAMP_TEXT)
    return cast(column, String)
