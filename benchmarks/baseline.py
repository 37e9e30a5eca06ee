"""The framework ceiling: a bare Starlette app serving pre-serialized bytes of our sizes.

``GET /v1/products`` returns the exact bytes of a real 100-product page fetched from the server,
``POST /v1/products`` reads the body and returns the bytes of a real 201 document. Run under the
same uvicorn settings as ``optiply serve`` (uvloop, httptools, no access log, one worker), it
shows what the same machine does when the application costs nothing.

With a walk (``WALK_FILE PAGES``), ``GET /walk?n=N`` answers the N-th of ``PAGES`` pages: the
pages kept from a real export (``WALK_FILE``, a pickled list of bodies) in turn, each with its
``links.next`` pointing at page N+1 (null on the last): the export's walk, bytes included,
served by an application that costs nothing.

Usage: ``python -m benchmarks.baseline PAGE_FILE CREATED_FILE PORT [WALK_FILE PAGES]``.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

JSONAPI = "application/vnd.api+json"


NEXT_LINK = b'"next":"'


def split_at_next(body: bytes) -> tuple[bytes, bytes]:
    """A page body cut around its ``links.next`` value: the bytes before and after it.

    >>> split_at_next(b'{"links":{"next":"/v1/x?page[after]=A"},"data":[]}')
    (b'{"links":{', b',"data":[]}')
    """
    start = body.index(NEXT_LINK)
    end = body.index(b'"', start + len(NEXT_LINK)) + 1
    return body[:start], body[end:]


def create_app(
    page: bytes, created: bytes, walk: Sequence[bytes] = (), pages: int = 0
) -> Starlette:
    """The bare app for one page body and one 201 body, and a walk of ``pages`` pages."""
    cut = [split_at_next(body) for body in walk]

    async def products(request: Request) -> Response:
        if request.method == "POST":
            await request.body()
            return Response(created, 201, media_type=JSONAPI)
        return Response(page, media_type=JSONAPI)

    async def walk_page(request: Request) -> Response:
        n = int(request.query_params["n"])
        before, after = cut[n % len(cut)]
        link = b'"next":"/walk?n=%d"' % (n + 1) if n + 1 < pages else b'"next":null'
        return Response(before + link + after, media_type=JSONAPI)

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/products", products, methods=["GET", "POST"]),
            Route("/walk", walk_page, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def main(argv: list[str]) -> None:
    """Serve the bare app like ``optiply serve`` serves ours."""
    page_file, created_file, port, *walk = argv
    pages: list[bytes] = pickle.loads(Path(walk[0]).read_bytes()) if walk else []
    app = create_app(
        Path(page_file).read_bytes(),
        Path(created_file).read_bytes(),
        pages,
        int(walk[1]) if walk else 0,
    )
    serve_like_ours(app, int(port))


def serve_like_ours(app: Starlette, port: int) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` under the uvicorn settings of ``optiply serve``
    (uvloop, httptools, one worker, no access log)."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        workers=1,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
