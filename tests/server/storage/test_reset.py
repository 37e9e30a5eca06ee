"""``storage.reset``: an account's data deleted, all of it or one coupling's or the API's, in
one transaction, with the API's cascades, no dangling reference, and the data version bumped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from live import BACKENDS
from optiply.server.auth import admin
from optiply.server.storage import reset
from optiply.server.storage.account_data import ACCOUNTS, UnknownAccount, data_specs, table
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.reset import ResetScope
from optiply.server.storage.tables import oauth_clients, user_accounts, users
from small_shop import (
    T0,
    build,
    counts,
    create,
    private_database,
    remember_key,
    remembered_keys,
    rows,
)

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
EMPTY = {spec.type: 0 for spec in data_specs()}


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from private_database(request.param, tmp_path_factory.mktemp("data"))


@pytest.fixture
def account(engine: Engine) -> int:
    return admin.create_account(engine, name="Shop").id


EVERYTHING = ResetScope()


def run(engine: Engine, account: int, scope: ResetScope = EVERYTHING) -> reset.ResetResult:
    with engine.begin() as connection:
        return reset.reset_account(connection, account, scope, NOW)


def version(engine: Engine, account: int) -> int:
    with engine.connect() as connection:
        found: int = connection.scalar(
            select(ACCOUNTS.c.data_version).where(ACCOUNTS.c.id == account)
        )
    return found


def live(engine: Engine, account: int) -> dict[str, set[int]]:
    return {
        kind: {row["id"] for row in found if row["deleted_at"] is None}
        for kind, found in rows(engine, account).items()
    }


def stored(engine: Engine, account: int) -> dict[str, set[int]]:
    return {kind: {row["id"] for row in found} for kind, found in rows(engine, account).items()}


def test_a_reset_deletes_every_row_of_the_account_and_nothing_else(engine: Engine) -> None:
    account = admin.create_account(engine, name="Shop").id
    user = admin.create_user(
        engine, username=f"u{account}", password="pw-123456", account_ids=[account], scopes=["read"]
    )
    client = admin.create_client(engine, name="etl")
    other = admin.create_account(engine, name="Other").id
    build(engine, account)
    build(engine, other)
    before = counts(engine, account)
    others = rows(engine, other)

    result = run(engine, account)

    assert result.deleted == before  # the deleted product included
    assert before["products"] == 3 and before["sellOrderLines"] == 2
    assert list(result.deleted) == [spec.type for spec in data_specs()]
    assert result.kept_as_deleted == {}
    assert counts(engine, account) == EMPTY
    assert rows(engine, other) == others
    with engine.connect() as connection:
        assert connection.scalar(select(ACCOUNTS.c.name).where(ACCOUNTS.c.id == account)) == "Shop"
        assert connection.scalar(select(users.c.id).where(users.c.id == user)) == user
        assert connection.execute(
            select(user_accounts).where(user_accounts.c.account_id == account)
        ).all()
        assert connection.scalar(
            select(oauth_clients.c.id).where(oauth_clients.c.client_id == client.client_id)
        )


def test_a_reset_bumps_the_data_version_so_no_cached_count_survives(
    engine: Engine, account: int
) -> None:
    build(engine, account)
    before = version(engine, account)

    run(engine, account)
    run(engine, account, ResetScope(coupling="7"))

    assert version(engine, account) == before + 2


@pytest.mark.parametrize("scope", [EVERYTHING, ResetScope(coupling="7")], ids=["all", "coupling"])
def test_a_reset_forgets_the_accounts_idempotency_keys(engine: Engine, scope: ResetScope) -> None:
    account = admin.create_account(engine, name="Shop").id
    other = admin.create_account(engine, name="Other").id
    build(engine, account)
    remember_key(engine, account, "order-17")
    remember_key(engine, other, "order-17")

    run(engine, account, scope)

    assert remembered_keys(engine, account) == set()  # a replay would name rows that are gone
    assert remembered_keys(engine, other) == {"order-17"}


def test_an_unknown_account_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownAccount, match="no account 987654"):
        run(engine, 987654)


def test_a_coupling_reset_deletes_what_the_coupling_created(engine: Engine, account: int) -> None:
    mine = build(engine, account, coupling="7")
    theirs = build(engine, account, coupling="8", tag="8")
    public = build(engine, account, coupling=None, tag="p")  # remoteIdMap key "publicApi"
    seventy = build(engine, account, coupling="70", tag="70")  # not the key "7"
    kept = {
        kind: set(theirs.ids.get(kind, []) + public.ids.get(kind, []) + seventy.ids.get(kind, []))
        for kind in EMPTY
    }

    result = run(engine, account, ResetScope(coupling="7"))

    assert stored(engine, account) == kept
    assert result.deleted == {kind: len(mine.ids.get(kind, [])) for kind in EMPTY}

    run(engine, account, ResetScope(coupling="publicApi"))
    assert stored(engine, account)["products"] == set(
        theirs.ids["products"] + seventy.ids["products"]
    )


def test_a_coupling_key_is_matched_exactly_whatever_its_characters(
    engine: Engine, account: int
) -> None:
    odd = 'a"b.c[0]\\$'
    made = create(
        engine, account, "products", {"name": "odd", "stockLevel": 1, "remoteId": "x"}, coupling=odd
    ).id
    create(
        engine,
        account,
        "products",
        {"name": "plain", "stockLevel": 1, "remoteId": "y"},
        coupling="a",
    )

    result = run(engine, account, ResetScope(coupling=odd))

    assert result.deleted["products"] == 1
    assert made not in stored(engine, account)["products"]
    assert len(stored(engine, account)["products"]) == 1


def test_rows_that_cascade_from_a_deleted_row_go_with_it_whoever_made_them(
    engine: Engine, account: int
) -> None:
    """As the API's DELETE: another coupling's lines of this coupling's sell order, its
    supplierProducts of this coupling's product, its receipts of this coupling's buy order
    line go too."""
    mine = build(engine, account, coupling="7")
    product, supplier = mine.ids["products"][0], mine.ids["suppliers"][0]
    order, buy_line = mine.ids["sellOrders"][0], mine.ids["buyOrderLines"][0]
    other = build(engine, account, coupling="8", tag="8")

    def theirs(kind: str, **values: object) -> int:
        return create(engine, account, kind, values, coupling="8").id

    line = theirs(
        "sellOrderLines",
        sellOrderId=order,
        productId=other.ids["products"][0],
        quantity=1,
        subtotalValue=Decimal("1.00"),
    )
    their_product = other.ids["products"][1]
    offer = theirs("supplierProducts", name="x", productId=their_product, supplierId=supplier)
    composition = theirs(
        "productCompositions",
        composedProductId=their_product,
        partProductId=product,
        partQuantity=1,
    )
    receipt = theirs("receiptLines", buyOrderLineId=buy_line, occurred=T0, quantity=1)

    run(engine, account, ResetScope(coupling="7"))

    left = stored(engine, account)
    assert line not in left["sellOrderLines"]
    assert offer not in left["supplierProducts"]
    assert composition not in left["productCompositions"]
    assert receipt not in left["receiptLines"]
    assert set(other.ids["products"]) <= left["products"]


def test_a_deleted_row_others_still_point_at_is_kept_as_deleted(
    engine: Engine, account: int
) -> None:
    """As after the API's DELETE: another coupling's sales keep their product, another
    coupling's buy orders their supplier; the API no longer shows them."""
    mine = build(engine, account, coupling="7")
    product, supplier = mine.ids["products"][1], mine.ids["suppliers"][0]
    other = build(engine, account, coupling="8", tag="8")
    order = other.ids["sellOrders"][0]
    line = create(
        engine,
        account,
        "sellOrderLines",
        {
            "sellOrderId": order,
            "productId": product,
            "quantity": 1,
            "subtotalValue": Decimal("1.00"),
        },
        coupling="8",
    ).id
    buy = create(
        engine,
        account,
        "buyOrders",
        {"placed": T0, "totalValue": Decimal("1.00"), "supplierId": supplier},
        coupling="8",
    ).id

    result = run(engine, account, ResetScope(coupling="7"))

    assert result.kept_as_deleted == {"products": 1, "suppliers": 1}
    assert result.deleted["products"] == 2 and result.deleted["suppliers"] == 0
    found = {row["id"]: row for row in rows(engine, account)["products"]}
    assert found[product]["deleted_at"] == found[product]["updated_at"] == NOW
    assert {row["id"] for row in rows(engine, account)["suppliers"] if row["deleted_at"]} == {
        supplier
    }
    assert line in live(engine, account)["sellOrderLines"]
    assert buy in live(engine, account)["buyOrders"]
    # once nothing points at them, the next reset removes them
    run(engine, account, ResetScope(coupling="8"))
    run(engine, account, ResetScope(coupling="7"))
    assert product not in stored(engine, account)["products"]


