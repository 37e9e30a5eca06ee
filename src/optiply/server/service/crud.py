"""Create, read, update and delete for every resource, driven by its ResourceSpec.

Input values arrive parsed and checked attribute by attribute (``http/deserialize.py``); this
module applies the rules that need the database: the owning account, references that must exist
in that account, uniqueness, provenance and server-set values. The caller owns the transaction,
so a failure anywhere leaves nothing written.

Every write takes its account's lock first (``repository.lock_account``, which also bumps the
account's data version), and only then reads what it checks: the writes of one account are
serialised, so a reference check and the insert that relies on it cannot interleave with a
delete's cascade (a child is either created before the delete, and cascades with it, or finds
its parent gone: 404), and row locks are always taken in one order (no deadlocks).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.query import ListQuery
from optiply.resources import Access, Attribute, Kind, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.auth.principal import Principal
from optiply.server.service import cascades, conflicts, references, rules
from optiply.server.service import lines as order_lines
from optiply.server.service.errors import DomainError
from optiply.server.service.tenancy import AccountScope, account_for_create
from optiply.server.storage import listing, repository
from optiply.server.storage.listing import Listing
from optiply.server.storage.repository import Connection

PUBLIC_API_KEY = "publicApi"  # the remoteIdMap key without a couplingId (Q13)
ATTRIBUTES = "/data/attributes/"


@dataclass(frozen=True, slots=True)
class Context:
    """Who asks, in which accounts, for which coupling, at what time."""

    principal: Principal
    scope: AccountScope
    coupling_id: str | None
    now: datetime


@dataclass(frozen=True, slots=True)
class Created:
    """The id of a created row and of its embedded lines, in input order."""

    id: int
    line_ids: tuple[int, ...] = ()
    rendered: str | None = None  # the attributes JSON, when still current


def not_found(spec: ResourceSpec, row_id: int | str) -> DomainError:
    """The error for a row that does not exist (or is not visible)."""
    return DomainError(Problem(ErrorCode.NOT_FOUND, f"{spec.label} with id {row_id} not found"))


def list_rows(
    connection: Connection, spec: ResourceSpec, context: Context, query: ListQuery
) -> Listing:
    """A page of visible rows and the total count."""
    scope = context.scope
    return listing.list_page(connection, spec, scope.account_ids, query, versions=scope.versions)


def get_row(connection: Connection, spec: ResourceSpec, context: Context, row_id: int) -> str:
    """The rendered attributes of one visible row."""
    rendered = repository.render_visible(connection, spec, row_id, context.scope.account_ids)
    if rendered is None:
        raise not_found(spec, row_id)
    return rendered


def related_to_one(
    connection: Connection, spec: ResourceSpec, context: Context, row_id: int, attribute: str
) -> tuple[ResourceSpec, int | None]:
    """The spec and id of the row a to-one relationship points at (None when unset)."""
    row = repository.find(connection, spec, row_id, context.scope.account_ids)
    if row is None:
        raise not_found(spec, row_id)
    reference = spec.attribute(attribute)
    assert reference is not None and reference.references is not None
    target = get_spec(reference.references)
    target_id = row[reference.column]
    if target_id is None or not repository.find(
        connection, target, target_id, context.scope.account_ids
    ):
        return target, None
    return target, int(target_id)


def related_to_many(
    connection: Connection,
    spec: ResourceSpec,
    context: Context,
    row_id: int,
    target: ResourceSpec,
    attribute: str,
    query: ListQuery,
) -> Listing:
    """A page of the ``target`` rows whose ``attribute`` points at row ``row_id``."""
    if repository.find(connection, spec, row_id, context.scope.account_ids) is None:
        raise not_found(spec, row_id)
    column = get_attribute(target, attribute).column
    scope = context.scope
    return listing.list_page(
        connection, target, scope.account_ids, query, (column, row_id), scope.versions
    )


def create(
    connection: Connection,
    spec: ResourceSpec,
    context: Context,
    values: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] = (),
) -> Created:
    """Insert one row (and its embedded lines) after the account, reference and pair checks."""
    row = prepare(connection, spec, context, values)
    try:
        row_id, rendered = repository.insert_rendered(connection, spec, row)
    except repository.UniqueViolation:
        raise conflicts.raced(spec, row) from None
    row["id"] = row_id
    changed = rules.after_insert(connection, spec, row, context.now)
    line_ids = order_lines.create_lines(
        connection, spec, _row_maker(context), {**row, "id": row_id}, lines
    )
    return Created(row_id, line_ids, None if changed else rendered)


def prepare(
    connection: Connection, spec: ResourceSpec, context: Context, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The row ``create`` inserts for ``values``: its account (locked), references, computed
    values and pair checks done; nothing written yet but the lock."""
    account_id = _owning_account(connection, spec, context, values)
    repository.lock_account(connection, account_id)  # the parent is checked again below
    row = _new_row(spec, context, values)
    row["account_id"] = account_id
    if spec.has_account:
        row["account_uuid"] = repository.account_uuid(connection, account_id)
    row.update(references.check(connection, spec, values, account_id))
    rules.before_insert(connection, spec, row)
    conflicts.check(connection, spec, row)
    return row


