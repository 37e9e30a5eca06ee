"""Atomic operations (an extension; docs/extensions.md): a list of add, update and remove
operations run in order on the request's one connection, all or nothing.

Each operation is what the single-resource endpoint would do (``crud.create``, ``crud.update``,
``crud.delete``: the same checks, 409 pairs, computed dates, cascades, ``updatedAt``,
``remoteIdMap``), in the transaction of the whole request, so the first failure rolls every
earlier operation back. Operations arrive validated (``http/atomic.py``); what only the run
knows is the id behind a ``lid``, filled in from the adds that ran before.

The batch works in one account: its lock is taken once, before the first operation, so two
batches of one account run one after the other and never deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.resources import ResourceSpec
from optiply.server.auth.principal import Scope
from optiply.server.service import crud
from optiply.server.service.crud import Context
from optiply.server.service.errors import DomainError
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection

OPERATIONS_POINTER = "/atomic:operations"


class Op(StrEnum):
    """The operation codes of the extension."""

    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"

    @property
    def method(self) -> str:
        """The HTTP method of the single-resource endpoint that does the same."""
        return {Op.ADD: "POST", Op.UPDATE: "PATCH", Op.REMOVE: "DELETE"}[self]

    @property
    def scope(self) -> Scope:
        """The scope a token needs for it (that of its method)."""
        return Scope.DELETE if self is Op.REMOVE else Scope.WRITE


@dataclass(frozen=True, slots=True)
class Target:
    """A row: by ``id``, or by the ``lid`` an earlier add of the request gave it."""

    id: int | None = None
    lid: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One validated operation.

    ``values`` are the validated attributes (``lines`` the embedded ones); ``linked`` names the
    attributes whose value is the id of a ``lid`` (set at run time) and ``pointers`` where a
    problem with an attribute given as a relationship points, within the operation.
    """

    op: Op
    spec: ResourceSpec
    target: Target = Target()
    lid: str | None = None  # the local id an add gives its row
    values: Mapping[str, Any] = field(default_factory=dict)
    lines: Sequence[Mapping[str, Any]] = ()
    linked: Mapping[str, str] = field(default_factory=dict)
    pointers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation did: the row (None for a remove) and its rendered attributes."""

    spec: ResourceSpec
    id: int | None = None
    attributes: str | None = None
    line_ids: tuple[int, ...] | None = None  # an add with embedded lines: their ids


def scopes(operations: Sequence[Operation]) -> frozenset[Scope]:
    """The scopes a token needs for ``operations``."""
    return frozenset(operation.op.scope for operation in operations)


def run(connection: Connection, context: Context, operations: Sequence[Operation]) -> list[Outcome]:
    """Run ``operations`` in order; their outcomes, in the same order.

    Raises:
        DomainError: the first operation that failed, every pointer within it
            (``/atomic:operations/N/...``); nothing of the batch stays written.
    """
    account_id = context.scope.single()
    if account_id is None:
        raise DomainError(
            Problem(
                ErrorCode.ACCOUNT_REQUIRED,
                "this user can reach several accounts: say which one the operations work in "
                "with the accountId query parameter",
                parameter="accountId",
            )
        )
    repository.lock_account(connection, account_id)
    ids: dict[str, int] = {}
    outcomes: list[Outcome] = []
    index = 0
    while index < len(operations):
        group = _adds_together(operations, index)
        if len(group) > 1:
            outcomes.extend(_run_adds(connection, context, index, group, ids))
            index += len(group)
            continue
        operation = operations[index]
        try:
            outcomes.append(_run_one(connection, context, operation, ids))
        except DomainError as error:
            raise within(error, index, operation.pointers) from None
        index += 1
    return outcomes


def _adds_together(operations: Sequence[Operation], start: int) -> Sequence[Operation]:
    """The adds from ``start`` on that can be inserted together: of one type that allows it
    (``crud.insertable_together``), none naming a ``lid``."""
    first = operations[start]
    if not _alone_add(first) or not crud.insertable_together(first.spec):
        return operations[start : start + 1]
    end = start + 1
    while end < len(operations) and operations[end].spec is first.spec:
        if not _alone_add(operations[end]):
            break
        end += 1
    return operations[start:end]


def _alone_add(operation: Operation) -> bool:
    return operation.op is Op.ADD and not operation.linked


def _run_adds(
    connection: Connection,
    context: Context,
    start: int,
    group: Sequence[Operation],
    ids: dict[str, int],
) -> list[Outcome]:
    """Adds of ``_adds_together``, by ``crud.create_together``."""
    spec = group[0].spec
    try:
        created = crud.create_together(
            connection, spec, context, [(op.values, op.lines) for op in group]
        )
    except crud.RowFailed as failed:
        raise within(failed.error, start + failed.index, group[failed.index].pointers) from None
    for operation, made in zip(group, created, strict=True):
        if operation.lid is not None:
            ids[operation.lid] = made.id
    embedded = spec.embedded is not None
    return [
        Outcome(spec, made.id, made.rendered, made.line_ids if embedded else None)
        for made in created
    ]


def within(
    error: DomainError, index: int, pointers: Mapping[str, str] | None = None
) -> DomainError:
    """``error`` with its problems pointing into operation ``index``: a body pointer is
    prefixed with the operation's (``/data/attributes/price`` →
    ``/atomic:operations/3/data/attributes/price``, or ``pointers``' replacement for it); a
    problem without one points at the operation itself.

    >>> problem = Problem(ErrorCode.NOT_FOUND, "Product with id 9 not found")
    >>> within(DomainError(problem), 3).problems[0].pointer
    '/atomic:operations/3'
    """
    prefix = f"{OPERATIONS_POINTER}/{index}"
    pointers = pointers or {}
    moved = [
        replace(
            problem, pointer=prefix + pointers.get(problem.pointer or "", problem.pointer or "")
        )
        for problem in error.problems
    ]
    return DomainError(*moved)


def _run_one(
    connection: Connection, context: Context, operation: Operation, ids: dict[str, int]
) -> Outcome:
    spec = operation.spec
    values = {**operation.values, **{name: ids[lid] for name, lid in operation.linked.items()}}
    if operation.op is Op.ADD:
        created = crud.create(connection, spec, context, values, operation.lines)
        if operation.lid is not None:
            ids[operation.lid] = created.id
        attributes = created.rendered or crud.get_row(connection, spec, context, created.id)
        lines = created.line_ids if spec.embedded is not None else None
        return Outcome(spec, created.id, attributes, lines)
    target = operation.target
    row_id = ids[target.lid] if target.lid is not None else target.id
    assert row_id is not None  # the parser requires an id or a known lid
    if operation.op is Op.UPDATE:
        crud.update(connection, spec, context, row_id, values)
        return Outcome(spec, row_id, crud.get_row(connection, spec, context, row_id))
    crud.delete(connection, spec, context, row_id)
    return Outcome(spec)
