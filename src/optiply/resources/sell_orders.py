"""``sellOrders`` (§7.5)."""

from optiply.resources.common import (
    ID,
    UUID,
    account,
    datetime,
    decimal,
    order_lines,
    provenance,
    timestamps,
)
from optiply.resources.spec import EmbeddedLines, Relationship, ResourceSpec

SELL_ORDERS = ResourceSpec(
    type="sellOrders",
    table="sell_orders",
    label="SellOrder",
    description="Sales; the demand history Optiply forecasts from.",
    attributes=(
        ID,
        UUID,
        *account(),
        datetime("placed", required=True),
        decimal("totalValue", required=True),
        datetime("completed"),
        order_lines(),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("account", "accounts", "accountId"),
        Relationship("sellOrderLines", "sellOrderLines", "sellOrderId", True, cascade=True),
    ),
    embedded=EmbeddedLines("orderLines", "sellOrderLines", "sellOrderId"),
)
