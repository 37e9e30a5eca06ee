"""An order's embedded lines (``orderLines`` of a sell or buy order): their rows made from the
inserted order, their references resolved, inserted in as few statements as their columns
allow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.service import references, rules
from optiply.server.service.references import ATTRIBUTES
from optiply.server.storage import repository
from optiply.server.storage.repository import Connection

NewRow = Callable[[ResourceSpec, Mapping[str, Any]], dict[str, Any]]
"""The stored columns a POST makes of a line's values (``crud.new_row`` for the request)."""


def create_lines(
    connection: Connection,
    spec: ResourceSpec,
    new_row: NewRow,
    parent: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
) -> tuple[int, ...]:
    """Insert the embedded ``lines`` of ``parent`` (an inserted order, with its id); their ids
    in line order."""
    if not lines or spec.embedded is None:
        return ()
    line_spec = get_spec(spec.embedded.target)
    known = references.lookup(connection, line_spec, lines, parent["account_id"])
    rows = line_rows(connection, spec, new_row, parent, lines, known)
    return tuple(insert_lines(connection, line_spec, rows))


def line_rows(
    connection: Connection,
    spec: ResourceSpec,
    new_row: NewRow,
    parent: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    known: references.Known,
) -> list[dict[str, Any]]:
    """The rows of the embedded ``lines`` of ``parent`` (an inserted order), references
    resolved from ``known`` (every missing one reported)."""
    assert spec.embedded is not None
    line_spec = get_spec(spec.embedded.target)
    parent_attribute = line_spec.attribute(spec.embedded.parent_attribute)
    assert parent_attribute is not None  # the registry's embedding names it
    parent_column = parent_attribute.column
    base = f"{ATTRIBUTES}{spec.embedded.attribute}/"
    prefixes = [f"{base}{index}/" for index in range(len(lines))]
    rows = []
    resolved = references.resolve(line_spec, lines, known, prefixes)
    for line, found in zip(lines, resolved, strict=True):
        row = new_row(line_spec, line)
        row[parent_column] = parent["id"]
        row[parent_column.removesuffix("_id") + "_uuid"] = parent["uuid"]
        row["account_id"] = parent["account_id"]
        row.update(found)
        rules.before_insert(connection, line_spec, row, parent)
        rows.append(row)
    return rows


def insert_lines(
    connection: Connection, line_spec: ResourceSpec, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert line rows, one statement per run of rows with the same columns; their ids."""
    ids: list[int] = []
    for run in same_columns(rows):
        if len(run) == 1:
            ids.append(repository.insert_row(connection, line_spec, run[0]))
        else:
            ids.extend(repository.insert_rows(connection, line_spec, run))
    return ids


def same_columns(rows: Sequence[dict[str, Any]]) -> list[Sequence[dict[str, Any]]]:
    """``rows`` cut into runs of rows with the same columns, in order."""
    runs: list[list[dict[str, Any]]] = []
    for row in rows:
        if runs and runs[-1][0].keys() == row.keys():
            runs[-1].append(row)
        else:
            runs.append([row])
    return list(runs)
