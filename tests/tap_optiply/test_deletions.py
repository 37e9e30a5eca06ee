"""Deleted rows in incremental syncs (docs/tap.md, "Deleted rows"; ``tap_optiply/deletions.py``).

Against a server with the deleted-rows extension a row deleted after a sync arrives in the next
one, once, with ``_sdc_deleted_at`` (its last values, after the stream's live rows), under a
bookmark of its own that stays put when nothing changes; a first sync from the beginning reads
no deleted rows, one from ``start_date`` reads those deleted since. Without the extension (the
hosted API, ``--no-extensions``) and in full-table mode nothing changes: no deleted records, no
``_sdc_deleted_at`` in the schema, no state key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tap_support import Output, full_table_products, run_tap, run_target, tap_config, update

from live import Login, make_login
from optiply.query import format_value
from small_shop import T0, build
from tap_optiply.copying import copy_stream_maps

DELETED = "_sdc_deleted_at"


def schema(out: Output, stream: str) -> dict[str, Any]:
    (found,) = [m for m in out.messages if m["type"] == "SCHEMA" and m["stream"] == stream]
    properties: dict[str, Any] = found["schema"]["properties"]
    return properties


def deletions(out: Output, stream: str) -> list[tuple[str, str]]:
    """(id, _sdc_deleted_at) of the stream's deleted records, in output order."""
    return [(r["id"], r[DELETED]) for r in out.records(stream) if DELETED in r]


def meta_deleted_at(login: Login, kind: str, row_id: str) -> str:
    with login.client() as api:
        body = api.get(f"/{kind}", params={"filter[deletedAt][GE]": "2000-01-01"}).json()
    (row,) = [r for r in body["data"] if r["id"] == row_id]
    text: str = row["meta"]["deletedAt"]
    return text


