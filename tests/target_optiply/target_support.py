"""Helpers for the target tests: a config for a live login, Singer lines, a process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from live import Login


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
