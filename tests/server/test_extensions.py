"""How the extensions are advertised, and ``--no-extensions`` (docs/extensions.md): with them,
every /v1 document names them in ``jsonapi.ext`` and ``GET /v1`` lists them; without them,
the server answers exactly as v1 (no member, no /v1, the header ignored, the filter refused)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

import web
from live import BACKENDS, JSONAPI, Login, make_login
from optiply import __version__
from optiply.jsonapi.extensions import SERVER_EXTENSIONS, advertised, jsonapi_member
from optiply.server.http.openapi import openapi_document
from support import create

URIS = frozenset(extension.uri for extension in SERVER_EXTENSIONS)
PRODUCT = {"data": {"type": "products", "attributes": {"name": "Mug", "stockLevel": 1}}}


def documents(api: httpx.Client) -> dict[str, httpx.Response]:
    """One response of every kind of /v1 document."""
    product = create(api, "products", name="doc")["id"]
    change = {"data": {"type": "products", "attributes": {"name": "doc 2"}}}
    return {
        "created": api.post("/products", json=PRODUCT),
        "updated": api.patch(f"/products/{product}", json=change),
        "single": api.get(f"/products/{product}"),
        "list": api.get("/products"),
        "related list": api.get(f"/products/{product}/supplierProducts"),
        "related null": api.get(f"/buyOrderLines/{orphan_line(api)}/product"),
        "identifiers": api.get(f"/products/{product}/relationships/supplierProducts"),
        "identifier": api.get(f"/products/{product}/relationships/account"),
    }


def orphan_line(api: httpx.Client) -> str:
    """A buy order line whose product is deleted: its to-one document has data null."""
    row = create(api, "buyOrderLines")
    assert api.delete(f"/products/{row['attributes']['productId']}").status_code == 204
    return str(row["id"])


def test_every_document_names_the_extensions(api: httpx.Client) -> None:
    for kind, response in documents(api).items():
        assert response.status_code in (200, 201), (kind, response.text)
        body = response.json()
        assert body["jsonapi"] == jsonapi_member(SERVER_EXTENSIONS), kind
        assert advertised(body) == URIS
        assert response.headers["content-type"] == JSONAPI  # no ext parameter: clients compare it
    assert documents(api)["related null"].json()["data"] is None


def test_v1_lists_the_extensions_without_a_token(login: Login) -> None:
    response = web.get(f"{login.url}/v1")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSONAPI
    body = response.json()
    assert advertised(body) == URIS
    assert [e["uri"] for e in body["meta"]["extensions"]] == [e.uri for e in SERVER_EXTENSIONS]
    assert {e["name"] for e in body["meta"]["extensions"]} == {
        "idempotency",
        "remote-id",
        "atomic",
        "deleted-rows",
    }
    assert body["links"] == {
        "self": f"{login.url}/v1",
        "describedby": f"{login.url}/openapi.json",
    }


@pytest.fixture(params=BACKENDS)
def plain(request: pytest.FixtureRequest, start_server: Any) -> Login:
    """A login on a server started with ``--no-extensions`` (``extensions=False``)."""
    return make_login(start_server(request.param, extensions=False))


def test_without_extensions_the_key_is_ignored(plain: Login) -> None:
    with plain.client() as api:
        answers = [
            api.post("/products", json=PRODUCT, headers={"Idempotency-Key": key})
            for key in ("same", "same", "x" * 300)
        ]
        assert [a.status_code for a in answers] == [201, 201, 201]
        assert all("idempotent-replayed" not in a.headers for a in answers)
        assert len({a.json()["data"]["id"] for a in answers}) == 3


def test_without_extensions_the_filter_is_refused_as_in_v1(plain: Login) -> None:
    with plain.client() as api:
        response = api.get("/products", params={"filter[remoteId]": "A"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["detail"] == "attribute 'remoteId' of products cannot be filtered"
    assert error["source"] == {"parameter": "filter[remoteId]"}


def test_without_extensions_documents_are_plain_v1(plain: Login) -> None:
    with plain.client() as api:
        for kind, response in documents(api).items():
            assert response.status_code in (200, 201), kind
            assert b"jsonapi" not in response.content, kind
            assert response.content.startswith(b'{"data":'), kind
    missing = web.get(f"{plain.url}/v1")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"


def test_without_extensions_the_openapi_document_is_the_v1_one(plain: Login) -> None:
    served = web.get(f"{plain.url}/openapi.json").content
    assert served == orjson.dumps(openapi_document(version=__version__, extensions=False))
    markers = (b"x-optiply-extension", b"Idempotency-Key", b"RemoteIdFilter", b"DeletedAt")
    for marker in (*markers, b'"/v1"'):
        assert marker not in served
