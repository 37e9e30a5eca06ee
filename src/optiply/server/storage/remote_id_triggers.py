"""The triggers that keep ``remote_ids`` (the index behind ``filter[remoteId]``) in step.

``remoteIdMap`` is a JSON object per row, ``{"<couplingId>": "<remote id>", ...}``, whose keys
differ per integration. ``filter[remoteId]=X`` with ``couplingId=C`` asks for the rows whose map
holds ``C: X``, and must cost about what a lookup by id costs in an account of a million rows.

Why a side table (``remote_ids``: resource, row, coupling, remote id, account), maintained by
triggers in the database:

- An index on one JSON key (``remote_id_map->>'42'``) serves one coupling; couplings are not
  known in advance. PostgreSQL could index every key with a GIN index on the ``jsonb`` column
  (``@>`` containment), but SQLite has nothing like it, the planner has no statistics for
  containment (a default guess that can send ``ORDER BY id LIMIT 51`` down the id index through
  a million rows), and two designs would mean two query paths. A plain B-tree on
  ``(resource, account_id, coupling, remote_id)`` answers both databases the same way, with
  real statistics: one index probe, then the row by its primary key.
- Triggers, not application code, write it: every writer keeps it right in the writer's own
  transaction, whoever it is (the API, bulk loads of demo shops and snapshot restores, the
  benchmark's data builder, hand-written SQL). A row and its entries commit or roll back
  together. On PostgreSQL inserts and deletes use statement-level triggers over transition
  tables (one ``INSERT ... SELECT`` per ``COPY`` of thousands of rows); changes of the map are
  row-level, limited to updates that set ``remote_id_map`` or ``account_id``. ``TRUNCATE``
  clears the table's entries.

Only string values are indexed (the API stores nothing else), and only entries whose coupling
key and remote id have at most 255 characters (a write takes no longer ``remoteId``; the
filter refuses a longer ``couplingId``), which keeps every PostgreSQL index entry under its
size limit. Soft-deleted rows keep their entries: the lookup joins the live rows.

These are the statements of migration 0005 (which runs them, and fills the table from the rows
already stored); ``metadata.create_all`` runs them too, through ``install``. Changing them
needs a new migration.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, event

from optiply.resources import REGISTRY

TRACKED = tuple(spec.table for spec in REGISTRY if spec.has_remote_ids)
"""The tables whose rows carry ``remote_id_map``."""
_LONGEST = 255
_PG_FUNCTIONS = ("remote_ids_added", "remote_ids_removed", "remote_ids_changed", "remote_ids_cut")


def create_statements(dialect: str, tables: tuple[str, ...] = TRACKED) -> list[str]:
    """The statements that create the triggers (and PostgreSQL's functions) on ``tables``."""
    if dialect == "postgresql":
        return [*_pg_functions(), *(s for table in tables for s in _pg_triggers(table))]
    return [s for table in tables for s in _sqlite_triggers(table)]


def drop_statements(dialect: str, tables: tuple[str, ...] = TRACKED) -> list[str]:
    """The statements that drop what ``create_statements`` made."""
    if dialect == "postgresql":
        triggers = [
            f'DROP TRIGGER IF EXISTS {name} ON "{table}"'
            for table in tables
            for name in _PG_FUNCTIONS
        ]
        return [*triggers, *(f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_FUNCTIONS)]
    return [
        f"DROP TRIGGER IF EXISTS remote_ids_{table}_{event}"
        for table in tables
        for event in ("added", "removed", "changed")
    ]


def backfill_statements(dialect: str, tables: tuple[str, ...] = TRACKED) -> list[str]:
    """The statements that index the rows already in ``tables`` (once, by the migration)."""
    if dialect == "postgresql":
        return [
            f"INSERT INTO remote_ids (resource, row_id, coupling, remote_id, account_id) "  # noqa: S608 - names from the registry
            f"SELECT '{table}', t.id, e.key, e.value #>> '{{}}', t.account_id "
            f'FROM "{table}" AS t CROSS JOIN LATERAL {_pg_entries("t")} WHERE {_PG_KEEP}'
            for table in tables
        ]
    return [
        f"INSERT INTO remote_ids (resource, row_id, coupling, remote_id, account_id) "  # noqa: S608 - names from the registry
        f"SELECT '{table}', t.id, e.key, e.value, t.account_id "
        f'FROM "{table}" AS t, json_each(t.remote_id_map) AS e '
        f"WHERE json_type(t.remote_id_map) = 'object' AND {_SQLITE_KEEP}"
        for table in tables
    ]


def install(metadata: MetaData) -> None:
    """Create the triggers whenever ``metadata.create_all`` made the tables (tests, tools);
    drop PostgreSQL's functions after ``drop_all``."""

    def created(_target: Any, connection: Any, **_: Any) -> None:
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    def dropped(_target: Any, connection: Any, **_: Any) -> None:
        if connection.dialect.name == "postgresql":
            for name in _PG_FUNCTIONS:
                connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")

    event.listen(metadata, "after_create", created)
    event.listen(metadata, "after_drop", dropped)


# SQLite: row-level triggers, one set per table (trigger names are database-wide).

_SQLITE_KEEP = f"e.type = 'text' AND length(e.key) <= {_LONGEST} AND length(e.value) <= {_LONGEST}"


def _sqlite_entries(table: str, row: str) -> str:
    return (
        f"INSERT INTO remote_ids (resource, row_id, coupling, remote_id, account_id) "  # noqa: S608 - names from the registry
        f"SELECT '{table}', {row}.id, e.key, e.value, {row}.account_id "
        f"FROM json_each({row}.remote_id_map) AS e "
        f"WHERE json_type({row}.remote_id_map) = 'object' AND {_SQLITE_KEEP};"
    )


def _sqlite_triggers(table: str) -> list[str]:
    forget = f"DELETE FROM remote_ids WHERE resource = '{table}' AND row_id = OLD.id;"  # noqa: S608 - names from the registry
    return [
        f'CREATE TRIGGER remote_ids_{table}_added AFTER INSERT ON "{table}" '
        f"WHEN json_type(NEW.remote_id_map) = 'object' "
        f"BEGIN {_sqlite_entries(table, 'NEW')} END",
        f'CREATE TRIGGER remote_ids_{table}_removed AFTER DELETE ON "{table}" '
        f"WHEN json_type(OLD.remote_id_map) = 'object' BEGIN {forget} END",
        f"CREATE TRIGGER remote_ids_{table}_changed "
        f'AFTER UPDATE OF remote_id_map, account_id ON "{table}" '
        f"WHEN OLD.remote_id_map IS NOT NEW.remote_id_map "
        f"OR OLD.account_id IS NOT NEW.account_id "
        f"BEGIN {forget} {_sqlite_entries(table, 'NEW')} END",
    ]


# PostgreSQL: four functions shared by every table (TG_TABLE_NAME names the resource).

_PG_KEEP = (
    f"jsonb_typeof(e.value) = 'string' AND char_length(e.key) <= {_LONGEST} "
    f"AND char_length(e.value #>> '{{}}') <= {_LONGEST}"
)


def _pg_entries(row: str) -> str:
    """The entries of a row's map (none unless it is an object: jsonb_each would raise)."""
    return (
        f"jsonb_each(CASE WHEN jsonb_typeof({row}.remote_id_map) = 'object' "
        f"THEN {row}.remote_id_map END) AS e"
    )


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _pg_functions() -> list[str]:
    insert = "INSERT INTO remote_ids (resource, row_id, coupling, remote_id, account_id) "
    forget = "DELETE FROM remote_ids WHERE resource = TG_TABLE_NAME AND row_id = OLD.id;"
    return [
        _pg_function(
            "remote_ids_added",
            f"{insert}SELECT TG_TABLE_NAME, n.id, e.key, e.value #>> '{{}}', n.account_id "  # noqa: S608 - names from the registry
            f"FROM new_rows AS n CROSS JOIN LATERAL {_pg_entries('n')} WHERE {_PG_KEEP};",
        ),
        _pg_function(
            "remote_ids_removed",
            "DELETE FROM remote_ids AS r USING old_rows AS o "
            "WHERE r.resource = TG_TABLE_NAME AND r.row_id = o.id;",
        ),
        _pg_function(
            "remote_ids_changed",
            f"{forget} {insert}SELECT TG_TABLE_NAME, NEW.id, e.key, e.value #>> '{{}}', "  # noqa: S608 - names from the registry
            f"NEW.account_id FROM {_pg_entries('NEW')} WHERE {_PG_KEEP};",
        ),
        _pg_function("remote_ids_cut", "DELETE FROM remote_ids WHERE resource = TG_TABLE_NAME;"),
    ]


def _pg_triggers(table: str) -> list[str]:
    on = f'ON "{table}"'
    return [
        f"CREATE TRIGGER remote_ids_added AFTER INSERT {on} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION remote_ids_added()",
        f"CREATE TRIGGER remote_ids_removed AFTER DELETE {on} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION remote_ids_removed()",
        f"CREATE TRIGGER remote_ids_changed AFTER UPDATE OF remote_id_map, account_id {on} "
        f"FOR EACH ROW WHEN (OLD.remote_id_map IS DISTINCT FROM NEW.remote_id_map "
        f"OR OLD.account_id IS DISTINCT FROM NEW.account_id) "
        f"EXECUTE FUNCTION remote_ids_changed()",
        f"CREATE TRIGGER remote_ids_cut AFTER TRUNCATE {on} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION remote_ids_cut()",
    ]
