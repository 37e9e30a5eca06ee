"""Apply Alembic migrations; every command and server start calls ``upgrade`` first.

Alembic is imported only when a migration is due: finding that the database is current needs
one query and the names of the packaged migration files (each ``NNNN_name.py`` with revision
``NNNN``, which a test checks against Alembic's own view), not Alembic's script loader, which
costs a command a quarter of a second at start.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """A migration could not be applied (Alembic's reason, one line)."""


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


@cache
def head_revision() -> str:
    """The newest packaged revision: the highest ``NNNN`` of ``versions/NNNN_*.py``."""
    return max(path.name[:4] for path in (_SCRIPTS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for a database Alembic never touched)."""
    with engine.connect() as connection:
        try:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no such table yet
            return None
    return None if revision is None else str(revision)


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a no-op when it is already there).

    Concurrent callers on PostgreSQL are serialized with an advisory lock, so several server
    processes can start against one database.

    Raises:
        MigrationError: when Alembic cannot apply a migration.
    """
    if is_current(engine):
        return
    from alembic import command
    from alembic.util import CommandError

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7308851)")
        config = alembic_config()
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as error:
            raise MigrationError(str(error)) from error
