"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from live import BACKENDS, empty_database
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated: the CLI does that) per test and backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url``, migrated first."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
