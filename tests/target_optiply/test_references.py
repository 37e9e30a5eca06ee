"""Finding Optiply ids for source ids: snapshots, lookups, unresolved and out-of-order parents."""

from __future__ import annotations

import json

from target_support import create, records, singer, target_config, write_snapshot

PLACED = "2024-03-01T10:00:00Z"


def test_snapshot_ids_turn_creates_into_patches_and_resolve_children(
    login, api, tmp_path, run_target
):
    product = create(api, "products", name="Old mug", stockLevel=1)
    supplier = create(api, "suppliers", name="Old Acme")
    snapshots = tmp_path / "snapshots"
    write_snapshot(snapshots, "Products", "flow-1", {"P1": product})
    write_snapshot(snapshots, "Suppliers", "flow-1", {"S1": supplier})
    config = target_config(login, tmp_path, snapshot_dir=str(snapshots), flow="flow-1")
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 7})
    lines += singer(
        "SupplierProducts",
        {"externalId": "SP1", "Remote_productId": "P1", "Remote_supplierId": "S1", "name": "x"},
    )

    run = run_target(config, lines)

    assert run.returncode == 0, run.stderr
    entry = run.entries("Products")["P1"]
    assert entry["success"] and entry["id"] == product
    assert "snapshot" in entry["note"]  # the state says where the id came from
    assert run.state["summary"]["Products"]["updated"] == 1
    assert "Products #1/? PATCH externalId=P1" in run.stderr
    assert len(api.get("/products").json()["data"]) == 1  # no duplicate
    attributes = api.get(f"/products/{product}").json()["data"]["attributes"]
    assert attributes["name"] == "Mug" and attributes["stockLevel"] == 7
    sp = api.get(f"/supplierProducts/{run.id('SupplierProducts', 'SP1')}").json()["data"]
    assert str(sp["attributes"]["productId"]) == product
    assert str(sp["attributes"]["supplierId"]) == supplier


def test_snapshot_dir_and_flow_come_from_the_environment(login, api, tmp_path, run_target):
    product = create(api, "products", name="Old mug", stockLevel=1)
    write_snapshot(tmp_path / "snap", "Products", "F9", {"P1": product})
    run = run_target(
        target_config(login, tmp_path),
        singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 2}),
        env={"SNAPSHOT_DIR": str(tmp_path / "snap"), "FLOW": "F9"},
    )
    assert run.returncode == 0, run.stderr
    assert run.id("Products", "P1") == product
    assert len(api.get("/products").json()["data"]) == 1


def test_snapshot_ids_are_string_normalised_on_both_sides(login, api, tmp_path, run_target):
    product = create(api, "products", name="Old mug", stockLevel=1)
    # pandas writes an id column holding a NaN as floats: 12 -> "12.0".
    write_snapshot(tmp_path / "snap", "Products", "F1", {"12.0": f"{product}.0"})
    config = target_config(login, tmp_path, snapshot_dir=str(tmp_path / "snap"), flow="F1")
    run = run_target(config, singer("Products", {"externalId": 12, "name": "Mug", "stockLevel": 2}))
    assert run.returncode == 0, run.stderr
    assert run.id("Products", "12") == product
    assert len(api.get("/products").json()["data"]) == 1


def test_lookup_by_sku_code_adopts_an_existing_product_on_a_first_run(
    login, api, tmp_path, run_target
):
    existing = create(api, "products", name="Mug (from Dovetail)", skuCode="SKU-1", stockLevel=1)
    config = target_config(login, tmp_path, stream_options={"Products": {"lookup_by": "skuCode"}})
    lines = singer(
        "Products",
        {"externalId": "P1", "skuCode": "SKU-1", "name": "Mug", "stockLevel": 5},
        {"externalId": "P2", "skuCode": "SKU-2", "name": "Plate", "stockLevel": 1},
    )

    run = run_target(config, lines)

    assert run.returncode == 0, run.stderr
    p1 = run.entries("Products")["P1"]
    assert p1["id"] == existing and "lookup by skuCode" in p1["note"]
    assert run.state["summary"]["Products"]["updated"] == 1
    assert run.state["summary"]["Products"]["success"] == 1  # SKU-2 matched nothing: created
    same_sku = api.get("/products", params={"filter[skuCode]": "SKU-1"}).json()["data"]
    assert [row["id"] for row in same_sku] == [existing]
    assert same_sku[0]["attributes"]["name"] == "Mug"
    assert "P1" in same_sku[0]["attributes"]["remoteIdMap"].values()


def test_an_unresolved_reference_fails_the_record_naming_the_source_id(login, tmp_path, run_target):
    config = target_config(login, tmp_path, snapshot_dir=str(tmp_path / "none"), flow="F1")
    lines = singer("Suppliers", {"externalId": "S1", "name": "Acme"})
    lines += singer(
        "SupplierProducts",
        {"externalId": "SP1", "Remote_productId": "P-missing", "Remote_supplierId": "S1"},
    )
    lines += singer(
        "BuyOrderLines",
        {
            "externalId": "BOL1",
            "Remote_buyOrderId": "BO-missing",
            "productId": 1,
            "quantity": 1,
            "subtotalValue": 1,
        },
    )

    run = run_target(config, lines)

    # every record of the stream failed: written and recorded, then the run exits non-zero
    assert run.returncode == 1, run.stderr
    assert "SupplierProducts: every record failed (1)" in run.stderr
    sp = run.entries("SupplierProducts")["SP1"]
    assert not sp["success"] and not sp.get("skipped")
    assert "productId unresolved" in sp["error"]
    assert "Remote_productId=P-missing" in sp["error"]
    line = run.entries("BuyOrderLines")["BOL1"]
    assert "Remote_buyOrderId=BO-missing" in line["error"]
    assert "snapshot BuyOrders_F1" in line["error"]
    assert run.state["summary"]["SupplierProducts"]["fail"] == 1


