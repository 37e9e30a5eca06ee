"""One preferred supplier per product (§8.8): setting ``preferred`` clears the others."""

from __future__ import annotations

from datetime import datetime

from optiply.resources import get as get_spec
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection


def make_sole_preferred(
    connection: Connection, supplier_product_id: int, product_id: int, now: datetime
) -> None:
    """Clear ``preferred`` (and bump ``updatedAt``) on the product's other supplierProducts."""
    repository.update_where(
        connection,
        get_spec("supplierProducts"),
        {"product_id": product_id, "preferred": True},
        {"preferred": False, "updated_at": now},
        exclude_id=supplier_product_id,
    )
