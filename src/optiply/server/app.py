"""The ASGI application: wiring only."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from optiply import __version__
from optiply.server.auth.oauth import token_endpoint
from optiply.server.http.errors import HANDLERS
from optiply.server.http.openapi import openapi_document
from optiply.server.http.routes import api_routes
from optiply.server.settings import Settings
from optiply.server.storage import repository
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings``; applies pending migrations first."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    app = FastAPI(
        title="Optiply Public API v1 (self-hosted)",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        exception_handlers=dict(HANDLERS),  # type: ignore[arg-type]
    )
    app.state.engine = engine
    app.state.settings = settings
    document = orjson.dumps(openapi_document(version=__version__))

    async def openapi(_request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def docs(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Optiply API v1 docs")

    async def health(_request: Request) -> Response:
        try:
            with engine.connect() as connection:
                repository.ping(connection)
        except Exception:
            return Response(b'{"status":"unavailable"}', 503, media_type="application/json")
        return Response(b'{"status":"ok"}', media_type="application/json")

    routes: list[Any] = [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/api/auth/oauth/token", token_endpoint, methods=["POST"]),
        *api_routes(engine, settings),
    ]
    app.router.routes.extend(routes)
    return app


def app_factory() -> FastAPI:
    """The application for ``uvicorn --factory``, configured from the environment."""
    return create_app(Settings())
