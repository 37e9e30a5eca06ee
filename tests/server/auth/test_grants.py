"""Grants: revoking either token of a grant revokes all of it (RFC 7009 §2.1); narrower scopes
on request (RFC 6749 §3.3, §6); users and clients withdrawn by an operator, at once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

import web
from live import JSONAPI, LiveServer, Login, make_login
from optiply.server.auth import admin, passwords, tokens
from optiply.server.storage.tables import oauth_clients, oauth_grants, oauth_tokens, users

TOKEN_PATH = "/api/auth/oauth/token"
CLIENT_REJECTED = "UserDetailsService returned null, which is an interface contract violation"
PRODUCT = {"data": {"type": "products", "attributes": {"name": "Mug", "stockLevel": 1}}}


def _get(login: Login, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Accept": JSONAPI}
    return web.get(f"{login.url}/v1/products", headers=headers).status_code


def _post(login: Login, token: str) -> int:
    with login.client(token) as client:
        return client.post("/products", json=PRODUCT).status_code


def _password(login: Login, **extra: str) -> httpx.Response:
    data = {"grant_type": "password", "username": login.username, "password": login.password}
    return login.token(**{**data, **extra})


def _refresh(login: Login, refresh_token: str, **extra: str) -> httpx.Response:
    return login.token(grant_type="refresh_token", refresh_token=refresh_token, **extra)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- Revocation is the grant's ----------------------------------------------------------------


def test_revoking_a_refresh_token_revokes_every_access_token_of_its_grant(login: Login) -> None:
    minted = _ok(_refresh(login, login.refresh_token))["access_token"]
    other = _ok(_password(login))  # another grant of the same user and client
    assert _get(login, login.access_token) == _get(login, minted) == 200

    assert admin.revoke_token(login.server.engine, token=login.refresh_token) is True

    assert _get(login, login.access_token) == 401
    assert _get(login, minted) == 401
    refused = _refresh(login, login.refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _get(login, other["access_token"]) == 200
    assert _ok(_refresh(login, other["refresh_token"]))["access_token"]
    assert admin.revoke_token(login.server.engine, token=minted) is False  # already revoked


def test_revoking_an_access_token_revokes_its_grant_refresh_token_included(login: Login) -> None:
    minted = _ok(_refresh(login, login.refresh_token))["access_token"]
    other = _ok(_password(login))

    assert admin.revoke_token(login.server.engine, token=minted) is True

    assert _get(login, minted) == 401
    assert _get(login, login.access_token) == 401
    assert _refresh(login, login.refresh_token).json()["error"] == "invalid_grant"
    assert admin.revoke_token(login.server.engine, token=login.refresh_token) is False
    assert _get(login, other["access_token"]) == 200


def test_an_unknown_token_revokes_nothing(login: Login) -> None:
    assert admin.revoke_token(login.server.engine, token="no-such-token") is False
    assert _get(login, login.access_token) == 200


def test_revoking_a_users_or_a_clients_tokens(server: LiveServer) -> None:
    alice, bob = make_login(server), make_login(server)
    second = _ok(_password(alice))

    assert admin.revoke_user_tokens(server.engine, username=alice.username) == 2
    assert _get(alice, alice.access_token) == _get(alice, second["access_token"]) == 401
    assert _get(bob, bob.access_token) == 200
    fresh = _ok(_password(alice))  # the credentials still work: new grants are fine
    assert _get(alice, fresh["access_token"]) == 200

    assert admin.revoke_client_tokens(server.engine, client_id=bob.client_id) == 1
    assert _get(bob, bob.access_token) == 401
    assert _get(alice, fresh["access_token"]) == 200
    assert admin.revoke_client_tokens(server.engine, client_id=bob.client_id) == 0
    with pytest.raises(admin.AdminError, match="does not exist"):
        admin.revoke_user_tokens(server.engine, username="nobody-" + uuid.uuid4().hex)


# -- Scopes on request ------------------------------------------------------------------------


def test_a_token_asked_with_scope_read_can_get_but_not_post(login: Login) -> None:
    body = _ok(_password(login, scope="read"))

    assert body["scope"] == "read"
    assert _get(login, body["access_token"]) == 200
    assert _post(login, body["access_token"]) == 403
    assert _post(login, login.access_token) == 201  # the grant without scope has them all


@pytest.mark.parametrize(
    ("held", "asked", "granted"),
    [
        (("read", "write", "delete"), "write read", "read write"),
        (("read", "write", "delete"), "  ", "read write delete"),
        (("read",), "read write", "read"),
        (("read", "write"), None, "read write"),
    ],
    ids=["two-of-three", "blank-means-all", "intersection", "absent-means-all"],
)
def test_a_grant_gives_the_asked_scopes_the_user_holds(
    server: LiveServer, held: tuple[str, ...], asked: str | None, granted: str
) -> None:
    login = make_login(server, scopes=held)

    body = _ok(_password(login) if asked is None else _password(login, scope=asked))

    assert body["scope"] == granted


@pytest.mark.parametrize(
    ("held", "asked"),
    [
        (("read", "write", "delete"), "read admin"),
        (("read", "write", "delete"), "read,write"),
        (("read",), "write delete"),
    ],
    ids=["unknown-name", "comma-separated", "none-held"],
)
def test_an_unknown_or_unheld_scope_is_invalid_scope(
    server: LiveServer, held: tuple[str, ...], asked: str
) -> None:
    login = make_login(server, scopes=held)

    response = _password(login, scope=asked)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert response.headers["cache-control"] == "no-store"
    assert asked not in response.text


def test_a_refresh_grant_may_narrow_but_never_widen(login: Login) -> None:
    narrow = _ok(_refresh(login, login.refresh_token, scope="read"))
    assert narrow["scope"] == "read"
    assert _post(login, narrow["access_token"]) == 403
    assert narrow["refresh_token"] == login.refresh_token
    # The refresh token keeps the original grant's scopes.
    assert _ok(_refresh(login, login.refresh_token))["scope"] == "read write delete"

    reader = _ok(_password(login, scope="read"))
    wider = _refresh(login, reader["refresh_token"], scope="read write")
    unknown = _refresh(login, reader["refresh_token"], scope="admin")
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_scope")
    assert _ok(_refresh(login, reader["refresh_token"]))["scope"] == "read"


# -- Users ------------------------------------------------------------------------------------


def test_a_disabled_user_loses_its_tokens_and_gets_no_new_ones(login: Login) -> None:
    engine = login.server.engine
    updated = admin.update_user(engine, username=login.username, disabled=True)

    assert (updated.disabled, updated.revoked_grants) == (True, 1)
    assert _get(login, login.access_token) == 401
    refused = _password(login)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_description"] == "User is disabled"
    assert _refresh(login, login.refresh_token).json()["error"] == "invalid_grant"
    wrong = _password(login, password="wrong")  # a wrong password learns nothing about it
    assert wrong.json()["error_description"] == "Bad credentials"

    enabled = admin.update_user(engine, username=login.username, disabled=False)
    assert (enabled.disabled, enabled.revoked_grants) == (False, 0)
    assert _get(login, login.access_token) == 401  # nothing revoked comes back
    assert _get(login, _ok(_password(login))["access_token"]) == 200


def test_a_token_issued_to_a_user_disabled_later_fails_even_unrevoked(login: Login) -> None:
    """``authenticate`` reads the user's state with the token, so a grant that slipped past the
    revocation (it races the change) is refused all the same."""
    with login.server.engine.begin() as connection:
        connection.execute(
            update(users)
            .where(users.c.username == login.username)
            .values(disabled_at=datetime.now(UTC))
        )

    assert _get(login, login.access_token) == 401
    refused = _refresh(login, login.refresh_token)
    assert refused.status_code == 400
    assert refused.json()["error_description"] == "User is disabled"


def test_a_new_password_revokes_the_users_tokens(login: Login) -> None:
    reader = _ok(_password(login, scope="read"))

    updated = admin.update_user(login.server.engine, username=login.username, password="new-pw")

    assert updated.revoked_grants == 2
    assert _get(login, login.access_token) == _get(login, reader["access_token"]) == 401
    assert _password(login).json()["error_description"] == "Bad credentials"
    assert _get(login, _ok(_password(login, password="new-pw"))["access_token"]) == 200


def test_narrower_user_scopes_narrow_existing_tokens_at_once(login: Login) -> None:
    engine = login.server.engine
    assert _post(login, login.access_token) == 201

    updated = admin.update_user(engine, username=login.username, scopes=["read"])

    assert (updated.scopes, updated.revoked_grants) == (("read",), 0)
    assert _get(login, login.access_token) == 200
    assert _post(login, login.access_token) == 403
    refreshed = _ok(_refresh(login, login.refresh_token))
    assert refreshed["scope"] == "read"
    # Wider again: the existing token gets back what it was granted, never more.
    reader = _ok(_password(login))
    admin.update_user(engine, username=login.username, scopes=["read", "write", "delete"])
    assert _post(login, login.access_token) == 201
    assert _post(login, reader["access_token"]) == 403


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "nothing to change"),
        ({"disabled": True, "scopes": ["read", "admin"]}, "unknown scope"),
        ({"disabled": True, "scopes": []}, "at least one scope"),
        ({"disabled": True, "password": ""}, "must not be empty"),
    ],
    ids=["nothing", "unknown-scope", "no-scope", "empty-password"],
)
def test_a_bad_user_update_changes_nothing(
    login: Login, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(admin.AdminError, match=message):
        admin.update_user(login.server.engine, username=login.username, **changes)

    assert _get(login, login.access_token) == 200
    assert _post(login, login.access_token) == 201
    assert _ok(_password(login))


def test_updating_an_unknown_user_is_refused(server: LiveServer) -> None:
    with pytest.raises(admin.AdminError, match="does not exist"):
        admin.update_user(server.engine, username="nobody-" + uuid.uuid4().hex, disabled=True)


# -- Clients ----------------------------------------------------------------------------------


def test_a_rotated_secret_replaces_the_old_one_and_revokes_the_clients_tokens(
    server: LiveServer,
) -> None:
    login, bystander = make_login(server), make_login(server)
    old_secret = login.client_secret

    credentials, revoked = admin.rotate_client_secret(server.engine, client_id=login.client_id)

    assert revoked == 1
    assert credentials.client_id == login.client_id
    assert credentials.client_secret != old_secret
    assert _get(login, login.access_token) == 401
    assert _password(login).status_code == 401  # the login still carries the old secret
    login.client_secret = credentials.client_secret
    assert _get(login, _ok(_password(login))["access_token"]) == 200
    assert _get(bystander, bystander.access_token) == 200


def test_a_deleted_client_is_an_unknown_client(server: LiveServer) -> None:
    login = make_login(server)
    refresh = {"grant_type": "refresh_token", "refresh_token": login.refresh_token}
    user = {"grant_type": "password", "username": login.username, "password": login.password}

    assert admin.delete_client(server.engine, client_id=login.client_id) == 1

    assert _get(login, login.access_token) == 401
    unknown = web.post(f"{login.url}{TOKEN_PATH}", data=user, auth=("no-such-client", "x"))
    for data in (user, refresh):
        response = login.token(**data)
        assert response.status_code == 401
        assert response.json() == unknown.json()
        assert response.json()["error_description"] == CLIENT_REJECTED
    with pytest.raises(admin.AdminError, match="does not exist"):
        admin.delete_client(server.engine, client_id=login.client_id)
    with pytest.raises(admin.AdminError, match="does not exist"):
        admin.rotate_client_secret(server.engine, client_id=login.client_id)


# -- Races between a grant and a withdrawal ---------------------------------------------------


@pytest.fixture
def slow_login(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Login:
    """A login whose password takes about a second to verify (and to hash anew): the window in
    which a grant has checked the credentials but not stored its tokens."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=9))
    tag = uuid.uuid4().hex[:10]
    account = admin.create_account(server.engine, name=f"Slow {tag}")
    admin.create_user(
        server.engine, username=f"slow-{tag}", password="pw", account_ids=[account.id]
    )
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    client = admin.create_client(server.engine, name=f"slow-{tag}")
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=9))
    return Login(server, account.id, f"slow-{tag}", "pw", client.client_id, client.client_secret)


