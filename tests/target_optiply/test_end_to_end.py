"""target-optiply on Singer input into a live server; then read everything back. The first test
runs the real executable (``python -m target_optiply``, its input on stdin); the rest, like the
other target tests, run its command in the test's process (``target_support.run_in_process``)."""

from __future__ import annotations

import json

from target_support import run_process, singer, target_config

PLACED = "2024-03-01T10:00:00Z"


def catalogue_input(*, deleted_product: bool = False) -> list[str]:
    """Children first: the target must still write parents before children."""
    lines: list[str] = []
    lines += singer(
        "ReceiptLines",
        {"externalId": "RL1", "Remote_buyOrderLineId": "BO1_P1", "occurred": PLACED, "quantity": 2},
        {"externalId": "RL2", "Remote_buyOrderLineId": "L2", "occurred": PLACED, "quantity": 1},
    )
    lines += singer(
        "SupplierProducts",
        {
            "externalId": "SP1",
            "Remote_productId": "P1",
            "Remote_supplierId": "S1",
            "name": "Mug from S1",
            "price": "1.239",
            "lotSize": 6.0,
        },
        {
            "externalId": "SP-orphan",
            "Remote_productId": "P-bad",
            "Remote_supplierId": "S1",
            "name": "x",
        },
    )
    products = [
        {"remoteId": "P1", "name": "Mug", "stockLevel": "12", "skuCode": "SKU-1", "price": 4.5},
        {"externalId": "P2", "name": "Plate\r\n", "stockLevel": 3.0, "id": "nan"},
        {"externalId": "P-bad", "name": "Broken", "stockLevel": "lots"},
    ]
    if deleted_product:
        products[1] = {**products[1], "_sdc_deleted_at": "2024-03-02T00:00:00Z"}
    lines += singer("Products", *products)
    lines += singer(
        "Suppliers", {"externalId": "S1", "name": "Acme", "emails": "a@example.com; b@example.com"}
    )
    lines += singer(
        "BuyOrders",
        {
            "externalId": "BO1",
            "Remote_supplierId": "S1",
            "placed": PLACED,
            "line_items": json.dumps(
                [
                    {"Remote_productId": "P1", "quantity": 3, "subtotalValue": "7.50"},
                    {
                        "Remote_productId": "P2",
                        "quantity": 1,
                        "subtotalValue": 2,
                        "externalId": "L2",
                    },
                ]
            ),
        },
    )
    lines += singer("Countries", {"code": "NL"})
    return lines


def test_a_catalogue_with_orders_lands_and_reads_back(login, tmp_path):
    config = target_config(login, tmp_path)
    run = run_process(tmp_path, config, catalogue_input())
    assert run.returncode == 0, run.stderr

    summary = run.state["summary"]
    assert summary["Products"]["success"] == 2 and summary["Products"]["fail"] == 1
    assert (
        summary["SupplierProducts"]["success"] == 1 and summary["SupplierProducts"]["skipped"] == 1
    )
    assert summary["ReceiptLines"]["success"] == 2
    bad = run.entries("Products")["P-bad"]
    assert not bad["success"] and "/stockLevel" in bad["error"]
    orphan = run.entries("SupplierProducts")["SP-orphan"]
    assert orphan["skipped"] and "P-bad" in orphan["error"]
    assert "Countries" in run.stderr  # one warning for the unknown stream
    assert login.password not in run.stderr + run.stdout
    assert login.client_secret not in run.stderr + run.stdout

    with login.client() as api:
        p1 = api.get(f"/products/{run.id('Products', 'P1')}").json()["data"]
        assert p1["attributes"]["name"] == "Mug"
        assert p1["attributes"]["stockLevel"] == 12
        assert p1["attributes"]["price"] == "4.50"
        assert "P1" in p1["attributes"]["remoteIdMap"].values()
        p2 = api.get(f"/products/{run.id('Products', 'P2')}").json()["data"]
        assert p2["attributes"]["name"] == "Plate"

        supplier = api.get(f"/suppliers/{run.id('Suppliers', 'S1')}").json()["data"]
        assert supplier["attributes"]["emails"] == ["a@example.com", "b@example.com"]

        sp = api.get(f"/supplierProducts/{run.id('SupplierProducts', 'SP1')}").json()["data"]
        assert str(sp["attributes"]["productId"]) == run.id("Products", "P1")
        assert str(sp["attributes"]["supplierId"]) == run.id("Suppliers", "S1")
        assert sp["attributes"]["price"] == "1.23"
        assert sp["attributes"]["lotSize"] == 6

        bo_id = run.id("BuyOrders", "BO1")
        bo = api.get(f"/buyOrders/{bo_id}").json()["data"]
        assert str(bo["attributes"]["supplierId"]) == run.id("Suppliers", "S1")
        assert bo["attributes"]["totalValue"] == "9.50"
        lines = api.get("/buyOrderLines", params={"filter[buyOrderId]": bo_id}).json()["data"]
        by_product = {str(line["attributes"]["productId"]): line for line in lines}
        assert set(by_product) == {run.id("Products", "P1"), run.id("Products", "P2")}
        line_ids = run.entries("BuyOrders")["BO1"]["lineIds"]
        assert line_ids["BO1_P1"] == by_product[run.id("Products", "P1")]["id"]
        assert line_ids["L2"] == by_product[run.id("Products", "P2")]["id"]

        rl1 = api.get(f"/receiptLines/{run.id('ReceiptLines', 'RL1')}").json()["data"]
        assert str(rl1["attributes"]["buyOrderLineId"]) == line_ids["BO1_P1"]
        rl2 = api.get(f"/receiptLines/{run.id('ReceiptLines', 'RL2')}").json()["data"]
        assert str(rl2["attributes"]["buyOrderLineId"]) == line_ids["L2"]

    # The state is also emitted as the last STATE line on stdout.
    assert json.loads(run.stdout.strip().splitlines()[-1])["summary"] == summary


