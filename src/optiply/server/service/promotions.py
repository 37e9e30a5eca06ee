"""Promotion rules (§7.11, §7.12): dates in order, ``productCount`` kept right, ``entireShop``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.resources import get as get_spec
from optiply.server.service.errors import DomainError, attribute_pointer
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection

PROMOTIONS = get_spec("promotions")
PROMOTION_PRODUCTS = get_spec("promotionProducts")
PRODUCTS = get_spec("products")


def check_dates(row: Mapping[str, Any]) -> None:
    """``endDate`` must not be before ``startDate``."""
    start, end = row.get("start_date"), row.get("end_date")
    if start is not None and end is not None and end < start:
        raise DomainError(
            Problem(
                ErrorCode.INVALID_VALUE,
                "endDate must be on or after startDate",
                pointer=attribute_pointer("endDate"),
            )
        )


def link_entire_shop(connection: Connection, promotion: Mapping[str, Any], now: datetime) -> None:
    """Link every current product of the promotion's account that is not linked yet."""
    account_id = promotion["account_id"]
    linked = set(
        repository.live_values(
            connection, PROMOTION_PRODUCTS, "product_id", {"promotion_id": promotion["id"]}
        )
    )
    products = repository.live_rows(
        connection, PRODUCTS, {"account_id": account_id}, ("id", "uuid")
    )
    rows = [
        {
            "uuid": str(uuid.uuid4()),
            "account_id": account_id,
            "promotion_id": promotion["id"],
            "promotion_uuid": promotion["uuid"],
            "product_id": product["id"],
            "product_uuid": product["uuid"],
            "remote_id_map": {},
            "created_from_public_api": True,
            "created_at": now,
            "updated_at": now,
        }
        for product in products
        if product["id"] not in linked
    ]
    repository.insert_many(connection, PROMOTION_PRODUCTS, rows)


def recount(connection: Connection, promotion_ids: Collection[int], now: datetime) -> None:
    """Set ``productCount`` (and bump ``updatedAt`` when it changes) of live promotions."""
    for promotion_id in sorted(set(promotion_ids)):
        promotion = repository.find_live(
            connection, PROMOTIONS, {"id": promotion_id}, for_update=True
        )
        if promotion is None:
            continue
        count = repository.count_live(
            connection, PROMOTION_PRODUCTS, {"promotion_id": promotion_id}
        )
        if count != promotion["product_count"]:
            repository.update_row(
                connection, PROMOTIONS, promotion_id, {"product_count": count, "updated_at": now}
            )
