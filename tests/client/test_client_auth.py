"""``OptiplyAuth`` against the live server: one token per run, refresh, fallback, redaction."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import web
from live import Login, expire_access_token, make_login
from optiply.client import (
    AsyncOptiplyClient,
    AuthenticationError,
    ConfigurationError,
    OptiplyAuth,
    OptiplyClient,
    OptiplyError,
    Token,
)
from optiply.server.auth.admin import revoke_token


def auth_for(login: Login, **options: Any) -> OptiplyAuth:
    credentials: dict[str, Any] = {
        "client_id": login.client_id,
        "client_secret": login.client_secret,
        "username": login.username,
        "password": login.password,
    }
    credentials.update(options)
    return OptiplyAuth(dashboard_url=f"{login.url}/api", **credentials)


def client_for(login: Login, auth: OptiplyAuth) -> OptiplyClient:
    return OptiplyClient(f"{login.url}/v1", auth=auth, account_id=login.account_id)


def secret(value: Any) -> str:
    return str(value.get_secret_value())


def assert_hidden(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text
        assert value[:8] not in text, "a secret's prefix leaked"


def test_one_password_grant_serves_every_request_and_thread(login: Login) -> None:
    tokens: list[Token] = []
    auth = auth_for(login, on_token=tokens.append)
    with client_for(login, auth) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda _: client.get("products", product.id).id, range(32)))
    assert found == [product.id] * 32
    assert len(tokens) == 1
    assert auth.token == tokens[0]
    assert tokens[0].refresh_token is not None
    assert tokens[0].expires_at == pytest.approx(time.time() + 86400, abs=60)


def test_one_auth_serves_concurrent_requests_on_successive_event_loops(login: Login) -> None:
    tokens: list[Token] = []
    auth = auth_for(login, on_token=tokens.append)

    async def burst() -> None:
        async with AsyncOptiplyClient(
            f"{login.url}/v1", auth=auth, account_id=login.account_id
        ) as client:
            await asyncio.gather(*(client.list("products") for _ in range(8)))

    asyncio.run(burst())
    expire_access_token(login.server.engine, secret(tokens[0].access_token))
    asyncio.run(burst())  # every request meets a 401; one refresh serves them all
    assert len(tokens) == 2


def test_a_plain_httpx_client_can_use_the_auth(login: Login) -> None:
    with web.Client(base_url=f"{login.url}/v1", auth=auth_for(login)) as client:
        assert client.get("/accounts").json()["data"][0]["id"] == str(login.account_id)


def test_a_refused_access_token_is_refreshed_once_and_the_request_resent(login: Login) -> None:
    tokens: list[Token] = []
    with client_for(login, auth_for(login, on_token=tokens.append)) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        expire_access_token(login.server.engine, secret(tokens[0].access_token))
        assert (
            client.update("products", product.id, {"stockLevel": 2}).attributes["stockLevel"] == 2
        )
    assert len(tokens) == 2
    assert secret(tokens[1].access_token) != secret(tokens[0].access_token)
    # The refresh grant was used: the server keeps the refresh token on a refresh.
    assert secret(tokens[1].refresh_token) == secret(tokens[0].refresh_token)


def test_refused_refresh_falls_back_to_the_password_grant(login: Login) -> None:
    tokens: list[Token] = []
    with client_for(login, auth_for(login, on_token=tokens.append)) as client:
        client.list("products")
        # Revoking the refresh token revokes its grant: the access token too.
        assert revoke_token(login.server.engine, token=secret(tokens[0].refresh_token))
        assert client.list("products").total == 0
    assert len(tokens) == 2
    assert secret(tokens[1].refresh_token) != secret(tokens[0].refresh_token)


def test_a_second_401_raises(login: Login) -> None:
    def revoke_at_once(token: Token) -> None:
        revoke_token(login.server.engine, token=secret(token.access_token))

    with client_for(login, auth_for(login, on_token=revoke_at_once)) as client:
        with pytest.raises(AuthenticationError) as raised:
            client.list("products")
    assert raised.value.status == 401
    assert raised.value.code == "invalid_token"


@pytest.mark.parametrize(("margin", "grants"), [(120, 3), (30, 1)], ids=["refresh", "keep"])
def test_token_is_refreshed_within_the_margin_before_expiry(
    start_server: Any, margin: float, grants: int
) -> None:
    login = make_login(start_server(access_token_ttl=60))
    tokens: list[Token] = []
    with client_for(login, auth_for(login, on_token=tokens.append, refresh_margin=margin)) as c:
        for _ in range(3):
            c.list("products")
    assert len(tokens) == grants
    assert {secret(token.refresh_token) for token in tokens} == {secret(tokens[0].refresh_token)}


def test_a_token_from_an_earlier_run_is_used_then_refreshed(login: Login) -> None:
    tokens: list[Token] = []
    now = [time.time()]
    saved = Token(
        access_token=login.access_token,
        refresh_token=login.refresh_token,
        expires_at=now[0] + 3600,
    )
    auth = auth_for(login, token=saved, on_token=tokens.append, clock=lambda: now[0])
    with client_for(login, auth) as client:
        client.list("products")
        assert tokens == []
        now[0] += 3590  # ten seconds before the saved token expires
        client.list("products")
    assert len(tokens) == 1
    assert secret(tokens[0].refresh_token) == login.refresh_token
    assert tokens[0].expires_at == pytest.approx(now[0] + 86400)


def test_a_token_alone_works_until_it_is_refused(login: Login) -> None:
    expired = Token(access_token=login.access_token, expires_at=time.time() - 1)
    auth = OptiplyAuth(dashboard_url=f"{login.url}/api", token=expired)
    with client_for(login, auth) as client:
        client.list("products")
        revoke_token(login.server.engine, token=login.access_token)
        with pytest.raises(AuthenticationError, match="cannot be renewed"):
            client.list("products")


@pytest.mark.parametrize(
    ("wrong", "code", "detail"),
    [
        ({"password": "wrong-password"}, "invalid_grant", "Bad credentials"),
        ({"client_secret": "wrong-secret"}, "unauthorized", "UserDetailsService returned null"),
    ],
    ids=["password", "client-secret"],
)
def test_rejected_credentials_raise_authentication_error(
    login: Login, wrong: dict[str, str], code: str, detail: str
) -> None:
    with client_for(login, auth_for(login, **wrong)) as client:
        with pytest.raises(AuthenticationError) as raised:
            client.list("products")
    error = raised.value
    assert (error.code, error.method) == (code, "POST")
    assert detail in error.detail
    assert error.url == f"{login.url}/api/auth/oauth/token"
    assert_hidden(str(error), [*wrong.values(), login.password, login.client_secret])


def test_incomplete_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        OptiplyAuth(client_id="id", client_secret="s", username="me")
    with pytest.raises(ConfigurationError):
        OptiplyAuth(username="me", password="pw")
    with pytest.raises(ConfigurationError):
        OptiplyAuth(
            client_id="id", client_secret="s", username="u", password="p", refresh_margin=-1
        )


def test_no_secret_reaches_a_repr_a_message_or_a_log(
    login: Login, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens: list[Token] = []
    auth = auth_for(login, on_token=tokens.append)
    errors: list[OptiplyError] = []
    with client_for(login, auth) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        expire_access_token(login.server.engine, secret(tokens[0].access_token))
        client.get("products", product.id)  # refresh grant
        revoke_token(login.server.engine, token=secret(tokens[1].refresh_token))
        client.get("products", product.id)  # refused refresh, then the password grant
        for call in (
            lambda: client.get("products", 10**12),
            lambda: client.create("products", {"name": "Bad", "stockLevel": "many"}),
        ):
            with pytest.raises(OptiplyError) as raised:
                call()
            errors.append(raised.value)
        texts = [repr(client), repr(auth), repr(auth.token), *(str(e) for e in errors)]
    with pytest.raises(AuthenticationError) as refused:
        with client_for(login, auth_for(login, password="not-the-password")) as client:
            client.list("products")
    texts.append(str(refused.value))
    assert len(tokens) == 3
    assert "token obtained with the refresh grant" in caplog.text
    assert "token refresh refused (400)" in caplog.text
    assert "GET /v1/products/" in caplog.text
    secrets = [login.password, login.client_secret, "not-the-password"]
    for token in tokens:
        secrets += [secret(token.access_token), secret(token.refresh_token)]
    assert_hidden("\n".join([*texts, caplog.text]), secrets)
