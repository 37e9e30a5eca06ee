"""``buyOrderLines`` (§7.8)."""

from optiply.resources.common import (
    ID,
    UUID,
    datetime,
    decimal,
    hidden_account,
    integer,
    provenance,
    reference,
    timestamps,
)
from optiply.resources.spec import Relationship, ResourceSpec

BUY_ORDER_LINES = ResourceSpec(
    type="buyOrderLines",
    table="buy_order_lines",
    label="BuyOrderLine",
    parent="buyOrderId",
    description="One product of a buy order. Deleting it deletes its receipt lines.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("buyOrderId", "buyOrders"),
        *reference("productId", "products"),
        integer("quantity", required=True),
        decimal("subtotalValue", required=True),
        datetime("expectedDeliveryDate"),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("buyOrder", "buyOrders", "buyOrderId"),
        Relationship("product", "products", "productId"),
        Relationship("receiptLines", "receiptLines", "buyOrderLineId", True, cascade=True),
    ),
)
