"""Scopes (§2.6, Q3): GET needs read, POST/PATCH write, DELETE delete; no token is a 401."""

from __future__ import annotations

import uuid

import httpx
import pytest

import web
from live import JSONAPI, Login
from optiply.server.auth import admin

PRODUCT = {"data": {"type": "products", "attributes": {"name": "Scoped", "stockLevel": 1}}}


def _token_with_scopes(login: Login, scopes: tuple[str, ...]) -> httpx.Response:
    """A password grant for a new user on the login's account, holding only ``scopes``."""
    username, password = f"scoped-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    admin.create_user(
        login.server.engine,
        username=username,
        password=password,
        account_ids=[login.account_id],
        scopes=scopes,
    )
    return login.token(grant_type="password", username=username, password=password)


def _call(client: httpx.Client, method: str, product_id: str) -> httpx.Response:
    if method == "GET":
        return client.get(f"/products/{product_id}")
    if method == "HEAD":
        return client.head(f"/products/{product_id}")
    if method == "POST":
        return client.post("/products", json=PRODUCT)
    if method == "PATCH":
        body = {"data": {"type": "products", "id": product_id, "attributes": {"stockLevel": 2}}}
        return client.patch(f"/products/{product_id}", json=body)
    return client.delete(f"/products/{product_id}")


@pytest.mark.parametrize(
    ("scopes", "method", "status"),
    [
        (("read",), "GET", 200),
        (("read",), "HEAD", 200),
        (("write",), "HEAD", 403),
        (("read",), "POST", 403),
        (("read",), "PATCH", 403),
        (("read",), "DELETE", 403),
        (("read", "write"), "POST", 201),
        (("read", "write"), "PATCH", 200),
        (("read", "write"), "DELETE", 403),
        (("read", "write", "delete"), "DELETE", 204),
        (("write",), "GET", 403),
        (("delete",), "DELETE", 204),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, tuple) else str(value),
)
def test_each_method_needs_its_scope(
    login: Login, scopes: tuple[str, ...], method: str, status: int
) -> None:
    with login.client() as owner:
        created = owner.post("/products", json=PRODUCT)
        assert created.status_code == 201, created.text
    granted = _token_with_scopes(login, scopes)
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == " ".join(scopes)

    with login.client(granted.json()["access_token"]) as client:
        response = _call(client, method, created.json()["data"]["id"])

    assert response.status_code == status, response.text
    if status == 403 and method != "HEAD":
        assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"],
    ids=["absent", "empty", "scheme-only", "basic", "other-scheme"],
)
def test_a_request_without_a_bearer_token_gets_401(login: Login, authorization: str | None) -> None:
    headers = {"Accept": JSONAPI}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = web.get(f"{login.url}/v1/products", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(login: Login, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {login.access_token}", "Accept": JSONAPI}

    response = web.get(f"{login.url}/v1/products", headers=headers)

    assert response.status_code == 200, response.text


def test_an_unknown_token_gets_401_invalid_token(login: Login) -> None:
    response = _call(login.client("not-a-token"), "GET", "1")

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "Invalid access token",
    }
