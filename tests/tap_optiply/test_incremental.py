"""Incremental reads by (updatedAt, id): ties, bookmarks, the settle window, full-table mode.

The small shop (``tests/small_shop.py``) writes every row at the same instant ``T0``: a tie
of the whole account, the case a plain ``filter[updatedAt][GT]`` bookmark gets wrong.
"""

from __future__ import annotations

from pathlib import Path

from tap_support import create, full_table_products, run_tap, tap_config, update

from optiply.query import format_value
from small_shop import T0, build

T0_TEXT = format_value(T0)


def test_a_full_sync_emits_every_live_row_once_in_the_api_shapes(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    out = run_tap(tmp_path, tap_config(login, page_size=1, settle_seconds=0))
    for kind, ids in shop.ids.items():
        live = ids[:-1] if kind == "products" else ids  # the last product is deleted
        assert out.ids(kind) == [str(i) for i in sorted(live)], kind
    mug = out.records("products")[0]
    assert mug["id"] == str(shop.ids["products"][0]) and mug["type"] == "products"
    assert mug["price"] == "12.50" and mug["updatedAt"] == T0_TEXT
    line = out.records("sellOrderLines")[0]
    assert isinstance(line["productId"], int) and line["subtotalValue"] == "25.00"
    assert not any(key.startswith("_sdc") for key in mug)
    bookmark = out.state["bookmarks"]["products"]
    assert bookmark["replication_key_value"] == T0_TEXT
    assert bookmark["replication_key_id"] == shop.ids["products"][1]


def test_a_bookmark_inside_a_tie_resumes_after_its_id(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    mug, cup = shop.ids["products"][:2]
    state = {
        "bookmarks": {
            "products": {
                "replication_key": "updatedAt",
                "replication_key_value": T0_TEXT,
                "replication_key_id": mug,
            }
        }
    }
    out = run_tap(tmp_path, tap_config(login, page_size=1, settle_seconds=0), state=state)
    gone = str(shop.ids["products"][-1])  # deleted at T0, so since the bookmark (test_deletions)
    assert out.ids("products") == [str(cup), gone]


def test_the_existing_taps_bookmark_is_read_inclusively(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    state = {"bookmarks": {"products": {"updatedAt": T0_TEXT}}}  # what tap-optiply 0.0.1 keeps
    out = run_tap(tmp_path, tap_config(login, settle_seconds=0), state=state)
    live = [r["id"] for r in out.records("products") if "_sdc_deleted_at" not in r]
    assert live == [str(i) for i in shop.ids["products"][:2]]
    assert out.state["bookmarks"]["products"]["replication_key_id"] == shop.ids["products"][1]


def test_only_rows_changed_since_the_bookmark_come_again(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    config = tap_config(login, settle_seconds=0)
    first = run_tap(tmp_path, config)
    cup = str(shop.ids["products"][1])
    update(api, "products", cup, stockLevel=42)
    second = run_tap(tmp_path, config, state=first.state)
    assert second.ids("products") == [cup]
    assert second.records("products")[0]["stockLevel"] == 42
    assert second.ids("sellOrderLines") == []
    third = run_tap(tmp_path, config, state=second.state)
    assert third.ids("products") == []


def test_rows_changed_within_the_settle_window_come_again(server, login, api, tmp_path: Path):
    build(server.engine, login.account_id, coupling=None)
    created = create(api, "products", name="New", stockLevel=1)
    config = tap_config(login)  # settle_seconds: 60 by default
    first = run_tap(tmp_path, config)
    second = run_tap(tmp_path, config, state=first.state)
    assert second.ids("products") == [created["id"]]  # written a moment ago: read again
    assert second.state["bookmarks"]["products"]["replication_key_id"] == 0


def test_start_date_bounds_the_first_sync(server, login, tmp_path: Path):
    build(server.engine, login.account_id, coupling=None)
    out = run_tap(tmp_path, tap_config(login, start_date="2024-03-05T00:00:00Z"))
    assert out.ids("products") == []


def test_full_table_mode_reads_everything_and_keeps_no_bookmark(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    catalog = full_table_products(tmp_path, login)
    state = {"bookmarks": {"products": {"updatedAt": "2999-01-01T00:00:00Z"}}}
    out = run_tap(tmp_path, tap_config(login, page_size=1), catalog=catalog, state=state)
    assert out.ids("products") == [str(i) for i in shop.ids["products"][:2]]
    assert {m["stream"] for m in out.messages if m["type"] == "RECORD"} == {"products"}
    assert "replication_key_value" not in out.state["bookmarks"].get("products", {})
