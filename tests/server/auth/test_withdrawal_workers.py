"""An operator withdraws tokens and credentials with the CLI, and every worker of
``optiply serve --workers 2`` refuses them at once; failed token requests are throttled across
the workers, before any Argon2 work.

The two-worker server shares the database of ``server`` and hashes with the production Argon2
profile, so a bad secret really costs its ~200 ms of CPU there. Each check fires its requests
from several threads on fresh connections, so both workers answer some of them; before each
change the same requests succeed (whatever a worker might have cached is warm).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import web
from live import JSONAPI, LiveServer, Login, cli_json, make_login, serve_workers
from optiply.server.auth import throttle

TOKEN_PATH = "/api/auth/oauth/token"
PRODUCT = {"data": {"type": "products", "attributes": {"name": "Mug", "stockLevel": 1}}}
REQUESTS = 16


@pytest.fixture(scope="module")
def workers(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``optiply serve --workers 2`` on the database of ``server``; yields its base URL."""
    with serve_workers(
        server.settings.database_url,
        log=tmp_path_factory.mktemp("withdrawal") / "serve.log",
        env={"OPTIPLY_PASSWORD_HASH_PROFILE": "default"},
    ) as process:
        yield process.url


def optiply(server: LiveServer, *args: str) -> dict[str, Any]:
    """Run ``optiply ARGS --json`` on the server's database; its JSON line."""
    answer: dict[str, Any] = cli_json(server.settings.database_url, *args)
    return answer


def statuses(
    base: str, request: Callable[[httpx.Client], httpx.Response], count: int = REQUESTS
) -> set[int]:
    """The statuses of ``count`` requests from up to 8 threads, each on a fresh connection.

    Refused token requests count against the client id's throttle bucket: send fewer of them.
    """

    def one(_: int) -> int:
        with web.Client(base_url=base, timeout=30) as client:
            return request(client).status_code

    with ThreadPoolExecutor(min(8, count)) as pool:
        return set(pool.map(one, range(count)))


def get_products(token: str) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"Authorization": f"Bearer {token}", "Accept": JSONAPI}
    return lambda client: client.get("/v1/products", headers=headers)


def post_product(token: str) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": JSONAPI}
    return lambda client: client.post("/v1/products", json=PRODUCT, headers=headers)


def password_grant(
    login: Login, *, password: str | None = None, client_secret: str | None = None
) -> Callable[[httpx.Client], httpx.Response]:
    data = {
        "grant_type": "password",
        "username": login.username,
        "password": password or login.password,
    }
    auth = (login.client_id, client_secret or login.client_secret)
    return lambda client: client.post(TOKEN_PATH, data=data, auth=auth)


def test_revoking_a_refresh_token_stops_its_access_tokens_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    assert optiply(server, "tokens", "revoke", "--token", login.refresh_token) == {"revoked": True}

    assert statuses(workers, get_products(login.access_token)) == {401}


@pytest.mark.parametrize("selector", ["--user", "--client"])
def test_revoking_a_users_or_a_clients_tokens_holds_on_every_worker(
    server: LiveServer, workers: str, selector: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    value = login.username if selector == "--user" else login.client_id
    answer = optiply(server, "tokens", "revoke", selector, value)

    assert answer["revoked_grants"] == 1
    assert statuses(workers, get_products(login.access_token)) == {401}


def test_a_disabled_user_is_refused_at_once_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    answer = optiply(server, "users", "update", login.username, "--disabled")

    assert (answer["disabled"], answer["revoked_grants"]) == (True, 1)
    assert statuses(workers, get_products(login.access_token)) == {401}
    assert statuses(workers, password_grant(login), 4) == {400}
    optiply(server, "users", "update", login.username, "--enabled")
    assert statuses(workers, password_grant(login)) == {200}
    assert statuses(workers, get_products(login.access_token)) == {401}


def test_a_new_password_revokes_the_users_tokens_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    optiply(server, "users", "update", login.username, "--password", "a-new-password")

    assert statuses(workers, get_products(login.access_token)) == {401}
    assert statuses(workers, password_grant(login), 4) == {400}
    assert statuses(workers, password_grant(login, password="a-new-password")) == {200}


def test_narrower_scopes_apply_to_existing_tokens_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, post_product(login.access_token)) == {201}

    answer = optiply(server, "users", "update", login.username, "--scopes", "read")

    assert answer["scopes"] == ["read"]
    assert statuses(workers, post_product(login.access_token)) == {403}
    assert statuses(workers, get_products(login.access_token)) == {200}


