"""Failed token requests are throttled per client id and per remote address (429 with
``Retry-After``), checked before any Argon2 work; successful grants take nothing.

Addresses come through ``X-Forwarded-For``, which uvicorn takes from 127.0.0.1 (the test
client); each test uses addresses and clients of its own, since buckets live in the database
shared by the session. A bucket refills one failure per second, so the counts of a flood allow
for the time it took; where a test needs a bucket to stay empty it empties it in the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

import web
from live import LiveServer, Login, make_login
from optiply.server.auth import throttle
from optiply.server.storage.tables import oauth_throttle

TOKEN_PATH = "/api/auth/oauth/token"


def _address() -> str:
    number = uuid.uuid4().int
    return f"198.18.{number % 256}.{(number >> 8) % 254 + 1}"


def _grant(
    login: Login, address: str | None, *, secret: str | None = None, client_id: str | None = None
) -> httpx.Response:
    data = {"grant_type": "password", "username": login.username, "password": login.password}
    headers = {} if address is None else {"X-Forwarded-For": address}
    auth = (client_id or login.client_id, login.client_secret if secret is None else secret)
    return web.post(f"{login.url}{TOKEN_PATH}", data=data, auth=auth, headers=headers)


def _flood(
    attempt: Callable[[], httpx.Response], limit: int = 3 * throttle.BURST
) -> tuple[list[int], httpx.Response]:
    """Bad attempts one after another until the first 429: the statuses heard, and the 429."""
    started, codes = time.perf_counter(), []
    while len(codes) < limit:
        response = attempt()
        if response.status_code == 429:
            break
        codes.append(response.status_code)
    assert response.status_code == 429, codes
    # The burst, plus one per second the flood took (a bucket refills meanwhile).
    assert throttle.BURST <= len(codes) <= throttle.BURST + 1 + time.perf_counter() - started
    return codes, response


def _empty(login: Login, *, client_id: str | None = None, address: str | None = None) -> None:
    """Empty a bucket for a minute, as a flood of failures would have."""
    (key,) = throttle.keys(client_id, address)
    full_at = throttle.now_ms() + (throttle.BURST + 60) * throttle.INTERVAL_MS
    with login.server.engine.begin() as connection:
        connection.execute(oauth_throttle.insert().values(key=key, full_at=full_at))


def test_a_burst_of_bad_secrets_is_answered_429_quickly_while_others_get_tokens(
    server: LiveServer,
) -> None:
    victim, other = make_login(server), make_login(server)
    address = _address()
    data = {"grant_type": "password", "username": victim.username, "password": victim.password}
    answers: list[tuple[int, float, httpx.Response]] = []
    started = time.perf_counter()
    with web.Client(base_url=victim.url) as client:
        for _ in range(25):
            begun = time.perf_counter()
            response = client.post(
                TOKEN_PATH,
                data=data,
                auth=(victim.client_id, "wrong-" + uuid.uuid4().hex),
                headers={"X-Forwarded-For": address},
            )
            answers.append((response.status_code, time.perf_counter() - begun, response))
    elapsed = time.perf_counter() - started

    codes = [status for status, _, _ in answers]
    assert codes[: throttle.BURST] == [401] * throttle.BURST
    assert set(codes) == {401, 429}
    assert codes.count(401) <= throttle.BURST + 1 + elapsed
    status, seconds, refused = answers[19]
    assert status == 429
    assert seconds < 0.05, f"the 20th bad attempt took {seconds * 1000:.1f} ms"
    assert 1 <= int(refused.headers["retry-after"]) <= throttle.BURST
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.json() == {
        "error": "too_many_requests",
        "error_description": "Too many failed token requests",
        "hint": refused.json()["hint"],
    }
    assert victim.client_secret not in refused.text
    assert _grant(other, _address()).status_code == 200  # another client id and address


def test_an_empty_bucket_refuses_even_the_right_credentials(server: LiveServer) -> None:
    """Neither bucket can tell the attacker from the owner: while a client id's bucket is
    empty its owner waits too, and so does every client at a flooding address."""
    owner, neighbour = make_login(server), make_login(server)
    flooded_address = _address()
    _empty(owner, client_id=owner.client_id)
    _empty(owner, address=flooded_address)

    by_client = _grant(owner, _address())
    by_address = _grant(neighbour, flooded_address)

    assert by_client.status_code == by_address.status_code == 429
    assert 55 <= int(by_client.headers["retry-after"]) <= 61
    assert _grant(neighbour, _address()).status_code == 200


def test_after_retry_after_seconds_an_attempt_is_heard_again(login: Login) -> None:
    address = _address()
    _, refused = _flood(lambda: _grant(login, address, secret="wrong"))

    time.sleep(int(refused.headers["retry-after"]))

    assert _grant(login, address).status_code == 200


def test_one_address_spraying_client_ids_is_throttled(login: Login) -> None:
    address = _address()

    heard, _ = _flood(lambda: _grant(login, address, client_id=uuid.uuid4().hex))

    assert set(heard) == {401}
    assert _grant(login, _address()).status_code == 200


def test_successful_grants_are_never_throttled(login: Login) -> None:
    address = _address()
    codes = {_grant(login, address).status_code for _ in range(3 * throttle.BURST)}

    assert codes == {200}


def test_loopback_addresses_are_throttled_per_client_id_only(server: LiveServer) -> None:
    """Requests from 127.0.0.1 (a reverse proxy on this host) are many clients: one of them
    failing must not lock the others out."""
    sprayer, legitimate = make_login(server), make_login(server)
    for _ in range(throttle.BURST + 2):
        assert _grant(sprayer, None, client_id=uuid.uuid4().hex).status_code == 401

    assert _grant(legitimate, None).status_code == 200


def test_ipv6_addresses_share_a_bucket_per_64(login: Login) -> None:
    prefix = f"2001:db8:{uuid.uuid4().int % 65536:x}:{uuid.uuid4().int % 65536:x}"
    _empty(login, address=f"{prefix}::1")

    assert _grant(login, f"{prefix}:ffff:ffff:ffff:ffff").status_code == 429
    assert _grant(login, f"2001:db8:ffff:{uuid.uuid4().int % 65536:x}::1").status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "password", "username": "nobody", "password": "x"},
        {"grant_type": "refresh_token", "refresh_token": "x" * 43},
        {"grant_type": "password", "scope": "admin"},
        {"grant_type": "client_credentials"},
    ],
    ids=["wrong-user", "unknown-refresh-token", "bad-scope", "unsupported-grant"],
)
def test_every_refused_grant_counts(login: Login, data: dict[str, str]) -> None:
    data = {"username": login.username, "password": login.password, **data}
    auth = (login.client_id, login.client_secret)
    headers = {"X-Forwarded-For": _address()}

    heard, _ = _flood(
        lambda: web.post(f"{login.url}{TOKEN_PATH}", data=data, auth=auth, headers=headers)
    )

    assert set(heard) == {400}
