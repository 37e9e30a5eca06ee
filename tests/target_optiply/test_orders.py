"""Orders and their lines: embedded lines in one POST, lines and receipts found by source id."""

from __future__ import annotations

import json

from target_support import create, extensions_on, requests_made, singer, target_config

PLACED = "2024-03-01T10:00:00Z"


def test_a_sell_order_with_line_items_is_one_post_with_embedded_lines(
    login, api, tmp_path, run_target
):
    known = create(api, "products", name="Known", stockLevel=1)
    lines = singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P-bad", "name": "Broken", "stockLevel": "lots"},
    )
    lines += singer(
        "SellOrders",
        {
            "externalId": "SO1",
            "placed": PLACED,
            "line_items": json.dumps(
                [
                    {"Remote_productId": "P1", "quantity": 2, "subtotalValue": "5.00"},
                    {"productId": f"{known}.0", "quantity": 1.0, "subtotalValue": 3},
                ]
            ),
        },
        {
            "externalId": "SO-skip",
            "placed": PLACED,
            "line_items": json.dumps(
                [{"Remote_productId": "P-bad", "quantity": 1, "subtotalValue": 1}]
            ),
        },
    )

    run = run_target(target_config(login, tmp_path), lines)

    assert run.returncode == 0, run.stderr
    # one POST (and, where the server offers it, one lookup by remote id of both orders)
    assert requests_made(run.stderr, "SellOrders") == 1 + extensions_on(login)
    skipped = run.entries("SellOrders")["SO-skip"]
    assert skipped["skipped"] and "line_items/0/productId" in skipped["error"]
    assert "P-bad" in skipped["error"]
    assert "SellOrderLines" not in run.state["summary"]
    order_id = run.id("SellOrders", "SO1")
    order = api.get(f"/sellOrders/{order_id}").json()["data"]["attributes"]
    assert order["totalValue"] == "8.00"  # the sum of the lines when the record has no total
    assert order["placed"].startswith("2024-03-01T10:00:00")
    rows = api.get("/sellOrderLines", params={"filter[sellOrderId]": order_id}).json()["data"]
    by_product = {str(row["attributes"]["productId"]): row["attributes"] for row in rows}
    assert set(by_product) == {run.id("Products", "P1"), known}
    p1_line = by_product[run.id("Products", "P1")]
    assert (p1_line["quantity"], p1_line["subtotalValue"]) == (2, "5.00")
    assert (by_product[known]["quantity"], by_product[known]["subtotalValue"]) == (1, "3.00")
    assert set(run.entries("SellOrders")["SO1"]["lineIds"]) == {"SO1_P1", f"SO1_{known}"}


def test_buy_order_lines_and_receipt_lines_find_their_parents_by_source_id(
    login, api, tmp_path, run_target
):
    config = target_config(login, tmp_path)
    lines = singer(
        "ReceiptLines",
        {"externalId": "RL1", "Remote_buyOrderLineId": "BOL1", "occurred": PLACED, "quantity": 1},
        {"externalId": "RL2", "Remote_buyOrderLineId": "BO2_P2", "occurred": PLACED, "quantity": 2},
        {"externalId": "RL3", "Remote_buyOrderLineId": "L9", "occurred": PLACED, "quantity": 3},
    )
    lines += singer(
        "BuyOrderLines",
        {
            "externalId": "BOL1",
            "Remote_buyOrderId": "BO1",
            "Remote_productId": "P1",
            "quantity": 4,
            "subtotalValue": "8.00",
        },
    )
    lines += singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P2", "name": "Plate", "stockLevel": 1},
    )
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})
    lines += singer(
        "BuyOrders",
        {"externalId": "BO1", "Remote_supplierId": "S1", "placed": PLACED, "totalValue": 8},
        {
            "externalId": "BO2",
            "Remote_supplierId": "S1",
            "placed": PLACED,
            "line_items": json.dumps(
                [
                    {"Remote_productId": "P2", "quantity": 2, "subtotalValue": 4},
                    {
                        "Remote_productId": "P1",
                        "quantity": 3,
                        "subtotalValue": 6,
                        "externalId": "L9",
                    },
                ]
            ),
        },
    )

    first = run_target(config, lines)

    assert first.returncode == 0, first.stderr
    assert first.state["summary"]["ReceiptLines"]["success"] == 3
    bol1 = api.get(f"/buyOrderLines/{first.id('BuyOrderLines', 'BOL1')}").json()["data"]
    assert str(bol1["attributes"]["buyOrderId"]) == first.id("BuyOrders", "BO1")
    assert str(bol1["attributes"]["productId"]) == first.id("Products", "P1")
    bo2_lines = api.get(
        "/buyOrderLines", params={"filter[buyOrderId]": first.id("BuyOrders", "BO2")}
    ).json()["data"]
    line_of = {str(row["attributes"]["productId"]): row["id"] for row in bo2_lines}
    expected = {
        "RL1": first.id("BuyOrderLines", "BOL1"),
        "RL2": line_of[first.id("Products", "P2")],  # <order externalId>_<product externalId>
        "RL3": line_of[first.id("Products", "P1")],  # the line's own externalId
    }
    for receipt, line_id in expected.items():
        row = api.get(f"/receiptLines/{first.id('ReceiptLines', receipt)}").json()["data"]
        assert str(row["attributes"]["buyOrderLineId"]) == line_id, receipt
        assert receipt in row["attributes"]["remoteIdMap"].values()

    # The line ids of the embedded order are kept in the state: a later run's receipts find them.
    second = run_target(
        config,
        singer(
            "ReceiptLines",
            {
                "externalId": "RL4",
                "Remote_buyOrderLineId": "BO2_P2",
                "occurred": PLACED,
                "quantity": 5,
            },
        ),
    )
    assert second.returncode == 0, second.stderr
    rl4 = api.get(f"/receiptLines/{second.id('ReceiptLines', 'RL4')}").json()["data"]
    assert str(rl4["attributes"]["buyOrderLineId"]) == line_of[first.id("Products", "P2")]