def test_a_rotated_client_secret_holds_at_once_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    answer = optiply(server, "clients", "rotate-secret", login.client_id)

    assert set(answer) == {"client_id", "client_secret"}
    assert answer["client_id"] == login.client_id
    assert statuses(workers, get_products(login.access_token)) == {401}
    assert statuses(workers, password_grant(login), 4) == {401}
    new_secret = answer["client_secret"]
    assert statuses(workers, password_grant(login, client_secret=new_secret)) == {200}


def test_a_deleted_client_is_unknown_at_once_on_every_worker(
    server: LiveServer, workers: str
) -> None:
    login = make_login(server)
    assert statuses(workers, get_products(login.access_token)) == {200}

    answer = optiply(server, "clients", "delete", login.client_id)

    assert answer == {"client_id": login.client_id, "deleted": True, "revoked_grants": 1}
    assert statuses(workers, get_products(login.access_token)) == {401}
    assert statuses(workers, password_grant(login), 4) == {401}


def test_failed_token_requests_are_throttled_across_workers_before_argon2(
    server: LiveServer, workers: str
) -> None:
    """A flood from one address with made-up client ids: each costs a production-profile
    Argon2 verification (against the dummy hash) until the address's bucket is empty; from
    then on both workers answer 429 in milliseconds, and a legitimate grant from elsewhere
    goes through."""
    address = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    headers = {"X-Forwarded-For": address}
    attempts = 30
    answers: list[tuple[int, float, httpx.Response]] = []
    started = time.perf_counter()

    def attempt(_: int) -> tuple[int, float, httpx.Response]:
        data = {"grant_type": "password", "username": "nobody", "password": "guess"}
        with web.Client(base_url=workers, timeout=60) as client:
            begun = time.perf_counter()
            response = client.post(
                TOKEN_PATH, data=data, auth=(uuid.uuid4().hex, "guess"), headers=headers
            )
            return response.status_code, time.perf_counter() - begun, response

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(attempt, range(attempts)))
    elapsed = time.perf_counter() - started

    heard = [seconds for status, seconds, _ in answers if status == 401]
    throttled = [(seconds, r) for status, seconds, r in answers if status == 429]
    assert len(heard) + len(throttled) == attempts
    # Shared by both workers: the burst, plus what refilled meanwhile, plus those in flight.
    assert len(heard) <= throttle.BURST + elapsed + 4, (len(heard), elapsed)
    assert len(throttled) >= attempts - throttle.BURST - elapsed - 4
    assert min(heard) > 0.1, "a bad secret costs a production Argon2 verification"
    quick = sorted(seconds for seconds, _ in throttled)
    assert quick[len(quick) // 2] < 0.05, "a 429 comes before any Argon2"
    for _, response in throttled:
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"] == "too_many_requests"
    with web.Client(base_url=workers, timeout=60) as client:  # the flood is over
        for _ in range(throttle.BURST):  # one may have refilled meanwhile
            begun = time.perf_counter()
            again = client.post(TOKEN_PATH, data={"grant_type": "password"}, headers=headers)
            if again.status_code == 429:
                break
        assert again.status_code == 429
        assert time.perf_counter() - begun < 0.05

    login = make_login(server)  # another client id, from 127.0.0.1 and from elsewhere
    assert statuses(workers, password_grant(login)) == {200}
    elsewhere = {"X-Forwarded-For": "198.18.251.1"}
    with web.Client(base_url=workers, timeout=60) as client:
        data = {"grant_type": "password", "username": login.username, "password": login.password}
        auth = (login.client_id, login.client_secret)
        assert client.post(TOKEN_PATH, data=data, auth=auth, headers=elsewhere).status_code == 200
