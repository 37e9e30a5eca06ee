"""Column types that store the same values on SQLite and PostgreSQL.

SQLite keeps date-times as fixed-width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, so text order
is time order) and decimals as canonical text (exact at 19 digits, where REAL is not);
PostgreSQL uses ``timestamptz`` and ``numeric(19,2)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.types import TypeDecorator, TypeEngine

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: an alias of the rowid
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def sqlite_timestamp(value: datetime) -> str:
    """The stored SQLite text of a date-time."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC date-time."""

    impl = String(27)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(27))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return sqlite_timestamp(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromisoformat(value)  # our fixed-width text, with its Z


class Money(TypeDecorator[Decimal]):
    """A decimal with two places and up to 17 integer digits."""

    impl = Numeric(19, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(19, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return str(value.quantize(Decimal("0.01")))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
