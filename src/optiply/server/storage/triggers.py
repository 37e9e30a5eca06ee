"""Triggers made with the tables: ``metadata.create_all`` (tests, tools) runs a module's
``create_statements`` after creating them, and ``drop_all`` drops its PostgreSQL functions.
Databases the server runs on get them from the migrations instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import MetaData, event


def install(
    metadata: MetaData,
    create_statements: Callable[[str], Iterable[str]],
    pg_functions: Iterable[str] = (),
) -> None:
    """Run ``create_statements(dialect)`` after ``metadata.create_all``; drop the PostgreSQL
    functions named ``pg_functions`` after ``drop_all``."""
    functions = tuple(pg_functions)

    def created(_target: Any, connection: Any, **_: Any) -> None:
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    def dropped(_target: Any, connection: Any, **_: Any) -> None:
        if connection.dialect.name == "postgresql":
            for name in functions:
                connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")

    event.listen(metadata, "after_create", created)
    event.listen(metadata, "after_drop", dropped)