def test_children_of_a_failed_parent_are_skipped_with_the_reason(login, tmp_path, run_target):
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += singer(
        "BuyOrders",
        {  # fails before any request: placed is required
            "externalId": "BO-bad",
            "line_items": json.dumps(
                [{"Remote_productId": "P1", "quantity": 1, "subtotalValue": 1}]
            ),
        },
    )
    lines += singer(
        "BuyOrderLines",
        {
            "externalId": "BOL1",
            "Remote_buyOrderId": "BO-bad",
            "Remote_productId": "P1",
            "quantity": 2,
            "subtotalValue": 2,
        },
    )
    lines += singer(
        "ReceiptLines",
        {
            "externalId": "RL1",
            "Remote_buyOrderLineId": "BO-bad_P1",
            "occurred": PLACED,
            "quantity": 1,
        },
        {"externalId": "RL2", "Remote_buyOrderLineId": "BOL1", "occurred": PLACED, "quantity": 1},
    )

    # the only BuyOrder fails on purpose (the run would exit 1 for it: test_systemic_stops.py)
    run = run_target(target_config(login, tmp_path, systemic_failure_share=0), lines)

    assert run.returncode == 0, run.stderr
    assert "placed" in run.entries("BuyOrders")["BO-bad"]["error"]
    for stream, external in [
        ("BuyOrderLines", "BOL1"),  # its order failed
        ("ReceiptLines", "RL1"),  # a line embedded in the failed order
        ("ReceiptLines", "RL2"),  # a line that was itself skipped
    ]:
        entry = run.entries(stream)[external]
        assert entry["skipped"] is True and not entry["success"], entry
        assert "failed" in entry["error"], entry
    assert "BO-bad" in run.entries("BuyOrderLines")["BOL1"]["error"]
    assert "BO-bad" in run.entries("ReceiptLines")["RL1"]["error"]
    assert run.state["summary"]["ReceiptLines"]["skipped"] == 2


def test_receipt_lines_of_an_order_with_a_bad_value_are_skipped(login, tmp_path, run_target):
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += singer(
        "BuyOrders",
        {
            "externalId": "BO-bad",
            "placed": "the day before yesterday",
            "line_items": json.dumps(
                [{"Remote_productId": "P1", "quantity": 1, "subtotalValue": 1}]
            ),
        },
    )
    lines += singer(
        "ReceiptLines",
        {
            "externalId": "RL1",
            "Remote_buyOrderLineId": "BO-bad_P1",
            "occurred": PLACED,
            "quantity": 1,
        },
    )
    run = run_target(target_config(login, tmp_path, systemic_failure_share=0), lines)
    assert run.returncode == 0, run.stderr
    assert "/placed" in run.entries("BuyOrders")["BO-bad"]["error"]
    entry = run.entries("ReceiptLines")["RL1"]
    assert entry.get("skipped") is True and "BO-bad" in entry["error"], entry


def test_a_child_arriving_before_its_parent_still_succeeds(login, api, tmp_path, run_target):
    # batch_size_rows=1: every record is flushed as it arrives, so the first supplier product
    # reaches the writer while its product is still unknown.
    config = target_config(login, tmp_path, batch_size_rows=1)
    lines = singer("Suppliers", {"externalId": "S1", "name": "Acme"})
    lines += singer(
        "SupplierProducts",
        {"externalId": "SP1", "Remote_productId": "P1", "Remote_supplierId": "S1", "name": "a"},
    )
    lines += singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += records(
        "SupplierProducts",
        {"externalId": "SP2", "Remote_productId": "P2", "Remote_supplierId": "S1", "name": "b"},
    )
    lines += records("Products", {"externalId": "P2", "name": "Plate", "stockLevel": 1})

    run = run_target(config, lines)

    assert run.returncode == 0, run.stderr
    assert run.state["summary"]["SupplierProducts"]["success"] == 2
    for sp, product in [("SP1", "P1"), ("SP2", "P2")]:
        row = api.get(f"/supplierProducts/{run.id('SupplierProducts', sp)}").json()["data"]
        assert str(row["attributes"]["productId"]) == run.id("Products", product)


def test_lookup_by_never_adopts_one_of_several_look_alikes(login, api, tmp_path, run_target):
    """Two rows share the skuCode: neither is the record's, so a new one is created and both
    look-alikes stay as they were."""
    twins = [
        create(api, "products", name=f"Twin {n}", skuCode="SKU-T", stockLevel=1) for n in (1, 2)
    ]
    config = target_config(login, tmp_path, stream_options={"Products": {"lookup_by": "skuCode"}})

    run = run_target(
        config,
        singer(
            "Products", {"externalId": "P1", "skuCode": "SKU-T", "name": "Mug", "stockLevel": 5}
        ),
    )

    assert run.returncode == 0, run.stderr
    entry = run.entries("Products")["P1"]
    assert entry["outcome"] == "success" and entry["id"] not in twins, entry
    for twin, n in zip(twins, (1, 2), strict=True):
        assert api.get(f"/products/{twin}").json()["data"]["attributes"]["name"] == f"Twin {n}"
