"""``supplierProducts``: what a supplier sells of a product, at what terms (§7.4)."""

from decimal import Decimal

from optiply.resources.common import (
    ID,
    UUID,
    boolean,
    datetime,
    decimal,
    hidden_account,
    integer,
    provenance,
    reference,
    status,
    string,
    timestamps,
)
from optiply.resources.spec import Relationship, ResourceSpec, Unique

SUPPLIER_PRODUCTS = ResourceSpec(
    type="supplierProducts",
    table="supplier_products",
    label="SupplierProduct",
    parent="productId",
    description="A product as sold by one supplier. (supplierId, productId) is unique.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("productId", "products"),
        *reference("supplierId", "suppliers"),
        string("name", required=True),
        string("skuCode"),
        string("eanCode"),
        string("articleCode"),
        decimal("price", digits=9, minimum=Decimal(0)),
        integer("minimumPurchaseQuantity", minimum=1),
        integer("lotSize", minimum=1),
        integer("deliveryTime", minimum=1),
        status(),
        boolean("preferred"),
        integer("freeStock"),
        decimal("weight", minimum=Decimal(0)),
        decimal("volume", minimum=Decimal(0)),
        boolean("availability", default=None),
        datetime("availabilityDate", input_aliases=("availability_date",)),
        decimal("costPrice", digits=9, minimum=Decimal(0)),
        decimal("discountPrice", digits=9, minimum=Decimal(0)),
        integer("economicOrderQuantity", minimum=1),
        decimal("secondaryCurrencyPrice", digits=9, minimum=Decimal(0)),
        boolean("notBeingBought"),
        datetime("resumingPurchase", ignore_booleans=True),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("product", "products", "productId"),
        Relationship("supplier", "suppliers", "supplierId"),
    ),
    unique=(Unique(("supplierId", "productId"), "SupplierProduct"),),
)