def test_a_promotion_that_stays_counts_its_products_again(engine: Engine, account: int) -> None:
    mine = build(engine, account, coupling="7")
    promotion = create(
        engine, account, "promotions", {"name": "P", "startDate": T0, "endDate": T0}, coupling="8"
    ).id
    for product in mine.ids["products"][:2]:
        create(
            engine,
            account,
            "promotionProducts",
            {"promotionId": promotion, "productId": product},
            coupling="8",
        )

    run(engine, account, ResetScope(coupling="7"))

    [row] = [r for r in rows(engine, account)["promotions"] if r["id"] == promotion]
    assert (row["product_count"], row["updated_at"]) == (0, NOW)


def test_created_from_public_api_keeps_rows_made_otherwise(engine: Engine, account: int) -> None:
    loaded = build(engine, account, coupling="7")
    with engine.begin() as connection:  # as a bulk load writes them
        for spec in data_specs():
            t = table(spec)
            connection.execute(
                update(t).where(t.c.account_id == account).values(created_from_public_api=False)
            )
    api_made = build(engine, account, coupling="7", tag="a")
    api_other = build(engine, account, coupling="8", tag="b")

    result = run(engine, account, ResetScope(coupling="7", created_from_public_api=True))

    assert result.deleted["products"] == len(api_made.ids["products"])
    left = stored(engine, account)
    assert left["products"] == set(loaded.ids["products"] + api_other.ids["products"])

    run(engine, account, ResetScope(created_from_public_api=True))
    assert stored(engine, account)["products"] == set(loaded.ids["products"])


