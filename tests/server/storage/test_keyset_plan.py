"""A page by keyset cursor starts its index range at the cursor: SQLite's plan for a walk by
``updatedAt`` (the tap's incremental order) bounds ``updated_at`` in the index search, so a page
a million rows deep costs what the first page costs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from optiply.query import parse
from optiply.query.cursor import encode
from optiply.resources import get
from optiply.server.storage import listing
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade


def plan_of_page(engine: sa.Engine, sort: str, position: list[Any]) -> str:
    """SQLite's query plan for the page of products after ``position`` in the order ``sort``."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    query = parse([("sort", sort), ("page[after]", encode(position, 1_000_000))], get("products"))
    event.listen(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        listing.list_page(connection, get("products"), [1], query, versions=(0,))
    event.remove(engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = [s for s in statements if " LIMIT " in s[0]]
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " ".join(str(row[-1]) for row in plan)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("keyset") / "plan.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_walk_by_updated_at_searches_the_index_from_the_cursor(engine: sa.Engine) -> None:
    details = plan_of_page(engine, "updatedAt", [datetime(2024, 1, 1, tzinfo=UTC), 42])
    assert "ix_products_account_id_updated_at" in details, details
    assert "updated_at>" in details.replace(" ", ""), details


def test_a_descending_walk_searches_the_index_from_the_cursor_downwards(
    engine: sa.Engine,
) -> None:
    details = plan_of_page(engine, "-updatedAt", [datetime(2024, 1, 1, tzinfo=UTC), 42])
    assert "ix_products_account_id_updated_at" in details, details
    assert "updated_at<" in details.replace(" ", ""), details


def test_a_walk_by_id_searches_from_the_cursor(engine: sa.Engine) -> None:
    details = plan_of_page(engine, "id", [42])
    assert "id>" in details.replace(" ", ""), details
