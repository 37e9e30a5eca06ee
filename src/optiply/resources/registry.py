"""REGISTRY: every resource of the Optiply Public API v1, in dependency order."""

from __future__ import annotations

from optiply.resources.accounts import ACCOUNTS
from optiply.resources.buy_order_lines import BUY_ORDER_LINES
from optiply.resources.buy_orders import BUY_ORDERS
from optiply.resources.product_compositions import PRODUCT_COMPOSITIONS
from optiply.resources.products import PRODUCTS
from optiply.resources.promotion_products import PROMOTION_PRODUCTS
from optiply.resources.promotions import PROMOTIONS
from optiply.resources.receipt_lines import RECEIPT_LINES
from optiply.resources.sell_order_lines import SELL_ORDER_LINES
from optiply.resources.sell_orders import SELL_ORDERS
from optiply.resources.spec import ResourceSpec
from optiply.resources.supplier_products import SUPPLIER_PRODUCTS
from optiply.resources.suppliers import SUPPLIERS

# Parents before children: the order tables are created in and the target processes streams in.
REGISTRY: tuple[ResourceSpec, ...] = (
    ACCOUNTS,
    PRODUCTS,
    SUPPLIERS,
    SUPPLIER_PRODUCTS,
    PRODUCT_COMPOSITIONS,
    SELL_ORDERS,
    SELL_ORDER_LINES,
    BUY_ORDERS,
    BUY_ORDER_LINES,
    RECEIPT_LINES,
    PROMOTIONS,
    PROMOTION_PRODUCTS,
)

_BY_TYPE = {spec.type: spec for spec in REGISTRY}


def get(resource_type: str) -> ResourceSpec:
    """The spec of a JSON:API type; KeyError when unknown."""
    return _BY_TYPE[resource_type]


def find(resource_type: str) -> ResourceSpec | None:
    """The spec of a JSON:API type, or None."""
    return _BY_TYPE.get(resource_type)
