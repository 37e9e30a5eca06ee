"""The migrations build exactly the schema the registry describes, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from live import BACKENDS
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import is_current, upgrade
from optiply.server.storage.tables import metadata


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_the_registry(database_urls, backend):
    engine = make_engine(database_urls[backend])
    upgrade(engine)  # idempotent: the session's database is already at head

    assert is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()
