"""Computed ``expectedDeliveryDate`` of buy orders and their lines (§8.1, Q18).

- A buy order without one (absent or null) gets ``placed + supplier.deliveryTime`` days.
- A line embedded in the order's POST inherits the order's date.
- A line POSTed on its own uses ``order.placed + supplierProduct.deliveryTime`` days for the
  supplierProduct of (the order's supplier, the line's product), else the order's date.
The time of day of ``placed`` is kept; a null lead time gives null (or falls through, for
lines); nothing is recalculated on PATCH. A date that would fall after the last representable
instant (year 9999: a supplierProduct's lead time has no upper bound) is null too, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from optiply.resources import get as get_spec
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection


def plus_days(placed: datetime | None, days: int | None) -> datetime | None:
    """``placed`` plus a lead time of ``days``: the rule of every computed date here (None
    when either is None, or past the last representable instant)."""
    if placed is None or days is None:
        return None
    try:
        return placed + timedelta(days=days)
    except OverflowError:  # past 9999-12-31 (or beyond timedelta's 999,999,999 days)
        return None


def for_order(connection: Connection, row: Mapping[str, Any]) -> datetime | None:
    """The computed date of a new buy order row (its supplier is known to exist)."""
    supplier = repository.find(
        connection, get_spec("suppliers"), row["supplier_id"], (row["account_id"],)
    )
    return plus_days(row["placed"], supplier["delivery_time"] if supplier else None)


def for_direct_line(
    connection: Connection, order: Mapping[str, Any], product_id: int
) -> datetime | None:
    """The computed date of a line POSTed through /buyOrderLines for ``order``."""
    supplier_product = repository.find_live(
        connection,
        get_spec("supplierProducts"),
        {"supplier_id": order["supplier_id"], "product_id": product_id},
    )
    if supplier_product is not None and supplier_product["delivery_time"] is not None:
        return plus_days(order["placed"], supplier_product["delivery_time"])
    expected: datetime | None = order["expected_delivery_date"]
    return expected
