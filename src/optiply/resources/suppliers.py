"""``suppliers`` (§7.3)."""

from decimal import Decimal

from optiply.resources.common import (
    ID,
    UUID,
    account,
    boolean,
    decimal,
    integer,
    provenance,
    string,
    timestamps,
)
from optiply.resources.spec import Attribute, Kind, Relationship, ResourceSpec

SUPPLIERS = ResourceSpec(
    type="suppliers",
    table="suppliers",
    label="Supplier",
    description="The suppliers an account buys from.",
    attributes=(
        ID,
        UUID,
        *account(),
        string("name", required=True),
        Attribute("emails", Kind.EMAILS, description="Each must be a valid e-mail address."),
        decimal("minimumOrderValue", minimum=Decimal(0)),
        decimal("fixedCosts", minimum=Decimal(0)),
        integer("deliveryTime", minimum=1, maximum=365),
        integer("userReplenishmentPeriod", minimum=1, maximum=365),
        boolean("reactingToLostSales"),
        integer("lostSalesReaction", minimum=0, maximum=1),
        integer("lostSalesMovReaction", minimum=0, maximum=1),
        boolean("backorders"),
        integer("backorderThreshold", minimum=0, maximum=1),
        integer("backordersReaction", minimum=0, maximum=1),
        decimal("maxLoadCapacity", minimum=Decimal(0)),
        decimal("containerVolume", minimum=Decimal(0)),
        boolean("ignored"),
        Attribute("globalLocationNumber", Kind.STRING, exact_length=13),
        Attribute(
            "type", Kind.ENUM, nullable=False, default="vendor", choices=("vendor", "producer")
        ),
        string("currency", max_length=3),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("account", "accounts", "accountId"),
        Relationship("supplierProducts", "supplierProducts", "supplierId", True, cascade=True),
        Relationship("buyOrders", "buyOrders", "supplierId", True),
    ),
)
