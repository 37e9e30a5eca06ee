"""What fails a record and what stops the job: thresholds, bad credentials, missing scopes."""

from __future__ import annotations

from typing import Any

import pytest
from target_support import singer, target_config


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line or "CRITICAL" in line]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="flushed-at-the-end"),
        pytest.param(
            {"batch_size_rows": 1},  # a sink fills up mid-stream (SDK default: 10000 rows)
            id="flushed-mid-stream",
        ),
    ],
)
def test_max_record_failures_stops_the_job_with_what_succeeded_saved(
    login, api, tmp_path, run_target, extra: dict[str, Any]
):
    config = target_config(login, tmp_path, max_record_failures=1, max_concurrency=1, **extra)
    lines = singer(
        "Products",
        {"externalId": "P1", "name": "Mug", "stockLevel": 1},
        {"externalId": "B1", "name": "Bad", "stockLevel": "lots"},
        {"externalId": "B2", "name": "Worse", "stockLevel": "many"},
        {"externalId": "P2", "name": "Plate", "stockLevel": 1},
    )
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})

    run = run_target(config, lines)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    (error,) = _error_lines(run.stderr)
    assert "stopped" in error and "max_record_failures=1" in error
    entries = run.entries("Products")
    assert entries["P1"]["success"]
    assert not entries["B1"]["success"] and not entries["B2"]["success"]
    assert "P2" not in entries and "Suppliers" not in run.state["bookmarks"]
    assert run.state["summary"]["Products"]["fail"] == 2
    assert [row["id"] for row in api.get("/products").json()["data"]] == [entries["P1"]["id"]]


def test_a_wrong_password_stops_the_job_with_one_readable_line(login, tmp_path, run_target):
    config = target_config(login, tmp_path, password="not-the-password")
    products = [{"externalId": f"P{i}", "name": "Mug", "stockLevel": 1} for i in range(30)]

    run = run_target(config, singer("Products", *products))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    (error,) = _error_lines(run.stderr)
    assert "stopped" in error and "credentials" in error.lower()
    assert run.state["summary"]["Products"]["fail"] < len(products)  # it did not try them all
    output = run.stdout + run.stderr
    for secret in ("not-the-password", login.password, login.client_secret):
        assert secret not in output and secret[:8] not in output


def test_a_token_without_the_write_scope_stops_the_job(server, new_login, tmp_path, run_target):
    reader = new_login(server, scopes=("read",))
    products = [{"externalId": f"P{i}", "name": "Mug", "stockLevel": 1} for i in range(30)]
    lines = singer("Products", *products)
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})

    run = run_target(target_config(reader, tmp_path), lines)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    (error,) = _error_lines(run.stderr)
    assert "stopped" in error and "403" in error and "scope" in error
    assert run.state["summary"]["Products"]["fail"] < len(products)
    assert "Suppliers" not in run.state["bookmarks"]
    with reader.client() as api:
        assert api.get("/products").json()["data"] == []
