"""How the server advertises its extensions (docs/extensions.md): the ``jsonapi`` member of
every ``/v1`` document, and ``GET /v1``.

With ``--no-extensions`` nothing is offered: documents carry no ``jsonapi`` member and
``/v1`` answers 404, exactly as before the extensions existed. New extensions (atomic
operations) join ``optiply.jsonapi.extensions.SERVER_EXTENSIONS`` and appear in both places.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from optiply.jsonapi.extensions import SERVER_EXTENSIONS, Extension, jsonapi_member
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.server.http.headers import PUBLIC_HEADERS, secured
from optiply.server.http.urls import base_url
from optiply.server.settings import Settings

V1_PATH = "/v1"


def offered(settings: Settings) -> tuple[Extension, ...]:
    """The extensions this process offers: all of them, or none (``--no-extensions``)."""
    return SERVER_EXTENSIONS if settings.extensions else ()


def document_member(extensions: tuple[Extension, ...]) -> bytes:
    """The ``,"jsonapi":{...}`` text added at the end of every ``/v1`` document (empty for
    none)."""
    if not extensions:
        return b""
    return b',"jsonapi":' + orjson.dumps(jsonapi_member(extensions))


def with_member(document: bytes, member: bytes) -> bytes:
    """``document`` (a JSON object) with ``member`` text before its closing brace.

    >>> with_member(b'{"data":null}', b',"jsonapi":{}')
    b'{"data":null,"jsonapi":{}}'
    """
    return document[:-1] + member + b"}" if member else document


def v1_route(extensions: tuple[Extension, ...], public_url: str | None) -> list[Route]:
    """``GET /v1``: what the server offers, no token needed (no route without extensions)."""
    if not extensions:
        return []
    member = jsonapi_member(extensions)
    described = [{"uri": e.uri, "name": e.name, "summary": e.summary} for e in extensions]

    async def index(request: Request) -> Response:
        base = base_url(request, public_url)
        document = {
            "jsonapi": member,
            "meta": {"extensions": described},
            "links": {"self": base + V1_PATH, "describedby": base + "/openapi.json"},
        }
        return secured(Response(orjson.dumps(document), media_type=MEDIA_TYPE), PUBLIC_HEADERS)

    return [Route(V1_PATH, index, methods=["GET"])]
