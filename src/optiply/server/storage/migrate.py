"""Apply Alembic migrations; every command and server start calls ``upgrade`` first."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a no-op when it is already there).

    Concurrent callers on PostgreSQL are serialized with an advisory lock, so several server
    processes can start against one database.
    """
    if is_current(engine):
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7308851)")
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
