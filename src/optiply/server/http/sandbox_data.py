"""An account's data over HTTP: reset it, download or restore a snapshot, shift its dates.

- ``POST /sandbox/reset`` (``delete`` scope): ``{}`` or no body deletes all the account's data;
  ``{"couplingId": "C"}`` and/or ``{"createdFromPublicApi": true}`` only what they name;
- ``GET /sandbox/snapshot`` (``read``): the snapshot file (``application/zstd``);
- ``PUT /sandbox/snapshot`` (``delete``): the account's data replaced by the file in the body;
- ``POST /sandbox/shift-dates`` (``write``): ``{"days": N}`` or ``{"toToday": true}``.

Bearer tokens and ``accountId`` as for the other sandbox endpoints. The work is done by
``storage.reset``, ``storage.snapshots`` and ``storage.dates`` (as by the CLI) on a worker
thread, in one transaction, so other requests are served meanwhile. Bad input is a JSON:API
error pointing at the member (``/days``), or at the body (``""``) for a bad snapshot file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.server.auth.principal import Scope
from optiply.server.http.errors import ApiError
from optiply.server.http.headers import API_HEADERS
from optiply.server.http.sandbox import caller, json_object, json_response, request_account
from optiply.server.service.errors import DomainError
from optiply.server.storage import dates, reset, snapshots
from optiply.server.storage.account_data import UnknownAccount
from optiply.server.storage.repository import Connection, Engine

SNAPSHOT_MEDIA_TYPE = "application/zstd"
UPLOAD_TYPES = (SNAPSHOT_MEDIA_TYPE, "application/octet-stream")
MAX_SNAPSHOT = 1 << 30  # bytes of an uploaded snapshot
_SPOOL = 16 << 20  # an upload stays in memory up to this size, then goes to a temporary file
_CHUNK = 1 << 20
RESET_MEMBERS = ("couplingId", "createdFromPublicApi")
SHIFT_MEMBERS = ("days", "toToday")
T = TypeVar("T")


def _invalid(member: str, detail: str) -> DomainError:
    return DomainError(Problem(ErrorCode.INVALID_VALUE, detail, pointer=f"/{member}"))


def _bad_snapshot(detail: str) -> DomainError:
    return DomainError(Problem(ErrorCode.INVALID_DOCUMENT, detail, pointer=""))


def _only(body: dict[str, Any], members: tuple[str, ...]) -> None:
    for member in body:
        if member not in members:
            raise _invalid(member, f"unknown member {member!r}: expected {', '.join(members)}")


def reset_scope(body: dict[str, Any]) -> reset.ResetScope:
    """The scope of a reset from its JSON body."""
    _only(body, RESET_MEMBERS)
    coupling = body.get("couplingId")
    if coupling is not None and (not isinstance(coupling, str) or not coupling.strip()):
        raise _invalid("couplingId", "couplingId must be a non-empty string (or publicApi)")
    public = body.get("createdFromPublicApi", False)
    if not isinstance(public, bool):
        raise _invalid("createdFromPublicApi", "createdFromPublicApi must be true or false")
    return reset.ResetScope(coupling, public)


def shift_days(body: dict[str, Any]) -> int | None:
    """The days of a shift from its JSON body; None for ``toToday``."""
    _only(body, SHIFT_MEMBERS)
    days, today = body.get("days"), body.get("toToday", False)
    if not isinstance(today, bool):
        raise _invalid("toToday", "toToday must be true or false")
    if "days" in body and (not isinstance(days, int) or isinstance(days, bool)):
        raise _invalid("days", f"days must be a whole number of days, got {days!r}")
    if (days is None) == (not today):
        both = ", not both" if today else ""
        raise _invalid("days", f"give days (a whole number) or toToday: true{both}")
    return days


class DataEndpoints:
    """Reset, snapshots and date shifts of the caller's account."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sandbox/reset", self.reset, methods=["POST"]),
            Route("/sandbox/snapshot", self.snapshot, methods=["GET", "PUT"]),
            Route("/sandbox/shift-dates", self.shift_dates, methods=["POST"]),
        ]

    def _write(self, request: Request, needed: Scope, work: Callable[[Connection, int], T]) -> T:
        """``work`` on the request's account, in one transaction, once the caller may."""
        with self.engine.begin() as connection:
            account = request_account(caller(connection, request, needed), request)
            try:
                return work(connection, account)
            except UnknownAccount as error:  # deleted since the token was read
                raise ApiError(ErrorCode.NOT_FOUND, str(error)) from None

    def _check(self, request: Request, needed: Scope) -> None:
        """Refuse a caller without ``needed`` on the request's account."""
        with self.engine.connect() as connection:
            request_account(caller(connection, request, needed), request)

    async def reset(self, request: Request) -> Response:
        """Delete the account's data, or what a coupling or the public API created."""
        scope = reset_scope(await _optional_object(request))
        now = datetime.now(UTC)
        result = await run_in_threadpool(
            self._write,
            request,
            Scope.DELETE,
            lambda connection, account: reset.reset_account(connection, account, scope, now),
        )
        return json_response(orjson.dumps({"reset": result.to_json()}))

    async def shift_dates(self, request: Request) -> Response:
        """Move every date of the account's data by whole days, or so the latest sale is
        today."""
        days = shift_days(await json_object(request))
        today = None if days is not None else datetime.now(UTC).date()

        def shift(connection: Connection, account: int) -> dates.ShiftResult:
            try:
                return dates.shift_dates(connection, account, days=days, to=today)
            except dates.ShiftError as error:
                raise _invalid("toToday" if days is None else "days", str(error)) from None

        result = await run_in_threadpool(self._write, request, Scope.WRITE, shift)
        return json_response(orjson.dumps({"shifted": result.to_json()}))

    async def snapshot(self, request: Request) -> Response:
        """Download the account's snapshot (GET), or replace its data with one (PUT)."""
        if request.method == "GET":
            return await self._download(request)
        return await self._restore(request)

    async def _download(self, request: Request) -> Response:
        spool, account = await run_in_threadpool(self._save, request)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = {
            "Content-Disposition": f'attachment; filename="optiply-account-{account}-{stamp}'
            '.jsonl.zst"',
        }
        response = StreamingResponse(_chunks(spool), media_type=SNAPSHOT_MEDIA_TYPE)
        response.headers.update(headers)
        response.raw_headers.extend(API_HEADERS)
        return response

    def _save(self, request: Request) -> tuple[IO[bytes], int]:
        """The snapshot, in a temporary file (closed by ``_chunks``), and its account."""
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
        try:
            with snapshots.consistent_read(self.engine) as connection:
                account = request_account(caller(connection, request, Scope.READ), request)
                snapshots.save_snapshot(connection, account, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool, account

    async def _restore(self, request: Request) -> Response:
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in UPLOAD_TYPES:
            raise ApiError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                f"a snapshot is sent as {SNAPSHOT_MEDIA_TYPE} (or application/octet-stream); "
                f"got {content_type or 'nothing'}",
            )
        await run_in_threadpool(self._check, request, Scope.DELETE)  # before a long upload
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_SNAPSHOT:
                    raise ApiError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"snapshots are limited to {MAX_SNAPSHOT} bytes",
                    )
                spool.write(chunk)
            spool.seek(0)

            def restore(connection: Connection, account: int) -> tuple[int, snapshots.Snapshot]:
                try:
                    return account, snapshots.restore_snapshot(connection, account, spool)
                except snapshots.SnapshotConflict as error:
                    raise ApiError(ErrorCode.CONFLICT, f"{error}; nothing was restored") from None
                except snapshots.SnapshotError as error:
                    raise _bad_snapshot(f"{error}; nothing was restored") from None

            account, restored = await run_in_threadpool(self._write, request, Scope.DELETE, restore)
        payload = {"accountId": account, **restored.to_json()}
        return json_response(orjson.dumps({"restored": payload}))


async def _optional_object(request: Request) -> dict[str, Any]:
    """The JSON object of the body; ``{}`` without a body."""
    if not await request.body():
        return {}
    return await json_object(request)


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


def data_routes(engine: Engine) -> list[BaseRoute]:
    """The sandbox's data endpoints."""
    return DataEndpoints(engine).routes()
