"""``storage.dates``: every date-time of an account's data moved by the same whole days (to the
microsecond), the latest sale brought to a given day, nothing moved out of range or elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from live import BACKENDS
from optiply.resources import get as get_spec
from optiply.server.auth import admin
from optiply.server.storage import dates
from optiply.server.storage.account_data import ACCOUNTS, UnknownAccount, data_specs, table
from optiply.server.storage.columns import UtcDateTime
from small_shop import T0, build, create, delete, private_database, rows


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from private_database(request.param, tmp_path_factory.mktemp("data"))


@pytest.fixture
def account(engine: Engine) -> int:
    return admin.create_account(engine, name="Shop").id


def shift(engine: Engine, account: int, **how: Any) -> dates.ShiftResult:
    with engine.begin() as connection:
        return dates.shift_dates(connection, account, **how)


def datetime_columns() -> dict[str, set[str]]:
    """Every column holding a date-time, per type, from the tables themselves."""
    return {
        spec.type: {c.name for c in table(spec).columns if isinstance(c.type, UtcDateTime)}
        for spec in data_specs()
    }


def moved(before: dict[str, list[dict[str, Any]]], days: int) -> dict[str, list[dict[str, Any]]]:
    """``before`` with every date-time ``days`` later, and nothing else changed."""
    columns = datetime_columns()
    return {
        kind: [
            {
                name: value + timedelta(days=days)
                if name in columns[kind] and value is not None
                else value
                for name, value in row.items()
            }
            for row in found
        ]
        for kind, found in before.items()
    }


def test_every_date_time_column_is_shifted() -> None:
    assert {spec.type: set(dates.date_columns(spec)) for spec in data_specs()} == (
        datetime_columns()
    )
    assert {"placed", "completed", "created_at", "updated_at", "deleted_at"} <= set(
        dates.date_columns(get_spec("sellOrders"))
    )


@pytest.mark.parametrize("days", [30, -400, 7])
def test_every_date_moves_by_the_same_days_to_the_microsecond(
    engine: Engine, account: int, days: int
) -> None:
    build(engine, account)
    other = admin.create_account(engine, name="Other").id
    build(engine, other, tag="o")
    before, others = rows(engine, account), rows(engine, other)

    result = shift(engine, account, days=days)

    assert rows(engine, account) == moved(before, days)
    assert rows(engine, other) == others
    assert result.days == days
    assert result.rows == {kind: len(found) for kind, found in before.items()}
    products = rows(engine, account)["products"]
    assert products[0]["created_at_remote"] == T0 + timedelta(days=days)  # .123456 kept
    assert any(row["deleted_at"] for row in products)


def test_to_today_brings_the_latest_live_sale_to_that_day(engine: Engine, account: int) -> None:
    build(engine, account)  # a sale placed at T0
    late = create(
        engine,
        account,
        "sellOrders",
        {"placed": T0 + timedelta(days=40, hours=5), "totalValue": Decimal("1.00")},
    ).id
    delete(engine, account, "sellOrders", late)  # deleted sales don't count
    before = rows(engine, account)

    result = shift(engine, account, to=date(2026, 12, 1))

    assert result.days == (date(2026, 12, 1) - T0.date()).days
    assert rows(engine, account) == moved(before, result.days)
    with engine.connect() as connection:
        latest = dates.latest_sale(connection, account)
    assert latest == datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=T0.tzinfo)


def test_to_today_needs_a_sale(engine: Engine, account: int) -> None:
    with pytest.raises(dates.ShiftError, match="no sell orders"):
        shift(engine, account, to=date(2026, 12, 1))


def test_a_shift_out_of_the_years_1_to_9999_is_refused_and_moves_nothing(
    engine: Engine, account: int
) -> None:
    build(engine, account)
    before = rows(engine, account)

    with pytest.raises(dates.ShiftError, match="out of the years 1 to 9999"):
        shift(engine, account, days=(date(9999, 12, 31) - T0.date()).days)
    with pytest.raises(dates.ShiftError, match="out of the years 1 to 9999"):
        shift(engine, account, days=-(10**9))

    assert rows(engine, account) == before


def test_the_last_day_in_range_is_allowed(engine: Engine, account: int) -> None:
    create(engine, account, "sellOrders", {"placed": T0, "totalValue": Decimal("1.00")})
    days = (date(9999, 12, 31) - T0.date()).days  # every row was created at T0

    shift(engine, account, days=days)

    [order] = rows(engine, account)["sellOrders"]
    assert order["placed"].date() == date(9999, 12, 31)


def test_a_shift_bumps_the_data_version(engine: Engine, account: int) -> None:
    def version() -> int:
        with engine.connect() as connection:
            found: int = connection.scalar(
                select(ACCOUNTS.c.data_version).where(ACCOUNTS.c.id == account)
            )
        return found

    before = version()
    shift(engine, account, days=1)
    assert version() == before + 1


def test_an_unknown_account_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownAccount):
        shift(engine, 987654, days=1)


def test_null_dates_stay_null(engine: Engine, account: int) -> None:
    order = create(engine, account, "sellOrders", {"placed": T0, "totalValue": Decimal("1.00")}).id
    with engine.begin() as connection:
        orders = table(get_spec("sellOrders"))
        connection.execute(update(orders).where(orders.c.id == order).values(completed=None))

    shift(engine, account, days=3)

    [row] = rows(engine, account)["sellOrders"]
    assert row["completed"] is None and row["deleted_at"] is None
    assert row["placed"] == T0 + timedelta(days=3)
