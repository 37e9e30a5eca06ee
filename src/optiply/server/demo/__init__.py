"""Demo shops: a realistic account in one command (``optiply demo load``, issue 12).

``load`` writes a shop (``SHOPS``: small, medium, large) into an account by bulk inserts:
products with EAN-13 codes and SKUs, suppliers, supplierProducts (one preferred per product),
compositions, promotions, and a simulated history of sell orders, buy orders and receipts in
which stock follows sales and deliveries. Same seed, same data. See docs/sandbox.md.
"""

from optiply.server.demo.load import DemoError, Loaded, Progress, load, shop_named
from optiply.server.demo.rows import DEMO_COUPLING
from optiply.server.demo.shops import SHOPS, Shop

__all__ = [
    "DEMO_COUPLING",
    "SHOPS",
    "DemoError",
    "Loaded",
    "Progress",
    "Shop",
    "load",
    "shop_named",
]
