"""Unique pairs (§8.3): a second live row with the same pair is a 409, deleted rows don't count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.resources import ResourceSpec, Unique
from optiply.server.service.errors import DomainError
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection


def check(
    connection: Connection,
    spec: ResourceSpec,
    row: Mapping[str, Any],
    exclude_id: int | None = None,
) -> None:
    """Raise a conflict when another live row holds one of ``spec``'s unique pairs of ``row``."""
    for unique in spec.unique:
        attributes = [spec.attribute(name) for name in unique.attributes]
        columns = [a.column for a in attributes if a is not None]
        values = [row.get(column) for column in columns]
        if any(value is None for value in values):
            continue
        pair = dict(zip(columns, values, strict=True))
        if repository.other_live_row(connection, spec, pair, exclude_id) is not None:
            raise conflict(unique, values)


def conflict(unique: Unique, values: Sequence[Any]) -> DomainError:
    """The 409 of a unique pair, e.g. "SupplierProduct with supplierId 3 and productId 7 ..."."""
    described = " and ".join(
        f"{name} {value}" for name, value in zip(unique.attributes, values, strict=True)
    )
    return DomainError(
        Problem(ErrorCode.CONFLICT, f"{unique.label} with {described} already exists")
    )


def raced(spec: ResourceSpec, row: Mapping[str, Any]) -> DomainError:
    """The 409 for a unique index violation found by the database itself."""
    unique = spec.unique[0]
    columns = [spec.attribute(name) for name in unique.attributes]
    return conflict(unique, [row.get(a.column) if a else None for a in columns])
