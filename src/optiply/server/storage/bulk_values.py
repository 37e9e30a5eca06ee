"""How ``storage.bulk`` binds values: each column type's own conversion (what the API's writes
bind), with faster paths for the values a bulk load repeats, and PostgreSQL's COPY types."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Dialect, text
from sqlalchemy.dialects import sqlite

from optiply.server.storage.columns import Money, UtcDateTime

Converter = Callable[[Any], Any]


@cache
def sqlite_dialect() -> Dialect:
    """SQLite's dialect with SQLAlchemy's defaults (as ``make_engine``'s engines have it)."""
    dialect: Dialect = sqlite.dialect()
    return dialect


def sqlite_converter(column_type: Any, dialect: Dialect) -> Converter | None:
    """What the column's type binds on SQLite, with faster paths for the common values."""
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    if processor is None:
        return None
    if isinstance(column_type, Boolean):
        return _true_bools(processor)  # sqlite3 binds True and False as 1 and 0 itself
    if isinstance(column_type, UtcDateTime):
        return _utc_text(processor)
    if isinstance(column_type, Money):
        return _cents_text(processor)
    if isinstance(column_type, JSON):  # dicts and lists: mutable, so no memo
        default = getattr(dialect, "_json_serializer", None) is None  # json.dumps
        return _flat_json(processor) if default else processor
    return _last_one(processor)


def _true_bools(processor: Converter) -> Converter | None:
    """None (no conversion) when the processor binds True as 1 and False as 0, as sqlite3
    itself does."""
    return None if (processor(True), processor(False)) == (1, 0) else processor


def _utc_text(processor: Converter) -> Converter:
    """``sqlite_timestamp`` of a UTC datetime, without converting it to UTC first.

    >>> from datetime import datetime
    >>> _utc_text(print)(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    '2024-01-02T03:04:05.000000Z'
    """

    last: list[Any] = [None, None]  # the previous value and its text: a row's created_at
    # and updated_at are often one object, and so is an order's time on each of its lines

    def convert(value: Any) -> Any:
        if value is not last[0]:
            if value.tzinfo is UTC:
                last[1] = value.isoformat(timespec="microseconds")[:-6] + "Z"
            else:
                last[1] = processor(value)
            last[0] = value
        return last[1]

    return convert


def _cents_text(processor: Converter) -> Converter:
    """``Money`` on SQLite: a decimal with two places is its own text already.

    >>> from decimal import Decimal
    >>> _cents_text(print)(Decimal("12.50")), _cents_text(str)(Decimal("7"))
    ('12.50', '7')
    """

    def convert(value: Any) -> Any:
        text = str(value)
        return text if text[-3:-2] == "." else processor(value)  # plain, two places

    return convert


_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but " and \: JSON as it is


def _flat_json(processor: Converter) -> Converter:
    """``json.dumps`` of a one-member object of plain strings (a ``remoteIdMap``), by hand.

    >>> _flat_json(print)({"demo": "SO-1"})
    '{"demo": "SO-1"}'
    """

    def convert(value: Any) -> Any:
        if type(value) is dict and len(value) == 1:
            ((key, item),) = value.items()
            if type(key) is str and type(item) is str:
                if _PLAIN.fullmatch(key) and _PLAIN.fullmatch(item):
                    return f'{{"{key}": "{item}"}}'
        return processor(value)

    return convert


def _last_one(convert: Converter) -> Converter:
    """``convert``, answering at once for the same object as the previous call (a row's
    ``created_at`` and ``updated_at``, an order's time on each of its lines)."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


JSON_OIDS = frozenset({114, 3802})  # json, jsonb


def pg_type_oids(connection: Connection, table: str) -> dict[str, int]:
    found = connection.execute(_COLUMN_TYPES, {"table": table})
    return {str(name): int(oid) for name, oid in found}


@cache
def jsonb() -> Converter:
    """dicts and lists as psycopg's ``Jsonb``, by orjson (psycopg is there only with the
    postgres extra; jsonb keeps no formatting, so the serializer does not matter)."""
    from psycopg.types.json import Jsonb

    def convert(value: Any) -> Any:
        return Jsonb(value, dumps=orjson.dumps)

    return convert


_COLUMN_TYPES = text(
    "SELECT attname, atttypid FROM pg_attribute "
    "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"
)
