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


def test_the_head_from_file_names_is_alembics_head() -> None:
    """``is_current`` reads the head from the migration files' names (no Alembic import at a
    command's start): each file must be named for its revision, and the newest be the head."""
    from alembic.script import ScriptDirectory

    from optiply.server.storage.migrate import alembic_config, head_revision

    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    for script in scripts.walk_revisions():
        assert script.path.rsplit("/", 1)[-1].startswith(f"{script.revision}_")


def test_a_new_database_is_not_current_until_upgraded(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)
    engine.dispose()
