"""The token endpoint (§2.1–§2.4, Q1, Q2) and bearer tokens on /v1 (§2.5), over a live server."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

import web
from live import LiveServer, Login, make_login
from optiply.server.auth import admin, passwords

TOKEN_PATH = "/api/auth/oauth/token"
CLIENT_REJECTED = "UserDetailsService returned null, which is an interface contract violation"
WRONG_CLIENT = "unknown client id or wrong client secret"
NO_CLIENT = (
    "no client credentials: send the client id and secret as HTTP Basic auth "
    "(or as client_id and client_secret form fields)"
)
WRONG_USER = "unknown username or wrong password"
RESPONSE_KEYS = {"access_token", "token_type", "refresh_token", "expires_in", "scope"}


def _password_request(login: Login, encoding: str) -> dict[str, Any]:
    """httpx.post keyword arguments for the password grant in one of the observed encodings."""
    user = {"username": login.username, "password": login.password}
    basic = (login.client_id, login.client_secret)
    form_client = {"client_id": login.client_id, "client_secret": login.client_secret}
    requests: dict[str, dict[str, Any]] = {
        "query-grant+basic": {"params": {"grant_type": "password"}, "data": user, "auth": basic},
        "body+basic": {"data": {"grant_type": "password", **user}, "auth": basic},
        "body+form-client+basic": {
            "data": {"grant_type": "password", **user, **form_client},
            "auth": basic,
        },
        "body+form-client-only": {"data": {"grant_type": "password", **user, **form_client}},
    }
    return requests[encoding]


def _refresh_request(login: Login, encoding: str) -> dict[str, Any]:
    """httpx.post keyword arguments for the refresh grant in one of the observed encodings."""
    grant = {"grant_type": "refresh_token"}
    token = {"refresh_token": login.refresh_token}
    basic = (login.client_id, login.client_secret)
    return {
        "query-only+empty-body": {"params": {**grant, **token}, "auth": basic},
        "query-grant+body-token": {"params": grant, "data": token, "auth": basic},
    }[encoding]


def _post_token(login: Login, **kwargs: Any) -> httpx.Response:
    return web.post(f"{login.url}{TOKEN_PATH}", **kwargs)


def _products(login: Login, token: str) -> httpx.Response:
    with login.client(token) as client:
        return client.get("/products")


@pytest.mark.parametrize(
    "encoding",
    ["query-grant+basic", "body+basic", "body+form-client+basic", "body+form-client-only"],
)
def test_password_grant_encodings(login: Login, encoding: str) -> None:
    response = _post_token(login, **_password_request(login, encoding))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read write delete"
    assert body["expires_in"] == login.server.settings.access_token_ttl
    assert response.headers["cache-control"] == "no-store"
    assert _products(login, body["access_token"]).status_code == 200


@pytest.mark.parametrize("encoding", ["query-only+empty-body", "query-grant+body-token"])
def test_refresh_keeps_the_refresh_token_and_issues_a_working_access_token(
    login: Login, encoding: str
) -> None:
    response = _post_token(login, **_refresh_request(login, encoding))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["refresh_token"] == login.refresh_token  # Q1: not rotated
    assert body["access_token"] != login.access_token
    assert body["scope"] == "read write delete"
    assert _products(login, body["access_token"]).status_code == 200


def test_a_repeated_password_grant_answers_a_fresh_working_token(login: Login) -> None:
    response = login.token()  # Q2: never "Rate limit exceeded"

    assert response.status_code == 200
    assert response.json()["access_token"] != login.access_token
    assert _products(login, response.json()["access_token"]).status_code == 200
    assert _products(login, login.access_token).status_code == 200


@pytest.mark.parametrize(
    ("case", "status", "error", "description"),
    [
        ("wrong-client-secret", 401, "unauthorized", CLIENT_REJECTED),
        ("unknown-client-id", 401, "unauthorized", CLIENT_REJECTED),
        ("no-client-auth", 401, "unauthorized", CLIENT_REJECTED),
        ("malformed-basic-header", 401, "unauthorized", CLIENT_REJECTED),
        ("wrong-form-client-secret", 401, "unauthorized", CLIENT_REJECTED),
        ("wrong-password", 400, "invalid_grant", "Bad credentials"),
        ("unknown-user", 400, "invalid_grant", "Bad credentials"),
        ("unsupported-grant", 400, "unsupported_grant_type", None),
        ("missing-grant-type", 400, "invalid_request", None),
        ("missing-password", 400, "invalid_request", None),
        ("missing-refresh-token", 400, "invalid_request", None),
        ("unknown-refresh-token", 400, "invalid_grant", None),
        ("access-token-as-refresh-token", 400, "invalid_grant", None),
    ],
)
def test_token_request_errors(
    login: Login, case: str, status: int, error: str, description: str | None
) -> None:
    basic = (login.client_id, login.client_secret)
    user = {"grant_type": "password", "username": login.username, "password": login.password}
    cases: dict[str, dict[str, Any]] = {
        "wrong-client-secret": {"data": user, "auth": (login.client_id, "not-the-secret")},
        "unknown-client-id": {"data": user, "auth": ("no-such-client", login.client_secret)},
        "no-client-auth": {"data": user},
        "malformed-basic-header": {"data": user, "headers": {"Authorization": "Basic %%%"}},
        "wrong-form-client-secret": {
            "data": {**user, "client_id": login.client_id, "client_secret": "nope"}
        },
        "wrong-password": {"data": {**user, "password": "wrong"}, "auth": basic},
        "unknown-user": {"data": {**user, "username": "nobody-" + uuid.uuid4().hex}, "auth": basic},
        "unsupported-grant": {"data": {"grant_type": "client_credentials"}, "auth": basic},
        "missing-grant-type": {"data": {"username": login.username}, "auth": basic},
        "missing-password": {"data": {**user, "password": None}, "auth": basic},
        "missing-refresh-token": {"data": {"grant_type": "refresh_token"}, "auth": basic},
        "unknown-refresh-token": {
            "data": {"grant_type": "refresh_token", "refresh_token": "x" * 43},
            "auth": basic,
        },
        "access-token-as-refresh-token": {
            "data": {"grant_type": "refresh_token", "refresh_token": login.access_token},
            "auth": basic,
        },
    }
    kwargs = cases[case]
    if "data" in kwargs:
        kwargs["data"] = {k: v for k, v in kwargs["data"].items() if v is not None}

    response = _post_token(login, **kwargs)

    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description
    if status == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="oauth2/client"'
    assert login.password not in response.text
    assert login.access_token not in response.text


@pytest.mark.parametrize(
    ("case", "status", "error", "description", "hint"),
    [
        ("wrong-client-secret", 401, "unauthorized", CLIENT_REJECTED, WRONG_CLIENT),
        ("unknown-client-id", 401, "unauthorized", CLIENT_REJECTED, WRONG_CLIENT),
        ("wrong-form-client-secret", 401, "unauthorized", CLIENT_REJECTED, WRONG_CLIENT),
        ("no-client-auth", 401, "unauthorized", CLIENT_REJECTED, NO_CLIENT),
        ("wrong-password", 400, "invalid_grant", "Bad credentials", WRONG_USER),
        ("unknown-user", 400, "invalid_grant", "Bad credentials", WRONG_USER),
    ],
)
def test_credential_errors_keep_the_hosted_sentences_and_add_a_hint(
    login: Login, case: str, status: int, error: str, description: str, hint: str
) -> None:
    wrong_secret = "wrong-" + uuid.uuid4().hex
    user = {"grant_type": "password", "username": login.username, "password": login.password}
    form_client = {"client_id": login.client_id, "client_secret": wrong_secret}
    kwargs: dict[str, Any] = {
        "wrong-client-secret": {"params": user, "auth": (login.client_id, wrong_secret)},
        "unknown-client-id": {"data": user, "auth": ("no-such-" + wrong_secret, wrong_secret)},
        "wrong-form-client-secret": {"data": {**user, **form_client}},
        "no-client-auth": {"data": user},
        "wrong-password": {
            "data": {**user, "password": wrong_secret},
            "auth": (login.client_id, login.client_secret),
        },
        "unknown-user": {
            "data": {**user, "username": "no-such-" + wrong_secret},
            "auth": (login.client_id, login.client_secret),
        },
    }[case]

    response = _post_token(login, **kwargs)

    assert response.status_code == status
    # Byte for byte as the hosted API answers: integrators match on these two members.
    assert response.json() == {"error": error, "error_description": description, "hint": hint}
    assert f'"error":"{error}","error_description":"{description}"' in response.text
    for secret in (wrong_secret, login.client_secret, login.password):
        for fragment in (secret, secret[:8], secret[-8:]):
            assert fragment not in response.text


def test_a_refresh_token_works_only_for_its_own_client(server: LiveServer) -> None:
    first, second = make_login(server), make_login(server)

    response = _post_token(
        first,
        data={"grant_type": "refresh_token", "refresh_token": second.refresh_token},
        auth=(first.client_id, first.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_user_costs_as_much_as_a_wrong_password(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both run one Argon2 verification, so response times do not reveal usernames.

    The suite hashes with the cheap test profile; here the user's hash and the dummy hash use
    the production cost, so a miss that skipped the dummy verification would answer much faster.
    """
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher())
    dummy = passwords.hash_secret("dummy")
    monkeypatch.setattr(passwords, "dummy_hash", lambda: dummy)
    username, password = f"timed-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    admin.create_user(
        login.server.engine, username=username, password=password, account_ids=[login.account_id]
    )
    attempts = {
        "wrong-password": {"username": username, "password": "wrong"},
        "unknown-user": {"username": "nobody-" + uuid.uuid4().hex, "password": "wrong"},
    }
    fastest = dict.fromkeys(attempts, float("inf"))
    with web.Client(base_url=login.url, auth=(login.client_id, login.client_secret)) as client:
        for _ in range(3):
            for name, user in attempts.items():  # interleaved, so load drifts hit both alike
                started = time.perf_counter()
                response = client.post(TOKEN_PATH, data={"grant_type": "password", **user})
                fastest[name] = min(fastest[name], time.perf_counter() - started)
                assert response.status_code == 400

    ratio = fastest["unknown-user"] / fastest["wrong-password"]
    assert 0.5 < ratio < 2, fastest


