"""Deletes (``_sdc_deleted_at`` / ``deleted_at``): what each stream does to the Optiply row."""

from __future__ import annotations

from target_support import create, singer, target_config

PLACED = "2024-03-01T10:00:00Z"
WHEN = "2024-03-02T00:00:00Z"


def test_deletes_follow_the_policy_of_each_stream(login, api, tmp_path, run_target):
    product = create(api, "products", name="Mug", stockLevel=1)
    supplier = create(api, "suppliers", name="Acme")
    sp = create(
        api, "supplierProducts", productId=int(product), supplierId=int(supplier), name="Mug"
    )
    order = create(api, "sellOrders", placed=PLACED, totalValue="1.00")
    gone = create(api, "sellOrders", placed=PLACED, totalValue="2.00")
    assert api.delete(f"/sellOrders/{gone}").status_code == 204
    lines = singer(
        "Products",
        {"externalId": "P1", "id": product, "_sdc_deleted_at": WHEN},
        {"externalId": "P-never-seen", "deleted_at": WHEN},
    )
    lines += singer("Suppliers", {"externalId": "S1", "id": supplier, "deleted_at": WHEN})
    lines += singer("SupplierProducts", {"externalId": "SP1", "id": sp, "deleted_at": WHEN})
    lines += singer(
        "SellOrders",
        {"externalId": "SO1", "id": order, "_sdc_deleted_at": WHEN},
        {"externalId": "SO-gone", "id": gone, "_sdc_deleted_at": WHEN},
    )

    run = run_target(target_config(login, tmp_path), lines)

    assert run.returncode == 0, run.stderr
    for stream, count in [
        ("Products", 2),
        ("Suppliers", 1),
        ("SupplierProducts", 1),
        ("SellOrders", 2),
    ]:
        assert run.state["summary"][stream]["success"] == count, run.state["summary"]
        assert run.state["summary"][stream]["fail"] == 0
    # Products and SupplierProducts: soft delete, the row stays, disabled.
    assert api.get(f"/products/{product}").json()["data"]["attributes"]["status"] == "disabled"
    sp_row = api.get(f"/supplierProducts/{sp}").json()["data"]
    assert sp_row["attributes"]["status"] == "disabled"
    assert run.entries("Products")["P1"]["deleted"] is True
    # An unknown id: nothing to delete, a success with a note.
    never = run.entries("Products")["P-never-seen"]
    assert never["success"] and "id unknown" in never["note"]
    # Suppliers: ignored.
    assert api.get(f"/suppliers/{supplier}").json()["data"]["attributes"]["ignored"] is True
    # SellOrders: DELETE; a row already gone (404) counts as deleted.
    assert api.get(f"/sellOrders/{order}").status_code == 404
    already = run.entries("SellOrders")["SO-gone"]
    assert already["success"] and "404" in already["note"]


def test_hard_delete_mode_deletes_products(login, api, tmp_path, run_target):
    config = target_config(login, tmp_path, stream_options={"Products": {"delete_mode": "hard"}})
    created = run_target(
        config, singer("Products", {"externalId": "P1", "name": "M", "stockLevel": 1})
    )
    product = created.id("Products", "P1")

    # The second run finds the id in the first run's state: the record has only its source id.
    run = run_target(config, singer("Products", {"externalId": "P1", "_sdc_deleted_at": WHEN}))

    assert run.returncode == 0, run.stderr
    entry = run.entries("Products")["P1"]
    assert entry["success"] and entry["deleted"] and entry["id"] == product
    assert api.get(f"/products/{product}").status_code == 404
