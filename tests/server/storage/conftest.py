"""Real databases for the storage tests: a SQLite file always, PostgreSQL when configured.

Set ``OPTIPLY_TEST_POSTGRES_URL`` to a server URL (for example
``postgresql://postgres@127.0.0.1:5432/postgres``); each test session (each pytest-xdist worker)
then creates its own ``optiply_t_<random>`` database there and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from optiply.server.storage.engine import make_engine, normalize_url
from optiply.server.storage.tables import metadata

POSTGRES_URL = os.environ.get("OPTIPLY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.fixture(scope="session", params=BACKENDS)
def storage_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An engine on an empty database holding every table of ``metadata``."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("storage") / "optiply.db"
        engine = make_engine(f"sqlite:///{path}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    yield from _postgres_database()


def _postgres_database() -> Iterator[Engine]:
    assert POSTGRES_URL is not None
    name = f"optiply_t_{secrets.token_hex(6)}"
    server = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(normalize_url(POSTGRES_URL)).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
