"""``promotionProducts`` (§7.12)."""

from optiply.resources.common import (
    ID,
    UUID,
    decimal,
    hidden_account,
    provenance,
    reference,
    timestamps,
    uplift,
)
from optiply.resources.spec import Relationship, ResourceSpec

PROMOTION_PRODUCTS = ResourceSpec(
    type="promotionProducts",
    table="promotion_products",
    label="PromotionProduct",
    parent="promotionId",
    description="A product taking part in a promotion, optionally with its own uplift.",
    attributes=(
        ID,
        UUID,
        hidden_account(),
        *reference("promotionId", "promotions"),
        *reference("productId", "products"),
        uplift("specificUpliftType"),
        decimal("specificUpliftIncrease"),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("promotion", "promotions", "promotionId"),
        Relationship("product", "products", "productId"),
    ),
)
