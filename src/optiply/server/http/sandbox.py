"""The sandbox over HTTP: the request journal, fault rules, account settings, and what the page
shows (a timeline, row counts).

- ``GET /sandbox/requests`` (JSON or JSON Lines; ``bodies=false`` for summaries),
  ``/sandbox/requests/{id}`` (one, whole), ``/sandbox/requests/count``, ``/sandbox/stats``;
- ``GET|POST|DELETE /sandbox/faults``, ``DELETE /sandbox/faults/{id}``;
- ``GET|PATCH /sandbox/settings``; ``GET /sandbox/timeline``, ``GET /sandbox/rows``.

Bearer tokens as for the API: reading needs the ``read`` scope, changing rules and settings the
``write`` scope. A caller sees the journal of the accounts it reaches (``accountId`` narrows to
one, 403 for another's), plus, without ``accountId``, its own token requests (rows with no
account, carrying its username). Rules and settings are an account's: ``accountId`` is needed
when the caller reaches several. Journal filters are parsed and applied by ``storage.journal``,
rules and settings checked by ``sandbox.rules`` and ``sandbox.limits``: the same code the CLI
uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.server.auth.principal import Principal, Scope
from optiply.server.auth.tokens import AuthError, authenticate
from optiply.server.http.errors import ApiError
from optiply.server.http.headers import API_HEADERS
from optiply.server.http.negotiation import read_json_body
from optiply.server.sandbox.controls import Controls
from optiply.server.sandbox.limits import checked_settings
from optiply.server.sandbox.rules import InputError, checked_rule
from optiply.server.service.errors import DomainError
from optiply.server.service.tenancy import request_scope
from optiply.server.storage import journal, sandbox
from optiply.server.storage.engine import reader
from optiply.server.storage.repository import Connection, Engine

JSONL = "application/x-ndjson"
_FILTERS = ("method", "status", "path", "after", "since", "limit")


MAX_MINUTES = 24 * 60
MAX_BUCKETS = 1440


def json_response(body: bytes, media_type: str = "application/json", status: int = 200) -> Response:
    response = Response(body, status, media_type=media_type)
    response.raw_headers.extend(API_HEADERS)
    return response


def caller(connection: Connection, request: Request, needed: Scope) -> Principal:
    principal = authenticate(
        connection, request.headers.get("authorization"), now=datetime.now(UTC)
    )
    if needed not in principal.scopes:
        raise AuthError(403, "insufficient_scope", f"Insufficient scope: needs {needed.value}")
    return principal


def request_account(principal: Principal, request: Request) -> int:
    """The one account a rule or setting request is about."""
    scope = request_scope(principal, request.query_params.get("accountId"))
    account = scope.single()
    if account is None:
        raise DomainError(
            Problem(
                ErrorCode.ACCOUNT_REQUIRED,
                "this user reaches several accounts: say which with accountId",
                parameter="accountId",
            )
        )
    return account


async def json_object(request: Request) -> dict[str, Any]:
    body = await read_json_body(request)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(ErrorCode.INVALID_DOCUMENT, "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(ErrorCode.INVALID_DOCUMENT, "the body must be a JSON object")
    return value


def _invalid(error: InputError) -> DomainError:
    return DomainError(Problem(ErrorCode.INVALID_VALUE, error.message, pointer=f"/{error.member}"))


class SandboxEndpoints:
    """The journal's read endpoints."""

    def __init__(self, engine: Engine, controls: Controls) -> None:
        self.engine = engine
        self.controls = controls
        self.reader = reader(engine)  # reads need no transaction

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sandbox/requests", self.requests, methods=["GET"]),
            Route("/sandbox/requests/count", self.count, methods=["GET"]),
            Route("/sandbox/requests/{id}", self.one, methods=["GET"]),
            Route("/sandbox/stats", self.stats, methods=["GET"]),
            Route("/sandbox/faults", self.faults, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/faults/{id}", self.fault, methods=["DELETE"]),
            Route("/sandbox/settings", self.settings, methods=["GET", "PATCH"]),
            Route("/sandbox/timeline", self.timeline, methods=["GET"]),
            Route("/sandbox/rows", self.rows, methods=["GET"]),
        ]

    @contextmanager
    def _in_account(self, request: Request, needed: Scope) -> Iterator[tuple[Connection, int]]:
        """A connection (a transaction when changing) and the account the request is about."""
        opened = self.reader.connect() if needed is Scope.READ else self.engine.begin()
        with opened as connection:
            yield connection, request_account(caller(connection, request, needed), request)
        if needed is not Scope.READ:
            self.controls.changed()  # this worker applies the change from its next request

    def _visible(self, connection: Connection, request: Request) -> journal.Visible:
        """What the caller may read: the accounts it reaches (``accountId`` narrows), plus,
        without ``accountId``, its own token requests."""
        principal = caller(connection, request, Scope.READ)
        scope = request_scope(principal, request.query_params.get("accountId"))
        username = None if scope.explicit is not None else principal.username
        return journal.Visible(scope.account_ids, username)

    def _read(self, request: Request, mode: str, bodies: bool = True) -> bytes:
        params = request.query_params
        try:
            wanted = journal.parse_filter({key: params[key] for key in _FILTERS if key in params})
        except journal.JournalQueryError as error:
            raise ApiError(
                ErrorCode.INVALID_QUERY, error.message, parameter=error.parameter
            ) from None
        with self.reader.connect() as connection:
            visible = self._visible(connection, request)
            if mode == "count":
                return orjson.dumps({"count": journal.count_requests(connection, visible, wanted)})
            if mode == "stats":
                return orjson.dumps({"stats": journal.stats(connection, visible, wanted)})
            rows = journal.select_requests(connection, visible, wanted, bodies=bodies)
        if mode == "jsonl":
            return b"".join(orjson.dumps(row) + b"\n" for row in rows)
        return orjson.dumps({"requests": rows})

    async def requests(self, request: Request) -> Response:
        """The newest ``limit`` matching requests, oldest first (JSON, or JSON Lines), whole or
        (``bodies=false``) as summaries."""
        params = request.query_params
        wanted = params.get("format")
        if wanted not in (None, "", "json", "jsonl"):
            raise ApiError(
                ErrorCode.INVALID_QUERY,
                f"format must be json or jsonl, got {wanted!r}",
                parameter="format",
            )
        bodies = params.get("bodies", "true")
        if bodies not in ("true", "false"):
            raise ApiError(
                ErrorCode.INVALID_QUERY,
                f"bodies must be true or false, got {bodies!r}",
                parameter="bodies",
            )
        jsonl = wanted == "jsonl" or (
            not wanted and JSONL in request.headers.get("accept", "").lower()
        )
        if jsonl:
            return json_response(self._read(request, "jsonl", bodies == "true"), JSONL)
        return json_response(self._read(request, "list", bodies == "true"))

    async def one(self, request: Request) -> Response:
        """One request, whole: ``{"request": {...}}``."""
        text = request.path_params["id"]
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise ApiError(ErrorCode.INVALID_ID, f"{text!r} is not a valid request id")
        with self.reader.connect() as connection:
            row = journal.get_request(connection, self._visible(connection, request), int(text))
        if row is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no request {text} in the journal you can see")
        return json_response(orjson.dumps({"request": row}))

    async def count(self, request: Request) -> Response:
        """How many requests match: ``{"count": n}``."""
        return json_response(self._read(request, "count"))

    async def stats(self, request: Request) -> Response:
        """Matching requests counted per resource and status."""
        return json_response(self._read(request, "stats"))

    async def faults(self, request: Request) -> Response:
        """An account's fault rules: list (GET), add one (POST), clear them all (DELETE)."""
        if request.method == "GET":
            with self._in_account(request, Scope.READ) as (connection, account):
                listed = sandbox.list_faults(connection, account)
            return json_response(orjson.dumps({"faults": listed}))
        if request.method == "DELETE":
            with self._in_account(request, Scope.WRITE) as (connection, account):
                cleared = sandbox.delete_faults(connection, account)
            return json_response(orjson.dumps({"cleared": cleared}))
        body = await json_object(request)
        try:
            values = checked_rule(body)
        except InputError as error:
            raise _invalid(error) from None
        with self._in_account(request, Scope.WRITE) as (connection, account):
            added = sandbox.add_fault(connection, account, values, datetime.now(UTC))
        return json_response(orjson.dumps({"fault": added}), status=201)

    async def fault(self, request: Request) -> Response:
        """Delete one rule of the account."""
        text = request.path_params["id"]
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise ApiError(ErrorCode.INVALID_ID, f"{text!r} is not a valid rule id")
        with self._in_account(request, Scope.WRITE) as (connection, account):
            deleted = sandbox.delete_faults(connection, account, int(text))
        if not deleted:
            raise ApiError(ErrorCode.NOT_FOUND, f"no fault rule {text} in account {account}")
        response = Response(status_code=204)
        response.raw_headers.extend(API_HEADERS)
        return response

    async def settings(self, request: Request) -> Response:
        """An account's settings: read (GET) or change some (PATCH)."""
        if request.method == "GET":
            with self._in_account(request, Scope.READ) as (connection, account):
                current = sandbox.get_settings(connection, account)
            return json_response(orjson.dumps({"settings": current.to_json()}))
        body = await json_object(request)
        try:
            changes = checked_settings(body)
            with self._in_account(request, Scope.WRITE) as (connection, account):
                changed = sandbox.put_settings(connection, account, changes, datetime.now(UTC))
        except InputError as error:
            raise _invalid(error) from None
        return json_response(orjson.dumps({"settings": changed.to_json()}))

    async def timeline(self, request: Request) -> Response:
        """The account's requests per ``step`` seconds and status class over ``minutes``."""
        params = request.query_params
        minutes = _bounded(params.get("minutes"), "minutes", 15, 1, MAX_MINUTES)
        step = _bounded(params.get("step"), "step", 10, 1, 3600)
        if minutes * 60 // step > MAX_BUCKETS:
            raise ApiError(
                ErrorCode.INVALID_QUERY,
                f"{minutes} minutes in steps of {step} s is more than {MAX_BUCKETS} buckets: "
                f"take a step of at least {-(-minutes * 60 // MAX_BUCKETS)} s",
                parameter="step",
            )
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        with self._in_account(request, Scope.READ) as (connection, account):
            buckets = sandbox.timeline(connection, account, since=since, step=step)
        return json_response(orjson.dumps({"step": step, "buckets": buckets}))

    async def rows(self, request: Request) -> Response:
        """Live rows per resource type in the account."""
        with self._in_account(request, Scope.READ) as (connection, account):
            counts = sandbox.row_counts(connection, account)
        return json_response(orjson.dumps({"rows": counts}))


def _bounded(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not low <= int(text) <= high:
        raise ApiError(
            ErrorCode.INVALID_QUERY,
            f"{name} must be an integer from {low} to {high}, got {text!r}",
            parameter=name,
        )
    return int(text)


def sandbox_routes(engine: Engine, controls: Controls) -> list[BaseRoute]:
    """The sandbox's HTTP API."""
    return SandboxEndpoints(engine, controls).routes()
