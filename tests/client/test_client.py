"""``OptiplyClient`` and ``AsyncOptiplyClient`` against the live server: CRUD, lists, paging."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from live import LiveServer, Login, make_login
from optiply.client import (
    AsyncOptiplyClient,
    ConfigurationError,
    NotFoundError,
    OptiplyAuth,
    OptiplyClient,
    Resource,
    Token,
    ValidationError,
    condition,
    filters,
    updated_since,
)
from optiply.query import build


def auth_for(login: Login, **options: Any) -> OptiplyAuth:
    return login.optiply_auth(**options)


def client_for(login: Login, **options: Any) -> OptiplyClient:
    options.setdefault("account_id", login.account_id)
    return OptiplyClient(f"{login.url}/v1", auth=auth_for(login), **options)


def test_product_create_get_update_delete(login: Login) -> None:
    with client_for(login) as client:
        created = client.create(
            "products", {"name": "Blue mug", "stockLevel": 12, "price": Decimal("9.95")}
        )
        assert isinstance(created, Resource)
        assert created.type == "products"
        assert created.id > 0
        assert created.attributes["price"] == "9.95"
        assert created.attributes["accountId"] == login.account_id
        assert client.get("products", created.id) == created
        assert client.get("products", str(created.id)).id == created.id

        updated = client.update("products", created.id, {"stockLevel": 3})
        assert updated.attributes["stockLevel"] == 3
        assert updated.attributes["name"] == "Blue mug"

        client.delete("products", created.id)
        with pytest.raises(NotFoundError):
            client.get("products", created.id)
        with pytest.raises(NotFoundError):
            client.delete("products", created.id)


def test_supplier_create_get_update_delete(login: Login) -> None:
    with client_for(login) as client:
        created = client.create(
            "suppliers", {"name": "Acme", "emails": ["buyer@example.com"], "deliveryTime": 5}
        )
        assert created.attributes["emails"] == ["buyer@example.com"]
        updated = client.update("suppliers", created.id, {"type": "producer", "deliveryTime": 7})
        assert (updated.attributes["type"], updated.attributes["deliveryTime"]) == ("producer", 7)
        assert client.get("suppliers", created.id).attributes["name"] == "Acme"
        client.delete("suppliers", created.id)
        with pytest.raises(NotFoundError):
            client.get("suppliers", created.id)


def test_list_and_iterate_follow_every_page(login: Login) -> None:
    with client_for(login) as client:
        ids = [client.create("products", {"name": f"P{i}", "stockLevel": i}).id for i in range(25)]
        query = filters("products", sort="id", limit=10)

        first = client.list("products", query)
        assert [r.id for r in first] == ids[:10]
        assert first.total == 25
        assert first.next_url is not None
        assert "page[offset]=10" in first.next_url

        pages = list(client.pages("products", query))
        assert [len(page) for page in pages] == [10, 10, 5]
        assert pages[-1].next_url is None
        assert [r.id for r in client.iterate("products", query)] == ids
        assert [r.id for r in client.list("products", sort="-id", limit=5)] == ids[:-6:-1]
        assert len(list(client.pages("products", limit=20))) == 2
        assert sorted(r.id for r in client.iterate("products")) == ids  # 100 a page by default


def test_keyword_filters_and_conditions(login: Login) -> None:
    with client_for(login) as client:
        low = client.create("products", {"name": "Low", "stockLevel": 0, "skuCode": "A-1"})
        client.create("products", {"name": "High", "stockLevel": 50, "skuCode": "B-1"})
        assert [r.id for r in client.list("products", skuCode="A-1")] == [low.id]
        empty = condition("products", "stockLevel", "LE", 0)
        assert [r.id for r in client.iterate("products", filters("products", empty))] == [low.id]
        assert [
            r.id for r in client.list("products", filters("products", empty), name="High")
        ] == []
        since = datetime.now(UTC) - timedelta(hours=1)
        assert len(list(client.iterate("products", updated_since("products", since)))) == 2
        assert list(client.iterate("products", updated_since("products", datetime.now(UTC)))) == []


def test_supplier_product_pair_lookup(login: Login) -> None:
    with client_for(login) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        supplier = client.create("suppliers", {"name": "Acme"})
        pair: dict[str, Any] = {"supplierId": supplier.id, "productId": product.id}
        created = client.create("supplierProducts", {"name": "Mug at Acme", **pair})
        found = client.list("supplierProducts", **pair)
        assert [r.id for r in found] == [created.id]
        assert build(filters("supplierProducts", **pair))[:2] == [
            ("filter[supplierId]", str(supplier.id)),
            ("filter[productId]", str(product.id)),
        ]


def test_buy_order_with_embedded_lines_reports_line_ids(login: Login) -> None:
    with client_for(login) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        supplier = client.create("suppliers", {"name": "Acme"})
        order = client.create(
            "buyOrders",
            {
                "supplierId": supplier.id,
                "placed": datetime(2024, 3, 5, 10, tzinfo=UTC),
                "totalValue": Decimal("25.00"),
                "orderLines": [
                    {"productId": product.id, "quantity": 5, "subtotalValue": "25.00"},
                ],
            },
        )
        (line_id,) = order.meta["orderLineIds"]
        line = client.get("buyOrderLines", line_id)
        assert line.attributes["buyOrderId"] == order.id


def test_account_and_coupling_are_sent_on_every_request(server: LiveServer) -> None:
    login = make_login(server, accounts=2)
    second = login.extra_account_ids[0]
    with client_for(login, account_id=None) as anywhere:
        with pytest.raises(ValidationError) as raised:
            anywhere.create("products", {"name": "Where?", "stockLevel": 1})
        assert raised.value.code == "ACCOUNT_REQUIRED"
    with client_for(login, account_id=second, coupling_id=77) as client:
        product = client.create("products", {"name": "Here", "stockLevel": 1, "remoteId": "S-1"})
        assert product.attributes["accountId"] == second
        assert product.attributes["remoteIdMap"] == {"77": "S-1"}
        updated = client.update("products", product.id, {"remoteId": "S-2"})
        assert updated.attributes["remoteIdMap"] == {"77": "S-2"}
        assert [r.id for r in client.iterate("products", filters("products", limit=1))] == [
            product.id
        ]
    with client_for(login, account_id=login.account_id) as first:
        assert list(first.iterate("products")) == []


def test_arguments_are_checked_before_sending(login: Login) -> None:
    with client_for(login) as client:
        with pytest.raises(ConfigurationError, match="unknown resource type 'widgets'"):
            client.get("widgets", 1)
        with pytest.raises(ConfigurationError, match="accounts does not support POST"):
            client.create("accounts", {"name": "x"})
        with pytest.raises(ConfigurationError, match="unknown attribute 'colour'") as raised:
            client.list("products", colour="blue")
        assert raised.value.parameter == "filter[colour]"
        with pytest.raises(ValidationError, match="not a valid id"):
            client.update("products", "nan", {"stockLevel": 1})
        with pytest.raises(ValidationError) as invalid:
            client.create("products", {"name": "NaN", "stockLevel": float("nan")})
        assert invalid.value.pointer == "/data/attributes/stockLevel"
        assert invalid.value.status is None
    with pytest.raises(ConfigurationError):
        OptiplyClient(f"{login.url}/v1")
    with pytest.raises(ConfigurationError):
        OptiplyClient(f"{login.url}/v1", auth=auth_for(login), access_token="t")
    with pytest.raises(ConfigurationError):
        OptiplyClient(f"{login.url}/v1", access_token="t", account_id="shop")


def test_access_token_instead_of_auth(login: Login) -> None:
    with OptiplyClient(
        f"{login.url}/v1", access_token=login.access_token, account_id=login.account_id
    ) as client:
        created = client.create("products", {"name": "Token only", "stockLevel": 1})
        assert client.get("products", created.id).attributes["name"] == "Token only"


def test_async_client_shares_one_token_across_concurrent_requests(login: Login) -> None:
    tokens: list[Token] = []

    async def scenario() -> tuple[list[int], list[int], Resource]:
        async with AsyncOptiplyClient(
            f"{login.url}/v1",
            auth=auth_for(login, on_token=tokens.append),
            account_id=login.account_id,
            max_concurrency=4,
        ) as client:
            created = await asyncio.gather(
                *(client.create("products", {"name": f"A{i}", "stockLevel": i}) for i in range(25))
            )
            query = filters("products", sort="id", limit=10)
            seen = [r.id async for r in client.iterate("products", query)]
            page = await client.list("products", query, name="A3")
            updated = await client.update("products", page.data[0].id, {"stockLevel": 99})
            await client.delete("products", updated.id)
            with pytest.raises(NotFoundError):
                await client.get("products", updated.id)
            return sorted(r.id for r in created), seen, updated

    created, seen, updated = asyncio.run(scenario())
    assert seen == created
    assert updated.attributes["stockLevel"] == 99
    assert len(tokens) == 1
