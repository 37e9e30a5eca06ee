"""``/docs``: Swagger UI for ``/openapi.json``, its files served by this server (works offline).

The files come from the installed ``swagger_ui_bundle`` package (Swagger UI 5, which reads
OpenAPI 3.1), mounted under ``/docs/static/``; the page references nothing else.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from optiply.server.http.headers import NOSNIFF

DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"
ASSETS = Path(str(swagger_ui_path))
"""The directory of the vendored Swagger UI distribution."""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="stylesheet" href="{static}/index.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({{url: "{openapi}", dom_id: "#swagger-ui", validatorUrl: null}});
</script>
</body>
</html>
"""
# validatorUrl: null keeps Swagger UI from calling its online validator.


def docs_routes(*, openapi_path: str, title: str) -> list[BaseRoute]:
    """The docs page at ``/docs`` and its static files under ``/docs/static/``."""

    async def page(request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", ""))
        return HTMLResponse(
            _PAGE.format(
                title=escape(title), static=root + STATIC_PATH, openapi=root + openapi_path
            ),
            headers={"X-Content-Type-Options": "nosniff"},
        )

    return [
        Route(DOCS_PATH, page, methods=["GET"]),
        Mount(STATIC_PATH, app=_NoSniff(StaticFiles(directory=ASSETS)), name="docs-static"),
    ]


class _NoSniff:
    """Adds ``X-Content-Type-Options: nosniff`` to the responses of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), NOSNIFF]
            await send(message)

        await self.app(scope, receive, send_with_header)
