"""Logs: one line per record with its progress, and never a secret, not even a prefix of one."""

from __future__ import annotations

import json
import re
import time

import pytest
from target_support import singer, target_config


def test_one_line_per_record_with_progress_method_and_source_id(login, tmp_path, run_target):
    lines = singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P2", "name": "Plate", "stockLevel": 1},
        {"externalId": "P3", "name": "Bowl", "stockLevel": "lots"},
    )
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})

    run = run_target(target_config(login, tmp_path), lines, env={"STREAM_TOTAL_Products": "3"})

    assert run.returncode == 0, run.stderr
    pattern = re.compile(r"\b(Products|Suppliers) #(\d+)/(\S+) (\S+) externalId=(\S+) -> (\w+)")
    found = [match.groups() for match in map(pattern.search, run.stderr.splitlines()) if match]
    by_record = {
        external: (stream, n, total, method, outcome)
        for stream, n, total, method, external, outcome in found
    }
    assert len(found) == len(by_record) == 4  # exactly one line per record
    assert {by_record[p][1] for p in ("P1", "P2", "P3")} == {"1", "2", "3"}
    assert by_record["P1"][2:] == ("3", "POST", "success")
    assert by_record["P3"][2:] == ("3", "-", "fail")
    assert by_record["S1"] == ("Suppliers", "1", "?", "POST", "success")  # no total known
    assert "stockLevel" in next(line for line in run.stderr.splitlines() if "externalId=P3" in line)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_secret_and_no_prefix_of_one_is_ever_logged(login, tmp_path, run_target, level: str):
    config_path = tmp_path / "config.json"
    config = target_config(
        login,
        tmp_path,
        access_token=login.access_token,
        refresh_token=login.refresh_token,
        expires_in=int(time.time()) - 10,  # expired: the target refreshes it
        token_file=str(config_path),
    )
    lines = singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "P2", "name": "Plate", "stockLevel": "lots"},
    )

    run = run_target(config, lines, env={"LOGLEVEL": level})

    assert run.returncode == 0, run.stderr
    assert f"| {level}" in run.stderr  # the level took effect
    refreshed = json.loads(config_path.read_text())
    assert refreshed["access_token"] != login.access_token  # a refresh did happen
    secrets = {
        "password": login.password,
        "client secret": login.client_secret,
        "access token": login.access_token,
        "refresh token": login.refresh_token,
        "new access token": refreshed["access_token"],
        "new refresh token": refreshed["refresh_token"],
    }
    output = run.stdout + run.stderr
    for name, secret in secrets.items():
        assert secret[:8] not in output, f"a prefix of the {name} was logged"
