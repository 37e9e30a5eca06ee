"""The demo shop's generator, without a database: sizes as declared, the same seed giving the
same shop, EAN-13 check digits, sales with weekly and yearly seasons and promotions, and
every value checked as the API checks it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from optiply.resources import get
from optiply.server.demo import SHOPS
from optiply.server.demo.catalogue import plan
from optiply.server.demo.codes import check_digit, ean13, is_ean13
from optiply.server.demo.rows import DemoDataError, RowMaker
from optiply.server.demo.simulation import Simulation

UNTIL = date(2026, 6, 30)
BUSY = dataclasses.replace(SHOPS["small"], products=300, sell_order_lines=60_000)


def history(shop=SHOPS["small"], seed=0):
    catalogue = plan(shop, seed, UNTIL)
    return catalogue, list(Simulation(catalogue, seed).days())


@pytest.mark.parametrize(
    ("name", "products", "suppliers", "days", "lines"),
    [
        ("small", 32, 4, 365, 10_500),
        ("medium", 10_000, 100, 730, 1_000_000),
        ("large", 1_000_000, 2_000, 365, 5_000_000),
    ],
)
def test_the_shops_are_the_sizes_of_the_issue(name, products, suppliers, days, lines):
    shop = SHOPS[name]
    assert (shop.products, shop.suppliers, shop.days, shop.sell_order_lines) == (
        products,
        suppliers,
        days,
        lines,
    )


@pytest.mark.parametrize(
    ("digits", "check"),
    [("871234567890", "6"), ("400638133393", "1"), ("501234567890", "0"), ("000000000000", "0")],
)
def test_ean13_check_digits(digits, check):
    assert check_digit(digits) == check
    assert is_ean13(ean13(digits))
    assert not is_ean13(digits + str((int(check) + 1) % 10))


def test_the_same_seed_gives_the_same_shop_and_another_seed_another():
    first, again, other = history(seed=3), history(seed=3), history(seed=4)

    assert first[0] == again[0] and first[1] == again[1]
    assert first[0].price != other[0].price
    assert first[1] != other[1]


def test_stock_never_goes_below_zero_and_receipts_never_exceed_the_order():
    _, days = history(BUSY, seed=1)
    ordered: dict[int, int] = {}
    received: Counter[int] = Counter()
    stock: Counter[int] = Counter()
    for day in days:
        for purchase in day.purchases:
            for line in purchase.lines:
                ordered[line.handle] = line.quantity
        for receipt in day.receipts:
            received[receipt.line] += receipt.quantity
            stock[receipt.product] += receipt.quantity
        for order in day.sales:
            for product, units in order:
                stock[product] -= units
                assert stock[product] >= 0
    assert all(received[handle] <= quantity for handle, quantity in ordered.items())
    assert min(stock.values()) >= 0


def test_sales_follow_the_week_and_the_seasons():
    catalogue, days = history(BUSY, seed=2)
    by_weekday: Counter[int] = Counter()
    by_season_month: Counter[tuple[int, int]] = Counter()
    for day in days[1:]:
        when = catalogue.day(day.index)
        for order in day.sales:
            for product, _ in order:
                by_weekday[when.weekday()] += 1
                by_season_month[catalogue.season[product], when.month] += 1

    assert by_weekday[6] > 1.2 * by_weekday[5]  # Sunday evenings beat Saturdays
    assert by_season_month[1, 7] > 2 * by_season_month[1, 1]  # summer products in July
    assert by_season_month[2, 12] > 2 * by_season_month[2, 6]  # winter products in December


def test_promotions_lift_their_products_sales():
    shop = dataclasses.replace(BUSY, promotions=12, products_per_promotion=(20, 40))
    catalogue, days = history(shop, seed=5)
    during = before = 0.0
    for promotion in catalogue.promotions:
        if promotion.end >= len(days) - 1 or promotion.start < 28:
            continue
        members = set(promotion.products)

        def lines(first: int, last: int, members: set[int] = members) -> int:
            return sum(
                1
                for day in days[first + 1 : last + 2]  # days[0] is the opening
                for order in day.sales
                for product, _ in order
                if product in members
            )

        weeks = (promotion.end - promotion.start + 1) / 7
        during += lines(promotion.start, promotion.end) / weeks
        before += lines(promotion.start - 28, promotion.start - 1) / 4
    assert during > 1.15 * before


@pytest.mark.parametrize(
    ("resource_type", "values", "message"),
    [
        ("products", {"name": "x" * 256, "stockLevel": 1}, "at most 255 characters"),
        ("products", {"name": "Mug"}, "stockLevel is required"),
        ("products", {"name": "Mug", "stockLevel": 1, "price": Decimal("1.005")}, "reads as"),
        ("products", {"name": "Mug", "stockLevel": 1, "price": Decimal("-1.00")}, "greater"),
        ("products", {"name": "Mug", "stockLevel": True}, "not a boolean"),
        ("products", {"name": "Mug", "stockLevel": 1, "uuid": "x"}, "no input of a POST"),
        ("products", {"name": "Mug", "stockLevel": 1, "status": "ENABLED"}, "reads as"),
        ("sellOrders", {"placed": datetime(2026, 1, 1), "totalValue": Decimal("1.00")}, "UTC"),
        ("suppliers", {"name": "S", "emails": ["not an address"]}, "not a valid address"),
    ],
)
def test_a_value_the_api_would_not_store_as_it_is_fails_the_load(resource_type, values, message):
    maker = RowMaker(None, get(resource_type), account_id=1, account_uuid="u")

    with pytest.raises(DemoDataError, match=message):
        maker.make(values, row_id=1, row_uuid="u", created=datetime(2026, 1, 1, tzinfo=UTC))