def test_expires_in_is_the_configured_ttl(start_server: Any) -> None:
    login = make_login(start_server(access_token_ttl=1234, refresh_token_ttl=5678))

    password = login.token()
    refreshed = login.token(grant_type="refresh_token", refresh_token=login.refresh_token)

    assert password.json()["expires_in"] == 1234
    assert refreshed.json()["expires_in"] == 1234


def test_an_expired_access_token_gets_401_and_the_refresh_token_still_works(
    start_server: Any,
) -> None:
    login = make_login(start_server(access_token_ttl=1))
    time.sleep(1.1)

    response = _products(login, login.access_token)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "Access token expired",
    }
    refreshed = login.token(grant_type="refresh_token", refresh_token=login.refresh_token)
    assert refreshed.status_code == 200


def test_an_expired_refresh_token_is_an_invalid_grant(start_server: Any) -> None:
    login = make_login(start_server(refresh_token_ttl=1))
    time.sleep(1.1)

    response = login.token(grant_type="refresh_token", refresh_token=login.refresh_token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_revoked_access_token_gets_401(login: Login) -> None:
    assert _products(login, login.access_token).status_code == 200

    assert admin.revoke_token(login.server.engine, token=login.access_token) is True
    assert admin.revoke_token(login.server.engine, token=login.access_token) is False

    response = _products(login, login.access_token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.json()["error"] == "invalid_token"


def test_a_revoked_refresh_token_is_an_invalid_grant(login: Login) -> None:
    assert admin.revoke_token(login.server.engine, token=login.refresh_token) is True

    response = login.token(grant_type="refresh_token", refresh_token=login.refresh_token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_refresh_token_is_not_an_access_token(login: Login) -> None:
    response = _products(login, login.refresh_token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_no_secret_or_token_reaches_the_logs(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login = make_login(server)  # creates the user and client, and runs a password grant
    refreshed = login.token(grant_type="refresh_token", refresh_token=login.refresh_token)
    wrong = login.token(grant_type="password", username=login.username, password="x" + "y" * 20)
    assert _products(login, login.access_token).status_code == 200
    assert refreshed.status_code == 200
    assert wrong.status_code == 400

    secrets = [
        login.password,
        login.client_secret,
        login.access_token,
        login.refresh_token,
        refreshed.json()["access_token"],
        "x" + "y" * 20,
    ]
    fragments = {part for secret in secrets for part in (secret, secret[:8], secret[-8:])}
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert any(record.name == "optiply.server.auth.oauth" for record in caplog.records)
    for fragment in fragments:
        assert fragment not in logged


def test_nul_characters_in_credentials_are_refused_not_crashed(login: Login) -> None:
    user = login.token(grant_type="password", username="a\x00b", password="x")
    client = web.post(
        f"{login.url}{TOKEN_PATH}",
        data={"grant_type": "password", "username": login.username, "password": login.password},
        auth=("a\x00b", "secret"),
    )

    assert user.status_code == 400 and user.json()["error"] == "invalid_grant"
    assert client.status_code == 401 and client.json()["error_description"] == CLIENT_REJECTED
