"""The triggers that keep each resource row's ``rendered`` column, its attributes as JSON text,
in step with its columns.

A read of a page used to build the JSON of every row in the query (``json_object`` in SQLite,
``json_build_object`` in PostgreSQL): for a page of 100 products about 460 µs of SQLite's time
against 90 µs to fetch the same text stored, most of a cold page's cost. The text is now made
when a row is written and read as it is (``storage/listing.py``, ``storage/repository.py``).

Triggers, not application code, make it, for the reason ``remote_id_triggers`` gives: every
writer (the API, cascades, bulk loads of demo shops and snapshot restores, the benchmark's data
builder, hand-written SQL) keeps it right in its own transaction. The expression is
``render.attributes_sql``, the one that rendered at read time before. On SQLite, which has no
BEFORE trigger that sets a value, an AFTER INSERT trigger and an AFTER UPDATE OF the rendered
columns rewrite the row's ``rendered`` (its own UPDATE names no rendered column, so it fires
nothing); the INSERT trigger only when the row arrived without its rendering: the API's
inserts (``repository.insert_rendered``) make it in the INSERT itself (a second write of the
row cost a POST about 60 µs). A row inserted with a ``rendered`` text keeps it (a copy of a
row, say); ``bulk`` leaves a given one out. Bulk loads pay the trigger's UPDATE: a medium demo
shop loads in 76 s instead of 68 s on one machine (rendering in the INSERTs was slower).
PostgreSQL sets ``NEW.rendered`` in BEFORE row triggers, one function per table (COPY fires
them too).

Storage: the JSON repeats every attribute's name, so a product row grows by about 700 bytes
(products with their JSON take about three times the space of their columns alone).

These are the statements of migration 0008 (which adds the column, runs them and renders the
rows already stored); ``metadata.create_all`` runs them too, through ``install``. Changing the
rendering (``render.py``) or the readable attributes needs a new migration that runs
``drop_statements``, ``create_statements`` and ``backfill_statements`` again.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.storage import triggers
from optiply.server.storage.render import RENDERED, attributes_sql, rendered_columns

SPECS: tuple[ResourceSpec, ...] = tuple(REGISTRY)
"""The resource types whose tables keep ``rendered``: all of them."""


def create_statements(dialect: str, specs: tuple[ResourceSpec, ...] = SPECS) -> list[str]:
    """The statements that create the triggers (and PostgreSQL's functions) of ``specs``."""
    make = _pg_statements if dialect == "postgresql" else _sqlite_statements
    return [statement for spec in specs for statement in make(spec)]


def drop_statements(dialect: str, specs: tuple[ResourceSpec, ...] = SPECS) -> list[str]:
    """The statements that drop what ``create_statements`` made."""
    if dialect == "postgresql":
        return [
            statement
            for spec in specs
            for statement in (
                f'DROP TRIGGER IF EXISTS rendered_added ON "{spec.table}"',
                f'DROP TRIGGER IF EXISTS rendered_changed ON "{spec.table}"',
                f"DROP FUNCTION IF EXISTS {_pg_function(spec)}()",
            )
        ]
    return [
        f"DROP TRIGGER IF EXISTS rendered_{spec.table}_{what}"
        for spec in specs
        for what in ("added", "changed")
    ]


def backfill_statements(dialect: str, specs: tuple[ResourceSpec, ...] = SPECS) -> list[str]:
    """The statements that render the rows already in the tables of ``specs`` (the triggers
    don't fire: they watch the other columns)."""
    return [
        f'UPDATE "{spec.table}" SET {RENDERED} = {attributes_sql(spec, dialect)}'  # noqa: S608 - names from the registry
        for spec in specs
    ]


def install(metadata: MetaData) -> None:
    """Create the triggers whenever ``metadata.create_all`` made the tables (tests, tools);
    drop PostgreSQL's functions after ``drop_all``."""
    triggers.install(metadata, create_statements, [_pg_function(spec) for spec in SPECS])


def _watched(spec: ResourceSpec) -> str:
    return ", ".join(f'"{column}"' for column in rendered_columns(spec))


def _sqlite_statements(spec: ResourceSpec) -> list[str]:
    table = spec.table
    render = (
        f'UPDATE "{table}" SET {RENDERED} = {attributes_sql(spec, "sqlite")} '  # noqa: S608 - names from the registry
        f"WHERE id = NEW.id;"
    )
    # A row inserted with its rendering (the API's INSERT ... SELECT) keeps it: checking it
    # would cost a rendering a row.
    return [
        f'CREATE TRIGGER rendered_{table}_added AFTER INSERT ON "{table}" '
        f"WHEN NEW.{RENDERED} IS NULL BEGIN {render} END",
        f"CREATE TRIGGER rendered_{table}_changed "
        f'AFTER UPDATE OF {_watched(spec)} ON "{table}" BEGIN {render} END',
    ]


def _pg_function(spec: ResourceSpec) -> str:
    return f"rendered_{spec.table}"


def _pg_statements(spec: ResourceSpec) -> list[str]:
    table, function = spec.table, _pg_function(spec)
    on = f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION {function}()'
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.{RENDERED} := {attributes_sql(spec, 'postgresql', 'NEW.')}; "
        f"RETURN NEW; END $$",
        f"CREATE TRIGGER rendered_added BEFORE INSERT {on}",
        f"CREATE TRIGGER rendered_changed BEFORE UPDATE OF {_watched(spec)} {on}",
    ]