def test_a_row_deleted_after_a_sync_arrives_in_the_next_once(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    config = tap_config(login, settle_seconds=0)
    first = run_tap(tmp_path, config)
    assert deletions(first, "products") == []  # a first sync: none (the target has none)
    assert schema(first, "products")[DELETED] == {"type": ["string", "null"], "format": "date-time"}
    assert DELETED not in schema(first, "accounts")  # accounts are never deleted
    cup = str(shop.ids["products"][1])
    assert api.delete(f"/products/{cup}").status_code == 204
    second = run_tap(tmp_path, config, state=first.state)
    at = meta_deleted_at(login, "products", cup)
    assert second.records("products") == [
        {
            **next(r for r in first.records("products") if r["id"] == cup),
            "updatedAt": at,
            DELETED: at,
        }
    ]  # its values as they were, the delete's instant, nothing else of the stream
    cup_pair = str(shop.ids["supplierProducts"][1])  # deleted with cup (a cascade)
    assert [row_id for row_id, _ in deletions(second, "supplierProducts")] == [cup_pair]
    composition = str(shop.ids["productCompositions"][0])  # cup was its part
    assert [row_id for row_id, _ in deletions(second, "productCompositions")] == [composition]
    bookmark = second.state["bookmarks"]["products"]
    assert (bookmark["deleted_at_value"], bookmark["deleted_at_id"]) == (at, int(cup))
    third = run_tap(tmp_path, config, state=second.state)
    assert third.records("products") == [] and third.records("supplierProducts") == []
    assert third.state == second.state  # stable: nothing new, nothing moves


def test_a_row_updated_then_deleted_comes_once_deleted_with_its_last_values(
    server, login, api, tmp_path: Path
):
    shop = build(server.engine, login.account_id, coupling=None)
    config = tap_config(login, settle_seconds=0)
    first = run_tap(tmp_path, config)
    mug, cup = (str(i) for i in shop.ids["products"][:2])
    update(api, "products", cup, stockLevel=42)
    update(api, "products", mug, stockLevel=7)
    assert api.delete(f"/products/{cup}").status_code == 204
    second = run_tap(tmp_path, config, state=first.state)
    records = second.records("products")
    assert [(r["id"], DELETED in r) for r in records] == [(mug, False), (cup, True)]  # live first
    assert records[1]["stockLevel"] == 42
    third = run_tap(tmp_path, config, state=second.state)
    assert third.records("products") == []


def test_deletions_sharing_an_instant_resume_inside_the_tie(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    config = tap_config(login, settle_seconds=0, page_size=1)
    first = run_tap(tmp_path, config)
    supplier = shop.ids["suppliers"][0]
    assert api.delete(f"/suppliers/{supplier}").status_code == 204  # both its pairs go with it
    pairs = [str(i) for i in shop.ids["supplierProducts"]]
    second = run_tap(tmp_path, config, state=first.state)
    found = deletions(second, "supplierProducts")
    assert [row_id for row_id, _ in found] == pairs and found[0][1] == found[1][1]  # one instant
    state = json.loads(json.dumps(first.state))
    state["bookmarks"]["supplierProducts"].update(
        deleted_at_value=found[0][1], deleted_at_id=int(pairs[0])
    )
    resumed = run_tap(tmp_path, config, state=state)
    assert [row_id for row_id, _ in deletions(resumed, "supplierProducts")] == [pairs[1]]


def test_deletions_inside_the_settle_window_wait_instead_of_coming_twice(
    server, login, api, tmp_path: Path
):
    shop = build(server.engine, login.account_id, coupling=None)
    first = run_tap(tmp_path, tap_config(login, settle_seconds=0))
    cup = str(shop.ids["products"][1])
    assert api.delete(f"/products/{cup}").status_code == 204
    settled = tap_config(login, settle_seconds=3600)  # the delete is within the last hour
    second = run_tap(tmp_path, settled, state=first.state)
    assert deletions(second, "products") == []
    assert (
        second.state["bookmarks"]["products"]["deleted_at_value"]
        == (first.state["bookmarks"]["products"]["deleted_at_value"])
    )
    third = run_tap(tmp_path, tap_config(login, settle_seconds=0), state=second.state)
    assert [row_id for row_id, _ in deletions(third, "products")] == [cup]
    fourth = run_tap(tmp_path, tap_config(login, settle_seconds=0), state=third.state)
    assert deletions(fourth, "products") == []


def test_a_sync_from_start_date_reads_the_rows_deleted_since(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)  # "Gone" is deleted at T0
    gone = str(shop.ids["products"][-1])
    since = run_tap(tmp_path, tap_config(login, settle_seconds=0, start_date="2024-01-01"))
    assert deletions(since, "products") == [(gone, format_value(T0))]
    later = run_tap(tmp_path, tap_config(login, settle_seconds=0, start_date="2024-12-01"))
    assert deletions(later, "products") == []


def test_the_existing_taps_bookmark_starts_deletions_too(server, login, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    state = {"bookmarks": {"products": {"updatedAt": format_value(T0)}}}
    out = run_tap(tmp_path, tap_config(login, settle_seconds=0), state=state)
    assert deletions(out, "products") == [(str(shop.ids["products"][-1]), format_value(T0))]


def test_stream_maps_carry_the_deletion(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    config = tap_config(login, settle_seconds=0, stream_maps=copy_stream_maps())
    first = run_tap(tmp_path, config)
    cup = shop.ids["products"][1]
    assert api.delete(f"/products/{cup}").status_code == 204
    second = run_tap(tmp_path, config, state=first.state)
    (record,) = second.records("products")
    assert record["externalId"] == str(cup) and record[DELETED]  # what target-optiply deletes
    assert DELETED in schema(second, "products")  # the mapped schema lists it


@pytest.fixture
def plain(start_server: Any) -> Login:
    """A login on a server without extensions (as the hosted API: no deleted rows)."""
    return make_login(start_server("sqlite", extensions=False))


def test_without_the_extension_nothing_changes(plain: Login, tmp_path: Path):
    shop = build(plain.server.engine, plain.account_id, coupling=None)
    config = tap_config(plain, settle_seconds=0, start_date="2024-01-01")
    first = run_tap(tmp_path, config)
    with plain.client() as api:
        assert api.delete(f"/products/{shop.ids['products'][1]}").status_code == 204
    second = run_tap(tmp_path, config, state=first.state)
    for out in (first, second):
        assert not any(
            DELETED in r for m in out.messages if m["type"] == "RECORD" for r in [m["record"]]
        )
        assert DELETED not in schema(out, "products")
        assert not any("deleted_at_value" in b for b in out.state["bookmarks"].values())
    assert second.records("products") == []


def test_full_table_streams_read_no_deleted_rows(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    catalog = full_table_products(tmp_path, login)
    config = tap_config(login, settle_seconds=0, start_date="2024-01-01")
    out = run_tap(tmp_path, config, catalog=catalog)
    assert out.ids("products") == [str(i) for i in shop.ids["products"][:2]]
    assert deletions(out, "products") == [] and DELETED not in schema(out, "products")


def test_a_deletion_reaches_a_copy_through_target_optiply(server, login, api, tmp_path: Path):
    """tap (account A) | target (account B): a row deleted in A after the copy is deleted in B."""
    shop = build(server.engine, login.account_id, coupling=None)
    copy = make_login(server)
    config = tap_config(login, stream_maps=copy_stream_maps(), settle_seconds=0)

    def into_b(out: Output) -> None:
        run_target(tmp_path, copy, out, delete_mode="hard")

    first = run_tap(tmp_path, config)
    into_b(first)
    with copy.client() as b:
        twins = {r["attributes"]["name"]: r["id"] for r in b.get("/products").json()["data"]}
    assert set(twins) == {"Mug", "Cup"}
    assert api.delete(f"/products/{shop.ids['products'][1]}").status_code == 204
    into_b(run_tap(tmp_path, config, state=first.state))
    with copy.client() as b:
        assert [r["attributes"]["name"] for r in b.get("/products").json()["data"]] == ["Mug"]
        assert b.get(f"/products/{twins['Cup']}").status_code == 404
