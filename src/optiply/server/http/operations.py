"""``POST /v1/operations``: JSON:API Atomic Operations (an extension; docs/extensions.md).

The request is read as the extension's media type (415 otherwise; 406 when ``Accept`` refuses
the answer's), parsed into validated operations (``http/atomic.py``) and run in one
transaction (``service/operations.py``), through the same transaction helper as every write
of ``/v1`` (``http/transaction.py``): sandbox controls and the journal see one request, the
token needs the scope of every operation (write for add and update, delete for remove), and
an ``Idempotency-Key`` covers the whole batch. The answer is ``200`` with ``atomic:results``,
one result per operation, in order: the row as the single-resource endpoint renders it
(``meta.orderLineIds`` for an order added with lines), ``{}`` for a remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from optiply.jsonapi.extensions import ATOMIC_MEDIA_TYPE, OPERATIONS_PATH, Extension
from optiply.server.auth.principal import Scope
from optiply.server.http.atomic import parse_operations
from optiply.server.http.extensions import document_member
from optiply.server.http.headers import API_HEADERS
from optiply.server.http.negotiation import read_atomic_body
from optiply.server.http.serialize import single_document, writer_for
from optiply.server.http.transaction import Transactions
from optiply.server.http.urls import base_url, configured_base
from optiply.server.service import operations
from optiply.server.service.crud import Context
from optiply.server.service.errors import DomainError
from optiply.server.service.operations import Outcome
from optiply.server.settings import Settings
from optiply.server.storage.repository import Connection

_EMPTY = b"{}"


class OperationsEndpoint:
    """``POST /v1/operations`` of one server process."""

    def __init__(
        self, transactions: Transactions, settings: Settings, extensions: tuple[Extension, ...]
    ) -> None:
        self.transactions = transactions
        self.member = document_member(extensions)
        self.public_url = configured_base(settings.public_url)

    def routes(self) -> list[Route]:
        """The route of the endpoint."""
        return [Route(OPERATIONS_PATH, self.post, methods=["POST"])]

    async def post(self, request: Request) -> Response:
        """Run the request's operations, all or nothing; their results in order."""
        body = await read_atomic_body(request)
        refusal: DomainError | None
        try:
            parsed = parse_operations(body)
        except DomainError as error:  # answered inside the transaction: a key keeps it
            parsed, refusal, scopes = [], error, frozenset({Scope.WRITE})
        else:
            refusal, scopes = None, operations.scopes(parsed)

        def act(connection: Connection, context: Context) -> Response:
            if refusal is not None:
                raise refusal
            outcomes = operations.run(connection, context, parsed)
            return self._results(request, outcomes)

        return await self.transactions.write(request, body, act, scopes)

    def _results(self, request: Request, outcomes: Sequence[Outcome]) -> Response:
        base = base_url(request, self.public_url)
        results = []
        for outcome in outcomes:
            if outcome.id is None or outcome.attributes is None:
                results.append(_EMPTY)
                continue
            resource = writer_for(outcome.spec, base).resource(outcome.id, outcome.attributes)
            meta = None
            if outcome.line_ids is not None:  # as POST answers an order (Q17)
                meta = {"orderLineIds": [str(line_id) for line_id in outcome.line_ids]}
            results.append(single_document(resource, meta))
        document = b'{"atomic:results":[' + b",".join(results) + b"]" + self.member + b"}"
        response = Response(document, 200, media_type=ATOMIC_MEDIA_TYPE)
        response.raw_headers.extend(API_HEADERS)
        return response
