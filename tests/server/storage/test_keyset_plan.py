"""A page by keyset cursor starts its index range at the cursor: a walk by ``updatedAt`` (the
tap's order) costs the same per page however deep it is, with or without a range filter on
``updatedAt`` (the tap's bookmark and the sync's start), on SQLite. A walk by id (an export)
renders its rows in the page's own statement, reading the page's rows alone.

The work is counted in SQLite virtual-machine instructions (its progress handler), not timed.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from optiply.query import parse
from optiply.query.cursor import encode
from optiply.resources import REGISTRY, ResourceSpec, get
from optiply.server.auth import admin
from optiply.server.storage import listing
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

ROWS = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)
PRODUCTS = get("products")


def updated(number: int) -> datetime:
    """Row ``number``'s updatedAt: two rows a second, so pairs share a timestamp."""
    return START + timedelta(seconds=number // 2)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, int]]:
    """A SQLite database with one account of ``ROWS`` products; the engine and the account."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('keyset') / 'walk.db'}")
    upgrade(engine)
    account = admin.create_account(engine, name="walk").id
    rows = [
        {
            "id": number, "uuid": str(uuid.UUID(int=number)), "account_id": account,
            "name": f"P{number}", "unlimited_stock": False, "stock_level": 0,
            "status": "enabled", "not_being_bought": False, "assembled": False,
            "ignored": False, "novel": False, "created_from_public_api": True,
            "created_at": START, "updated_at": updated(number),
        }
        for number in range(1, ROWS + 1)
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(sa.insert(RESOURCE_TABLES["products"]), rows)
    yield engine, account
    engine.dispose()


def instructions(walk: tuple[sa.Engine, int], query: list[tuple[str, str]]) -> int:
    """Thousands of SQLite VM instructions to read one page of ``query``."""
    engine, account = walk
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0  # go on

    with engine.connect() as connection:
        sqlite = connection.connection.driver_connection
        assert isinstance(sqlite, sqlite3.Connection)
        sqlite.set_progress_handler(count, 1000)
        page = listing.list_page(
            connection, PRODUCTS, [account], parse(query, PRODUCTS), versions=(-1,)
        )
        sqlite.set_progress_handler(None, 1000)
    assert len(page.rows) == 100
    return counted[0]


def cursor_at(number: int) -> str:
    """The cursor of a walk by (updatedAt, id) positioned after row ``number``."""
    return encode([updated(number), number], ROWS)


BY_UPDATED_AT = [("sort", "updatedAt"), ("page[limit]", "100")]
RANGE = [
    ("filter[updatedAt][GT]", "2023-12-31T00:00:00Z"),
    ("filter[updatedAt][LE]", "2030-01-01T00:00:00Z"),
]


@pytest.mark.parametrize("filters", [[], RANGE], ids=["unfiltered", "within a range filter"])
def test_a_page_deep_in_a_walk_by_updated_at_costs_what_a_shallow_one_costs(
    walk: tuple[sa.Engine, int], filters: list[tuple[str, str]]
) -> None:
    shallow = instructions(walk, [*filters, *BY_UPDATED_AT, ("page[after]", cursor_at(100))])
    deep = instructions(walk, [*filters, *BY_UPDATED_AT, ("page[after]", cursor_at(ROWS - 500))])
    assert deep <= 2 * shallow + 5, (shallow, deep)


def test_a_page_deep_in_a_descending_walk_costs_what_a_shallow_one_costs(
    walk: tuple[sa.Engine, int],
) -> None:
    descending = [("sort", "-updatedAt"), ("page[limit]", "100")]
    shallow = instructions(walk, [*descending, ("page[after]", cursor_at(ROWS - 100))])
    deep = instructions(walk, [*descending, ("page[after]", cursor_at(500))])
    assert deep <= 2 * shallow + 5, (shallow, deep)


def test_a_deep_page_holds_the_rows_after_the_cursor(walk: tuple[sa.Engine, int]) -> None:
    engine, account = walk
    query = parse([*RANGE, *BY_UPDATED_AT, ("page[after]", cursor_at(1001))], PRODUCTS)
    with engine.connect() as connection:
        page = listing.list_page(connection, PRODUCTS, [account], query, versions=(-2,))
    assert [row_id for row_id, _ in page.rows] == list(range(1002, 1102))


def test_a_walk_sorted_by_many_keys_resumes_from_each_cursor(walk: tuple[sa.Engine, int]) -> None:
    """Nine sort keys (every cursor value a parameter of its own): each page starts where the
    previous one ended."""
    engine, account = walk
    sort = "-status,unlimitedStock,notBeingBought,assembled,ignored,novel,stockLevel,-updatedAt"
    seen: list[int] = []
    cursor: str | None = None
    with engine.connect() as connection:
        for _ in range(3):
            items = [("sort", sort), ("page[limit]", "100")]
            if cursor is not None:
                items.append(("page[after]", cursor))
            page = listing.list_page(
                connection, PRODUCTS, [account], parse(items, PRODUCTS), versions=(-3,)
            )
            seen += [row_id for row_id, _ in page.rows]
            assert page.last is not None and len(page.last) == 9
            cursor = encode(page.last, page.total)
    # Every key but updatedAt is the same on every row: the order is -updatedAt, then id.
    expected = sorted(range(1, ROWS + 1), key=lambda n: (-(n // 2), n))[:300]
    assert seen == expected


# A walk of one account's live rows by id (an export) renders its rows in the page's own
# statement; every other shape renders its page's rows by id afterwards.
EXPORT_SHAPES = [((), False), ((), True), (("-id",), False), (("-id",), True)]


def _sort(spec: ResourceSpec, names: tuple[str, ...]) -> tuple[Any, ...]:
    return parse([("sort", ",".join(names))], spec).sort if names else ()


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.type)
def test_an_export_page_renders_in_its_statement_which_reads_only_the_page(
    walk: tuple[sa.Engine, int], spec: ResourceSpec
) -> None:
    """Rendered in the statement, a page must come in index order: were its matches sorted
    first (a temporary B-tree), every match would be rendered, not the page's rows alone."""
    engine, account = walk
    dialect = sqlite_dialect.dialect()
    for names, resume in EXPORT_SHAPES:
        statements = listing._statements(
            spec, "sqlite", (account,), (), _sort(spec, names), None, resume
        )
        assert statements.renders, (names, resume)
        compiled = statements.page.compile(dialect=dialect)
        values = {"page_limit": 101, "page_offset": 0, "after_0": 1}
        parameters = compiled.construct_params(values)
        positional = [parameters[name] for name in compiled.positiontup or ()]
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}", tuple(positional)
            ).all()
        steps = " / ".join(str(step[-1]) for step in plan)
        assert "TEMP B-TREE" not in steps and "SCAN" not in steps.replace("SCAN CONSTANT", ""), (
            names,
            resume,
            steps,
        )


