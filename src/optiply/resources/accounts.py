"""``accounts``: the customer environments (webshops) a user can reach.

§7.1; docs/behaviour.md, Tenancy.
"""

from optiply.resources.common import ID, UUID, string, timestamps
from optiply.resources.spec import Access, Attribute, Kind, ResourceSpec

ACCOUNTS = ResourceSpec(
    type="accounts",
    table="accounts",
    label="Account",
    methods=frozenset({"GET", "PATCH"}),
    description="Accounts the token's user can reach. Read-only except globalLocationNumber.",
    attributes=(
        ID,
        UUID,
        string("name", access=Access.READ_ONLY),
        Attribute("globalLocationNumber", Kind.STRING, exact_length=13),
        *timestamps(),
    ),
)
