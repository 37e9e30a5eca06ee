"""The /v1 routes: one loop over the registry mounts list, create, read, update, delete and the
relationship endpoints of every resource (§1.2, §4.4, §4.5).

Handlers are ``async`` and run their (short, synchronous) database work on the event loop thread:
with SQLite a thread pool only adds GIL hand-offs, and one process serves about as fast as its
database allows. Scale out with ``--workers`` on PostgreSQL.

Unless the server runs with ``--no-extensions``, writes honour ``Idempotency-Key``
(``http/idempotency.py``), lists take ``filter[remoteId]`` and ``filter[deletedAt]`` (deleted
rows, each with ``meta.deletedAt``), and every document ends with the ``jsonapi`` member that
advertises them (``http/extensions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from optiply.jsonapi.errors import ErrorCode
from optiply.jsonapi.extensions import ATOMIC, DELETED_ROWS, IDEMPOTENCY, REMOTE_ID, Extension
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import ListQuery, parse
from optiply.query.cursor import encode
from optiply.resources import REGISTRY, ResourceSpec
from optiply.resources import get as get_spec
from optiply.resources.types import INT64_MAX
from optiply.server.http import readahead
from optiply.server.http.deserialize import parse_document
from optiply.server.http.dispatch import ByType
from optiply.server.http.errors import ApiError
from optiply.server.http.extensions import document_member, offered, with_member
from optiply.server.http.headers import API_HEADERS
from optiply.server.http.idempotency import Idempotency
from optiply.server.http.negotiation import read_json_body
from optiply.server.http.operations import OperationsEndpoint
from optiply.server.http.pagination import page_links
from optiply.server.http.serialize import (
    ResourceWriter,
    identifiers_document,
    list_document,
    single_document,
    writer_for,
)
from optiply.server.http.transaction import Transactions
from optiply.server.http.urls import base_url, configured_base
from optiply.server.sandbox.controls import Controls
from optiply.server.sandbox.journal import note_of
from optiply.server.service import crud
from optiply.server.service.crud import PUBLIC_API_KEY, Context
from optiply.server.service.tenancy import request_scope
from optiply.server.settings import Settings
from optiply.server.storage import caches
from optiply.server.storage.listing import Listing
from optiply.server.storage.repository import Connection, Engine


def _row_id(request: Request) -> int:
    text = request.path_params["id"]
    digits = text.isascii() and text.isdigit() and len(text) <= 19  # int() caps digits at 4300
    if not digits or not 0 < int(text) <= INT64_MAX:
        raise ApiError(
            ErrorCode.INVALID_ID, f"{text!r} is not a valid id: ids are positive integers"
        )
    return int(text)


def _jsonapi(body: bytes, status: int = 200, member: bytes = b"") -> Response:
    response = Response(with_member(body, member), status, media_type=MEDIA_TYPE)
    response.raw_headers.extend(API_HEADERS)  # nosniff, no-store: cheaper than a middleware
    return response


def _no_content() -> Response:
    response = Response(status_code=204)
    response.raw_headers.extend(API_HEADERS)
    return response


class ResourceEndpoints:
    """The endpoints of one resource type."""

    def __init__(
        self,
        spec: ResourceSpec,
        transactions: Transactions,
        settings: Settings,
        extensions: tuple[Extension, ...] = (),
        read_ahead: readahead.ReadAhead | None = None,
    ) -> None:
        self.spec = spec
        self.read_ahead = read_ahead
        self.transactions = transactions
        self._transaction = transactions.open
        self.member = document_member(extensions)  # the jsonapi member ending each document
        self.remote_ids = REMOTE_ID in extensions
        self.deleted_rows = DELETED_ROWS in extensions
        self.public_url = configured_base(settings.public_url)

    def routes(self) -> list[Route]:
        """The Starlette routes of this resource."""
        base = f"/v1/{self.spec.type}"
        methods = self.spec.methods
        return [
            Route(base, self.collection, methods=sorted({"GET"} | (methods & {"POST"}))),
            Route(
                base + "/{id}",
                self.item,
                methods=sorted({"GET"} | (methods & {"PATCH", "DELETE"})),
            ),
            Route(base + "/{id}/relationships/{name}", self.relationship, methods=["GET"]),
            Route(base + "/{id}/{name}", self.related, methods=["GET"]),
        ]

    def _query(self, request: Request, spec: ResourceSpec, context: Context) -> ListQuery:
        """The parsed list query; ``filter[remoteId]`` and ``filter[deletedAt]`` only where
        their extensions are offered."""
        key = (context.coupling_id or PUBLIC_API_KEY) if self.remote_ids else None
        items = request.query_params.multi_items()
        return parse(items, spec, remote_id_key=key, deleted_rows=self.deleted_rows)

    def _base(self, request: Request) -> str:
        """The base of absolute links: the configured public URL, else scheme and Host."""
        return base_url(request, self.public_url)

    def _writer(self, request: Request, spec: ResourceSpec | None = None) -> ResourceWriter:
        base = self._base(request)
        return writer_for(spec or self.spec, base)

    def _list(
        self, request: Request, spec: ResourceSpec, listing: Listing, query: ListQuery
    ) -> Response:
        return _jsonapi(self._page(request, spec, listing, query)[0])

    def _page(
        self, request: Request, spec: ResourceSpec, listing: Listing, query: ListQuery
    ) -> tuple[bytes, str | None]:
        """A list document's bytes, and its next link."""
        base = self._base(request)
        cursor = None if listing.last is None else encode(listing.last, listing.total)
        links = page_links(
            base + request.scope["path"],
            request.query_params.multi_items(),
            query.page,
            listing.total,
            more=listing.more,
            cursor=cursor,
        )
        resources = self._writer(request, spec).resources(listing.rows, listing.deleted_at)
        document = list_document(resources, links, listing.total, self.member)
        return document, links["next"]

    async def collection(self, request: Request) -> Response:
        """GET a page of the collection, or POST a new resource."""
        spec = self.spec
        if request.method == "POST":
            body = await read_json_body(request)

            def create(connection: Connection, context: Context) -> Response:
                document = parse_document(body, spec)
                created = crud.create(connection, spec, context, document.values, document.lines)
                attributes = created.rendered or crud.get_row(connection, spec, context, created.id)
                # Extension (Q17): the ids of embedded lines, in input order.
                meta = None
                if spec.embedded is not None:
                    meta = {"orderLineIds": [str(i) for i in created.line_ids]}
                resource = self._writer(request).resource(created.id, attributes)
                return _jsonapi(single_document(resource, meta), 201, self.member)

            return await self.transactions.write(request, body, create)
        with self._transaction(request) as (connection, context):
            key = self._page_key(request, connection, context)
            page = None if key is None else caches.PAGES.get(key)
            if page is None:
                query = self._query(request, spec, context)
                listing = crud.list_rows(connection, spec, context, query)
        if page is not None:
            note = note_of(request.scope)
            if note is not None:  # the journal keeps the cached bytes, stored once per key
                note.body_key = key
            response = _jsonapi(page)  # the member is in the kept bytes already
            made = None if self.read_ahead is None else self.read_ahead.made(key)
            response.raw_headers.append(readahead.HIT if made is None else readahead.AHEAD)
            if made is not None and made[0] is not None:
                self._read_ahead(response, request, context, made[0])
            return response
        body, following = self._page(request, spec, listing, query)
        response = _jsonapi(body)
        if key is not None:
            caches.PAGES.put(key, body)
            if following is not None:
                self._read_ahead(response, request, context, following)
        return response

    def _read_ahead(
        self, response: Response, request: Request, context: Context, link: str
    ) -> None:
        """Make the page of ``link`` (this one's next) once ``response`` is sent and the
        process idle (``http/readahead.py``), for the same caller. Nothing but the closure is
        made on the request's time."""
        if self.read_ahead is None:
            return
        principal = context.principal

        def make() -> readahead.Made | None:
            base = self._base(request)
            if not link.startswith(base + "/"):
                return None
            path, _, query_string = link[len(base) :].partition("?")
            scope = dict(request.scope)
            scope.update(path=path, raw_path=path.encode(), query_string=query_string.encode())
            scope["state"] = {}  # no journal note: this is no request
            ahead = Request(scope)
            # Under the versions this request read with its token, before the rows are read
            # now: the page is at least as new as its key says (``storage/caches.py``).
            params = ahead.query_params
            accounts = request_scope(principal, params.get("accountId"))
            made = Context(principal, accounts, params.get("couplingId") or None, datetime.now(UTC))
            with self.transactions.reader.connect() as connection:
                key = self._page_key(ahead, connection, made)
                if key is None or key in caches.PAGES:
                    return None
                query = self._query(ahead, self.spec, made)
                listing = crud.list_rows(connection, self.spec, made, query)
            body, following = self._page(ahead, self.spec, listing, query)
            caches.PAGES.put(key, body)
            return key, following

        self.read_ahead.after(response, make)

    def _page_key(
        self, request: Request, connection: Connection, context: Context
    ) -> tuple[object, ...] | None:
        """The key of this request's page in ``caches.PAGES``: everything the answer depends
        on, the accounts' data versions included (read with the token in this request, so a
        write committed by any process changes the key); None when the versions are unknown."""
        scope = context.scope
        if len(scope.versions) != len(scope.account_ids):
            return None
        database = str(connection.engine.url)
        path, query = request.scope["path"], request.scope["query_string"]
        if b"%5" in query:  # brackets escaped or not read the same (``requests`` escapes them)
            query = query.replace(b"%5B", b"[").replace(b"%5D", b"]")
            query = query.replace(b"%5b", b"[").replace(b"%5d", b"]")
        base = self._base(request)
        return (database, self.spec.type, base, path, query, scope.account_ids, scope.versions)

    async def item(self, request: Request) -> Response:
        """GET, PATCH or DELETE one resource."""
        spec = self.spec
        if request.method in ("GET", "HEAD"):
            with self._transaction(request) as (connection, context):
                row_id = _row_id(request)
                attributes = crud.get_row(connection, spec, context, row_id)
            return self._one(request, row_id, attributes)
        body = await read_json_body(request) if request.method == "PATCH" else b""

        def change(connection: Connection, context: Context) -> Response:
            row_id = _row_id(request)
            if request.method == "DELETE":
                crud.delete(connection, spec, context, row_id)
                return _no_content()
            document = parse_document(body, spec, row_id=row_id)
            crud.update(connection, spec, context, row_id, document.values)
            return self._one(request, row_id, crud.get_row(connection, spec, context, row_id))

        return await self.transactions.write(request, body, change)

    def _one(self, request: Request, row_id: int, attributes: str) -> Response:
        resource = self._writer(request).resource(row_id, attributes)
        return _jsonapi(single_document(resource), member=self.member)

    async def related(self, request: Request) -> Response:
        """GET the resource(s) a relationship points at (§4.4)."""
        found = self._follow(request, with_row=True)
        target = found.target
        if found.listing is not None:
            assert found.query is not None
            return self._list(request, target, found.listing, found.query)
        if found.target_id is None or found.attributes is None:
            return _jsonapi(b'{"data":null}', member=self.member)
        writer = self._writer(request, target)
        resource = writer.resource(found.target_id, found.attributes)
        return _jsonapi(single_document(resource), member=self.member)

    async def relationship(self, request: Request) -> Response:
        """GET the resource identifiers of a relationship."""
        found = self._follow(request, with_row=False)
        if found.listing is not None:
            ids = [row_id for row_id, _ in found.listing.rows]
            document = identifiers_document(found.target.type, ids, found.listing.deleted_at)
            return _jsonapi(document, member=self.member)
        return _jsonapi(
            identifiers_document(found.target.type, found.target_id), member=self.member
        )

    def _follow(self, request: Request, *, with_row: bool) -> _Followed:
        """What the path's relationship of the path's row points at, read in one transaction:
        a page of rows (to-many, the list parameters applied) or one id (to-one; with its
        rendered attributes when ``with_row``). An unknown relationship is 404."""
        spec = self.spec
        relationship = spec.relationship(request.path_params["name"])
        if relationship is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no such relationship")
        target = get_spec(relationship.target)
        with self._transaction(request) as (connection, context):
            row_id = _row_id(request)
            if relationship.to_many:
                query = self._query(request, target, context)
                listing = crud.related_to_many(
                    connection, spec, context, row_id, target, relationship.attribute, query
                )
                return _Followed(target, query=query, listing=listing)
            _, target_id = crud.related_to_one(
                connection, spec, context, row_id, relationship.attribute
            )
            attributes = None
            if with_row and target_id is not None:
                attributes = crud.get_row(connection, target, context, target_id)
        return _Followed(target, target_id=target_id, attributes=attributes)


@dataclass(frozen=True, slots=True)
class _Followed:
    """A relationship followed: ``listing`` (and its ``query``) for a to-many one, else
    ``target_id`` (None: no related row) and, when asked for, its ``attributes``."""

    target: ResourceSpec
    query: ListQuery | None = None
    listing: Listing | None = None
    target_id: int | None = None
    attributes: str | None = None


def api_routes(
    engine: Engine,
    settings: Settings,
    controls: Controls,
    read_ahead: readahead.ReadAhead | None = None,
) -> list[BaseRoute]:
    """Every /v1 route of a resource, derived from the registry, with the extensions the
    settings offer; list walks read ahead with ``read_ahead``."""
    extensions = offered(settings)
    idempotency = None
    if IDEMPOTENCY in extensions:
        idempotency = Idempotency(engine, settings.idempotency_ttl)
    transactions = Transactions(engine, controls, idempotency)
    routes: list[Route] = []
    if ATOMIC in extensions:  # "operations" is no resource type
        routes.extend(OperationsEndpoint(transactions, settings, extensions).routes())
    for spec in REGISTRY:
        endpoints = ResourceEndpoints(spec, transactions, settings, extensions, read_ahead)
        routes.extend(endpoints.routes())
    return [ByType("/v1/", routes)]
