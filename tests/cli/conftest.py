"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from live import (
    BACKENDS,
    POSTGRES_URL,
    drop_postgres_database,
    fresh_postgres_database,
    tmp_sqlite_url,
)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated: the CLI does that) per test and backend."""
    if request.param == "sqlite":
        yield tmp_sqlite_url(tmp_path)
        return
    assert POSTGRES_URL
    url, admin_engine = fresh_postgres_database(POSTGRES_URL)
    yield url
    drop_postgres_database(url, admin_engine)
