"""Transport faults we do not own, simulated with ``httpx.MockTransport``: retries and backoff.

GET, PATCH and DELETE are retried on 429 (honouring ``Retry-After``), 502/503/504, timeouts and
connection errors; a POST is sent once and, when its outcome is unknown, raises
``AmbiguousWriteError`` — unless the server advertises the idempotency extension (``GET /v1``,
asked once, only then): then the POST is sent again with the same key and bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from optiply.client import (
    AmbiguousWriteError,
    AsyncOptiplyClient,
    Backoff,
    FatalError,
    OptiplyAuth,
    OptiplyClient,
    RetriableError,
)

API = "https://api.test/v1"
FAST = Backoff(initial=0.001, max_delay=2.0)
PRODUCT = {"data": {"id": "5", "type": "products", "attributes": {"name": "Mug"}}}
TOKEN = {"access_token": "a-token", "refresh_token": "r-token", "expires_in": 3600}

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: Any) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next step: a status, a response or an error."""
    calls: list[httpx.Request] = []
    remaining = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        step = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("simulated", request=request)
        if isinstance(step, int):
            return httpx.Response(step, json=PRODUCT if step < 300 else {"errors": []})
        return step

    return handle, calls


def client(handler: Handler, **options: Any) -> OptiplyClient:
    options.setdefault("backoff", FAST)
    return OptiplyClient(
        API, access_token="t", account_id=1, transport=httpx.MockTransport(handler), **options
    )


def test_429_waits_as_long_as_retry_after_says() -> None:
    handler, calls = scripted(httpx.Response(429, headers={"Retry-After": "1"}), 200)
    started = time.monotonic()
    with client(handler) as c:
        assert c.get("products", 5).attributes == {"name": "Mug"}
    assert time.monotonic() - started >= 0.95
    assert len(calls) == 2


def test_a_retry_after_longer_than_max_delay_is_raised_at_once() -> None:
    handler, calls = scripted(httpx.Response(429, headers={"Retry-After": "120"}), 200)
    with client(handler) as c, pytest.raises(RetriableError) as raised:
        c.get("products", 5)
    assert (raised.value.status, raised.value.retry_after) == (429, 120.0)
    assert len(calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_burst_of_gateway_errors_is_retried(status: int) -> None:
    handler, calls = scripted(status, status, status, 200)
    with client(handler) as c:
        assert c.get("products", 5).id == 5
    assert len(calls) == 4


def test_retries_stop_after_max_retries() -> None:
    handler, calls = scripted(503)
    with client(handler, max_retries=2) as c, pytest.raises(RetriableError) as raised:
        c.list("products")
    assert raised.value.status == 503
    assert len(calls) == 3


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError, httpx.RemoteProtocolError],
)
def test_get_is_retried_after_timeouts_and_connection_errors(fault: type[Exception]) -> None:
    handler, calls = scripted(fault, fault, 200)
    with client(handler) as c:
        assert c.get("products", 5).id == 5
    assert len(calls) == 3


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_patch_and_delete_are_retried(method: str) -> None:
    handler, calls = scripted(
        502, httpx.ReadTimeout, httpx.Response(200 if method == "PATCH" else 204, json=PRODUCT)
    )
    with client(handler) as c:
        if method == "PATCH":
            c.update("products", 5, {"name": "Mug"})
        else:
            c.delete("products", 5)
    assert [call.method for call in calls] == [method] * 3


def test_an_internal_server_error_is_not_retried() -> None:
    handler, calls = scripted(500, 200)
    with client(handler) as c, pytest.raises(FatalError):
        c.get("products", 5)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
        500,
        502,
        503,
        504,
    ],
)
def test_a_post_with_an_unknown_outcome_is_sent_once_and_ambiguous(fault: Any) -> None:
    handler, calls = scripted(fault, 404)
    with client(handler) as c, pytest.raises(AmbiguousWriteError) as raised:
        c.create("products", {"name": "Mug", "stockLevel": 1})
    # sent once; the one other request asked whether the server honours keys (404: no)
    assert [(r.method, r.url.path) for r in calls] == [("POST", "/v1/products"), ("GET", "/v1")]
    assert raised.value.method == "POST"
    assert isinstance(raised.value, RetriableError)


@pytest.mark.parametrize("fault", [429, httpx.ConnectError, httpx.ConnectTimeout])
def test_a_post_that_was_not_applied_is_retriable_but_not_ambiguous(fault: Any) -> None:
    handler, calls = scripted(fault, 404)
    with client(handler) as c, pytest.raises(RetriableError) as raised:
        c.create("products", {"name": "Mug", "stockLevel": 1})
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert [r.method for r in calls] == ["POST", "GET"]


