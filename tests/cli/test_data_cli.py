"""``optiply accounts reset``, ``optiply snapshot save|restore`` and ``optiply demo
shift-dates`` on SQLite and (when configured) PostgreSQL: what they change and print, and bad
input as one line on stderr, exit 1, nothing changed."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from sqlalchemy import Engine

from live import OPTIPLY, bad_input_misses, cli_json, process_env, run_cli
from optiply.server.auth import admin
from small_shop import T0, build, counts, rows


@pytest.fixture
def account(engine: Engine) -> int:
    account = admin.create_account(engine, name="Shop").id
    build(engine, account)
    return account


def test_reset_deletes_the_data_and_prints_counts(
    database_url: str, engine: Engine, account: int
) -> None:
    build(engine, account, coupling="8", tag="8")
    result = run_cli(
        ["accounts", "reset", str(account), "--coupling", "8", "--database-url", database_url]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Reset account {account}: 15 rows deleted."
    assert "  products                        3" in result.stdout.splitlines()
    assert counts(engine, account)["products"] == 3
    before = counts(engine, account)

    shown = cli_json(database_url, "accounts", "reset", str(account), "--created-from-public-api")
    assert shown == {"accountId": account, "deleted": before, "keptAsDeleted": {}}
    assert set(counts(engine, account).values()) == {0}


def test_snapshot_save_then_restore_brings_the_data_back(
    database_url: str, engine: Engine, account: int, tmp_path: Path
) -> None:
    saved = rows(engine, account)
    (tmp_path / "files").mkdir()
    file = tmp_path / "files" / "shop.jsonl.zst"

    shown = cli_json(database_url, "snapshot", "save", "--account", str(account), str(file))
    cli_json(database_url, "accounts", "reset", str(account))
    restored = cli_json(database_url, "snapshot", "restore", "--account", str(account), str(file))

    assert rows(engine, account) == saved
    assert shown["rows"] == restored["rows"] == {k: len(v) for k, v in saved.items()}
    assert shown["bytes"] == file.stat().st_size and shown["source"]["id"] == account
    assert restored["accountId"] == account and restored["source"]["name"] == "Shop"
    assert [p.name for p in file.parent.iterdir()] == [file.name]  # no partial file left


def test_shift_dates_by_days_and_to_today(database_url: str, engine: Engine, account: int) -> None:
    shown = cli_json(database_url, "demo", "shift-dates", "--account", str(account), "--days", "-2")
    assert (shown["accountId"], shown["days"]) == (account, -2)
    [order] = rows(engine, account)["sellOrders"]
    assert order["placed"] == T0 - timedelta(days=2)

    shown = cli_json(database_url, "demo", "shift-dates", "--account", str(account), "--to-today")

    [order] = rows(engine, account)["sellOrders"]
    assert order["placed"].date() == datetime.now(UTC).date()
    assert order["placed"].time() == T0.time()
    assert shown["rows"]["sellOrders"] == 1


BAD_INPUT: dict[str, tuple[list[str], list[str]]] = {
    "reset: unknown account": (["accounts", "reset", "999"], ["no account 999"]),
    "reset: empty coupling": (["accounts", "reset", "ACCOUNT", "--coupling", " "], ["--coupling"]),
    "save: unknown account": (
        ["snapshot", "save", "--account", "999", "DIR/new.zst"],
        ["no account 999"],
    ),
    "save: unwritable": (
        ["snapshot", "save", "--account", "ACCOUNT", "DIR/missing/new.zst"],
        ["cannot write", "missing/new.zst"],
    ),
    "restore: unknown account": (
        ["snapshot", "restore", "--account", "999", "DIR/good.zst"],
        ["no account 999"],
    ),
    "restore: missing file": (
        ["snapshot", "restore", "--account", "ACCOUNT", "DIR/nothing.zst"],
        ["cannot read", "nothing.zst", "No such file"],
    ),
    "restore: a folder": (
        ["snapshot", "restore", "--account", "ACCOUNT", "DIR"],
        ["cannot read", "Is a directory"],
    ),
    "restore: foreign file": (
        ["snapshot", "restore", "--account", "ACCOUNT", "DIR/foreign.csv"],
        ["foreign.csv: not an optiply snapshot (not zstd-compressed); nothing was restored"],
    ),
    "restore: foreign zstd": (
        ["snapshot", "restore", "--account", "ACCOUNT", "DIR/foreign.zst"],
        ["not an optiply snapshot (no snapshot header)"],
    ),
    "restore: newer format": (
        ["snapshot", "restore", "--account", "ACCOUNT", "DIR/newer.zst"],
        ["format version 7, newer than this optiply", "upgrade optiply"],
    ),
    "shift: both": (
        ["demo", "shift-dates", "--account", "ACCOUNT", "--days", "3", "--to-today"],
        ["give --days N or --to-today, not both"],
    ),
    "shift: neither": (
        ["demo", "shift-dates", "--account", "ACCOUNT"],
        ["give --days N or --to-today"],
    ),
    "shift: unknown account": (
        ["demo", "shift-dates", "--account", "999", "--days", "1"],
        ["no account 999"],
    ),
    "shift: out of range": (
        ["demo", "shift-dates", "--account", "ACCOUNT", "--days", "3000000"],
        ["out of the years 1 to 9999"],
    ),
}


def test_bad_input_is_one_line_on_stderr_and_changes_nothing(
    database_url: str, engine: Engine, account: int, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "files"  # not the SQLite database's folder
    tmp_path.mkdir()
    cli_json(
        database_url, "snapshot", "save", "--account", str(account), str(tmp_path / "good.zst")
    )
    (tmp_path / "foreign.csv").write_text("id,name\n1,mug\n")
    zstd = zstandard.ZstdCompressor()
    (tmp_path / "foreign.zst").write_bytes(zstd.compress(b'{"rows": []}\n'))
    header = {"format": "optiply-snapshot", "formatVersion": 7, "optiplyVersion": "7.0"}
    (tmp_path / "newer.zst").write_bytes(zstd.compress(json.dumps(header).encode() + b"\n"))
    files = sorted(p.name for p in tmp_path.iterdir())
    before = rows(engine, account)
    values = {"ACCOUNT": str(account)}

    def fill(word: str) -> str:
        return values.get(word, word.replace("DIR", str(tmp_path)))

    assert bad_input_misses(BAD_INPUT, database_url=database_url, fill=fill) == {}
    assert rows(engine, account) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_a_real_process_restores(
    database_url: str, engine: Engine, account: int, tmp_path: Path
) -> None:
    file = tmp_path / "shop.zst"
    cli_json(database_url, "snapshot", "save", "--account", str(account), str(file))
    cli_json(database_url, "accounts", "reset", str(account))

    command = [*OPTIPLY, "snapshot", "restore", "--account", str(account), str(file)]
    done = subprocess.run(
        [*command, "--database-url", database_url],
        capture_output=True,
        text=True,
        env=process_env(),
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Restored 15 rows into account {account} from {file}")
    assert counts(engine, account)["products"] == 3
