"""Streams beyond the catalogue: promotions and their products; streams Optiply does not have."""

from __future__ import annotations

import re

from target_support import records, singer, target_config


def test_promotions_and_their_products_land_and_read_back(login, api, tmp_path, run_target):
    config = target_config(login, tmp_path)
    lines = singer(
        "PromotionProducts",
        {
            "externalId": "PP1",
            "Remote_promotionId": "PR1",
            "Remote_productId": "P1",
            "specificUpliftType": "absolute",
            "specificUpliftIncrease": "5.5",
        },
        {"externalId": "PP2", "Remote_promotionId": "PR1", "Remote_productId": "P2"},
    )
    lines += singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P2", "name": "Plate", "stockLevel": 1},
    )
    lines += singer(
        "Promotions",
        {
            "externalId": "PR1",
            "name": "Summer sale",
            "startDate": "2024-06-01",
            "endDate": "2024-06-30T23:59:59Z",
            "upliftType": "percentage",  # the old spelling of "relative"
            "upliftIncrease": 20,
        },
        {"externalId": "PR-bad", "name": "No dates"},
    )

    first = run_target(config, lines)

    assert first.returncode == 0, first.stderr
    assert first.state["summary"]["Promotions"]["success"] == 1
    assert "/startDate" in first.entries("Promotions")["PR-bad"]["error"]
    assert first.state["summary"]["PromotionProducts"]["success"] == 2
    promotion_id = first.id("Promotions", "PR1")
    promotion = api.get(f"/promotions/{promotion_id}").json()["data"]["attributes"]
    assert promotion["name"] == "Summer sale"
    assert promotion["startDate"].startswith("2024-06-01T00:00:00")
    assert promotion["upliftType"] == "relative" and promotion["upliftIncrease"] == "20.00"
    assert promotion["enabled"] is True
    assert "PR1" in promotion["remoteIdMap"].values()
    rows = api.get("/promotionProducts", params={"filter[promotionId]": promotion_id}).json()
    by_product = {str(row["attributes"]["productId"]): row for row in rows["data"]}
    assert set(by_product) == {first.id("Products", "P1"), first.id("Products", "P2")}
    pp1 = by_product[first.id("Products", "P1")]
    assert pp1["id"] == first.id("PromotionProducts", "PP1")
    assert pp1["attributes"]["specificUpliftType"] == "absolute"
    assert pp1["attributes"]["specificUpliftIncrease"] == "5.50"

    # A promotion product's delete is a DELETE.
    second = run_target(
        config,
        singer("PromotionProducts", {"externalId": "PP2", "deleted_at": "2024-07-01"}),
    )
    assert second.returncode == 0, second.stderr
    assert second.entries("PromotionProducts")["PP2"]["deleted"] is True
    assert api.get(f"/promotionProducts/{first.id('PromotionProducts', 'PP2')}").status_code == 404
    assert api.get(f"/promotionProducts/{pp1['id']}").status_code == 200


def test_an_unknown_stream_is_warned_about_once_and_skipped(login, api, tmp_path, run_target):
    lines = singer("Countries", {"code": "NL"}, {"code": "BE"})
    lines += singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += records("Countries", {"code": "DE"})
    lines += singer("Warehouses", {"externalId": "W1"})

    run = run_target(target_config(login, tmp_path), lines)

    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    for stream in ("Countries", "Warehouses"):
        about = [line for line in warnings if re.search(rf"\b{stream}\b", line)]
        assert len(about) == 1, about
        assert "skipped" in about[0]
    assert set(run.state["bookmarks"]) == {"Products"}
    assert run.state["summary"]["Products"]["success"] == 1
    assert len(api.get("/products").json()["data"]) == 1
