"""The cross-resource rules, hooked into the generic create/update/delete of ``crud``.

Each hook dispatches on the resource type to the module that owns the rule: delivery dates,
the preferred supplier, promotions. Everything runs in the request's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.service import delivery_dates, preferred, promotions
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection


def before_insert(
    connection: Connection,
    spec: ResourceSpec,
    row: MutableMapping[str, Any],
    parent: Mapping[str, Any] | None = None,
) -> None:
    """Fill computed values of a new row; ``parent`` is set for embedded lines."""
    kind = spec.type
    if kind == "buyOrders" and row.get("expected_delivery_date") is None:
        row["expected_delivery_date"] = delivery_dates.for_order(connection, row)
    elif kind == "buyOrderLines" and row.get("expected_delivery_date") is None:
        if parent is not None:  # embedded: inherit the order's date
            row["expected_delivery_date"] = parent["expected_delivery_date"]
        else:
            order = repository.find(
                connection, get_spec("buyOrders"), row["buy_order_id"], (row["account_id"],)
            )
            assert order is not None  # the reference check found it
            row["expected_delivery_date"] = delivery_dates.for_direct_line(
                connection, dict(order), row["product_id"]
            )
    elif kind == "promotions":
        promotions.check_dates(row)


def acts_after_insert(spec: ResourceSpec) -> bool:
    """Whether ``after_insert`` does anything for rows of ``spec``."""
    return spec.type in _AFTER_INSERT


_AFTER_INSERT = frozenset({"supplierProducts", "promotions", "promotionProducts"})


def after_insert(
    connection: Connection, spec: ResourceSpec, row: Mapping[str, Any], now: datetime
) -> bool:
    """Rules that run once the new row exists (``row`` includes its id).

    Returns:
        Whether the new row itself changed (so what the INSERT returned is stale).
    """
    kind = spec.type
    if kind == "supplierProducts" and row.get("preferred"):
        preferred.make_sole_preferred(connection, row["id"], row["product_id"], now)
    elif kind == "promotions" and row.get("entire_shop"):
        promotions.link_entire_shop(connection, row, now)
        promotions.recount(connection, [row["id"]], now)
        return True
    elif kind == "promotionProducts":
        promotions.recount(connection, [row["promotion_id"]], now)
    return False


def before_update(
    spec: ResourceSpec, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> None:
    """Checks on the row as it will be after a PATCH."""
    if spec.type == "promotions":
        promotions.check_dates({**current, **changes})


def after_update(
    connection: Connection,
    spec: ResourceSpec,
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    now: datetime,
) -> None:
    """Rules that touch other rows after a PATCH (``current`` is the row before it)."""
    kind = spec.type
    merged = {**current, **changes}
    if kind == "supplierProducts" and changes.get("preferred"):
        preferred.make_sole_preferred(connection, current["id"], merged["product_id"], now)
    elif kind == "promotions" and changes.get("entire_shop"):
        promotions.link_entire_shop(connection, merged, now)
        promotions.recount(connection, [current["id"]], now)
    elif kind == "promotionProducts" and "promotion_id" in changes:
        promotions.recount(connection, [current["promotion_id"], merged["promotion_id"]], now)


def after_delete(connection: Connection, deleted: Mapping[str, list[int]], now: datetime) -> None:
    """Rules that follow a (cascaded) delete; ``deleted`` lists the ids per type."""
    promotion_products = deleted.get("promotionProducts")
    if promotion_products:
        promotion_ids = repository.column_values(
            connection, get_spec("promotionProducts"), "promotion_id", promotion_products
        )
        promotions.recount(connection, promotion_ids, now)
