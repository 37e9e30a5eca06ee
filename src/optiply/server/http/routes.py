"""The /v1 routes: one loop over the registry mounts list, create, read, update, delete and the
relationship endpoints of every resource (§1.2, §4.4, §4.5).

Handlers are ``async`` and run their (short, synchronous) database work on the event loop thread:
with SQLite a thread pool only adds GIL hand-offs, and one process serves about as fast as its
database allows. Scale out with ``--workers`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from optiply.jsonapi.errors import ErrorCode
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import ListQuery, parse
from optiply.query.cursor import encode
from optiply.resources import REGISTRY, ResourceSpec
from optiply.resources import get as get_spec
from optiply.resources.types import INT64_MAX
from optiply.server.auth.principal import METHOD_SCOPES
from optiply.server.auth.tokens import AuthError, authenticate
from optiply.server.http.deserialize import parse_document
from optiply.server.http.errors import ApiError
from optiply.server.http.headers import API_HEADERS
from optiply.server.http.negotiation import read_json_body
from optiply.server.http.pagination import page_links
from optiply.server.http.serialize import (
    ResourceWriter,
    identifiers_document,
    list_document,
    single_document,
    writer_for,
)
from optiply.server.http.urls import base_url, configured_base
from optiply.server.sandbox.controls import Controls
from optiply.server.sandbox.journal import note_of
from optiply.server.service import crud
from optiply.server.service.crud import Context
from optiply.server.service.tenancy import request_scope
from optiply.server.settings import Settings
from optiply.server.storage.repository import Connection, Engine, Listing


def _row_id(request: Request) -> int:
    text = request.path_params["id"]
    digits = text.isascii() and text.isdigit() and len(text) <= 19  # int() caps digits at 4300
    if not digits or not 0 < int(text) <= INT64_MAX:
        raise ApiError(
            ErrorCode.INVALID_ID, f"{text!r} is not a valid id: ids are positive integers"
        )
    return int(text)


def _jsonapi(body: bytes, status: int = 200) -> Response:
    response = Response(body, status, media_type=MEDIA_TYPE)
    response.raw_headers.extend(API_HEADERS)  # nosniff, no-store: cheaper than a middleware
    return response


def _no_content() -> Response:
    response = Response(status_code=204)
    response.raw_headers.extend(API_HEADERS)
    return response


class ResourceEndpoints:
    """The endpoints of one resource type."""

    def __init__(
        self, spec: ResourceSpec, engine: Engine, settings: Settings, controls: Controls
    ) -> None:
        self.spec = spec
        self.engine = engine
        self.controls = controls
        # Reads need no transaction: autocommit saves PostgreSQL a BEGIN/COMMIT round trip.
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.public_url = configured_base(settings.public_url)

    def routes(self) -> list[BaseRoute]:
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

    @contextmanager
    def _transaction(self, request: Request) -> Iterator[tuple[Connection, Context]]:
        now = datetime.now(UTC)
        self.controls.enter(request, now)  # sandbox: rate limits and fault rules
        opened = self.reader.connect() if request.method == "GET" else self.engine.begin()
        with opened as connection:
            principal = authenticate(connection, request.headers.get("authorization"), now=now)
            note = note_of(request.scope)
            if note is not None:  # the journal is on: say who this request is for
                note.account_ids = principal.account_ids
                note.username, note.client_id = principal.username, principal.client_id
            if METHOD_SCOPES[request.method] not in principal.scopes:
                raise AuthError(
                    403,
                    "insufficient_scope",
                    f"Insufficient scope for this resource: {request.method} needs "
                    f"the {METHOD_SCOPES[request.method].value} scope",
                )
            params = request.query_params
            scope = request_scope(principal, params.get("accountId"))
            if note is not None:
                note.account_ids = scope.account_ids
            self.controls.remember(request, scope.account_ids)
            context = Context(principal, scope, params.get("couplingId") or None, now)
            yield connection, context

    def _base(self, request: Request) -> str:
        """The base of absolute links: the configured public URL, else scheme and Host."""
        return base_url(request, self.public_url)

    def _writer(self, request: Request, spec: ResourceSpec | None = None) -> ResourceWriter:
        base = self._base(request)
        return writer_for(spec or self.spec, base)

    def _list(
        self, request: Request, spec: ResourceSpec, listing: Listing, query: ListQuery
    ) -> Response:
        base = self._base(request)
        cursor = None if listing.last is None else encode(listing.last, listing.total)
        links = page_links(
            base + request.url.path,
            request.query_params.multi_items(),
            query.page,
            listing.total,
            more=listing.more,
            cursor=cursor,
        )
        resources = self._writer(request, spec).resources(listing.rows)
        return _jsonapi(list_document(resources, links, listing.total))

    async def collection(self, request: Request) -> Response:
        """GET a page of the collection, or POST a new resource."""
        spec = self.spec
        if request.method == "POST":
            body = await read_json_body(request)
            with self._transaction(request) as (connection, context):
                document = parse_document(body, spec)
                created = crud.create(connection, spec, context, document.values, document.lines)
                attributes = created.rendered or crud.get_row(connection, spec, context, created.id)
            # Extension (Q17): the ids of embedded lines, in input order.
            meta = None
            if spec.embedded is not None:
                meta = {"orderLineIds": [str(i) for i in created.line_ids]}
            resource = self._writer(request).resource(created.id, attributes)
            return _jsonapi(single_document(resource, meta), 201)
        with self._transaction(request) as (connection, context):
            query = parse(request.query_params.multi_items(), spec)
            listing = crud.list_rows(connection, spec, context, query)
        return self._list(request, spec, listing, query)

    async def item(self, request: Request) -> Response:
        """GET, PATCH or DELETE one resource."""
        spec = self.spec
        body = await read_json_body(request) if request.method == "PATCH" else b""
        with self._transaction(request) as (connection, context):
            row_id = _row_id(request)
            if request.method == "DELETE":
                crud.delete(connection, spec, context, row_id)
                return _no_content()
            if request.method == "PATCH":
                document = parse_document(body, spec, row_id=row_id)
                crud.update(connection, spec, context, row_id, document.values)
            attributes = crud.get_row(connection, spec, context, row_id)
        return _jsonapi(single_document(self._writer(request).resource(row_id, attributes)))

    async def related(self, request: Request) -> Response:
        """GET the resource(s) a relationship points at (§4.4)."""
        found = self._follow(request, with_row=True)
        target = found.target
        if found.listing is not None:
            assert found.query is not None
            return self._list(request, target, found.listing, found.query)
        if found.target_id is None or found.attributes is None:
            return _jsonapi(b'{"data":null}')
        writer = self._writer(request, target)
        return _jsonapi(single_document(writer.resource(found.target_id, found.attributes)))

    async def relationship(self, request: Request) -> Response:
        """GET the resource identifiers of a relationship."""
        found = self._follow(request, with_row=False)
        if found.listing is not None:
            ids = [row_id for row_id, _ in found.listing.rows]
            return _jsonapi(identifiers_document(found.target.type, ids))
        return _jsonapi(identifiers_document(found.target.type, found.target_id))

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
                query = parse(request.query_params.multi_items(), target)
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


def api_routes(engine: Engine, settings: Settings, controls: Controls) -> list[BaseRoute]:
    """Every /v1 route, derived from the registry."""
    return [
        route
        for spec in REGISTRY
        for route in ResourceEndpoints(spec, engine, settings, controls).routes()
    ]
