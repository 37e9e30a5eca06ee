"""The target on a server that offers the extensions: atomic batches, remote-id lookups and
deterministic ``Idempotency-Key``s; under faults every record lands exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from target_support import create, requests_made, singer, target_config

from live import LiveServer, Login, make_login
from optiply.resources import get
from optiply.server.auth import admin
from target_optiply.dryrun import DryRunApi
from target_optiply.references import References
from target_optiply.settings import resolve
from target_optiply.throttle import Throttle
from target_optiply.upsert import Plan, Upsert

PLACED = "2024-03-01T10:00:00Z"


@pytest.fixture
def login(server: LiveServer) -> Login:
    """A login on the server with extensions only (these tests are about them)."""
    return make_login(server)


def shop(products: int, suppliers: int, orders: int) -> list[str]:
    lines = singer(
        "Products",
        *(
            {"externalId": f"P{n}", "name": f"Product {n}", "stockLevel": n}
            for n in range(products)
        ),
    )
    lines += singer(
        "Suppliers", *({"externalId": f"S{n}", "name": f"Supplier {n}"} for n in range(suppliers))
    )
    lines += singer(
        "BuyOrders",
        *(
            {
                "externalId": f"BO{n}",
                "Remote_supplierId": f"S{n % suppliers}",
                "placed": PLACED,
                "line_items": json.dumps(
                    [
                        {
                            "Remote_productId": f"P{(n + k) % products}",
                            "quantity": 1 + k,
                            "subtotalValue": 2,
                        }
                        for k in range(2)
                    ]
                ),
            }
            for n in range(orders)
        ),
    )
    return lines


def rows(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url: str | None = f"{path}?page[limit]=100"
    while url:
        document = api.get(url).json()
        found += document["data"]
        url = document["links"].get("next")
    return found


def test_batches_write_each_record_once_in_a_few_requests(login, api, tmp_path, run_target):
    run = run_target(target_config(login, tmp_path), shop(250, 5, 30))

    assert run.returncode == 0, run.stderr
    assert run.state["summary"]["Products"]["success"] == 250
    assert run.state["summary"]["BuyOrders"]["success"] == 30
    # 3 lookups by remote id and 3 batches for 250 products; 1 + 1 for 30 orders
    assert requests_made(run.stderr, "Products") == 6
    assert requests_made(run.stderr, "BuyOrders") == 2
    assert login.journal_count(method="POST", path="/v1/operations") == 3 + 1 + 1
    assert len(rows(api, "/products")) == 250
    lines = rows(api, "/buyOrderLines")
    assert len(lines) == 60
    ids = {line["id"] for line in lines}
    assert {i for e in run.entries("BuyOrders").values() for i in e["lineIds"].values()} == ids


def test_one_bad_record_fails_alone_with_its_path_and_the_rest_land(
    login, api, tmp_path, run_target
):
    products = [{"externalId": f"P{n}", "name": f"P{n}", "stockLevel": 1} for n in range(40)]
    products[17] = {**products[17], "id": 999_999}  # a PATCH of a row that is not there
    suppliers = [{"externalId": f"S{n}", "name": f"S{n}"} for n in range(10)]
    suppliers[4] = {**suppliers[4], "emails": "not-an-address"}
    config = target_config(
        login, tmp_path, stream_options={"Products": {"on_patch_not_found": "fail"}}
    )

    run = run_target(config, singer("Products", *products) + singer("Suppliers", *suppliers))

    assert run.returncode == 0, run.stderr
    assert run.state["summary"]["Products"]["success"] == 39
    bad = run.entries("Products")["P17"]
    assert not bad["success"] and "404" in bad["error"]
    supplier = run.entries("Suppliers")["S4"]
    assert not supplier["success"] and "emails" in supplier["error"]  # refused before sending
    assert run.state["summary"]["Suppliers"]["success"] == 9
    assert len(rows(api, "/products")) == 39 and len(rows(api, "/suppliers")) == 9
    assert "writing them one by one" in run.stderr


def test_a_failure_that_stops_the_job_stops_it_after_one_batch(server, login, tmp_path, run_target):
    """A token without the write scope: the first batch is refused (403), and the others of
    the flush are never sent; a later flush of a stream that has had a batch written sends
    its batches at once (``Writer._proven``: only faster, not tested here)."""
    reader = make_login(server, scopes=("read",))
    products = [{"externalId": f"P{n}", "name": f"P{n}", "stockLevel": 1} for n in range(250)]

    run = run_target(target_config(reader, tmp_path), singer("Products", *products))

    assert run.returncode != 0
    assert reader.journal_count(method="POST", path="/v1/operations") == 1


@pytest.mark.parametrize("retries", [0, 2])
def test_max_retries_bounds_the_attempts_at_a_transient_failure(
    login, tmp_path, run_target, retries
):
    login.add_fault(action="status", status=503, retryAfter=0, method="POST", path="/v1/products")
    config = target_config(login, tmp_path, bulk="off", max_retries=retries)
    product = {"externalId": "P1", "name": "Mug", "stockLevel": 1}

    run = run_target(config, singer("Products", product))

    assert not run.entries("Products")["P1"]["success"]
    # The POST is sent 1 + max_retries times; its outcome unknown, the record looks itself up
    # by remote id and is POSTed again as many times.
    sent = login.journal_count(method="POST", path="/v1/products")
    assert sent == 2 * (1 + retries), run.stderr


def test_rows_found_by_remote_id_are_updated_not_created_again(login, api, tmp_path, run_target):
    made = {
        n: create(api, "products", name=f"Old {n}", stockLevel=1, remoteId=f"P{n}")
        for n in range(3)
    }
    create(
        api, "products", name="Twin", stockLevel=1, remoteId="P1"
    )  # a duplicate: the oldest wins
    records = [{"externalId": f"P{n}", "name": f"New {n}", "stockLevel": 2} for n in range(5)]

    run = run_target(target_config(login, tmp_path), singer("Products", *records))

    assert run.returncode == 0, run.stderr
    for n in range(3):
        entry = run.entries("Products")[f"P{n}"]
        assert entry["id"] == made[n] and "remote id" in entry["note"]
    summary = run.state["summary"]["Products"]
    assert (summary["updated"], summary["success"]) == (3, 2)
    assert len(rows(api, "/products")) == 6


def test_under_faults_every_record_lands_exactly_once(server, tmp_path, run_target):
    login = make_login(server)
    short = admin.create_client(server.engine, name=f"ttl30-{login.username}", access_token_ttl=30)
    login.client_id, login.client_secret = short.client_id, short.client_secret
    login.add_fault(method="POST", action="commit-then-fail", probability=0.1, seed=1)
    login.add_fault(method="POST", action="status", status=503, probability=0.05, seed=2)
    login.add_fault(action="expired-token", probability=0.05, seed=3)

    run = run_target(target_config(login, tmp_path), shop(250, 5, 40))

    assert run.returncode == 0, run.stderr
    with login.client() as api:
        products = rows(api, "/products")
        orders = rows(api, "/buyOrders")
        lines = rows(api, "/buyOrderLines")
    remote = sorted(p["attributes"]["remoteIdMap"]["publicApi"] for p in products)
    assert remote == sorted(f"P{n}" for n in range(250))  # no duplicate, none lost
    assert sorted(o["attributes"]["remoteIdMap"]["publicApi"] for o in orders) == sorted(
        f"BO{n}" for n in range(40)
    )
    assert len(lines) == 80
    for stream in ("Products", "Suppliers", "BuyOrders"):
        assert all(entry["success"] for entry in run.entries(stream).values())
    assert login.journal_count(status="500") > 0  # the faults did fire


def _upsert(run: str, path: Path) -> Upsert:
    settings = resolve({"access_token": "t"}, environ={})
    return Upsert(
        settings=settings,
        api=DryRunApi(path),
        references=References(),
        previous={},
        throttle=Throttle(None),
        count_request=lambda stream: None,
        run=run,
    )


def test_keys_are_derived_from_run_stream_source_id_content_and_occurrence(tmp_path):
    record = {"externalId": "P1", "name": "Mug", "stockLevel": 1}

    def key(upsert: Upsert, **change: Any) -> str:
        plan = upsert.plan(get("products"), {**record, **change}, final=True)
        assert isinstance(plan, Plan)
        return plan.key

    first, again = _upsert("job-1", tmp_path / "a"), _upsert("job-1", tmp_path / "b")
    assert key(first) == key(again)  # a rerun of the job: the same key
    assert key(first) != key(first)  # the second such write of a run: another key
    assert key(_upsert("job-1", tmp_path / "c"), name="Cup") != key(
        _upsert("job-1", tmp_path / "d")
    )
    assert key(_upsert("job-2", tmp_path / "e")) != key(_upsert("job-1", tmp_path / "f"))
    assert key(_upsert("job-1", tmp_path / "g"), externalId="P2") != key(
        _upsert("job-1", tmp_path / "h")
    )


def test_bulk_off_sends_one_request_a_record_and_bad_values_are_refused(
    login, tmp_path, run_target
):
    products = [{"externalId": f"P{n}", "name": f"P{n}", "stockLevel": 1} for n in range(12)]
    run = run_target(target_config(login, tmp_path, bulk="off"), singer("Products", *products))
    assert run.returncode == 0, run.stderr
    assert login.journal_count(method="POST", path="/v1/operations") == 0
    assert login.journal_count(method="POST", path="/v1/products") == 12
    with pytest.raises(ValueError, match="bulk must be one of auto, on, off"):
        resolve({"access_token": "t", "bulk": "sometimes"}, environ={})