def test_the_token_endpoint_failing_transiently_is_retried_for_get_only() -> None:
    handler, calls = scripted(503, httpx.Response(200, json=TOKEN), 200)
    auth = OptiplyAuth(
        client_id="c", client_secret="s", username="u", password="p", dashboard_url="https://d/api"
    )
    with OptiplyClient(API, auth=auth, transport=httpx.MockTransport(handler), backoff=FAST) as c:
        assert c.get("products", 5).id == 5
    assert [call.url.path for call in calls] == [
        "/api/auth/oauth/token",
        "/api/auth/oauth/token",
        "/v1/products/5",
    ]
    assert calls[-1].headers["Authorization"] == "Bearer a-token"

    handler, calls = scripted(httpx.ConnectError, httpx.Response(200, json=TOKEN), 201)
    auth = OptiplyAuth(
        client_id="c", client_secret="s", username="u", password="p", dashboard_url="https://d/api"
    )
    with OptiplyClient(API, auth=auth, transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(RetriableError) as raised:
            c.create("products", {"name": "Mug", "stockLevel": 1})
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert raised.value.url == "https://d/api/auth/oauth/token"
    assert [call.url.path for call in calls] == ["/api/auth/oauth/token"]


def test_next_links_are_followed_on_the_api_host_only(caplog: pytest.LogCaptureFixture) -> None:
    def page(next_url: str | None) -> httpx.Response:
        return httpx.Response(200, json={"data": [PRODUCT["data"]], "links": {"next": next_url}})

    handler, calls = scripted(
        page("https://api.test/v1/products?sort=id&page[limit]=1&page[offset]=1&accountId=1"),
        page("http://proxy.internal:8080/v1/products?page[limit]=1&page[offset]=2"),
        page(None),
    )
    with client(handler) as c:
        assert len(list(c.iterate("products"))) == 3
    assert str(calls[1].url) == (
        "https://api.test/v1/products?sort=id&page[limit]=1&page[offset]=1&accountId=1"
    )
    assert calls[2].url.host == "api.test"
    assert calls[2].url.params["page[offset]"] == "2"
    assert calls[2].url.params["accountId"] == "1"
    assert "links.next points to http://proxy.internal" in caplog.text


def test_a_next_link_that_loops_is_fatal() -> None:
    looping = "https://api.test/v1/products?page[offset]=1"
    body = {"data": [PRODUCT["data"]], "links": {"next": looping}}
    handler, calls = scripted(httpx.Response(200, json=body))
    with client(handler) as c, pytest.raises(FatalError, match="already read"):
        list(c.iterate("products"))
    assert len(calls) == 2


@pytest.mark.parametrize("attempt", range(8))
def test_jitter_stays_within_the_exponential_ceiling(attempt: int) -> None:
    backoff = Backoff(initial=0.1, multiplier=2.0, max_delay=5.0)
    ceiling = min(5.0, 0.1 * 2**attempt)
    assert backoff.ceiling(attempt) == pytest.approx(ceiling)
    delays = [backoff.delay(attempt) for _ in range(500)]
    assert all(d is not None and 0 <= d <= ceiling for d in delays)
    assert max(d for d in delays if d is not None) > ceiling * 0.8  # full jitter: the whole range
    assert min(d for d in delays if d is not None) < ceiling * 0.2


def test_retries_are_logged_without_bodies_or_headers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="optiply.client")
    handler, _ = scripted(503, 200)
    with client(handler) as c:
        c.get("products", 5)
    assert "GET /v1/products/5 -> 503 in" in caplog.text
    assert "retrying GET /v1/products/5 in " in caplog.text
    assert "after 503 (retry 1 of 4)" in caplog.text
    assert "Bearer" not in caplog.text
    assert "Mug" not in caplog.text


def test_async_client_retries_and_refuses_to_resend_a_post() -> None:
    handler, calls = scripted(503, httpx.ReadTimeout, 200, httpx.ReadTimeout)

    async def scenario() -> None:
        async with AsyncOptiplyClient(
            API, access_token="t", transport=httpx.MockTransport(handler), backoff=FAST
        ) as c:
            assert (await c.get("products", 5)).id == 5
            with pytest.raises(AmbiguousWriteError):
                await c.create("products", {"name": "Mug", "stockLevel": 1})

    asyncio.run(scenario())
    # the POST once; the GETs of /v1 asked (in vain: timeouts) whether keys are honoured
    assert [call.method for call in calls if call.url.path != "/v1"] == [
        "GET",
        "GET",
        "GET",
        "POST",
    ]


