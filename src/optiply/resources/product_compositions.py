"""``productCompositions``: bills of materials (§7.10)."""

from optiply.resources.common import (
    ID,
    UUID,
    hidden_account,
    integer,
    provenance,
    reference,
    timestamps,
)
from optiply.resources.spec import Relationship, ResourceSpec, Unique

PRODUCT_COMPOSITIONS = ResourceSpec(
    type="productCompositions",
    table="product_compositions",
    label="ProductComposition",
    parent="composedProductId",
    description="partQuantity units of a part product go into a composed product.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("composedProductId", "products"),
        *reference("partProductId", "products"),
        integer("partQuantity", required=True, minimum=1),
        integer("batchQuantity", minimum=1),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("composedProduct", "products", "composedProductId"),
        Relationship("partProduct", "products", "partProductId"),
    ),
    unique=(Unique(("composedProductId", "partProductId"), "ProductComposition"),),
)
