"""Cascading soft deletes (§8.2, Q14), derived from the ``cascade`` flags of the registry.

buyOrders → buyOrderLines → receiptLines (documented), and, as Q14 recommends, sellOrders →
sellOrderLines, promotions → promotionProducts, products → supplierProducts, productCompositions
(both roles) and promotionProducts, suppliers → supplierProducts. Order lines are kept when a
product or supplier is deleted: sales and purchase history must stay. Every row deleted here has
its ``updatedAt`` bumped.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection


def delete_tree(
    connection: Connection,
    spec: ResourceSpec,
    row_ids: Collection[int],
    now: datetime,
    deleted: dict[str, list[int]] | None = None,
) -> dict[str, list[int]]:
    """Soft-delete ``row_ids`` and everything that cascades from them; returns ids per type."""
    deleted = {} if deleted is None else deleted
    if not row_ids:
        return deleted
    deleted.setdefault(spec.type, []).extend(row_ids)
    for relationship in spec.relationships:
        if not relationship.cascade:
            continue
        target = get_spec(relationship.target)
        attribute = target.attribute(relationship.attribute)
        assert attribute is not None
        children = repository.live_ids(connection, target, attribute.column, row_ids)
        delete_tree(connection, target, children, now, deleted)
    repository.soft_delete(connection, spec, row_ids, now)
    return deleted
