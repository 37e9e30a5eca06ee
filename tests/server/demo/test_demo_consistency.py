"""A demo shop holds together (issue 12, section 1), checked on what the API answers: codes
with valid check digits, one preferred supplier per product, prices above cost prices,
totals that add up, delivery dates as the API computes them, receipts within what was
ordered, completed orders fully received, and stock that is what came in minus what went
out."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from demo_support import UNTIL, Shop

from live import make_login
from optiply.resources.types import parse_datetime
from optiply.server import demo
from optiply.server.demo.codes import is_ean13


def test_the_small_shop_has_the_demo_teams_size(shop: Shop):
    counts = shop.loaded.counts
    assert counts["products"] == 32
    assert 3 <= counts["suppliers"] <= 5
    assert 9_000 <= counts["sellOrderLines"] <= 11_000  # the demo team's 9,979 product-days
    assert 1_000 <= counts["buyOrders"] <= 1_700  # and their 1,348 buy orders, a line each
    assert counts["buyOrderLines"] == counts["buyOrders"]
    assert 1 <= counts["productCompositions"] and 1 <= counts["promotions"]
    placed = [parse_datetime(row["attributes"]["placed"]) for row in shop.rows("sellOrders")]
    assert max(placed).date() == UNTIL
    assert (max(placed) - min(placed)).days == 364  # 365 days of sales


def test_codes_have_valid_check_digits_and_patterns(shop: Shop):
    products = shop.rows("products")
    assert all(is_ean13(p["attributes"]["eanCode"]) for p in products)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{6}", p["attributes"]["skuCode"]) for p in products)
    assert len({p["attributes"]["eanCode"] for p in products}) == len(products)
    assert len({p["attributes"]["skuCode"] for p in products}) == len(products)
    assert all(is_ean13(s["attributes"]["eanCode"]) for s in shop.rows("supplierProducts"))
    assert all(is_ean13(s["attributes"]["globalLocationNumber"]) for s in shop.rows("suppliers"))


def test_every_product_has_exactly_one_preferred_supplier_product(shop: Shop):
    preferred = Counter(
        row["attributes"]["productId"]
        for row in shop.rows("supplierProducts")
        if row["attributes"]["preferred"]
    )
    assert {str(product) for product in preferred} == set(shop.by_id("products"))
    assert set(preferred.values()) == {1}


def test_prices_are_above_cost_prices(shop: Shop):
    products = shop.by_id("products")
    for offer in shop.rows("supplierProducts"):
        attributes = offer["attributes"]
        price = Decimal(products[str(attributes["productId"])]["price"])
        assert Decimal(attributes["price"]) < price
        assert Decimal(attributes["costPrice"]) < price


def test_order_totals_add_up(shop: Shop):
    products = shop.by_id("products")
    for order_type, line_type, parent in (
        ("sellOrders", "sellOrderLines", "sellOrderId"),
        ("buyOrders", "buyOrderLines", "buyOrderId"),
    ):
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for line in shop.rows(line_type):
            attributes = line["attributes"]
            sums[str(attributes[parent])] += Decimal(attributes["subtotalValue"])
            if line_type == "sellOrderLines":  # at the shop's price
                price = Decimal(products[str(attributes["productId"])]["price"])
                assert Decimal(attributes["subtotalValue"]) == price * attributes["quantity"]
        for order in shop.rows(order_type):
            assert Decimal(order["attributes"]["totalValue"]) == sums[order["id"]] > 0


def test_expected_delivery_dates_are_the_apis(shop: Shop):
    """placed + the supplier's deliveryTime, inherited by the lines (§8.1, as POSTed with
    embedded lines)."""
    suppliers = shop.by_id("suppliers")
    orders = shop.by_id("buyOrders")
    for attributes in orders.values():
        lead = suppliers[str(attributes["supplierId"])]["deliveryTime"]
        placed = parse_datetime(attributes["placed"])
        assert parse_datetime(attributes["expectedDeliveryDate"]) == placed + timedelta(lead)
    for line in shop.rows("buyOrderLines"):
        order = orders[str(line["attributes"]["buyOrderId"])]
        assert line["attributes"]["expectedDeliveryDate"] == order["expectedDeliveryDate"]


def test_receipts_stay_within_what_was_ordered_and_complete_the_completed(shop: Shop):
    received: dict[str, int] = defaultdict(int)
    last: dict[str, str] = {}
    for receipt in shop.rows("receiptLines"):
        attributes = receipt["attributes"]
        line = str(attributes["buyOrderLineId"])
        received[line] += attributes["quantity"]
        assert attributes["quantity"] > 0
        last[line] = max(last.get(line, ""), attributes["occurred"])
    orders = shop.by_id("buyOrders")
    lines_of: dict[str, list[str]] = defaultdict(list)
    for line in shop.rows("buyOrderLines"):
        attributes = line["attributes"]
        assert received[line["id"]] <= attributes["quantity"]
        lines_of[str(attributes["buyOrderId"])].append(line["id"])
        order = orders[str(attributes["buyOrderId"])]
        if line["id"] in last:  # goods arrive after the order was placed
            assert parse_datetime(last[line["id"]]) > parse_datetime(order["placed"])
    open_orders = 0
    quantities = {
        line_id: line["quantity"] for line_id, line in shop.by_id("buyOrderLines").items()
    }
    for order_id, attributes in orders.items():
        full = all(received[line] == quantities[line] for line in lines_of[order_id])
        if attributes["completed"] is None:
            open_orders += 1
            assert not full or not lines_of[order_id]
        else:
            assert full
            arrived = max(parse_datetime(last[line]) for line in lines_of[order_id])
            assert arrived <= parse_datetime(attributes["completed"])
    assert 0 < open_orders < len(orders) // 10  # the last deliveries are still to come


def test_stock_is_what_came_in_minus_what_went_out(shop: Shop):
    stock: dict[str, int] = defaultdict(int)
    lines = shop.by_id("buyOrderLines")
    for receipt in shop.rows("receiptLines"):
        line = lines[str(receipt["attributes"]["buyOrderLineId"])]
        stock[str(line["productId"])] += receipt["attributes"]["quantity"]
    for line in shop.rows("sellOrderLines"):
        stock[str(line["attributes"]["productId"])] -= line["attributes"]["quantity"]
    for product_id, attributes in shop.by_id("products").items():
        assert attributes["stockLevel"] == stock[product_id] >= 0, product_id


def test_promotions_count_their_products_and_end_after_they_start(shop: Shop):
    linked = Counter(row["attributes"]["promotionId"] for row in shop.rows("promotionProducts"))
    for promotion_id, attributes in shop.by_id("promotions").items():
        assert attributes["productCount"] == linked[int(promotion_id)] > 0
        assert attributes["startDate"] < attributes["endDate"]
        assert attributes["upliftType"] == "relative"


def test_compositions_assemble_products_of_other_products(shop: Shop):
    products = shop.by_id("products")
    pairs = set()
    for row in shop.rows("productCompositions"):
        attributes = row["attributes"]
        composed, part = str(attributes["composedProductId"]), str(attributes["partProductId"])
        assert composed != part and products[composed]["assembled"] is True
        assert products[part]["assembled"] is False
        pairs.add((composed, part))
    assert len(pairs) == len(shop.rows("productCompositions"))


def test_a_load_is_seen_at_once_by_a_running_server(server):
    """The load bumps the account's data version: cached counts and rows are not served."""
    login = make_login(server)
    with login.client() as api:
        assert api.get("/products").json()["meta"]["totalResourceCount"] == 0
        demo.load(server.engine, account_id=login.account_id, shop="small", until=UNTIL)
        answer = api.get("/products").json()
    assert answer["meta"]["totalResourceCount"] == 32


def test_a_second_load_into_the_account_is_refused_and_writes_nothing(shop: Shop):
    engine = shop.login.server.engine
    message = rf"account {shop.login.account_id} holds demo data already .*--coupling demo"
    with pytest.raises(demo.DemoError, match=message):
        demo.load(engine, account_id=shop.login.account_id, shop="small", seed=99)
    with shop.login.client() as api:
        total = api.get("/products").json()["meta"]["totalResourceCount"]
    assert total == 32
