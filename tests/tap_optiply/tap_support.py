"""Helpers for the tap tests: a config for a live login, a tap run and its messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from live import Login


def tap_config(login: Login, **extra: Any) -> dict[str, Any]:
    """A config for ``login``'s account on the live server."""
    return {
        "username": login.username,
        "password": login.password,
        "client_id": login.client_id,
        "client_secret": login.client_secret,
        "account_id": login.account_id,
        "optiply_base_url": f"{login.url}/v1",
        "optiply_dashboard_url": f"{login.url}/api",
        **extra,
    }


class Output:
    """The messages one tap run printed, by type."""

    def __init__(self, process: subprocess.CompletedProcess[str]) -> None:
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        try:
            self.messages = [json.loads(line) for line in process.stdout.splitlines() if line]
        except json.JSONDecodeError:  # --discover prints one indented document
            self.messages = [json.loads(process.stdout)]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def ids(self, stream: str) -> list[str]:
        return [r["id"] for r in self.records(stream)]

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}


def run_tap(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    check: bool = True,
) -> Output:
    """Run ``tap-optiply`` (``python -m tap_optiply``) once."""
    config_path = tmp_path / "tap-config.json"
    config_path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_optiply", "--config", str(config_path), *args]
    if state is not None:
        state_path = tmp_path / "tap-state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    if catalog is not None:
        catalog_path = tmp_path / "tap-catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        command += ["--catalog", str(catalog_path)]
    process = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    output = Output(process)
    if check:
        assert process.returncode == 0, process.stderr[-3000:]
    return output


def create(api: httpx.Client, resource_type: str, **attributes: Any) -> dict[str, Any]:
    """POST one row straight to the API; returns the resource object."""
    body = {"data": {"type": resource_type, "attributes": attributes}}
    response = api.post(f"/{resource_type}", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def update(api: httpx.Client, resource_type: str, row_id: str, **attributes: Any) -> None:
    body = {"data": {"type": resource_type, "id": row_id, "attributes": attributes}}
    response = api.patch(f"/{resource_type}/{row_id}", json=body)
    assert response.status_code == 200, response.text
