"""The access log: one line per HTTP request, with the values of secret query parameters hidden.

uvicorn's own access log prints query strings as they came, and clients send token-endpoint
parameters (``password``, ``refresh_token``) in the query string, so it stays off; this
middleware logs instead, to the ``optiply.access`` logger at INFO:
``GET /v1/products?page[limit]=5 200 3.1ms``. It never logs a header or a body. When the access
log is off the middleware is not installed at all, so it costs nothing then.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.logging import DefaultFormatter

from optiply.server.sandbox.redact import redact_query

logger = logging.getLogger("optiply.access")


class AccessLog:
    """Pure-ASGI middleware that logs each HTTP request once its response is complete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_and_note_status)
        except BaseException:
            failed = True
            raise
        finally:
            milliseconds = (time.perf_counter() - started) * 1000
            shown = str(status) if status is not None else ("500" if failed else "-")
            logger.info("%s %s %s %.1fms", scope["method"], target(scope), shown, milliseconds)


def target(scope: Scope) -> str:
    """The request's path and query string as sent, with secret values hidden.

    >>> target({"path": "/t", "raw_path": b"/t", "query_string": b"grant_type=password&Password=x"})
    '/t?grant_type=password&Password=***'
    """
    raw_path = scope.get("raw_path")
    path = _printable(raw_path) if raw_path else _printable(scope["path"].encode())
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{redact_query(_printable(query))}" if query else path


def send_to_stderr() -> None:
    """Give ``optiply.access`` an INFO handler on stderr, unless logging is configured already.

    Under uvicorn no handler reaches our loggers (its configuration covers its own loggers), so
    the lines would be lost; this runs in each worker process, where the app is built. Where an
    application has configured logging (a handler on the root logger), the lines go there.
    """
    logger.setLevel(logging.INFO)
    if logger.hasHandlers():
        return
    handler = logging.StreamHandler()
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


def _printable(raw: bytes) -> str:
    """``raw`` as text with no control characters, so a request cannot forge log lines."""
    text = raw.decode("latin-1")
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)