def insertable_together(spec: ResourceSpec) -> bool:
    """Whether ``create_together`` can insert rows of ``spec`` with one statement and end as
    ``create`` one by one would: no unique pair (a row could clash with one before it), no
    rule after an insert (it could see the rows after it), no parent row to read."""
    return spec.parent is None and not spec.unique and not rules.acts_after_insert(spec)


class RowFailed(Exception):
    """The ``DomainError`` of row ``index`` of a ``create_together``."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


def create_together(
    connection: Connection,
    spec: ResourceSpec,
    context: Context,
    many: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
) -> list[Created]:
    """``create`` of each (values, lines) of ``many`` in turn, for a type
    ``insertable_together``: every row checked first, in order, then the rows with one
    statement per run of rows with the same columns, their lines likewise. Ids come out as
    one by one (each table's in input order).

    Raises:
        RowFailed: the first row that failed, as ``create`` would have raised it.
    """
    rows = []
    for index, (values, _lines) in enumerate(many):
        try:
            rows.append(prepare(connection, spec, context, values))
        except DomainError as error:
            raise RowFailed(index, error) from None
    created = []
    for run in order_lines.same_columns(rows):
        try:
            inserted = repository.insert_rendered_many(connection, spec, run)
        except repository.UniqueViolation:
            raise RowFailed(rows.index(run[0]), conflicts.raced(spec, run[0])) from None
        for row, (row_id, rendered) in zip(run, inserted, strict=True):
            row["id"] = row_id
            created.append(Created(row_id, (), rendered))
    if spec.embedded is None or not any(lines for _values, lines in many):
        return created
    line_spec = get_spec(spec.embedded.target)
    every_line = [line for _values, lines in many for line in lines]
    make = _row_maker(context)
    (account_id,) = {row["account_id"] for row in rows}  # one account: the batch's
    known = references.lookup(connection, line_spec, every_line, account_id)
    line_rows = []
    for index, (row, (_values, given)) in enumerate(zip(rows, many, strict=True)):
        try:
            line_rows.append(order_lines.line_rows(connection, spec, make, row, given, known))
        except DomainError as error:
            raise RowFailed(index, error) from None
    every_row = [line for rows_of_one in line_rows for line in rows_of_one]
    line_ids = iter(order_lines.insert_lines(connection, line_spec, every_row))
    return [
        Created(made.id, tuple(next(line_ids) for _ in made_lines), made.rendered)
        for made, made_lines in zip(created, line_rows, strict=True)
    ]


def update(
    connection: Connection,
    spec: ResourceSpec,
    context: Context,
    row_id: int,
    values: Mapping[str, Any],
) -> None:
    """Apply a partial update: attributes left out stay as they are."""
    current = _locked(connection, spec, context, row_id, for_update=True)
    changes: dict[str, Any] = {}
    for name, value in values.items():
        attribute = get_attribute(spec, name)
        if attribute.stored:
            changes[attribute.column] = value
    if "remoteId" in values:
        changes["remote_id_map"] = remote_id_map(
            current.get("remote_id_map"), context.coupling_id, values["remoteId"]
        )
    changes.update(references.check(connection, spec, values, current.get("account_id", row_id)))
    rules.before_update(spec, current, changes)
    if spec.unique:
        conflicts.check(connection, spec, {**current, **changes}, exclude_id=row_id)
    changes["updated_at"] = context.now
    try:
        repository.update_row(connection, spec, row_id, changes)
    except repository.UniqueViolation:
        raise conflicts.raced(spec, {**current, **changes}) from None
    rules.after_update(connection, spec, current, changes, context.now)


def delete(connection: Connection, spec: ResourceSpec, context: Context, row_id: int) -> None:
    """Soft-delete one visible row and what cascades from it."""
    _locked(connection, spec, context, row_id)
    deleted = cascades.delete_tree(connection, spec, [row_id], context.now)
    rules.after_delete(connection, deleted, context.now)


def _locked(
    connection: Connection,
    spec: ResourceSpec,
    context: Context,
    row_id: int,
    *,
    for_update: bool = False,
) -> dict[str, Any]:
    """Row ``row_id``, read after its account's lock was taken; 404 when it is not visible.

    With one account in scope the lock comes first; otherwise the row names its account (which
    never changes), and is read again once that account is locked.
    """
    accounts = context.scope.account_ids
    single = context.scope.single()
    if single is None:
        found = repository.find(connection, spec, row_id, accounts)
        if found is None:
            raise not_found(spec, row_id)
        single = int(found["account_id"] if "account_id" in found else row_id)
    repository.lock_account(connection, single)
    found = repository.find(connection, spec, row_id, accounts, for_update=for_update)
    if found is None:
        raise not_found(spec, row_id)
    return dict(found)


def get_attribute(spec: ResourceSpec, name: str) -> Attribute:
    """The attribute ``name`` of ``spec``; a KeyError means a registry bug."""
    attribute = spec.attribute(name)
    if attribute is None:
        raise KeyError(f"{spec.type} has no attribute {name}")
    return attribute


def _owning_account(
    connection: Connection, spec: ResourceSpec, context: Context, values: Mapping[str, Any]
) -> int:
    if spec.parent is None:
        return account_for_create(context.principal, context.scope, values.get("accountId"))
    parent_attribute = get_attribute(spec, spec.parent)
    assert parent_attribute.references is not None
    parent_spec = get_spec(parent_attribute.references)
    parent = repository.find(
        connection, parent_spec, values[spec.parent], context.scope.account_ids
    )
    if parent is None:
        raise references.missing(parent_spec, spec.parent, values[spec.parent])
    return int(parent["account_id"])


def _new_row(spec: ResourceSpec, context: Context, values: Mapping[str, Any]) -> dict[str, Any]:
    return new_row(spec, values, now=context.now, coupling_id=context.coupling_id)


def _row_maker(context: Context) -> order_lines.NewRow:
    """``new_row`` for the request of ``context`` (its time and coupling)."""
    return lambda spec, values: _new_row(spec, context, values)


def new_row(
    spec: ResourceSpec,
    values: Mapping[str, Any],
    *,
    now: datetime,
    coupling_id: str | None,
    row_uuid: str | None = None,
    from_public_api: bool = True,
) -> dict[str, Any]:
    """The stored columns a POST makes of validated ``values``: defaults, a uuid (``row_uuid``
    or a random one), ``createdAt``/``updatedAt`` = ``now`` and the provenance columns
    (``remoteIdMap`` from ``remoteId`` under ``coupling_id``, ``createdFromPublicApi``).

    The owning account, the references' uuids and the rules are the caller's.
    """
    row: dict[str, Any] = {}
    for name, column, default in _inputs(spec):
        if name in values:
            row[column] = values[name]
        elif default is not None:
            row[column] = default
    row["uuid"] = row_uuid or str(uuid.uuid4())
    row["created_at"] = row["updated_at"] = now
    if spec.attribute("createdFromPublicApi"):
        row["created_from_public_api"] = from_public_api
    if spec.attribute("remoteIdMap"):
        row["remote_id_map"] = remote_id_map(None, coupling_id, values.get("remoteId"))
    return row


@cache
def _inputs(spec: ResourceSpec) -> tuple[tuple[str, str, Any], ...]:
    """(name, column, default) of the stored attributes a POST may carry (demo shops make
    millions of rows with ``new_row``)."""
    return tuple(
        (attribute.name, attribute.column, attribute.default)
        for attribute in spec.stored
        if attribute.kind is not Kind.ID and attribute.access is not Access.HIDDEN
    )


def remote_id_map(current: Any, coupling_id: str | None, remote_id: Any) -> dict[str, str]:
    """``current`` with ``remote_id`` under the coupling's key (``publicApi`` without one);
    a null ``remote_id`` removes the key (Q13)."""
    mapping = dict(current or {})
    key = coupling_id or PUBLIC_API_KEY
    if remote_id is None:
        mapping.pop(key, None)
    else:
        mapping[key] = str(remote_id)
    return mapping
