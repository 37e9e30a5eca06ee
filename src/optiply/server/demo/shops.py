"""The demo shops, as data: how big each is and how it buys and sells.

``small`` is the demo team's shop (shared/integrator-needs.md, §4: 32 products, 365 days,
9,979 product-day sales rows, 1,348 buy orders of one line each). ``medium`` and ``large`` are
the sizes of issue 12. Counts of orders come out of the simulation (``simulation.py``), so
they are near these figures, not equal to them: the parameters below are tuned so they land
within a few percent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shop:
    """One shop size."""

    name: str
    products: int
    suppliers: int
    days: int  # days of sales, ending with ``--until``
    sell_order_lines: int  # expected over the history (stock-outs make it a little less)
    lines_per_sell_order: float  # the mean; at least 1
    review_days: tuple[int, int]  # a supplier's replenishment period, drawn in this range
    cover_days: float  # a reorder brings the stock position this many days of demand above s
    one_line_buy_orders: bool  # every reorder its own buy order (the demo team's shop)
    second_supplier: float  # share of products that a second supplier also sells
    composed_products: int  # products assembled from 2-3 others (productCompositions)
    promotions: int
    products_per_promotion: tuple[int, int]
    description: str


SHOPS: dict[str, Shop] = {
    shop.name: shop
    for shop in (
        Shop(
            name="small",
            products=32,
            suppliers=4,
            days=365,
            sell_order_lines=10_500,
            lines_per_sell_order=1.25,
            review_days=(1, 1),
            cover_days=4.5,
            one_line_buy_orders=True,
            second_supplier=0.25,
            composed_products=2,
            promotions=3,
            products_per_promotion=(2, 5),
            description="32 products, 4 suppliers, a year of sales: the demo team's shop",
        ),
        Shop(
            name="medium",
            products=10_000,
            suppliers=100,
            days=730,
            sell_order_lines=1_000_000,
            lines_per_sell_order=1.9,
            review_days=(3, 4),
            cover_days=30.0,
            one_line_buy_orders=False,
            second_supplier=0.3,
            composed_products=100,
            promotions=24,
            products_per_promotion=(10, 60),
            description="10,000 products, 100 suppliers, two years of sales",
        ),
        Shop(
            name="large",
            products=1_000_000,
            suppliers=2_000,
            days=365,
            sell_order_lines=5_000_000,
            lines_per_sell_order=1.9,
            review_days=(7, 7),
            cover_days=365.0,
            one_line_buy_orders=False,
            second_supplier=0.2,
            composed_products=2_000,
            promotions=50,
            products_per_promotion=(50, 500),
            description="1,000,000 products, 2,000 suppliers, a year of sales",
        ),
    )
}
