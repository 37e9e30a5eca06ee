"""``receiptLines``: deliveries received against a buy order line (§7.9)."""

from optiply.resources.common import (
    ID,
    UUID,
    datetime,
    hidden_account,
    integer,
    provenance,
    reference,
    timestamps,
)
from optiply.resources.spec import Relationship, ResourceSpec

RECEIPT_LINES = ResourceSpec(
    type="receiptLines",
    table="receipt_lines",
    label="ReceiptLine",
    parent="buyOrderLineId",
    description="A quantity of a buy order line received at a moment.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("buyOrderLineId", "buyOrderLines"),
        datetime("occurred", required=True),
        integer("quantity", required=True),
        *provenance(),
        *timestamps(),
    ),
    relationships=(Relationship("buyOrderLine", "buyOrderLines", "buyOrderLineId"),),
)
