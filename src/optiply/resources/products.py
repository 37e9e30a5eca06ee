"""``products`` (§7.2)."""

from decimal import Decimal

from optiply.resources.common import (
    ID,
    UUID,
    account,
    boolean,
    datetime,
    decimal,
    integer,
    provenance,
    status,
    string,
    timestamps,
)
from optiply.resources.spec import Access, Relationship, ResourceSpec

PRODUCTS = ResourceSpec(
    type="products",
    table="products",
    label="Product",
    description="The product catalogue of an account.",
    attributes=(
        ID,
        UUID,
        *account(),
        string("name", required=True),
        string("skuCode"),
        string("eanCode"),
        string("articleCode"),
        decimal("price", digits=9, minimum=Decimal(0)),
        boolean("unlimitedStock"),
        integer("stockLevel", required=True),
        status(),
        boolean("notBeingBought"),
        datetime("resumingPurchase", ignore_booleans=True),
        boolean("assembled"),
        integer("minimumStock"),
        integer("maximumStock"),
        boolean("ignored"),
        decimal("manualServiceLevel", digits=3, minimum=Decimal(0), maximum=Decimal(100)),
        datetime("createdAtRemote"),
        string("stockMeasurementUnit", max_length=10),
        boolean("novel", access=Access.READ_ONLY),
        string("category", access=Access.READ_ONLY),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("account", "accounts", "accountId"),
        Relationship("supplierProducts", "supplierProducts", "productId", True, cascade=True),
        Relationship("sellOrderLines", "sellOrderLines", "productId", True),
        Relationship("buyOrderLines", "buyOrderLines", "productId", True),
        Relationship("promotionProducts", "promotionProducts", "productId", True, cascade=True),
        Relationship(
            "productComposedFromCompositions",
            "productCompositions",
            "composedProductId",
            True,
            cascade=True,
        ),
        Relationship(
            "productPartOfCompositions", "productCompositions", "partProductId", True, cascade=True
        ),
    ),
)
