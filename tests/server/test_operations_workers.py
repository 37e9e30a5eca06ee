"""Atomic operations with the machinery around a write (docs/extensions.md): two batches of one
account at once on ``optiply serve --workers 2`` (no deadlock, each all or nothing), an
Idempotency-Key replaying a batch, and the sandbox's commit-then-fail fault followed by a
keyed retry (a replay, no duplicates); a fault rule acts on the whole request."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

import web
from live import LiveServer, Login, make_login
from optiply.jsonapi.extensions import ATOMIC_MEDIA_TYPE

REPLAYED = "idempotent-replayed"
HEADERS = {"Content-Type": ATOMIC_MEDIA_TYPE}


def batch(tag: str, size: int, *, broken_at: int | None = None) -> dict[str, Any]:
    """``size`` products named ``tag`` (the one at ``broken_at`` has an invalid stock level),
    a supplier and a pair linking it to the first product by lid."""
    operations: list[dict[str, Any]] = [
        {
            "op": "add",
            "data": {
                "type": "products",
                "lid": f"p{i}",
                "attributes": {"name": tag, "stockLevel": i},
            },
        }
        for i in range(size)
    ]
    if broken_at is not None:
        operations[broken_at]["data"]["attributes"]["stockLevel"] = "many"
    operations += [
        {"op": "add", "data": {"type": "suppliers", "lid": "s", "attributes": {"name": tag}}},
        {
            "op": "add",
            "data": {
                "type": "supplierProducts",
                "attributes": {"name": tag},
                "relationships": {
                    "product": {"data": {"type": "products", "lid": "p0"}},
                    "supplier": {"data": {"type": "suppliers", "lid": "s"}},
                },
            },
        },
    ]
    return {"atomic:operations": operations}


def rows(login: Login, resource_type: str, name: str) -> int:
    with login.client() as api:
        answer = api.get(f"/{resource_type}", params={"filter[name]": name, "page[limit]": 1})
    return int(answer.json()["meta"]["totalResourceCount"])


def post(base: str, login: Login, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {login.access_token}", **HEADERS}
    if key is not None:
        headers["Idempotency-Key"] = key
    with web.Client(base_url=f"{base}/v1", headers=headers, timeout=60) as client:
        return client.post("/operations", json=body)


def test_two_workers_run_two_batches_of_one_account_each_whole(
    server: LiveServer, two_workers: str
) -> None:
    """Four batches at once (two good, two failing at their 30th operation) through two worker
    processes: no deadlock, no 5xx; the good ones land whole, the failing ones leave nothing."""
    login = make_login(server)
    tag = uuid.uuid4().hex[:6]
    bodies = {
        f"good-{tag}-a": batch(f"good-{tag}-a", 40),
        f"good-{tag}-b": batch(f"good-{tag}-b", 40),
        f"bad-{tag}-a": batch(f"bad-{tag}-a", 40, broken_at=30),
        f"bad-{tag}-b": batch(f"bad-{tag}-b", 40, broken_at=30),
    }
    answers: dict[str, httpx.Response] = {}

    def send(name: str) -> None:
        answers[name] = post(two_workers, login, bodies[name])

    threads = [threading.Thread(target=send, args=(name,)) for name in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for name, answer in answers.items():
        good = name.startswith("good")
        assert answer.status_code == (200 if good else 400), answer.text
        expected = (40, 1, 1) if good else (0, 0, 0)
        found = tuple(rows(login, t, name) for t in ("products", "suppliers", "supplierProducts"))
        assert found == expected, name
    assert len(answers) == 4


def test_a_keyed_batch_is_replayed_and_written_once(api: httpx.Client) -> None:
    tag, key = f"keyed-{uuid.uuid4().hex[:6]}", f"k-{uuid.uuid4()}"
    body = batch(tag, 3)
    first = api.post("/operations", json=body, headers={**HEADERS, "Idempotency-Key": key})
    again = api.post("/operations", json=body, headers={**HEADERS, "Idempotency-Key": key})
    assert first.status_code == 200 and REPLAYED not in first.headers
    assert again.status_code == 200 and again.headers[REPLAYED] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == ATOMIC_MEDIA_TYPE
    other = api.post("/operations", json=batch(tag, 4), headers={**HEADERS, "Idempotency-Key": key})
    assert other.status_code == 422
    listed = api.get("/products", params={"filter[name]": tag, "page[limit]": 10}).json()
    assert listed["meta"]["totalResourceCount"] == 3


def test_a_refused_keyed_batch_is_replayed_as_refused(api: httpx.Client) -> None:
    tag, key = f"refused-{uuid.uuid4().hex[:6]}", f"k-{uuid.uuid4()}"
    body = batch(tag, 3, broken_at=2)
    first = api.post("/operations", json=body, headers={**HEADERS, "Idempotency-Key": key})
    again = api.post("/operations", json=body, headers={**HEADERS, "Idempotency-Key": key})
    assert first.status_code == 400
    assert again.status_code == 400 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize("drop", [False, True], ids=["answers 500", "drops the connection"])
def test_commit_then_fail_then_the_keyed_retry_is_a_replay(login: Login, drop: bool) -> None:
    login.add_fault(
        action="commit-then-fail",
        method="POST",
        path="/v1/operations",
        times=1,
        dropAfterCommit=drop,
    )
    tag, key = f"ambiguous-{uuid.uuid4().hex[:6]}", f"k-{uuid.uuid4()}"
    if drop:
        with pytest.raises(httpx.RemoteProtocolError):
            post(login.url, login, batch(tag, 5), key)
    else:
        assert post(login.url, login, batch(tag, 5), key).status_code == 500
    assert rows(login, "products", tag) == 5  # committed before the failure
    retried = post(login.url, login, batch(tag, 5), key)
    assert retried.status_code == 200 and retried.headers[REPLAYED] == "true"
    assert len(retried.json()["atomic:results"]) == 7
    assert rows(login, "products", tag) == 5 and rows(login, "supplierProducts", tag) == 1


def test_a_fault_rule_on_the_path_answers_for_the_whole_batch(login: Login) -> None:
    login.add_fault(action="status", status=503, method="POST", path="/v1/operations", times=1)
    tag = f"faulted-{uuid.uuid4().hex[:6]}"
    answer = post(login.url, login, batch(tag, 3))
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["code"] == "SANDBOX_FAULT"
    assert rows(login, "products", tag) == 0
    assert post(login.url, login, batch(tag, 3)).status_code == 200  # times=1: spent
    assert rows(login, "products", tag) == 3
