"""The ASGI application: wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from optiply import __version__
from optiply.server.auth import passwords
from optiply.server.auth.oauth import token_endpoint
from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.http import access_log
from optiply.server.http.docs import docs_routes
from optiply.server.http.errors import HANDLERS
from optiply.server.http.extensions import offered, v1_route
from optiply.server.http.headers import API_HEADERS, PUBLIC_HEADERS, secured
from optiply.server.http.index import index_route
from optiply.server.http.openapi import openapi_document
from optiply.server.http.readahead import Idle, ReadAhead
from optiply.server.http.routes import api_routes
from optiply.server.http.sandbox import sandbox_routes
from optiply.server.http.sandbox_data import data_routes
from optiply.server.http.sandbox_page import page_routes
from optiply.server.http.urls import configured_base
from optiply.server.sandbox.controls import Controls
from optiply.server.sandbox.faults import FaultMiddleware
from optiply.server.sandbox.journal import JournalMiddleware
from optiply.server.sandbox.journal_process import open_writer
from optiply.server.settings import Settings
from optiply.server.storage import repository
from optiply.server.storage.checkpoints import checkpointer_for
from optiply.server.storage.engine import make_engine, reader
from optiply.server.storage.migrate import upgrade

TITLE = "Optiply Public API v1 (self-hosted)"


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application for ``settings``; applies pending migrations first."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    passwords.dummy_hash()  # now, so that the first unknown user's miss costs what later ones do
    writer = open_writer(engine, keep=settings.journal_size) if settings.journal else None

    checkpointer = checkpointer_for(engine)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if writer is not None:
            writer.start()
        if checkpointer is not None:
            checkpointer.start()
        try:
            yield
        finally:
            if writer is not None:  # write what is queued before the process ends
                writer.stop()
            if checkpointer is not None:
                checkpointer.stop()

    app = Starlette(lifespan=lifespan, exception_handlers=dict(HANDLERS))
    app.state.engine = engine
    app.state.reader = reader(engine)  # single reads (the token endpoint's throttle check)
    app.state.settings = settings
    app.state.journal = writer
    app.state.checkpointer = checkpointer
    controls = app.state.controls = Controls(engine)
    extensions = offered(settings)
    read_ahead = ReadAhead() if settings.read_ahead else None
    document = orjson.dumps(openapi_document(version=__version__, extensions=bool(extensions)))

    async def openapi(_request: Request) -> Response:
        return secured(Response(document, media_type="application/json"), PUBLIC_HEADERS)

    async def health(_request: Request) -> Response:
        try:
            with engine.connect() as connection:
                repository.ping(connection)
        except Exception:
            unavailable = Response(b'{"status":"unavailable"}', 503, media_type="application/json")
            return secured(unavailable, API_HEADERS)
        return secured(Response(b'{"status":"ok"}', media_type="application/json"), API_HEADERS)

    routes: list[Any] = [
        *api_routes(
            engine, settings, controls, read_ahead
        ),  # first: the requests that count (one lookup)
        index_route(
            title=TITLE, version=__version__, public_url=configured_base(settings.public_url)
        ),
        Route("/openapi.json", openapi, methods=["GET"]),
        *docs_routes(openapi_path="/openapi.json", title="Optiply API v1 docs"),
        Route("/health", health, methods=["GET"]),
        Route(TOKEN_PATH, token_endpoint, methods=["POST"]),
        *v1_route(extensions, configured_base(settings.public_url)),
        *sandbox_routes(engine, controls),
        *data_routes(engine),
        *page_routes(),
    ]
    app.router.routes.extend(routes)
    if writer is not None:  # when off, not installed: no cost per request
        app.add_middleware(JournalMiddleware, writer=writer)
    # Outside the journal, which records what the client saw; it needs uvicorn's own receive.
    app.add_middleware(FaultMiddleware)
    if read_ahead is not None:  # outermost but the access log: a request in flight is busy
        app.add_middleware(Idle, read_ahead=read_ahead)
    if settings.access_log:  # when off, not installed: no cost per request
        access_log.send_to_stderr()
        app.add_middleware(access_log.AccessLog)
    return app


def app_factory() -> Starlette:
    """The application for ``uvicorn --factory``, configured from the environment."""
    return create_app(Settings())
