"""The client and the server's extensions, over HTTP (docs/extensions.md): ``Idempotency-Key``
replays after the commit-then-fail fault, ``find_by_remote_id``, ``operations()`` and their
detection; and the plain-v1 behaviour against ``optiply serve --no-extensions``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from live import Login, make_login
from optiply.client import (
    AmbiguousWriteError,
    AsyncOptiplyClient,
    FatalError,
    NotFoundError,
    Operations,
    OptiplyClient,
    ValidationError,
    ref,
)
from optiply.jsonapi.extensions import ATOMIC, IDEMPOTENCY, REMOTE_ID


def journal(login: Login, **params: Any) -> list[dict[str, Any]]:
    """The journal's rows of the login's account, oldest first."""
    return sorted(login.journal(**params), key=lambda row: row["id"])


@pytest.fixture
def plain(start_server: Any) -> Iterator[Login]:
    """A login on a server started with ``--no-extensions`` (the hosted API's behaviour)."""
    yield make_login(start_server(extensions=False))


def test_a_committed_then_failed_post_is_answered_by_the_replay_of_the_clients_retry(login):
    rule = login.add_fault(method="POST", path="/v1/products", action="commit-then-fail", times=1)
    rule_id = rule["id"]
    with login.optiply_client() as client:
        created = client.create("products", {"name": "Mug", "stockLevel": 1})
        rows = list(client.iterate("products"))
        assert client.extensions() >= {IDEMPOTENCY.uri, REMOTE_ID.uri}
    assert [row.id for row in rows] == [created.id]  # one row, and it is the one answered
    posts = journal(login, method="POST", path="/v1/products")
    assert len(posts) == 2 and posts[0]["fault"] == rule_id
    keys = {row["requestHeaders"]["idempotency-key"] for row in posts}
    assert len(keys) == 1 and posts[0]["requestBody"] == posts[1]["requestBody"]


def test_a_dropped_answer_is_replayed_too_and_the_async_client_does_the_same(login):
    login.add_fault(
        method="POST",
        path="/v1/products",
        action="commit-then-fail",
        dropAfterCommit=True,
        times=2,
    )

    async def main() -> list[int]:
        async with AsyncOptiplyClient(
            f"{login.url}/v1", auth=login.optiply_auth(), account_id=login.account_id
        ) as client:
            created = await client.create("products", {"name": "Async mug", "stockLevel": 2})
            return [created.id] + [row.id async for row in client.iterate("products")]

    created, *stored = asyncio.run(main())
    assert stored == [created]


def test_without_the_extension_an_ambiguous_post_is_never_sent_again(plain):
    plain.add_fault(method="POST", path="/v1/products", action="commit-then-fail", times=1)
    with plain.optiply_client() as client:
        with pytest.raises(AmbiguousWriteError):
            client.create("products", {"name": "Mug", "stockLevel": 1})
        assert client.extensions() == frozenset()
        assert len(list(client.iterate("products"))) == 1  # committed once, not twice
    assert len(journal(plain, method="POST", path="/v1/products")) == 1


def test_a_key_given_replays_the_same_request_and_refuses_another(login):
    with login.optiply_client() as client:
        first = client.create("products", {"name": "Mug", "stockLevel": 1}, idempotency_key="k1")
        again = client.create("products", {"name": "Mug", "stockLevel": 1}, idempotency_key="k1")
        assert again.id == first.id
        with pytest.raises(ValidationError) as raised:
            client.create("products", {"name": "Cup", "stockLevel": 1}, idempotency_key="k1")
        assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert len(list(client.iterate("products"))) == 1


def _coupled(login: Login, coupling_id: int | None) -> OptiplyClient:
    return OptiplyClient(
        f"{login.url}/v1",
        auth=login.optiply_auth(),
        account_id=login.account_id,
        coupling_id=coupling_id,
    )


def test_find_by_remote_id_per_coupling_several_rows_and_in(login):
    with _coupled(login, 42) as coupled, _coupled(login, None) as public:
        a = coupled.create("products", {"name": "A", "stockLevel": 1, "remoteId": "R1"}).id
        b = coupled.create("products", {"name": "B", "stockLevel": 1, "remoteId": "R1"}).id
        c = coupled.create("products", {"name": "C", "stockLevel": 1, "remoteId": "R 2"}).id
        d = public.create("products", {"name": "D", "stockLevel": 1, "remoteId": "R1"}).id

        assert sorted(row.id for row in coupled.find_by_remote_id("products", "R1")) == [a, b]
        assert [row.id for row in public.find_by_remote_id("products", "R1")] == [d]
        assert sorted(r.id for r in public.find_by_remote_id("products", "R1", coupling_id=42)) == [
            a,
            b,
        ]
        found = coupled.find_by_remote_id("products", ["R1", "R 2", "none"])
        assert sorted(row.id for row in found) == [a, b, c]
        assert coupled.find_by_remote_id("products", "missing") == []
        with pytest.raises(ValueError):
            coupled.find_by_remote_id("accounts", "R1")  # no remoteIdMap: refused before sending


def test_find_by_remote_id_follows_pages(login):
    with login.optiply_client() as client:
        ids = set()
        for start in (0, 100):
            ops = Operations()
            for n in range(start, min(start + 100, 101)):
                ops.add("products", {"name": f"P{n}", "stockLevel": 1, "remoteId": "same"})
            ids |= {row.id for row in client.operations(ops) if row is not None}
        assert {row.id for row in client.find_by_remote_id("products", "same")} == ids


def test_without_the_extension_find_by_remote_id_says_so(plain):
    with plain.optiply_client() as client, pytest.raises(FatalError) as raised:
        client.find_by_remote_id("products", "R1")
    assert "remote-id" in str(raised.value)


def test_extensions_are_asked_once_per_client(login):
    with login.optiply_client() as client:
        offered = client.extensions()
        assert client.extensions() is offered
    assert ATOMIC.uri in offered
    assert len(journal(login, method="GET", path="/v1")) <= 1  # GET /v1 carries no account


def test_operations_add_update_remove_with_lids_results_in_order(login):
    with login.optiply_client() as client:
        old = client.create("products", {"name": "Old", "stockLevel": 1}).id
        gone = client.create("products", {"name": "Gone", "stockLevel": 1}).id
        ops = Operations()
        ops.add("products", {"name": "Mug", "stockLevel": 3}, lid="p1")
        ops.add("suppliers", {"name": "Acme"}, lid="s1")
        ops.add(
            "supplierProducts",
            {"name": "Mug from Acme"},
            relationships={"product": ref("products", "p1"), "supplier": ref("suppliers", "s1")},
        )
        ops.update("products", old, {"name": "Renamed"})
        ops.remove("products", gone)
        product, supplier, pair, renamed, removed = client.operations(ops)
        assert product is not None and supplier is not None and pair is not None
        assert pair.attributes["productId"] == product.id
        assert pair.attributes["supplierId"] == supplier.id
        assert renamed is not None and renamed.attributes["name"] == "Renamed"
        assert removed is None
        names = sorted(row.attributes["name"] for row in client.iterate("products"))
        assert names == ["Mug", "Renamed"]


def test_an_operations_error_names_its_operation_and_nothing_is_written(login):
    with login.optiply_client() as client:
        ops = Operations()
        ops.add("products", {"name": "Fine", "stockLevel": 1})
        ops.add("products", {"name": "Fine too", "stockLevel": 2})
        ops.add("products", {"name": "Bad", "stockLevel": "lots"})
        with pytest.raises(ValidationError) as raised:
            client.operations(ops)
        assert raised.value.operation == 2
        assert raised.value.pointer == "/atomic:operations/2/data/attributes/stockLevel"
        assert list(client.iterate("products")) == []


def test_a_committed_then_failed_batch_is_replayed_once(login):
    login.add_fault(method="POST", path="/v1/operations", action="commit-then-fail", times=1)
    with login.optiply_client() as client:
        ops = Operations()
        for n in range(5):
            ops.add("products", {"name": f"P{n}", "stockLevel": n})
        results = client.operations(ops)
        stored = sorted(row.id for row in client.iterate("products"))
    assert sorted(r.id for r in results if r is not None) == stored and len(stored) == 5


def test_the_async_client_finds_by_remote_id_and_sends_operations(login):
    async def main() -> tuple[list[int], list[int]]:
        async with AsyncOptiplyClient(
            f"{login.url}/v1", auth=login.optiply_auth(), account_id=login.account_id
        ) as client:
            ops = Operations()
            ops.add("products", {"name": "A", "stockLevel": 1, "remoteId": "X"})
            ops.add("products", {"name": "B", "stockLevel": 1, "remoteId": "Y"})
            made = [r.id for r in await client.operations(ops) if r is not None]
            found = [r.id for r in await client.find_by_remote_id("products", ["X", "Y"])]
            return made, found

    made, found = asyncio.run(main())
    assert sorted(made) == sorted(found) and len(made) == 2


def test_operations_against_a_server_without_them_fail_without_writing(plain):
    with plain.optiply_client() as client:
        ops = Operations()
        ops.add("products", {"name": "Mug", "stockLevel": 1})
        with pytest.raises(NotFoundError):
            client.operations(ops)
        assert list(client.iterate("products")) == []
