"""The job stops cleanly on systemic trouble: an unreachable API, an unknown stream (when asked)."""

from __future__ import annotations

import socket

from target_support import singer, target_config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_transient_failures_in_a_row_stop_the_job(login, tmp_path, run_target):
    config = target_config(
        login,
        tmp_path,
        optiply_base_url=f"http://127.0.0.1:{closed_port()}/v1",  # nothing listens: refused
        max_consecutive_transient_failures=5,
        max_concurrency=1,
    )
    products = [{"externalId": f"P{i}", "name": f"Mug {i}", "stockLevel": 1} for i in range(30)]

    run = run_target(config, singer("Products", *products))

    assert run.returncode == 1
    assert "5 transient failures in a row" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.state["summary"]["Products"]["fail"] == 5  # then nothing more was tried


def test_an_unknown_stream_stops_the_job_when_asked(login, tmp_path, run_target):
    config = target_config(login, tmp_path, fail_on_unknown_stream=True)
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    lines += singer("Countries", {"code": "NL"})

    run = run_target(config, lines)

    assert run.returncode == 1
    assert "'Countries' matches no Optiply resource" in run.stderr
    assert "Traceback" not in run.stderr
