"""A small shop written through the service layer (as the API writes it), every stored row of
an account read back, and a database of their own: for the reset, snapshot and date-shift
tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from live import POSTGRES_URL, drop_postgres_database, fresh_postgres_database
from optiply.resources import get as get_spec
from optiply.server.auth.principal import ALL_SCOPES, Principal
from optiply.server.service import crud
from optiply.server.service.tenancy import AccountScope
from optiply.server.storage import idempotency
from optiply.server.storage.account_data import data_specs, table
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import idempotency_keys

T0 = datetime(2024, 3, 4, 10, 30, 15, 123456, tzinfo=UTC)


def private_database(backend: str, directory: Path) -> Iterator[Engine]:
    """A new, migrated database of ``backend`` for one test module, dropped afterwards: resets
    and restores delete whole accounts, which a shared database's other tests would feel (and
    tests that wipe tables, ours)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{directory / 'data.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    assert POSTGRES_URL
    url, admin_engine = fresh_postgres_database(POSTGRES_URL)
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(url, admin_engine)


@dataclass
class Shop:
    """Ids of what ``build`` created, per type, in creation order."""

    account_id: int
    ids: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, row_id: int) -> int:
        self.ids.setdefault(kind, []).append(row_id)
        return row_id


def context(account_id: int, coupling: str | None, now: datetime = T0) -> crud.Context:
    principal = Principal(user_id=0, scopes=ALL_SCOPES, account_ids=(account_id,))
    return crud.Context(principal, AccountScope((account_id,), None), coupling, now)


def create(
    engine: Engine,
    account_id: int,
    kind: str,
    values: dict[str, Any],
    *,
    coupling: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    now: datetime = T0,
) -> crud.Created:
    """One row (and its embedded lines) created as ``POST /v1/{kind}?couplingId=…`` does."""
    with engine.begin() as connection:
        return crud.create(
            connection, get_spec(kind), context(account_id, coupling, now), values, lines or ()
        )


def delete(engine: Engine, account_id: int, kind: str, row_id: int) -> None:
    """``DELETE /v1/{kind}/{id}``: a soft delete, with its cascade."""
    with engine.begin() as connection:
        crud.delete(connection, get_spec(kind), context(account_id, None, T0), row_id)


def build(engine: Engine, account_id: int, coupling: str | None = "7", tag: str = "") -> Shop:
    """Two products, a supplier with supplierProducts, a composition, a sell order with lines,
    a buy order with a line and a receipt, a promotion with a product, one deleted product."""
    shop = Shop(account_id)

    def make(kind: str, values: dict[str, Any], **kw: Any) -> int:
        number = sum(len(ids) for ids in shop.ids.values())
        values = {"remoteId": f"{kind}-{number}{tag}", **values}
        for index, line in enumerate(kw.get("lines", [])):
            line.setdefault("remoteId", f"line-{number}-{index}{tag}")
        created = create(engine, account_id, kind, values, coupling=coupling, **kw)
        for line_id in created.line_ids:
            shop.add(get_spec(kind).embedded.target, line_id)  # type: ignore[union-attr]
        return shop.add(kind, created.id)

    mug = make(
        "products",
        {
            "name": f"Mug{tag}",
            "stockLevel": 3,
            "remoteId": f"m{tag}",
            "price": Decimal("12.50"),
            "minimumStock": 1,
            "maximumStock": 20,
            "createdAtRemote": T0,
        },
    )
    cup = make("products", {"name": f"Cup{tag}", "stockLevel": 0, "remoteId": f"c{tag}"})
    supplier = make(
        "suppliers", {"name": f"Acme{tag}", "deliveryTime": 3, "emails": ["buyer@example.com"]}
    )
    for product in (mug, cup):
        make(
            "supplierProducts",
            {
                "name": "SP",
                "productId": product,
                "supplierId": supplier,
                "preferred": True,
                "availability": True,  # a value for the tap's SDK tests (boolean attribute)
                "availabilityDate": T0,
            },
        )
    make("productCompositions", {"composedProductId": mug, "partProductId": cup, "partQuantity": 2})
    order = make(
        "sellOrders",
        {"placed": T0, "totalValue": Decimal("25.00"), "completed": T0 + timedelta(days=1)},
        lines=[{"productId": mug, "quantity": 2, "subtotalValue": Decimal("25.00")}],
    )
    make(
        "sellOrderLines",
        {"sellOrderId": order, "productId": cup, "quantity": 1, "subtotalValue": Decimal("0.99")},
    )
    buy = make(
        "buyOrders",
        {"placed": T0 - timedelta(days=10), "totalValue": Decimal("99.99"), "supplierId": supplier},
    )
    line = make(
        "buyOrderLines",
        {"buyOrderId": buy, "productId": mug, "quantity": 10, "subtotalValue": Decimal("99.99")},
    )
    make(
        "receiptLines", {"buyOrderLineId": line, "occurred": T0 - timedelta(days=5), "quantity": 10}
    )
    promotion = make(
        "promotions", {"name": "Spring", "startDate": T0, "endDate": T0 + timedelta(days=30)}
    )
    make(
        "promotionProducts",
        {"promotionId": promotion, "productId": mug, "remoteDataSyncedToDate": T0},
    )
    gone = make("products", {"name": f"Gone{tag}", "stockLevel": 1})
    delete(engine, account_id, "products", gone)
    return shop


def rows(engine: Engine, account_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of the account (deleted ones too), per type, by id."""
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for spec in data_specs():
            t = table(spec)
            statement = select(t).where(t.c.account_id == account_id).order_by(t.c.id)
            found[spec.type] = [dict(row) for row in connection.execute(statement).mappings()]
    return found


def counts(engine: Engine, account_id: int) -> dict[str, int]:
    """Stored rows per type."""
    return {kind: len(found) for kind, found in rows(engine, account_id).items()}


def remember_key(engine: Engine, account_id: int, key: str) -> None:
    """Store an answered ``Idempotency-Key`` of the account, as a POST with one leaves it."""
    row = {
        "id": hashlib.sha256(f"{account_id}:{key}".encode()).hexdigest(),
        "user_id": 1,
        "account_id": account_id,
        "key": key,
        "fingerprint": "0" * 64,
        "status": 201,
        "content_type": "application/vnd.api+json",
        "location": None,
        "body": b"{}",
        "created_at": T0,
        "expires_at": datetime.now(UTC) + timedelta(days=1),
    }
    with engine.begin() as connection:
        assert idempotency.store(connection, row, datetime.now(UTC))


def remembered_keys(engine: Engine, account_id: int) -> set[str]:
    """The account's stored ``Idempotency-Key``s."""
    with engine.connect() as connection:
        found = connection.scalars(
            select(idempotency_keys.c.key).where(idempotency_keys.c.account_id == account_id)
        )
        return set(found)
