"""Helpers for the tap tests: a config for a live login, a tap run and its messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from live import Login, run_singer_command, run_target_command
from tap_optiply.tap import TapOptiply


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
    executable: bool = False,
) -> Output:
    """Run ``tap-optiply`` once: its command in this process (``live.run_singer_command``), or
    with ``executable`` the real ``python -m tap_optiply``."""
    config_path = tmp_path / "tap-config.json"
    config_path.write_text(json.dumps(config))
    command = ["--config", str(config_path), *args]
    if state is not None:
        state_path = tmp_path / "tap-state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    if catalog is not None:
        catalog_path = tmp_path / "tap-catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        command += ["--catalog", str(catalog_path)]
    if executable:
        process = subprocess.run(
            [sys.executable, "-m", "tap_optiply", *command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
            env=dict(os.environ),
        )
    else:
        process = run_singer_command(TapOptiply, command, cwd=tmp_path)
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


def run_target(tmp_path: Path, login: Login, out: Output, **extra: Any) -> None:
    """Feed a tap run's output to ``target-optiply`` (its command, in this process) writing to
    ``login``'s account."""
    settings = {**tap_config(login), "target_state_path": str(tmp_path / "ts.json"), **extra}
    written = run_target_command(tmp_path, settings, out.stdout)
    assert written.returncode == 0, written.stderr[-3000:]


def full_table_products(tmp_path: Path, login: Login) -> dict[str, Any]:
    """The discovered catalog with only ``products`` selected, in FULL_TABLE mode."""
    discovered = run_tap(tmp_path, tap_config(login), args=("--discover",))
    assert discovered.messages, discovered.stderr
    catalog: dict[str, Any] = discovered.messages[0]
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = entry["tap_stream_id"] == "products"
        if entry["tap_stream_id"] == "products":
            entry["replication_method"] = "FULL_TABLE"
            root["metadata"]["forced-replication-method"] = "FULL_TABLE"
    return catalog
