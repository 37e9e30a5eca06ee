"""Idempotency-Key over HTTP (an extension; docs/extensions.md), on each backend: a retried
write is replayed and never done twice; another request with the key is refused; refusals are
kept, server errors are not; keys belong to a user and an account; the sandbox's
commit-then-fail fault is answered by a replay; keys expire and are purged.

Two requests with one key at the same moment need two workers: test_idempotency_workers.py.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import web
from live import BACKENDS, JSONAPI, LiveServer, Login, make_login
from optiply.server.auth import admin
from optiply.server.storage.tables import idempotency_keys

REPLAYED = "idempotent-replayed"


def product(name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "data": {"type": "products", "attributes": {"name": name, "stockLevel": 1, **attributes}}
    }


def post(
    api: httpx.Client, body: Any, key: str, path: str = "/products", **params: Any
) -> httpx.Response:
    return api.post(path, json=body, headers={"Idempotency-Key": key}, params=params)


def names(api: httpx.Client, name: str) -> list[str]:
    found = api.get("/products", params={"filter[name]": name, "page[limit]": 100}).json()["data"]
    return [row["attributes"]["name"] for row in found]


def key() -> str:
    return f"key-{uuid.uuid4()}"


def test_a_retried_post_is_replayed_and_written_once(api: httpx.Client) -> None:
    sent = key()
    first = post(api, product("once"), sent)
    again = post(api, product("once"), sent)
    assert (first.status_code, again.status_code) == (201, 201)
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content  # the same id, the same document
    assert again.headers["content-type"] == JSONAPI
    assert again.headers["cache-control"] == "no-store"
    assert names(api, "once") == ["once"]


def test_the_quoted_form_of_the_draft_is_the_same_key(api: httpx.Client) -> None:
    sent = key()
    first = post(api, product("quoted"), sent)
    again = post(api, product("quoted"), f'"{sent}"')  # an RFC 8941 string
    assert again.headers[REPLAYED] == "true" and again.content == first.content
    assert names(api, "quoted") == ["quoted"]


def test_patch_and_delete_are_replayed(api: httpx.Client) -> None:
    created = api.post("/products", json=product("before")).json()["data"]
    path = f"/products/{created['id']}"
    change = {"data": {"type": "products", "attributes": {"name": "after"}}}
    patch_key, delete_key = key(), key()
    patched = api.patch(path, json=change, headers={"Idempotency-Key": patch_key})
    time.sleep(0.01)
    repatched = api.patch(path, json=change, headers={"Idempotency-Key": patch_key})
    assert (patched.status_code, repatched.status_code) == (200, 200)
    assert repatched.headers[REPLAYED] == "true" and repatched.content == patched.content
    stored = api.get(path).json()["data"]["attributes"]["updatedAt"]
    assert stored == patched.json()["data"]["attributes"]["updatedAt"]  # not written again
    deleted = api.delete(path, headers={"Idempotency-Key": delete_key})
    redeleted = api.delete(path, headers={"Idempotency-Key": delete_key})
    assert (deleted.status_code, redeleted.status_code) == (204, 204)  # without the key: 404
    assert redeleted.headers[REPLAYED] == "true" and redeleted.content == b""
    assert "content-type" not in redeleted.headers
    assert api.delete(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        pytest.param("POST", "/products", product("other"), {}, id="another body"),
        pytest.param(
            "POST", "/products", product("first"), {"couplingId": "7"}, id="another query"
        ),
        pytest.param(
            "POST",
            "/suppliers",
            {"data": {"type": "suppliers", "attributes": {"name": "first"}}},
            {},
            id="another path",
        ),
        pytest.param("PATCH", "/products/{id}", product("first"), {}, id="another method"),
    ],
)
def test_the_key_with_another_request_is_refused_422(
    api: httpx.Client, method: str, path: str, body: Any, params: dict[str, str]
) -> None:
    sent = key()
    first = post(api, product("first"), sent)
    assert first.status_code == 201
    url = path.format(id=first.json()["data"]["id"])
    reused = api.request(method, url, json=body, params=params, headers={"Idempotency-Key": sent})
    assert reused.status_code == 422
    (error,) = reused.json()["errors"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["source"] == {"header": "Idempotency-Key"}
    assert REPLAYED not in reused.headers
    assert names(api, "first") == ["first"] and names(api, "other") == []


def test_refusals_are_kept_and_replayed(api: httpx.Client) -> None:
    sent = key()
    empty = {"data": {"type": "products", "attributes": {}}}
    refused = post(api, empty, sent)
    again = post(api, empty, sent)
    assert (refused.status_code, again.status_code) == (400, 400)
    assert REPLAYED not in refused.headers and again.headers[REPLAYED] == "true"
    assert again.content == refused.content
    # The key now stands for that refused request: another body with it is refused too.
    assert post(api, product("fixed"), sent).status_code == 422
    missing_key = key()
    gone = {"data": {"type": "products", "attributes": {"name": "x"}}}
    first_404 = api.patch(
        "/products/999999999", json=gone, headers={"Idempotency-Key": missing_key}
    )
    again_404 = api.patch(
        "/products/999999999", json=gone, headers={"Idempotency-Key": missing_key}
    )
    assert (first_404.status_code, again_404.status_code) == (404, 404)
    assert again_404.headers[REPLAYED] == "true"


def test_a_conflict_is_kept_too(api: httpx.Client) -> None:
    """A 409 of a unique pair (a refusal like any 4xx) is replayed, even once the pair is free."""
    made = api.post("/products", json=product("pair")).json()["data"]["id"]
    supplier = api.post(
        "/suppliers", json={"data": {"type": "suppliers", "attributes": {"name": "s"}}}
    )
    pair = {"productId": int(made), "supplierId": int(supplier.json()["data"]["id"])}
    body = {"data": {"type": "supplierProducts", "attributes": {"name": "sp", **pair}}}
    assert api.post("/supplierProducts", json=body).status_code == 201
    sent = key()
    assert post(api, body, sent, path="/supplierProducts").status_code == 409
    assert post(api, body, sent, path="/supplierProducts").headers[REPLAYED] == "true"


def settings(login: Login, **changes: Any) -> None:
    headers = {"Authorization": f"Bearer {login.access_token}"}
    response = web.patch(f"{login.url}/sandbox/settings", json=changes, headers=headers)
    assert response.status_code == 200, response.text


def test_a_server_error_stores_nothing(login: Login) -> None:
    """In production compat a bad integer answers 500 after the key was claimed: nothing is
    kept, so the same key later carries a request that succeeds."""
    settings(login, compat="production")
    sent = key()
    with login.client() as api:
        failed = post(api, product("compat", stockLevel="nan"), sent)
        again = post(api, product("compat", stockLevel="nan"), sent)
        assert (failed.status_code, again.status_code) == (500, 500)
        assert REPLAYED not in again.headers
        assert post(api, product("compat"), sent).status_code == 201  # the key was free
        assert names(api, "compat") == ["compat"]


@pytest.mark.parametrize("drop", [False, True], ids=["answers 500", "drops the connection"])
def test_commit_then_fail_then_the_retry_is_a_replay(login: Login, drop: bool) -> None:
    """The ambiguous write: committed, then the answer is lost. The retry with the same key
    gets the answer the write made, and nothing is written twice."""
    rule = {"action": "commit-then-fail", "method": "POST", "times": 1, "dropAfterCommit": drop}
    headers = {"Authorization": f"Bearer {login.access_token}"}
    assert web.post(f"{login.url}/sandbox/faults", json=rule, headers=headers).status_code == 201
    sent = key()
    with login.client() as api:
        if drop:
            with pytest.raises(httpx.RemoteProtocolError):
                post(api, product("ambiguous"), sent)
        else:
            assert post(api, product("ambiguous"), sent).status_code == 500
        retried = post(api, product("ambiguous"), sent)
        assert retried.status_code == 201 and retried.headers[REPLAYED] == "true"
        assert names(api, "ambiguous") == ["ambiguous"]
        assert api.get(f"/products/{retried.json()['data']['id']}").status_code == 200


def token(server: LiveServer, username: str, password: str) -> str:
    client = admin.create_client(server.engine, name=f"c-{uuid.uuid4().hex[:8]}")
    answer = web.post(
        f"{server.url}/api/auth/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
        auth=(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_another_users_key_is_another_key(server: LiveServer, login: Login) -> None:
    username = f"other-{uuid.uuid4().hex[:8]}"
    admin.create_user(
        server.engine, username=username, password="pw", account_ids=[login.account_id]
    )
    sent = key()
    with login.client() as mine, login.client(token(server, username, "pw")) as theirs:
        first = post(mine, product("shared key"), sent)
        second = post(theirs, product("shared key"), sent)
        assert (first.status_code, second.status_code) == (201, 201)
        assert REPLAYED not in second.headers
        assert first.json()["data"]["id"] != second.json()["data"]["id"]
        assert names(mine, "shared key") == ["shared key", "shared key"]


def test_the_same_key_in_another_account_is_another_key(server: LiveServer) -> None:
    login = make_login(server, accounts=2)
    first_account, second_account = login.account_id, login.extra_account_ids[0]
    sent = key()
    with login.client() as api:
        first = post(api, product("per account"), sent, accountId=first_account)
        second = post(api, product("per account"), sent, accountId=second_account)
        assert (first.status_code, second.status_code) == (201, 201)  # not 422
        assert REPLAYED not in second.headers
        replayed = post(api, product("per account"), sent, accountId=second_account)
        assert replayed.content == second.content


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"x" * 256, id="256 characters"),
        pytest.param(b"caf\xe9", id="not ASCII"),
        pytest.param(b"tab\there", id="a control character"),
        pytest.param(b'"a"b"', id="an unescaped quote in a string"),
    ],
)
def test_malformed_keys_are_refused_400(api: httpx.Client, value: bytes) -> None:
    response = api.post("/products", json=product("bad key"), headers={"Idempotency-Key": value})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert error["source"] == {"header": "Idempotency-Key"}
    assert names(api, "bad key") == []


def test_two_keys_are_refused_400(api: httpx.Client) -> None:
    headers = [("Idempotency-Key", "a"), ("Idempotency-Key", "b"), ("Content-Type", JSONAPI)]
    response = api.post("/products", content=b'{"data":{}}', headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_IDEMPOTENCY_KEY"


def test_the_longest_key_and_spaces_are_fine(api: httpx.Client) -> None:
    for sent in ("k" * 255, "a key with ~ spaces!"):
        assert post(api, product(sent[:20]), sent).status_code == 201
        assert post(api, product(sent[:20]), sent).headers[REPLAYED] == "true"


def test_reads_ignore_the_key(api: httpx.Client) -> None:
    for _ in range(2):
        response = api.get("/products", headers={"Idempotency-Key": "read"})
        assert response.status_code == 200 and REPLAYED not in response.headers
    assert api.get("/products", headers={"Idempotency-Key": ""}).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_keys_expire_after_the_ttl_and_are_purged(start_server: Any, backend: str) -> None:
    live = start_server(backend, idempotency_ttl=1)
    login = make_login(live)
    old, new = key(), key()
    with login.client() as api:
        assert post(api, product("ttl"), old).status_code == 201
        assert post(api, product("ttl"), old).headers[REPLAYED] == "true"
        time.sleep(1.2)
        # Expired: the key is free again (another body is not refused) ...
        assert post(api, product("ttl 2"), old).status_code == 201
        time.sleep(1.2)
        # ... and the next keyed write purges what expired meanwhile.
        assert post(api, product("ttl 3"), new).status_code == 201
        assert names(api, "ttl 2") == ["ttl 2"]
    statement = select(idempotency_keys.c.key).where(
        idempotency_keys.c.account_id == login.account_id
    )
    with live.engine.connect() as connection:
        kept = set(connection.execute(statement).scalars())
    assert kept == {new}
