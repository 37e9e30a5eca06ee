"""The job stops cleanly on systemic trouble: an unreachable API, an unknown stream (when asked)."""

from __future__ import annotations

import socket

from target_support import extensions_on, singer, summary_row, target_config

from optiply.resources.types import parse_datetime


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
        max_retries=0,  # each record fails at its first refused connection, not after backoff
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


def products(good: int, bad: int, *, bad_field: str = "stockLevel") -> list[dict[str, object]]:
    """``good`` valid products, then ``bad`` ones whose ``bad_field`` the API cannot take."""
    rows: list[dict[str, object]] = [
        {"externalId": f"G{i}", "name": f"Mug {i}", "stockLevel": 1} for i in range(good)
    ]
    for i in range(bad):
        row: dict[str, object] = {"externalId": f"B{i}", "name": f"Bad {i}", "stockLevel": 1}
        row[bad_field] = "lots" if bad_field == "stockLevel" else "not a date"
        rows.append(row)
    return rows


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def test_the_first_records_of_a_stream_all_failing_for_one_reason_stop_the_job(
    login, api, tmp_path, run_target
):
    config = target_config(login, tmp_path, systemic_failure_records=10, max_concurrency=1)
    lines = singer("Products", *products(0, 30))

    run = run_target(config, lines)

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (error,) = error_lines(run.stderr)
    assert "Products: the first 10 records all failed for the same reason" in error
    assert "/stockLevel" in error and "must be an integer" in error
    assert run.state["summary"]["Products"]["fail"] == 10  # then it stopped


def test_records_failing_for_different_reasons_do_not_stop_the_job_early(
    login, tmp_path, run_target
):
    config = target_config(login, tmp_path, systemic_failure_records=10, max_concurrency=1)
    rows = [
        *products(0, 8, bad_field="stockLevel"),
        *products(0, 8, bad_field="createdAtRemote"),
    ]
    rows = [row | {"externalId": f"R{i}"} for i, row in enumerate(rows)]
    rows = rows[::2] + rows[1::2]  # the two reasons interleaved

    run = run_target(config, singer("Products", *rows))

    # every record was tried; at the end, a stream in which every record failed exits 1
    assert run.state["summary"]["Products"]["fail"] == 16
    assert run.returncode == 1
    (error,) = error_lines(run.stderr)
    assert "Products: every record failed (16)" in error


def test_more_than_half_of_a_stream_failing_for_one_reason_exits_non_zero_after_the_rest(
    login, api, tmp_path, run_target
):
    config = target_config(login, tmp_path)
    lines = singer("Products", *products(8, 12, bad_field="createdAtRemote"))
    lines += singer("Suppliers", {"externalId": "S1", "name": "Acme"})

    run = run_target(config, lines)

    assert run.returncode == 1
    (error,) = error_lines(run.stderr)
    assert "Products: 12 of 20 records failed for the same reason" in error
    assert "/createdAtRemote" in error and "systemic_failure_share=0.5" in error
    assert (
        run.state["summary"]["Products"] | {"success": 8, "fail": 12}
        == (run.state["summary"]["Products"])
    )
    assert len(api.get("/products").json()["data"]) == 8  # the rest was written
    assert run.entries("Suppliers")["S1"]["success"]


def test_a_minority_of_failures_exits_zero_and_the_rules_can_be_turned_off(
    login, tmp_path, run_target
):
    minority = run_target(target_config(login, tmp_path), singer("Products", *products(11, 9)))
    assert minority.returncode == 0, minority.stderr
    assert minority.state["summary"]["Products"]["fail"] == 9

    off = run_target(
        target_config(login, tmp_path, systemic_failure_share=0, systemic_failure_records=0),
        singer("Suppliers", {"externalId": "S-bad", "name": "Acme", "deliveryTime": 0}),
    )
    assert off.returncode == 0, off.stderr
    assert off.state["summary"]["Suppliers"]["fail"] == 1


def test_the_summary_rate_is_what_the_server_sees(login, api, tmp_path, run_target):
    """Requests per second per stream: its requests over the time it had one under way (not
    the sum of every request's time, which counts each second once per thread)."""
    count = 400
    config = target_config(login, tmp_path, max_concurrency=8, bulk="off")  # a request a record
    rows = [{"externalId": f"P{i}", "name": f"Mug {i}", "stockLevel": i} for i in range(count)]

    run = run_target(config, singer("Products", *rows))

    assert run.returncode == 0, run.stderr
    row = summary_row(run.stderr, "Products")
    lookups = 4 if extensions_on(login) else 0  # filter[remoteId], 100 source ids a request
    assert row["requests"] == count + lookups
    # The server's view: the POSTs' commit times span at most the stream's busy time, so
    # count / span bounds the reported figure from above; it cannot be far below it either.
    created = [
        parse_datetime(product["attributes"]["createdAt"])
        for product in iterate(api, "/products?page[limit]=100")
    ]
    assert len(created) == count
    span = (max(created) - min(created)).total_seconds()
    on_the_wire = count / span
    assert 0.4 * on_the_wire <= row["req/s"] <= 1.05 * on_the_wire, (row, on_the_wire)


def iterate(api, url: str):
    while url:
        document = api.get(url).json()
        yield from document["data"]
        url = document["links"].get("next")
