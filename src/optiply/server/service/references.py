"""References: a new or changed row's references must name live rows of its account; their
uuids are stored beside the ids (``*_uuid`` columns). Checked one row at a time or, for an
order's lines or a run of creates, with one query per referenced type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.service.errors import DomainError
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection

ATTRIBUTES = "/data/attributes/"


def check(
    connection: Connection,
    spec: ResourceSpec,
    values: Mapping[str, Any],
    account_id: int,
    prefix: str = ATTRIBUTES,
) -> dict[str, Any]:
    """Check that referenced rows exist in ``account_id``; returns their ``*_uuid`` columns."""
    return check_many(connection, spec, [values], account_id, [prefix])[0]


def check_many(
    connection: Connection,
    spec: ResourceSpec,
    many: Sequence[Mapping[str, Any]],
    account_id: int,
    prefixes: Sequence[str],
) -> list[dict[str, Any]]:
    """``check`` of several rows (an order's lines) with one query per referenced type;
    every missing reference is reported, each at its row's ``prefixes`` entry."""
    return resolve(spec, many, lookup(connection, spec, many, account_id), prefixes)


Known = dict[str, dict[int, str]]
"""Per reference attribute, the uuids of the rows it names that exist, by id."""


def lookup(
    connection: Connection, spec: ResourceSpec, many: Sequence[Mapping[str, Any]], account_id: int
) -> Known:
    """The rows of ``account_id`` that the references of ``many`` name, one query per
    reference attribute."""
    known: Known = {}
    for attribute in spec.references:
        if attribute.name == "accountId" or not any(attribute.name in v for v in many):
            continue
        assert attribute.references is not None
        ids = {values[attribute.name] for values in many if attribute.name in values} - {None}
        target = get_spec(attribute.references)
        known[attribute.name] = repository.find_uuids(connection, target, ids, account_id)
    return known


def resolve(
    spec: ResourceSpec, many: Sequence[Mapping[str, Any]], known: Known, prefixes: Sequence[str]
) -> list[dict[str, Any]]:
    """The ``*_uuid`` columns of each of ``many`` from ``known``; a DomainError naming every
    reference that is not there."""
    found: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for values, prefix in zip(many, prefixes, strict=True):
        columns: dict[str, Any] = {}
        for attribute in spec.references:
            if attribute.name not in known or attribute.name not in values:
                continue
            value = values[attribute.name]
            uuid_column = attribute.column.removesuffix("_id") + "_uuid"
            if value is None:
                columns[uuid_column] = None
            elif value in known[attribute.name]:
                columns[uuid_column] = known[attribute.name][value]
            else:
                assert attribute.references is not None
                target = get_spec(attribute.references)
                problems.extend(missing(target, attribute.name, value, prefix).problems)
        found.append(columns)
    if problems:
        raise DomainError(*problems)
    return found


def missing(
    target: ResourceSpec, attribute: str, value: Any, pointer_base: str = ATTRIBUTES
) -> DomainError:
    return DomainError(
        Problem(
            ErrorCode.REFERENCE_NOT_FOUND,
            f"{target.label} with id {value} not found",
            pointer=pointer_base + attribute,
        )
    )
