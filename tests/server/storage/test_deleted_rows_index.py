"""The index behind lists of deleted rows (migration 0006): every deletable type's table gets
``(account_id, deleted_at) WHERE deleted_at IS NOT NULL``; SQLite's plan for the list's own
statement uses it; the downgrade removes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import event

from optiply.query import parse
from optiply.resources import REGISTRY, get
from optiply.server.storage import listing
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import alembic_config, upgrade

DELETABLE = [spec.table for spec in REGISTRY if spec.deletable]


def indexes(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {table: {i["name"] or "" for i in inspector.get_indexes(table)} for table in DELETABLE}


def test_migration_0006_adds_and_removes_the_index(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    for table, names in indexes(engine).items():
        assert f"ix_{table}_account_id_deleted_at" in names
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert not any(
        name.endswith("_deleted_at") for names in indexes(engine).values() for name in names
    )
    engine.dispose()


def test_sqlite_reads_a_list_of_deleted_rows_through_the_index(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    query = parse(
        [("filter[deletedAt][GT]", "2024-01-01"), ("sort", "deletedAt,id")],
        get("products"),
        deleted_rows=True,
    )
    with engine.connect() as connection:
        listing.list_page(connection, get("products"), [1], query, versions=(0,))
    event.remove(engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = [s for s in statements if "deleted_at >" in s[0]]
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_products_account_id_deleted_at" in details, details
    engine.dispose()
