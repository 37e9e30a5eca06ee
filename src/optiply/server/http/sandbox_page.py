"""``GET /sandbox``: the sandbox's web page; its script and stylesheet under ``/sandbox/static/``.

Three files shipped in the package (``optiply/server/sandbox/page/``), read once when the routes
are made; nothing is fetched from another host, so the page works offline. The page signs in
itself (or takes a pasted token), keeps the token in a script variable only, and calls the
sandbox's JSON API (``/sandbox/requests``, ``/sandbox/faults``, …) and ``/v1/accounts`` with it.

Every answer carries a strict ``Content-Security-Policy`` (this origin only, no inline script or
style, no framing), ``Referrer-Policy: no-referrer``, ``nosniff`` and ``Cache-Control:
no-cache`` with an ``ETag``: a browser revalidates on each load (a 304 when nothing changed),
so an upgraded server never runs a stale script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

PAGE_PATH = "/sandbox"
STATIC_PATH = "/sandbox/static"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_PACKAGE = "optiply.server.sandbox"
_PAGE = "index.html"
_STATIC = {
    "sandbox.js": "text/javascript; charset=utf-8",
    "sandbox.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class _File:
    body: bytes
    media_type: str
    etag: str

    def response(self, request: Request) -> Response:
        headers = {**_HEADERS, "ETag": self.etag}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _read(name: str, media_type: str) -> _File:
    body = files(_PACKAGE).joinpath("page", name).read_bytes()
    return _File(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def page_routes() -> list[BaseRoute]:
    """``GET /sandbox`` (the page) and ``GET /sandbox/static/{name}`` (its two files, else 404).

    The page refers to its files relatively (``sandbox/static/sandbox.js``), so it also works
    under a path prefix.
    """
    page = _read(_PAGE, "text/html; charset=utf-8")
    static = {name: _read(name, media_type) for name, media_type in _STATIC.items()}

    async def index(request: Request) -> Response:
        return page.response(request)

    async def asset(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        return found.response(request)

    return [
        Route(PAGE_PATH, index, methods=["GET"]),
        Route(STATIC_PATH + "/{name}", asset, methods=["GET"]),
    ]