def test_a_second_run_skips_unchanged_records_and_applies_deletes(login, tmp_path, run_target):
    config = target_config(login, tmp_path)
    first = run_target(config, catalogue_input())
    assert first.returncode == 0, first.stderr

    lines = catalogue_input(deleted_product=True)
    lines += singer(
        "ReceiptLines", {"externalId": "RL2", "deleted_at": "2024-03-03", "occurred": PLACED}
    )
    second = run_target(config, lines)
    assert second.returncode == 0, second.stderr
    products = second.entries("Products")
    assert products["P1"]["id"] == first.id("Products", "P1")
    assert "unchanged" in products["P1"]["note"]
    assert second.state["summary"]["Products"]["existing"] == 1
    assert products["P2"]["deleted"] and products["P2"]["id"] == first.id("Products", "P2")
    with login.client() as api:
        p2 = api.get(f"/products/{first.id('Products', 'P2')}").json()["data"]
        assert p2["attributes"]["status"] == "disabled"
        gone = api.get(f"/receiptLines/{first.id('ReceiptLines', 'RL2')}")
        assert gone.status_code == 404


def test_a_conflicting_supplier_product_is_adopted(login, tmp_path, run_target):
    config = target_config(login, tmp_path)
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})
    first = run_target(config, lines)
    assert first.returncode == 0, first.stderr
    product, supplier = first.id("Products", "P1"), first.id("Suppliers", "S1")
    with login.client() as api:
        existing = api.post(
            "/supplierProducts",
            json={
                "data": {
                    "type": "supplierProducts",
                    "attributes": {
                        "productId": int(product),
                        "supplierId": int(supplier),
                        "name": "old",
                    },
                }
            },
        ).json()["data"]["id"]
    second = run_target(
        config,
        singer(
            "SupplierProducts",
            {"externalId": "SP1", "productId": product, "supplierId": supplier, "name": "new"},
        ),
    )
    assert second.returncode == 0, second.stderr
    entry = second.entries("SupplierProducts")["SP1"]
    assert entry["id"] == existing and "409" in entry["note"]
    assert second.state["summary"]["SupplierProducts"]["existing"] == 1
    with login.client() as api:
        assert (
            api.get(f"/supplierProducts/{existing}").json()["data"]["attributes"]["name"] == "new"
        )


def test_dry_run_writes_the_intended_requests(login, tmp_path, run_target):
    config = target_config(login, tmp_path, dry_run=True, dry_run_path=str(tmp_path / "req.jsonl"))
    run = run_target(config, catalogue_input())
    assert run.returncode == 0, run.stderr
    requests = [json.loads(line) for line in (tmp_path / "req.jsonl").read_text().splitlines()]
    posts = [r["path"] for r in requests if r["method"] == "POST"]
    assert posts[:2] == ["/products", "/products"]
    order = next(r for r in requests if r["path"] == "/buyOrders")
    assert len(order["body"]["data"]["attributes"]["orderLines"]) == 2
    product = next(r for r in requests if r["path"] == "/products")
    assert product["body"]["data"]["attributes"]["unlimitedStock"] is False  # POST default
    with login.client() as client:
        assert client.get("/products").json()["data"] == []


def test_unlimited_stock_defaults_on_create_and_is_left_alone_on_update(
    login, api, tmp_path, run_target
):
    config = target_config(login, tmp_path)
    first = run_target(
        config, singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 2})
    )
    assert first.returncode == 0, first.stderr
    product_id = first.id("Products", "P1")
    assert (
        api.get(f"/products/{product_id}").json()["data"]["attributes"]["unlimitedStock"] is False
    )
    set_in_optiply = {
        "data": {"type": "products", "id": product_id, "attributes": {"unlimitedStock": True}}
    }
    assert api.patch(f"/products/{product_id}", json=set_in_optiply).status_code == 200

    second = run_target(config, singer("Products", {"externalId": "P1", "name": "Big mug"}))

    assert second.returncode == 0, second.stderr
    assert second.entries("Products")["P1"]["outcome"] == "updated"
    attributes = api.get(f"/products/{product_id}").json()["data"]["attributes"]
    assert attributes["name"] == "Big mug" and attributes["unlimitedStock"] is True


def test_fail_on_first_error_stops_the_job_with_state_flushed(login, tmp_path, run_target):
    config = target_config(login, tmp_path, fail_on_first_error=True)
    run = run_target(config, catalogue_input())
    assert run.returncode != 0
    assert run.state["summary"]["Products"]["fail"] == 1
    assert "stopped" in run.stderr
