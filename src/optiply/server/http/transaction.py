"""The transaction of one ``/v1`` request, shared by the resource endpoints and atomic
operations: sandbox controls, the token, the scopes, the account scope and the journal's note,
then the work, committed on a normal exit; writes under their ``Idempotency-Key`` when the
extension is offered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from optiply.server.auth.principal import METHOD_SCOPES, Scope
from optiply.server.auth.tokens import AuthError, authenticate
from optiply.server.http.idempotency import Idempotency, read_key
from optiply.server.sandbox.controls import Controls
from optiply.server.sandbox.journal import note_of
from optiply.server.service.crud import Context
from optiply.server.service.tenancy import request_scope
from optiply.server.storage.engine import reader
from optiply.server.storage.repository import Connection, Engine

Write = Callable[[Connection, Context], Response]
"""A write in the request's transaction; its answer."""


class Transactions:
    """Opens the transactions of ``/v1`` requests on one engine."""

    def __init__(
        self, engine: Engine, controls: Controls, idempotency: Idempotency | None = None
    ) -> None:
        self.engine = engine
        self.controls = controls
        self.idempotency = idempotency  # None: Idempotency-Key is ignored (not offered)
        self.reader = reader(engine)  # reads need no transaction

    @contextmanager
    def open(
        self, request: Request, scopes: Collection[Scope] | None = None
    ) -> Iterator[tuple[Connection, Context]]:
        """The request's connection (a transaction unless GET) and context.

        Args:
            request: The request; its method decides the scope needed unless ``scopes`` does.
            scopes: The scopes the token must hold (default: the method's).

        Raises:
            AuthError: 401 for a bad token, 403 for a missing scope.
        """
        now = datetime.now(UTC)
        self.controls.enter(request, now)  # sandbox: rate limits and fault rules
        opened = self.reader.connect() if request.method == "GET" else self.engine.begin()
        with opened as connection:
            principal = authenticate(connection, request.headers.get("authorization"), now=now)
            note = note_of(request.scope)
            if note is not None:  # the journal is on: say who this request is for
                note.account_ids = principal.account_ids
                note.username, note.client_id = principal.username, principal.client_id
            needed = sorted(scopes or (METHOD_SCOPES[request.method],))
            missing = [scope for scope in needed if scope not in principal.scopes]
            if missing:
                what = f"{request.method} needs" if scopes is None else "these operations need"
                raise AuthError(
                    403,
                    "insufficient_scope",
                    f"Insufficient scope for this resource: {what} the {missing[0].value} scope",
                )
            params = request.query_params
            scope = request_scope(principal, params.get("accountId"))
            if note is not None:
                note.account_ids = scope.account_ids
            self.controls.remember(request, scope.account_ids)
            context = Context(principal, scope, params.get("couplingId") or None, now)
            yield connection, context

    async def write(
        self,
        request: Request,
        body: bytes,
        write: Write,
        scopes: Collection[Scope] | None = None,
    ) -> Response:
        """Run ``write`` in the request's transaction, under its Idempotency-Key if it has one
        (and the extension is offered)."""
        key = read_key(request) if self.idempotency is not None else None
        if key is None or self.idempotency is None:
            with self.open(request, scopes) as (connection, context):
                return write(connection, context)
        transaction: Callable[[Request], AbstractContextManager[tuple[Connection, Context]]]
        transaction = partial(self.open, scopes=scopes)
        return await self.idempotency.write(request, key, body, transaction, write)
