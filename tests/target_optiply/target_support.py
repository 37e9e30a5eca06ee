"""Helpers for the target tests: a config for a live login, Singer lines, a process run."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from live import Login, run_target_command


def extensions_on(login: Login) -> bool:
    """Whether ``login``'s server offers the extensions (else it is ``--no-extensions``)."""
    return bool(login.server.settings.extensions)


def target_config(login: Login, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """A config for ``login``'s account on the live server, state files in ``tmp_path``."""
    return {
        "username": login.username,
        "password": login.password,
        "client_id": login.client_id,
        "client_secret": login.client_secret,
        "account_id": login.account_id,
        "optiply_base_url": f"{login.url}/v1",
        "optiply_dashboard_url": f"{login.url}/api",
        "target_state_path": str(tmp_path / "target-state.json"),
        **extra,
    }


def singer(stream: str, *records: dict[str, Any], key: str = "externalId") -> list[str]:
    """A SCHEMA line (loose: every property any-typed) and RECORD lines for ``stream``."""
    names = sorted({name for record in records for name in record})
    schema = {
        "type": "object",
        "properties": {name: {} for name in names},
    }
    lines = [
        json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
    ]
    lines += [json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in records]
    return lines


class Run:
    """The outcome of one ``target-optiply`` process."""

    def __init__(self, process: subprocess.CompletedProcess[str], state_path: Path) -> None:
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.state = json.loads(state_path.read_text()) if state_path.exists() else {}

    def entries(self, stream: str) -> dict[str, dict[str, Any]]:
        return {e.get("externalId"): e for e in self.state["bookmarks"].get(stream, [])}

    def id(self, stream: str, external_id: str) -> str:
        entry = self.entries(stream)[external_id]
        assert entry["success"], entry
        return str(entry["id"])


def run_in_process(
    tmp_path: Path, config: dict[str, Any], lines: list[str], env: dict[str, str] | None = None
) -> Run:
    """Run ``target-optiply``'s command on Singer lines in this process
    (``live.run_target_command``); ``run_process`` runs the executable."""
    process = run_target_command(tmp_path, config, "\n".join(lines) + "\n", env)
    return Run(process, Path(config["target_state_path"]))


def run_process(
    tmp_path: Path, config: dict[str, Any], lines: list[str], env: dict[str, str] | None = None
) -> Run:
    """Run ``target-optiply`` (``python -m target_optiply``) on Singer lines."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.run(
        [sys.executable, "-m", "target_optiply", "--config", str(config_path)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Run(process, Path(config["target_state_path"]))


def records(stream: str, *items: dict[str, Any]) -> list[str]:
    """RECORD lines only, for a stream whose SCHEMA ``singer`` sent already (to interleave)."""
    return [json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in items]


def create(api: httpx.Client, resource_type: str, **attributes: Any) -> str:
    """POST one row straight to the API (not through the target); returns its id."""
    body = {"data": {"type": resource_type, "attributes": attributes}}
    response = api.post(f"/{resource_type}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def write_snapshot(directory: Path, stream: str, flow: str, rows: dict[str, str]) -> Path:
    """A HotGlue id snapshot ``{stream}_{flow}.snapshot.csv``: ``InputId`` -> ``RemoteId``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stream}_{flow}.snapshot.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["InputId", "RemoteId"])
        writer.writerows(rows.items())
    return path


def requests_made(stderr: str, stream: str) -> int:
    """The ``requests`` column of ``stream`` in the summary table logged at the end of a run."""
    return int(summary_row(stderr, stream)["requests"])


def summary_row(stderr: str, stream: str) -> dict[str, float]:
    """``stream``'s row of the summary table logged at the end of a run, by column name."""
    header = re.compile(r"\bstream\s+success\s+updated\s+existing\s+failed\s+skipped\s+requests")
    lines = stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if header.search(line))
    columns = ("success", "updated", "existing", "failed", "skipped", "requests", "req/s")
    row = re.compile(rf"\b{re.escape(stream)}((?:\s+[0-9.]+){{{len(columns)}}})\s*$")
    for line in lines[start + 1 :]:
        match = row.search(line)
        if match:
            return dict(zip(columns, map(float, match.group(1).split()), strict=True))
    raise AssertionError(f"no summary row for {stream}")
