"""``/sandbox/requests``, ``/sandbox/requests/count`` and ``/sandbox/stats``: the request journal
over HTTP.

Bearer tokens as for the API, with the ``read`` scope: a caller sees the journal of the accounts
it reaches (``accountId`` narrows to one, 403 for another's), plus, without ``accountId``, its own
token requests (rows with no account, carrying its username). Filters are parsed and applied by
``storage.journal``, the same code the CLI uses.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from optiply.jsonapi.errors import ErrorCode
from optiply.server.auth.principal import Scope
from optiply.server.auth.tokens import AuthError, authenticate
from optiply.server.http.errors import ApiError
from optiply.server.http.headers import API_HEADERS
from optiply.server.service.tenancy import request_scope
from optiply.server.storage import journal
from optiply.server.storage.repository import Engine

JSONL = "application/x-ndjson"
_FILTERS = ("method", "status", "path", "after", "since", "limit")


def _json(body: bytes, media_type: str = "application/json") -> Response:
    response = Response(body, media_type=media_type)
    response.raw_headers.extend(API_HEADERS)
    return response


class SandboxEndpoints:
    """The journal's read endpoints."""

    def __init__(self, engine: Engine) -> None:
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sandbox/requests", self.requests, methods=["GET"]),
            Route("/sandbox/requests/count", self.count, methods=["GET"]),
            Route("/sandbox/stats", self.stats, methods=["GET"]),
        ]

    def _read(self, request: Request, mode: str) -> bytes:
        params = request.query_params
        try:
            wanted = journal.parse_filter({key: params[key] for key in _FILTERS if key in params})
        except journal.JournalQueryError as error:
            raise ApiError(
                ErrorCode.INVALID_QUERY, error.message, parameter=error.parameter
            ) from None
        with self.reader.connect() as connection:
            principal = authenticate(
                connection, request.headers.get("authorization"), now=datetime.now(UTC)
            )
            if Scope.READ not in principal.scopes:
                raise AuthError(403, "insufficient_scope", "Insufficient scope: needs read")
            scope = request_scope(principal, params.get("accountId"))
            visible = journal.Visible(
                scope.account_ids, None if scope.explicit is not None else principal.username
            )
            if mode == "count":
                return orjson.dumps({"count": journal.count_requests(connection, visible, wanted)})
            if mode == "stats":
                return orjson.dumps({"stats": journal.stats(connection, visible, wanted)})
            rows = journal.select_requests(connection, visible, wanted)
        if mode == "jsonl":
            return b"".join(orjson.dumps(row) + b"\n" for row in rows)
        return orjson.dumps({"requests": rows})

    async def requests(self, request: Request) -> Response:
        """The newest ``limit`` matching requests, oldest first (JSON, or JSON Lines)."""
        wanted = request.query_params.get("format")
        if wanted not in (None, "", "json", "jsonl"):
            raise ApiError(
                ErrorCode.INVALID_QUERY,
                f"format must be json or jsonl, got {wanted!r}",
                parameter="format",
            )
        jsonl = wanted == "jsonl" or (
            not wanted and JSONL in request.headers.get("accept", "").lower()
        )
        if jsonl:
            return _json(self._read(request, "jsonl"), JSONL)
        return _json(self._read(request, "list"))

    async def count(self, request: Request) -> Response:
        """How many requests match: ``{"count": n}``."""
        return _json(self._read(request, "count"))

    async def stats(self, request: Request) -> Response:
        """Matching requests counted per resource and status."""
        return _json(self._read(request, "stats"))


def sandbox_routes(engine: Engine) -> list[BaseRoute]:
    """The journal's routes."""
    return SandboxEndpoints(engine).routes()
