"""The index, health, OpenAPI and docs are served without a token; /v1 needs one (§2.5)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

import web
from live import JSONAPI, LiveServer
from optiply import __version__
from optiply.server.settings import Settings

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
INDEX_PATHS = {
    "docs": "/docs",
    "openapi": "/openapi.json",
    "health": "/health",
    "api": "/v1",
    "dashboard": "/api",
    "token": "/api/auth/oauth/token",
    "sandbox": "/sandbox",
}


def test_health_checks_the_database(server):
    response = web.get(f"{server.url}/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_the_database_is_unreachable(tmp_path):
    live = LiveServer(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")).start()
    try:
        (tmp_path / "x.db").unlink()
        (tmp_path / "x.db").mkdir()  # a directory where the file was: every query fails
        live.engine.dispose()
        assert web.get(f"{live.url}/health").status_code == 503
    finally:
        live.stop()


def test_openapi_and_docs_are_served(server):
    document = web.get(f"{server.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/products" in document["paths"]

    docs = web.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


class _References(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_docs_page_loads_only_files_of_this_server(server):
    page = web.get(f"{server.url}/docs")
    references = _References()
    references.feed(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, nothing online
    assert "/openapi.json" in page.text
    kinds = {}
    total = 0
    for reference in references.urls:
        assert not reference.endswith(".map")
        response = web.get(urljoin(f"{server.url}/docs", reference))
        assert response.status_code == 200, reference
        kinds[reference.rsplit(".", 1)[-1]] = response.headers["content-type"].split(";")[0]
        total += len(response.content)
    assert kinds == {"css": "text/css", "js": "text/javascript", "png": "image/png"}
    assert any(url.endswith("/swagger-ui-bundle.js") for url in references.urls)
    assert total < 2_000_000  # Swagger UI's bundle and styles, no source maps
    assert web.get(f"{server.url}/docs/static/no-such-file.js").status_code == 404


def test_the_index_answers_json_by_default(server):
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        response = web.get(f"{server.url}/", headers=headers)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["vary"] == "Accept"
        assert response.json() == {
            "name": "Optiply Public API v1 (self-hosted)",
            "version": __version__,
            "links": {key: server.url + path for key, path in INDEX_PATHS.items()},
        }
    for path in ("docs", "openapi", "health"):
        assert web.get(response.json()["links"][path]).status_code == 200


def test_the_index_is_a_page_for_a_browser(server):
    response = web.get(f"{server.url}/", headers={"Accept": BROWSER_ACCEPT})
    references = _References()
    references.feed(response.text)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert references.urls == [server.url + path for path in INDEX_PATHS.values()]
    assert __version__ in response.text


@pytest.mark.parametrize(
    ("settings", "headers", "base"),
    [
        ({}, {"Host": "api.example.com:8443"}, "http://api.example.com:8443"),
        ({"public_url": "https://api.example.com/"}, {"Host": "x"}, "https://api.example.com"),
    ],
    ids=["host-header", "public-url"],
)
def test_the_index_links_like_every_document_does(start_server, settings, headers, base):
    live = start_server(**settings)

    links = web.get(f"{live.url}/", headers=headers).json()["links"]
    page = web.get(f"{live.url}/", headers={**headers, "Accept": BROWSER_ACCEPT}).text

    assert links == {key: base + path for key, path in INDEX_PATHS.items()}
    assert f'href="{base}/docs"' in page


def test_v1_without_a_token_is_401_oauth_style(server):
    response = web.get(f"{server.url}/v1/products")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"error", "error_description"}


def test_v1_with_a_bad_token_is_401(server):
    response = web.get(f"{server.url}/v1/products", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_servers_sharing_a_database_share_tokens_and_data(login, start_server):
    backend = (
        "postgresql" if login.server.settings.database_url.startswith("postgresql") else "sqlite"
    )
    second = start_server(backend)
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": JSONAPI}
    body = {"data": {"type": "products", "attributes": {"name": "Shared", "stockLevel": 1}}}

    created = web.post(f"{login.url}/v1/products", json=body, headers=headers)
    fetched = web.get(f"{second.url}/v1/products/{created.json()['data']['id']}", headers=headers)

    assert fetched.status_code == 200
    assert fetched.json()["data"]["attributes"]["name"] == "Shared"
    listed = web.get(f"{second.url}/v1/products", headers=headers).json()
    assert listed["meta"]["totalResourceCount"] == 1
    web.post(f"{second.url}/v1/products", json=body, headers=headers)
    # the first server's cached count sees the second server's write
    assert (
        web.get(f"{login.url}/v1/products", headers=headers).json()["meta"]["totalResourceCount"]
        == 2
    )


def test_cached_pages_never_outlive_a_change_made_by_another_server(login, start_server):
    backend = (
        "postgresql" if login.server.settings.database_url.startswith("postgresql") else "sqlite"
    )
    second = start_server(backend)
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": JSONAPI}
    body = {"data": {"type": "products", "attributes": {"name": "Before", "stockLevel": 1}}}
    row_id = web.post(f"{login.url}/v1/products", json=body, headers=headers).json()["data"]["id"]

    def names(url):
        return [
            r["attributes"]["name"]
            for r in web.get(f"{url}/v1/products", headers=headers).json()["data"]
        ]

    assert names(login.url) == ["Before"]  # rendered and cached by the first server
    patch = {"data": {"type": "products", "attributes": {"name": "After"}}}
    assert (
        web.patch(f"{second.url}/v1/products/{row_id}", json=patch, headers=headers).status_code
        == 200
    )

    assert names(login.url) == ["After"]