def _in_background(work: Callable[[], Any]) -> Future[Any]:
    return ThreadPoolExecutor(1).submit(work)


def test_a_grant_racing_a_client_deletion_is_refused(slow_login: Login) -> None:
    grant = _in_background(lambda: _password(slow_login))
    time.sleep(0.3)  # the server is verifying the password now

    admin.delete_client(slow_login.server.engine, client_id=slow_login.client_id)

    response = grant.result(timeout=30)
    assert response.status_code == 401, response.text
    assert response.json()["error_description"] == CLIENT_REJECTED


def test_a_grant_racing_a_password_change_is_refused(slow_login: Login) -> None:
    engine = slow_login.server.engine
    change = _in_background(
        lambda: admin.update_user(engine, username=slow_login.username, password="new-pw")
    )
    time.sleep(0.4)  # the new password is being hashed, the old one is still stored
    grant = _in_background(lambda: _password(slow_login))

    change.result(timeout=30)
    response = grant.result(timeout=30)

    assert response.status_code == 400, response.text
    assert response.json()["error_description"] == "Bad credentials"


def test_a_deleted_client_costs_as_much_as_an_unknown_one(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both are verified against the dummy Argon2 hash, so timing does not tell a deleted
    client id from one that never existed."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher())
    dummy = passwords.hash_secret("dummy")
    monkeypatch.setattr(passwords, "dummy_hash", lambda: dummy)
    admin.delete_client(login.server.engine, client_id=login.client_id)
    user = {"grant_type": "password", "username": login.username, "password": login.password}
    ids = {"deleted": login.client_id, "unknown": "no-such-" + uuid.uuid4().hex}
    fastest = dict.fromkeys(ids, float("inf"))
    with web.Client(base_url=login.url) as client:
        for _ in range(3):
            for name, client_id in ids.items():
                started = time.perf_counter()
                response = client.post(TOKEN_PATH, data=user, auth=(client_id, "guess"))
                fastest[name] = min(fastest[name], time.perf_counter() - started)
                assert response.status_code == 401

    assert 0.5 < fastest["deleted"] / fastest["unknown"] < 2, fastest


def test_a_new_grant_deletes_the_users_expired_tokens_and_empty_grants(login: Login) -> None:
    engine = login.server.engine
    with engine.connect() as connection:
        (user_id,) = connection.execute(
            select(users.c.id).where(users.c.username == login.username)
        ).one()
    client_pk = _client_pk(engine, login.client_id)
    long_ago = datetime.now(UTC) - timedelta(days=60)
    with engine.begin() as connection:
        old = tokens.issue(
            connection,
            user_id=user_id,
            client_pk=client_pk,
            scopes=["read"],
            access_ttl=60,
            refresh_ttl=60,
            now=long_ago,
        )
    assert _grant_id(engine, old.refresh_token) is not None

    _ok(_password(login))

    assert _grant_id(engine, old.refresh_token) is None
    assert _grant_id(engine, old.access_token) is None
    with engine.connect() as connection:
        grants = connection.scalars(
            select(oauth_grants.c.id).where(oauth_grants.c.user_id == user_id)
        ).all()
        holding = connection.scalars(
            select(oauth_tokens.c.grant_id).where(oauth_tokens.c.user_id == user_id).distinct()
        ).all()
    assert len(grants) == 2  # the login's and the new one: the old, empty one is gone
    assert sorted(grants) == sorted(holding)
    assert _get(login, login.access_token) == 200  # the live grant stays


def _client_pk(engine: Any, client_id: str) -> int:
    with engine.connect() as connection:
        found = connection.scalar(
            select(oauth_clients.c.id).where(oauth_clients.c.client_id == client_id)
        )
    assert found is not None
    return int(found)


def _grant_id(engine: Any, token: str) -> int | None:
    with engine.connect() as connection:
        found = connection.scalar(
            select(oauth_tokens.c.grant_id).where(oauth_tokens.c.token_hash == tokens.digest(token))
        )
    return None if found is None else int(found)
