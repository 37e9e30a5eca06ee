"""Shift dates: move every date-time of an account's data by the same whole number of days.

The columns are every stored ``DATETIME`` attribute of the registry (``placed``, ``completed``,
``expectedDeliveryDate``, ``occurred``, ``startDate``, ``createdAt``, ``updatedAt``, …) plus the
deletion time of rows deleted through the API, so the data keeps its shape: an order still
completes two days after it was placed, and was written when it was. One ``UPDATE`` per table,
in one transaction. Whole days keep the time of day (and, by a multiple of 7, the weekday).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, DateTime, String, func, select, type_coerce, update

from optiply.resources import Kind, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.storage import account_data
from optiply.server.storage.account_data import data_specs, table

# The days datetime (and so the API) can hold: the years 1 to 9999.
FIRST_DAY, LAST_DAY = date.min.toordinal(), date.max.toordinal()


class ShiftError(ValueError):
    """A shift that can't be made (nothing to anchor --to-today on, out of range)."""


@dataclass(frozen=True, slots=True)
class ShiftResult:
    """How far the account's dates moved, and how many rows moved per type."""

    account_id: int
    days: int
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The JSON form of the CLI's ``--json`` and of ``POST /sandbox/shift-dates``."""
        return {"accountId": self.account_id, "days": self.days, "rows": self.rows}


@cache
def date_columns(spec: ResourceSpec) -> dict[str, str]:
    """The date-time columns of ``spec`` (column -> the name shown): its stored DATETIME
    attributes, and ``deleted_at``."""
    names = {a.column: a.name for a in spec.stored if a.kind is Kind.DATETIME}
    return {**names, "deleted_at": "deletedAt"}


def shift_dates(
    connection: Connection, account_id: int, *, days: int | None = None, to: date | None = None
) -> ShiftResult:
    """Move the account's date-times by ``days``, or so the latest sale (the ``placed`` of its
    newest live sell order) falls on the day ``to`` (the caller owns the transaction).

    Raises:
        UnknownAccount: when there is no such account.
        ShiftError: with ``to`` and no sell orders; when a date would leave years 1 to 9999.
    """
    if (days is None) == (to is None):
        raise ValueError("give days or to")
    account_data.lock(connection, account_id)
    if to is not None:
        latest = latest_sale(connection, account_id)
        if latest is None:
            raise ShiftError(
                f"account {account_id} has no sell orders to bring to today: give a number of days"
            )
        days = (to - latest.date()).days
    assert days is not None
    if abs(days) > LAST_DAY - FIRST_DAY:
        raise ShiftError(f"shifting by {days} days moves every date out of the years 1 to 9999")
    if days == 0:
        return ShiftResult(account_id, 0, {spec.type: 0 for spec in data_specs()})
    _check_range(connection, account_id, days)
    moved: dict[str, int] = {}
    with account_data.roomy_cache(connection):
        for spec in data_specs():
            t = table(spec)
            values = {
                name: _shifted(t.c[name], days, connection.dialect.name)
                for name in date_columns(spec)
            }
            statement = update(t).where(t.c.account_id == account_id).values(values)
            moved[spec.type] = connection.execute(statement).rowcount
    return ShiftResult(account_id, days, moved)


def latest_sale(connection: Connection, account_id: int) -> datetime | None:
    """When the account's newest live sell order was placed."""
    orders = table(get_spec("sellOrders"))
    statement = select(func.max(orders.c.placed)).where(
        orders.c.account_id == account_id, orders.c.deleted_at.is_(None)
    )
    found: datetime | None = connection.execute(statement).scalar()
    return found


def _shifted(column: Column[Any], days: int, dialect: str) -> Any:
    if dialect == "postgresql":
        return type_coerce(column, DateTime(timezone=True)) + timedelta(days=days)
    # SQLite keeps fixed-width text (storage/columns.py): move the date and time part and keep
    # the microseconds and the Z as they are; NULL stays NULL.
    moved = func.strftime("%Y-%m-%dT%H:%M:%S", func.substr(column, 1, 19), f"{days:+d} days")
    return type_coerce(moved, String()) + func.substr(column, 20)


def _check_range(connection: Connection, account_id: int, days: int) -> None:
    """Refuse a shift that moves a date-time out of the years 1 to 9999."""
    for spec in data_specs():
        t = table(spec)
        columns = date_columns(spec)
        bounds = select(
            *(func.min(t.c[name]) for name in columns), *(func.max(t.c[name]) for name in columns)
        ).where(t.c.account_id == account_id)
        found: list[datetime | None] = list(connection.execute(bounds).one())
        for index, value in enumerate(found):
            if value is not None and not FIRST_DAY <= value.toordinal() + days <= LAST_DAY:
                name = list(columns.values())[index % len(columns)]
                raise ShiftError(
                    f"shifting by {days} days would move {spec.type} {name} "
                    f"{value.isoformat()} out of the years 1 to 9999"
                )
