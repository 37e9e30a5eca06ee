"""``promotions`` (§7.11)."""

from optiply.resources.common import (
    ID,
    UUID,
    account,
    boolean,
    datetime,
    decimal,
    integer,
    provenance,
    string,
    timestamps,
    uplift,
)
from optiply.resources.spec import Access, Relationship, ResourceSpec

PROMOTIONS = ResourceSpec(
    type="promotions",
    table="promotions",
    label="Promotion",
    description="Periods of expected extra demand for a set of products.",
    attributes=(
        ID,
        UUID,
        *account(),
        string("name", required=True),
        datetime("startDate", required=True),
        datetime(
            "endDate",
            required=True,
            description="Not before startDate (400 at /data/attributes/endDate otherwise, "
            "checked on the row as a PATCH leaves it).",
        ),
        uplift("upliftType"),
        decimal("upliftIncrease"),
        boolean("enabled", default=True),
        boolean("entireShop"),
        integer("productCount", access=Access.READ_ONLY, default=0),
        *provenance(),
        *timestamps(),
    ),
    relationships=(
        Relationship("account", "accounts", "accountId"),
        Relationship("promotionProducts", "promotionProducts", "promotionId", True, cascade=True),
    ),
)
