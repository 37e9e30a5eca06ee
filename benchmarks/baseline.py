"""The framework ceiling: a bare Starlette app serving pre-serialized bytes of our sizes.

``GET /v1/products`` returns the exact bytes of a real 100-product page fetched from the server,
``POST /v1/products`` reads the body and returns the bytes of a real 201 document. Run under the
same uvicorn settings as ``optiply serve`` (uvloop, httptools, no access log, one worker), it
shows what the same machine does when the application costs nothing.

Usage: ``python -m benchmarks.baseline PAGE_FILE CREATED_FILE PORT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

JSONAPI = "application/vnd.api+json"


def create_app(page: bytes, created: bytes) -> Starlette:
    """The bare app for one page body and one 201 body."""

    async def products(request: Request) -> Response:
        if request.method == "POST":
            await request.body()
            return Response(created, 201, media_type=JSONAPI)
        return Response(page, media_type=JSONAPI)

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/products", products, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def main(argv: list[str]) -> None:
    """Serve the bare app like ``optiply serve`` serves ours."""
    page_file, created_file, port = argv
    app = create_app(Path(page_file).read_bytes(), Path(created_file).read_bytes())
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(port),
        workers=1,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
