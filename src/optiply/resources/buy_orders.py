"""``buyOrders`` (§7.7)."""

from optiply.resources.common import (
    ID,
    UUID,
    account,
    boolean,
    datetime,
    decimal,
    order_lines,
    provenance,
    reference,
    timestamps,
)
from optiply.resources.spec import EmbeddedLines, Relationship, ResourceSpec

BUY_ORDERS = ResourceSpec(
    type="buyOrders",
    table="buy_orders",
    label="BuyOrder",
    description="Purchase orders. expectedDeliveryDate defaults to placed + supplier deliveryTime.",
    attributes=(
        ID,
        UUID,
        *account(),
        datetime("placed", required=True),
        decimal("totalValue", required=True),
        *reference("supplierId", "suppliers"),
        datetime("completed"),
        datetime("expectedDeliveryDate"),
        boolean("assembly"),
        order_lines(),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("account", "accounts", "accountId"),
        Relationship("supplier", "suppliers", "supplierId"),
        Relationship("buyOrderLines", "buyOrderLines", "buyOrderId", True, cascade=True),
    ),
    embedded=EmbeddedLines("orderLines", "buyOrderLines", "buyOrderId"),
)
