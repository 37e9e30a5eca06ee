"""The crash test, short: ``kill -9`` of ``optiply serve`` under concurrent writers, a restart,
and every acknowledged write present exactly once, cascades all or nothing.

The same code as ``scripts/soak`` (``benchmarks/soak.py``, which runs it for as long as asked),
cut to two kill cycles of at most 1.5 s of writing on SQLite (one worker) and one on PostgreSQL
(``--workers 2``: a kill takes the master and both workers). Afterwards the database is
tampered with, to show that the checks catch a duplicate, a lost create, a lost value and half
a cascade.

``benchmarks`` (the checkout's root) is on the path through ``pythonpath`` in pyproject.toml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks import soak
from sqlalchemy import select, update

from live import BACKENDS, empty_database
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import RESOURCE_TABLES

CYCLES = {"sqlite": 2, "postgresql": 1}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An empty database of each backend: (backend, URL)."""
    with empty_database(request.param, tmp_path) as url:
        yield request.param, url


def test_kill_9_under_writers_loses_duplicates_and_half_applies_nothing(
    database: tuple[str, str], tmp_path: Path
) -> None:
    backend, url = database
    plan = soak.Plan(
        backend=backend,
        database_url=url,
        workers=2 if backend == "postgresql" else 1,
        writers=4,
        cycles=CYCLES[backend],
        cycle_seconds=1.5,
        seed=7,
    )

    report = soak.run(plan, tmp_path, log=lambda line: None)

    assert report.failure is None, report.failure
    assert report.violations == []
    assert len(report.cycles) == plan.cycles
    # every process of the server died each time: uvicorn's master and both workers
    assert all(c.processes_killed >= (3 if backend == "postgresql" else 1) for c in report.cycles)
    summary = report.summary()
    assert summary["verified"] == summary["outcomes"]["acknowledged"]
    assert summary["acknowledged_by_kind"].get("create products", 0) >= 3
    assert summary["acknowledged_by_kind"].get("create buyOrders", 0) >= 1

    assert_the_checks_catch_tampering(url, report)


def assert_the_checks_catch_tampering(url: str, report: soak.Report) -> None:
    """Break the stored rows in four ways; each must show up as a violation."""
    engine = make_engine(url)
    rows = soak.snapshot(engine)
    assert soak.verify_database(report.writes, rows).violations == []
    first, second, changed = sorted(rows["products"])[:3]
    line = next((r for r in rows["buyOrderLines"].values() if not r.live), None)
    line = line or next(iter(rows["buyOrderLines"].values()))
    products, lines = RESOURCE_TABLES["products"], RESOURCE_TABLES["buyOrderLines"]
    with engine.begin() as connection:
        # the second product takes the first one's remoteId and skuCode: a duplicate, and a
        # create lost
        remote, sku = connection.execute(
            select(products.c.remote_id_map, products.c.sku_code).where(products.c.id == first)
        ).one()
        connection.execute(
            update(products)
            .where(products.c.id == second)
            .values(remote_id_map=remote, sku_code=sku)
        )
        # a product's acknowledged stockLevel (created or patched) lost
        connection.execute(update(products).where(products.c.id == changed).values(stock_level=-1))
        # a line alive again under its deleted order, or (no order deleted yet) deleted alone
        deleted_at = None if not line.live else datetime.now(UTC)
        connection.execute(update(lines).where(lines.c.id == line.id).values(deleted_at=deleted_at))
    tampered = soak.snapshot(engine)
    engine.dispose()

    found = soak.verify_database(report.writes, tampered).violations
    violations = "\n".join(found)

    assert f"stored as ids [{first}, {second}], expected exactly once" in violations
    assert f"stored as ids [], expected exactly once, as id {second}" in violations
    assert f"rows [{first}, {second}] have skuCode" in violations
    assert any(re.search(rf"products\b.*\bid={changed}\b.*: stored value -1\b", v) for v in found)
    if line.live:
        assert f"buyOrderLines {line.id} was deleted at" in violations
        assert "half a cascade" in violations
    else:
        assert f"buyOrderLines {line.id} is live under the deleted buyOrders" in violations
