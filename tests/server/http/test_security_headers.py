"""``X-Content-Type-Options: nosniff`` on every response; ``Cache-Control: no-store`` on every
answer that holds account data (/v1, errors included) and on the token endpoint (RFC 6749
§5.1)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import web
from live import JSONAPI, Login
from support import create

TOKEN_PATH = "/api/auth/oauth/token"
Call = Callable[[Login, httpx.Client], httpx.Response]


def _patch(login: Login, api: httpx.Client) -> httpx.Response:
    product = create(api, "products")
    body = {"data": {"type": "products", "id": product["id"], "attributes": {"stockLevel": 3}}}
    return api.patch(f"/products/{product['id']}", json=body)


def _delete(login: Login, api: httpx.Client) -> httpx.Response:
    return api.delete(f"/products/{create(api, 'products')['id']}")


def _get_one(login: Login, api: httpx.Client) -> httpx.Response:
    return api.get(f"/products/{create(api, 'products')['id']}")


def _related(login: Login, api: httpx.Client) -> httpx.Response:
    return api.get(f"/products/{create(api, 'products')['id']}/supplierProducts")


API_CALLS: dict[str, tuple[Call, int]] = {
    "get-list": (lambda login, api: api.get("/products"), 200),
    "get-one": (_get_one, 200),
    "get-related": (_related, 200),
    "post": (
        lambda login, api: api.post(
            "/products",
            json={"data": {"type": "products", "attributes": {"name": "M", "stockLevel": 1}}},
        ),
        201,
    ),
    "patch": (_patch, 200),
    "delete": (_delete, 204),
    "bad-filter-400": (lambda login, api: api.get("/products?filter[nope]=1"), 400),
    "bad-body-400": (lambda login, api: api.post("/products", content=b"{"), 400),
    "no-token-401": (
        lambda login, api: web.get(f"{login.url}/v1/products", headers={"Accept": JSONAPI}),
        401,
    ),
    "bad-token-401": (
        lambda login, api: web.get(
            f"{login.url}/v1/products", headers={"Authorization": "Bearer nope"}
        ),
        401,
    ),
    "unknown-id-404": (lambda login, api: api.get("/products/999999999999"), 404),
    "unknown-path-404": (lambda login, api: api.get("/nothing-here"), 404),
    "method-405": (lambda login, api: api.delete("/products"), 405),
}


@pytest.mark.parametrize("case", list(API_CALLS))
def test_api_responses_are_nosniff_and_no_store(login: Login, api: httpx.Client, case: str) -> None:
    call, status = API_CALLS[case]

    response = call(login, api)

    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert len(response.headers.get_list("cache-control")) == 1


@pytest.mark.parametrize(
    ("grant", "status"),
    [("password", 200), ("refresh_token", 200), ("wrong-password", 400), ("no-client", 401)],
)
def test_token_endpoint_answers_are_nosniff_and_no_store(
    login: Login, grant: str, status: int
) -> None:
    data = {
        "password": {
            "grant_type": "password",
            "username": login.username,
            "password": login.password,
        },
        "refresh_token": {"grant_type": "refresh_token", "refresh_token": login.refresh_token},
        "wrong-password": {"grant_type": "password", "username": login.username, "password": "x"},
        "no-client": {"grant_type": "password"},
    }[grant]
    auth = None if grant == "no-client" else (login.client_id, login.client_secret)

    response = web.post(f"{login.url}{TOKEN_PATH}", data=data, auth=auth)

    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/", "/health", "/openapi.json", "/docs", "/docs/static/swagger-ui.css"]
)
def test_every_other_response_is_nosniff(login: Login, path: str) -> None:
    response = web.get(f"{login.url}{path}")

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
