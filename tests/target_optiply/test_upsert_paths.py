"""Insert or update: PATCH of a row deleted in Optiply, and what a previous run's state saves."""

from __future__ import annotations

from typing import Any

import pytest
from target_support import create, requests_made, singer, target_config


@pytest.mark.parametrize(
    ("stream_options", "product_recreated", "supplier_product_recreated"),
    [
        ({}, False, True),
        (
            {
                "Products": {"on_patch_not_found": "create"},
                "SupplierProducts": {"on_patch_not_found": "fail"},
            },
            True,
            False,
        ),
    ],
    ids=["defaults", "overridden-per-stream"],
)
def test_patch_of_a_row_deleted_in_optiply(
    login,
    api,
    tmp_path,
    run_target,
    stream_options: dict[str, Any],
    product_recreated: bool,
    supplier_product_recreated: bool,
):
    kept = create(api, "products", name="Kept", stockLevel=1)
    supplier = create(api, "suppliers", name="Acme")
    gone_product = create(api, "products", name="Gone", stockLevel=1)
    gone_sp = create(
        api, "supplierProducts", productId=int(kept), supplierId=int(supplier), name="old"
    )
    assert api.delete(f"/products/{gone_product}").status_code == 204
    assert api.delete(f"/supplierProducts/{gone_sp}").status_code == 204
    lines = singer(
        "Products", {"externalId": "P-gone", "id": gone_product, "name": "Back", "stockLevel": 2}
    )
    lines += singer(
        "SupplierProducts",
        {
            "externalId": "SP-gone",
            "id": f"{gone_sp}.0",
            "productId": kept,
            "supplierId": supplier,
            "name": "new",
        },
    )

    config = target_config(
        login, tmp_path, stream_options=stream_options, systemic_failure_share=0
    )  # a one-record stream that fails on purpose (the exit code: test_systemic_stops.py)
    run = run_target(config, lines)

    assert run.returncode == 0, run.stderr
    for stream, external, old_id, recreated in [
        ("Products", "P-gone", gone_product, product_recreated),
        ("SupplierProducts", "SP-gone", gone_sp, supplier_product_recreated),
    ]:
        entry = run.entries(stream)[external]
        if recreated:
            assert entry["success"] and entry["id"] != old_id, entry
            resource_type = stream[0].lower() + stream[1:]
            assert api.get(f"/{resource_type}/{entry['id']}").status_code == 200
            assert run.state["summary"][stream]["success"] == 1
        else:
            assert not entry["success"], entry
            assert "deleted in Optiply" in entry["error"] and old_id in entry["error"]
            assert run.state["summary"][stream]["fail"] == 1


def test_an_unchanged_second_run_sends_no_requests(login, api, tmp_path, run_target):
    config = target_config(login, tmp_path)
    lines = singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P2", "name": "Plate", "stockLevel": 2},
    )
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})
    lines += singer(
        "SupplierProducts",
        {"externalId": "SP1", "Remote_productId": "P1", "Remote_supplierId": "S1", "name": "x"},
    )
    first = run_target(config, lines)
    assert first.returncode == 0, first.stderr
    before = api.get("/products").json()["data"]

    second = run_target(config, lines)

    assert second.returncode == 0, second.stderr
    for stream, count in [("Products", 2), ("Suppliers", 1), ("SupplierProducts", 1)]:
        assert second.state["summary"][stream]["existing"] == count
        assert second.state["summary"][stream]["success"] == 0
        assert requests_made(second.stderr, stream) == 0
        for external, entry in second.entries(stream).items():
            assert entry["id"] == first.id(stream, external)
    assert api.get("/products").json()["data"] == before  # same rows, same updatedAt


def test_a_failed_record_is_retried_and_a_changed_one_patched_by_its_state_id(
    login, api, tmp_path, run_target
):
    config = target_config(login, tmp_path)
    same = {"externalId": "P1", "name": "Mug", "stockLevel": 1}
    first = run_target(
        config,
        singer(
            "Products",
            same,
            {"externalId": "P2", "name": "Plate", "stockLevel": "lots"},
            {"externalId": "P3", "name": "Bowl", "stockLevel": 1},
        ),
    )
    assert first.state["summary"]["Products"]["fail"] == 1

    second = run_target(
        config,
        singer(
            "Products",
            same,
            {"externalId": "P2", "name": "Plate", "stockLevel": 4},  # fixed
            {"externalId": "P3", "name": "Big bowl", "stockLevel": 1},  # changed
        ),
    )

    assert second.returncode == 0, second.stderr
    entries = second.entries("Products")
    assert entries["P1"]["id"] == first.id("Products", "P1")
    assert entries["P3"]["id"] == first.id("Products", "P3") and "state" in entries["P3"]["note"]
    summary = second.state["summary"]["Products"]
    assert (summary["existing"], summary["success"], summary["updated"]) == (1, 1, 1)
    assert summary["fail"] == 0
    assert requests_made(second.stderr, "Products") == 2
    p2 = api.get(f"/products/{second.id('Products', 'P2')}").json()["data"]
    assert p2["attributes"]["stockLevel"] == 4
    p3 = api.get(f"/products/{entries['P3']['id']}").json()["data"]
    assert p3["attributes"]["name"] == "Big bowl"
    assert len(api.get("/products").json()["data"]) == 3