def test_sqlite_sets_the_indexes_aside_for_a_big_delete_and_makes_them_again(
    tmp_path: Path,
) -> None:
    """Dropped (the schema version moves) while deleting an account that holds at least half
    of a table, back afterwards; kept while deleting a small one."""
    engine = make_engine(f"sqlite:///{tmp_path / 'alone.db'}")
    upgrade(engine)
    big, small = (admin.create_account(engine, name=name).id for name in ("Big", "Small"))
    build(engine, big)
    build(engine, big, tag="2")
    build(engine, small, tag="s")
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"

    def schema() -> tuple[int, list[Any]]:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("PRAGMA schema_version").scalar_one()
            return version, connection.exec_driver_sql(indexes).all()

    version, before = schema()
    run(engine, small)
    assert schema() == (version, before)  # a small account: the indexes stay

    run(engine, big)
    build(engine, big, tag="again")  # the unique indexes hold again

    after_version, after = schema()
    assert after_version > version and after == before
    assert counts(engine, big)["products"] == 3
    engine.dispose()


def test_a_scope_that_holds_every_row_deletes_them_all(engine: Engine, account: int) -> None:
    build(engine, account, coupling="demo")
    before = counts(engine, account)
    with engine.begin() as connection:  # a row without a map is not the coupling's
        products = table(data_specs()[0])
        connection.execute(
            update(products)
            .where(products.c.account_id == account, products.c.name == "Gone")
            .values(remote_id_map=None)
        )

    kept = run(engine, account, ResetScope(coupling="demo"))
    assert kept.deleted["products"] == 2 and counts(engine, account)["products"] == 1

    build(engine, account, coupling="demo", tag="2")
    with engine.begin() as connection:
        products = table(data_specs()[0])
        connection.execute(delete(products).where(products.c.remote_id_map.is_(None)))
    result = run(engine, account, ResetScope(coupling="demo"))

    assert result.deleted == before and result.kept_as_deleted == {}
    assert set(counts(engine, account).values()) == {0}