@pytest.mark.parametrize(
    ("accounts", "items", "related"),
    [
        (2, [], None),
        (1, [("filter[name][LIKE]", "P1%")], None),
        (1, [("sort", "name")], None),
        (1, [("sort", "updatedAt")], None),
        (1, [], "supplier_id"),
        (1, [("filter[deletedAt][GT]", "2020-01-01T00:00:00Z")], None),
    ],
    ids=["two accounts", "a filter", "by name", "by updatedAt", "related", "deleted rows"],
)
def test_any_other_page_renders_its_rows_after_choosing_them(
    accounts: int, items: list[tuple[str, str]], related: str | None
) -> None:
    spec = get("supplierProducts") if related else PRODUCTS
    query = parse(items, spec, deleted_rows=True)
    statements = listing._statements(
        spec, "sqlite", tuple(range(1, accounts + 1)), query.filters, query.sort, related, False
    )
    assert not statements.renders


def test_an_export_walk_by_id_gives_every_row_once_with_its_own_attributes(
    walk: tuple[sa.Engine, int],
) -> None:
    engine, account = walk
    seen: list[int] = []
    cursor: str | None = None
    with engine.connect() as connection:
        while True:
            items = [("page[limit]", "100")] + ([("page[after]", cursor)] if cursor else [])
            page = listing.list_page(
                connection, PRODUCTS, [account], parse(items, PRODUCTS), versions=(-4,)
            )
            for row_id, attributes in page.rows:
                assert orjson.loads(attributes)["name"] == f"P{row_id}"
            seen += [row_id for row_id, _ in page.rows]
            if page.last is None:
                break
            cursor = encode(page.last, page.total)
    assert seen == list(range(1, ROWS + 1))