def test_async_client_bounds_requests_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json=PRODUCT)

    async def scenario() -> None:
        async with AsyncOptiplyClient(
            API, access_token="t", transport=httpx.MockTransport(handle), max_concurrency=3
        ) as c:
            await asyncio.gather(*(c.get("products", 5) for _ in range(20)))

    asyncio.run(scenario())
    assert peak == 3


ADVERTISED = {
    "jsonapi": {"version": "1.1", "ext": ["https://optiply-selfhosted.dev/ext/idempotency"]}
}


def keyed_server(*post_steps: Any, advertise: bool = True) -> tuple[Handler, list[httpx.Request]]:
    """POSTs answered by ``post_steps`` in turn; ``GET /v1`` lists the idempotency extension
    (or answers 404, as the hosted API and ``--no-extensions`` do)."""
    posts, calls = scripted(*post_steps)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1":
            calls.append(request)
            return httpx.Response(200, json=ADVERTISED) if advertise else httpx.Response(404)
        return posts(request)

    return handle, calls


@pytest.mark.parametrize("fault", [httpx.ReadTimeout, 500, 503, 429])
def test_a_keyed_post_is_resent_with_the_same_key_and_bytes_when_keys_are_honoured(fault):
    handler, calls = keyed_server(fault, fault, 201)
    with client(handler) as c:
        assert c.create("products", {"name": "Mug", "stockLevel": 1}).id == 5
        c.create("products", {"name": "Mug", "stockLevel": 1})
    posts = [r for r in calls if r.method == "POST"]
    gets = [r for r in calls if r.method == "GET"]
    assert len(posts) == 4 and len(gets) == 1  # detection once per client, cached
    first, *retries, _other = posts
    assert all(r.content == first.content for r in retries)
    keys = [r.headers["Idempotency-Key"] for r in posts]
    assert keys[0] == keys[1] == keys[2] != keys[3]  # one key per logical call
    assert len(keys[0]) == 36


def test_a_post_is_never_resent_when_the_server_does_not_honour_keys():
    handler, calls = keyed_server(500, 201, advertise=False)
    with client(handler) as c, pytest.raises(AmbiguousWriteError):
        c.create("products", {"name": "Mug", "stockLevel": 1})
    assert [r.method for r in calls] == ["POST", "GET"]


def test_a_key_in_use_is_waited_for_without_asking_the_server():
    in_use = httpx.Response(
        409, json={"errors": [{"status": "409", "code": "IDEMPOTENCY_KEY_IN_USE", "detail": "x"}]}
    )
    handler, calls = keyed_server(in_use, 201, advertise=False)
    with client(handler) as c:
        c.create("products", {"name": "Mug"}, idempotency_key="k-1")
    assert [(r.method, r.headers.get("Idempotency-Key")) for r in calls] == [
        ("POST", "k-1"),
        ("POST", "k-1"),
    ]


def test_a_keyed_patch_answered_500_is_retried_only_when_keys_are_honoured():
    handler, calls = keyed_server(500, 200)
    with client(handler) as c:
        c.update("products", 5, {"name": "Mug"}, idempotency_key="k-2")
    assert [r.method for r in calls] == ["PATCH", "GET", "PATCH"]
    handler, calls = keyed_server(500, advertise=False)
    with client(handler) as c, pytest.raises(FatalError):
        c.update("products", 5, {"name": "Mug"}, idempotency_key="k-2")
    with client(handler) as c, pytest.raises(FatalError):
        c.update("products", 5, {"name": "Mug"})  # no key: as before, nothing asked
    assert [r.method for r in calls] == ["PATCH", "GET", "PATCH"]


def test_no_key_when_asked_for_none_and_bad_keys_are_refused_before_sending():
    handler, calls = keyed_server(201)
    with client(handler) as c:
        c.create("products", {"name": "Mug"}, idempotency_key=False)
        for bad in ("", "x" * 256, "tab\there", "ü"):
            with pytest.raises(ValueError):
                c.create("products", {"name": "Mug"}, idempotency_key=bad)
    assert len(calls) == 1 and "Idempotency-Key" not in calls[0].headers


def test_the_async_client_resends_a_keyed_post_when_keys_are_honoured():
    handler, calls = keyed_server(503, 201)

    async def main() -> None:
        async with AsyncOptiplyClient(
            API,
            access_token="t",
            account_id=1,
            backoff=FAST,
            transport=httpx.MockTransport(handler),
        ) as c:
            assert (await c.create("products", {"name": "Mug"})).id == 5
            assert await c.extensions() == frozenset(ADVERTISED["jsonapi"]["ext"])

    asyncio.run(main())
    posts = [r for r in calls if r.method == "POST"]
    assert (
        len(posts) == 2
        and posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]
    )
    assert [r.method for r in calls].count("GET") == 1
