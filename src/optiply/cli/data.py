"""``optiply accounts reset``, ``optiply snapshot save|restore`` and ``optiply demo
shift-dates``: an account's data back to a known state, in one transaction each.

The work is done by ``storage.reset``, ``storage.snapshots`` and ``storage.dates``, the code
behind ``/sandbox/reset``, ``/sandbox/snapshot`` and ``/sandbox/shift-dates``. Every change
bumps the account's data version, so running servers serve no stale counts or rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server.storage import dates, reset, snapshots
from optiply.server.storage.account_data import UnknownAccount

snapshot_app = typer.Typer(
    help="Snapshots: an account's data saved to a file, and restored exactly.",
    no_args_is_help=True,
)

AccountOption = Annotated[int, typer.Option("--account", help="The account.")]
SnapshotFile = Annotated[Path, typer.Argument(help="The snapshot file.", show_default=False)]


def accounts_reset(
    account: Annotated[int, typer.Argument(help="The account's id.", show_default=False)],
    coupling: Annotated[
        str | None,
        typer.Option(
            "--coupling",
            help="Only what this coupling created: rows whose remoteIdMap has this key "
            "(a couplingId; publicApi for writes without one).",
        ),
    ] = None,
    created_from_public_api: Annotated[
        bool,
        typer.Option(
            "--created-from-public-api",
            help="Only rows created through the API (createdFromPublicApi); with --coupling: "
            "rows that are both.",
        ),
    ] = False,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Delete an account's data, all of it or what one coupling or the API created.

    The account, its users, clients and tokens stay. Rows that cascade from a deleted row go
    with it, as with the API's DELETE (a sell order's lines, a product's supplierProducts);
    a deleted row that other rows still point at (a product with another coupling's sales) is
    kept as deleted, as the API's DELETE leaves it.
    """
    if coupling is not None and not coupling.strip():
        fail("--coupling needs a coupling id (or publicApi)")
    scope = reset.ResetScope(coupling, created_from_public_api)
    with database(database_url) as engine:
        try:
            with engine.begin() as connection:
                result = reset.reset_account(connection, account, scope, datetime.now(UTC))
        except UnknownAccount as error:
            fail(str(error))
    removed = sum(result.deleted.values())
    lines = [f"Reset account {account}: {removed:,} rows deleted."]
    lines += [f"  {kind:<20} {count:>12,}" for kind, count in result.deleted.items() if count]
    lines += [
        f"  {count:,} {kind} kept as deleted: rows outside the reset still point at them."
        for kind, count in result.kept_as_deleted.items()
    ]
    report(as_json, result.to_json(), *lines)


@snapshot_app.command("save")
def snapshot_save(
    account: AccountOption,
    file: SnapshotFile,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Save the account's data to FILE (zstd-compressed JSON Lines), from one consistent read.

    FILE is written whole or not at all (a temporary file, renamed at the end).
    """
    partial = file.with_name(f".{file.name}.partial")
    with database(database_url) as engine:
        try:
            with partial.open("wb") as out, snapshots.consistent_read(engine) as connection:
                saved = snapshots.save_snapshot(connection, account, out)
            os.replace(partial, file)
        except UnknownAccount as error:
            fail(str(error))
        except OSError as error:
            fail(f"cannot write {file}: {error.strerror or error}")
        finally:
            partial.unlink(missing_ok=True)
    total = sum(saved.rows.values())
    size = file.stat().st_size
    payload = {"accountId": account, "file": str(file), "bytes": size, **saved.to_json()}
    lines = [f"Saved {total:,} rows of account {account} to {file} ({size:,} bytes)."]
    lines += [f"  {kind:<20} {count:>12,}" for kind, count in saved.rows.items() if count]
    report(as_json, payload, *lines)


@snapshot_app.command("restore")
def snapshot_restore(
    account: AccountOption,
    file: SnapshotFile,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Replace the account's data with the snapshot in FILE, in one transaction.

    Rows keep their ids, uuids, timestamps and remoteIdMaps. Any account may take a snapshot
    whose ids are free there (its own always does). A bad file changes nothing.
    """
    try:
        source = file.open("rb")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}")
    with source:
        try:
            snapshots.read_header(source)  # a foreign file fails before the database is touched
            source.seek(0)
            with database(database_url) as engine, engine.begin() as connection:
                restored = snapshots.restore_snapshot(connection, account, source)
        except UnknownAccount as error:
            fail(str(error))
        except snapshots.SnapshotError as error:
            fail(f"{file}: {error}; nothing was restored")
        except OSError as error:
            fail(f"cannot read {file}: {error.strerror or error}")
    total = sum(restored.rows.values())
    source_account = restored.account
    lines = [
        f"Restored {total:,} rows into account {account} from {file} (account "
        f"{source_account.get('id')} {source_account.get('name')!r}, saved "
        f"{restored.saved_at}).",
        *(f"  {kind:<20} {count:>12,}" for kind, count in restored.rows.items() if count),
    ]
    report(as_json, {"accountId": account, "file": str(file), **restored.to_json()}, *lines)


def demo_shift_dates(
    account: AccountOption,
    days: Annotated[
        int | None, typer.Option("--days", help="Move every date this many days (negative: back).")
    ] = None,
    to_today: Annotated[
        bool,
        typer.Option(
            "--to-today",
            help="Move every date so the latest sale (the newest sell order's placed) is today.",
        ),
    ] = False,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Move every date and date-time of the account's data by the same whole number of days.

    createdAt, updatedAt and the times of rows deleted through the API move too, so the data
    keeps its shape; one transaction.
    """
    if (days is None) == (not to_today):
        fail("give --days N or --to-today" + (", not both" if to_today else ""))
    today = datetime.now(UTC).date() if to_today else None
    with database(database_url) as engine:
        try:
            with engine.begin() as connection:
                shifted = dates.shift_dates(connection, account, days=days, to=today)
        except (UnknownAccount, dates.ShiftError) as error:
            fail(str(error))
    total = sum(shifted.rows.values())
    report(
        as_json,
        shifted.to_json(),
        f"Moved the dates of {total:,} rows of account {account} by {shifted.days:+,} days.",
    )
