"""SQL that renders a row's ``attributes`` object as JSON text inside the database.

Building the JSON in SQLite (``json_object``) or PostgreSQL (``json_build_object``) spares the
server a Python dict per row: a list page is a join of strings the database already made. The
text is made when a row is written and kept in its ``rendered`` column
(``storage/rendered_triggers.py``), so a read only fetches it.
Formats follow §4.6: decimals as two-decimal strings, datetimes as UTC with ``Z`` (fractions only
when present), booleans as JSON booleans, explicit nulls.
"""

from __future__ import annotations

from functools import cache

from optiply.resources import Attribute, Kind, ResourceSpec

_PG_TIMESTAMP = """replace(to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), \
'.000000Z', 'Z')"""


RENDERED = "rendered"
"""The column of every resource table holding its row's attributes JSON (``attributes_sql``)."""


def _sqlite_value(attribute: Attribute, column: str) -> str:
    """The JSON value of ``attribute`` whose stored value the SQL ``column`` gives."""
    if attribute.kind is Kind.BOOLEAN:
        # json() of a constant runs once per statement (SQLite factors constants out), json()
        # of the CASE once per row: about a fifth of rendering a product.
        return f"CASE {column} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"
    if attribute.kind is Kind.DATETIME:
        return f"replace({column}, '.000000Z', 'Z')"
    if attribute.kind in (Kind.EMAILS, Kind.OBJECT):
        return f"json({column})"
    return column


def _postgresql_value(attribute: Attribute, row: str) -> str:
    column = f'{row}"{attribute.column}"'
    if attribute.kind is Kind.DECIMAL:
        return f"{column}::text"
    if attribute.kind is Kind.DATETIME:
        return _PG_TIMESTAMP.format(c=column)
    return column


@cache
def attributes_sql(spec: ResourceSpec, dialect: str, row: str = "") -> str:
    """A SQL expression producing the JSON text of ``spec``'s readable attributes, of the
    columns of ``row`` (a prefix such as ``NEW.``; none: the statement's own row).

    >>> from optiply.resources import get
    >>> attributes_sql(get("accounts"), "sqlite")[:44]
    'json_object(\\'uuid\\', "uuid", \\'name\\', "name", '
    """
    if dialect == "postgresql":
        pairs = ", ".join(f"'{a.name}', {_postgresql_value(a, row)}" for a in spec.readable)
        return f"json_build_object({pairs})::text"
    pairs = ", ".join(
        f"'{a.name}', {_sqlite_value(a, f'{row}{_quoted(a)}')}" for a in spec.readable
    )
    return f"json_object({pairs})"


def _quoted(attribute: Attribute) -> str:
    return f'"{attribute.column}"'


@cache
def values_attributes_sql(spec: ResourceSpec, columns: tuple[str, ...]) -> str:
    """SQLite: ``attributes_sql`` of the rows of a ``VALUES`` list of ``columns`` named ``v``
    (``v.column1`` is the first column's value); NULL for readable columns not among them.

    >>> from optiply.resources import get
    >>> values_attributes_sql(get("accounts"), ("name", "uuid"))[:58]
    "json_object('uuid', v.column2, 'name', v.column1, 'globalL"
    """
    pairs = []
    for attribute in spec.readable:
        found = attribute.column in columns
        value = f"v.column{columns.index(attribute.column) + 1}" if found else "NULL"
        pairs.append(f"'{attribute.name}', {_sqlite_value(attribute, value)}")
    return f"json_object({', '.join(pairs)})"


def rendered_columns(spec: ResourceSpec) -> tuple[str, ...]:
    """The columns ``attributes_sql`` reads: a change of any of them changes the text."""
    return tuple(a.column for a in spec.readable)
