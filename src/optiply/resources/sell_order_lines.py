"""``sellOrderLines`` (§7.6)."""

from optiply.resources.common import (
    ID,
    UUID,
    decimal,
    hidden_account,
    integer,
    provenance,
    reference,
    timestamps,
)
from optiply.resources.spec import Relationship, ResourceSpec

SELL_ORDER_LINES = ResourceSpec(
    type="sellOrderLines",
    table="sell_order_lines",
    label="SellOrderLine",
    parent="sellOrderId",
    description="One product of a sell order; subtotalValue is the line total.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("sellOrderId", "sellOrders"),
        *reference("productId", "products"),
        integer("quantity", required=True),
        decimal("subtotalValue", required=True),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("sellOrder", "sellOrders", "sellOrderId"),
        Relationship("product", "products", "productId"),
    ),
)
