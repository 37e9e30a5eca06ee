"""Health, OpenAPI and docs are served without a token; /v1 needs one (§2.5)."""

from __future__ import annotations

import httpx

from live import JSONAPI, LiveServer
from optiply.server.settings import Settings


def test_health_checks_the_database(server):
    response = httpx.get(f"{server.url}/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_the_database_is_unreachable(tmp_path):
    live = LiveServer(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")).start()
    try:
        (tmp_path / "x.db").unlink()
        (tmp_path / "x.db").mkdir()  # a directory where the file was: every query fails
        live.engine.dispose()
        assert httpx.get(f"{live.url}/health").status_code == 503
    finally:
        live.stop()


def test_openapi_and_docs_are_served(server):
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/products" in document["paths"]

    docs = httpx.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


def test_v1_without_a_token_is_401_oauth_style(server):
    response = httpx.get(f"{server.url}/v1/products")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"error", "error_description"}


def test_v1_with_a_bad_token_is_401(server):
    response = httpx.get(f"{server.url}/v1/products", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_servers_sharing_a_database_share_tokens_and_data(login, start_server):
    backend = (
        "postgresql" if login.server.settings.database_url.startswith("postgresql") else "sqlite"
    )
    second = start_server(backend)
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": JSONAPI}
    body = {"data": {"type": "products", "attributes": {"name": "Shared", "stockLevel": 1}}}

    created = httpx.post(f"{login.url}/v1/products", json=body, headers=headers)
    fetched = httpx.get(f"{second.url}/v1/products/{created.json()['data']['id']}", headers=headers)

    assert fetched.status_code == 200
    assert fetched.json()["data"]["attributes"]["name"] == "Shared"
    listed = httpx.get(f"{second.url}/v1/products", headers=headers).json()
    assert listed["meta"]["totalResourceCount"] == 1
    httpx.post(f"{second.url}/v1/products", json=body, headers=headers)
    # the first server's cached count sees the second server's write
    assert (
        httpx.get(f"{login.url}/v1/products", headers=headers).json()["meta"]["totalResourceCount"]
        == 2
    )


def test_cached_pages_never_outlive_a_change_made_by_another_server(login, start_server):
    backend = (
        "postgresql" if login.server.settings.database_url.startswith("postgresql") else "sqlite"
    )
    second = start_server(backend)
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": JSONAPI}
    body = {"data": {"type": "products", "attributes": {"name": "Before", "stockLevel": 1}}}
    row_id = httpx.post(f"{login.url}/v1/products", json=body, headers=headers).json()["data"]["id"]

    def names(url):
        return [
            r["attributes"]["name"]
            for r in httpx.get(f"{url}/v1/products", headers=headers).json()["data"]
        ]

    assert names(login.url) == ["Before"]  # rendered and cached by the first server
    patch = {"data": {"type": "products", "attributes": {"name": "After"}}}
    assert (
        httpx.patch(f"{second.url}/v1/products/{row_id}", json=patch, headers=headers).status_code
        == 200
    )

    assert names(login.url) == ["After"]
