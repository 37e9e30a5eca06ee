"""Stored rows made of API input, by the rules a POST applies (``service.crud.new_row``,
``service.rules.before_insert``), with the demo's provenance.

A demo row stands for the shop's own data, written by one of Optiply's importers: it carries
``createdFromPublicApi: false`` and its remote id under the coupling key ``"demo"``. Input
values are given in their canonical form (``types.accept``'s results: ``int``, ``Decimal``
with two places, aware UTC ``datetime``, ...) and are checked to be exactly what the API
reads from their JSON form, so a generator bug fails the load instead of storing a row the API
would have refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any, cast

from optiply.resources import Access, Attribute, Kind, ResourceSpec
from optiply.resources.types import IGNORED, InvalidValue, accept
from optiply.resources.types import check as check_rules
from optiply.server.demo.codes import uuid4, uuid_stream
from optiply.server.service import crud, rules
from optiply.server.storage.bulk import table_for
from optiply.server.storage.repository import Connection

DEMO_COUPLING = "demo"
"""The ``remoteIdMap`` key of demo rows (the coupling of the importer that made them)."""

_MEMO_SIZE = 100_000  # checked values remembered per attribute (checking is a pure function)
_REPEATING = frozenset({Kind.REFERENCE, Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN, Kind.ENUM})


class DemoDataError(ValueError):
    """A generated value the API would not store as it is: a bug in the generator."""


class RowMaker:
    """The stored rows of one resource in one account."""

    def __init__(
        self,
        connection: Connection | None,
        spec: ResourceSpec,
        *,
        account_id: int,
        account_uuid: str,
        embedded_in: ResourceSpec | None = None,
    ) -> None:
        """``connection``: for the rules that read rows; None where none does (sell orders
        and their lines, made in a process of their own)."""
        self.connection = connection
        self.spec = spec
        self.account_id = account_id
        self.account_uuid = account_uuid if spec.has_account else None
        self.columns = tuple(column.name for column in table_for(spec).columns)
        embedded = embedded_in.embedded if embedded_in is not None else None
        parent = embedded.parent_attribute if embedded is not None else None
        self._required = tuple(a.name for a in spec.attributes if a.required and a.name != parent)
        self._uuid_columns = {
            a.name: a.column.removesuffix("_id") + "_uuid"
            for a in spec.references
            if a.name != "accountId"
        }
        self._inputs = {a.name: a for a in spec.attributes if _postable(a)}
        self._memos: dict[str, dict[Any, None]] = {
            name: {} for name, attribute in self._inputs.items() if attribute.kind in _REPEATING
        }
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._parent_columns: tuple[str, str] | tuple[()] = ()
        if parent is not None:
            uuid_column = self._uuid_columns[parent]
            self._parent_columns = (uuid_column.removesuffix("_uuid") + "_id", uuid_column)
        self._template = dict.fromkeys(self.columns)
        self._template["account_id"] = account_id
        if self.account_uuid is not None:
            self._template["account_uuid"] = self.account_uuid

    def make(
        self,
        values: Mapping[str, Any],
        *,
        row_id: int,
        row_uuid: str,
        created: datetime,
        updated: datetime | None = None,
        references: Mapping[str, str] | None = None,
        parent: Mapping[str, Any] | None = None,
        computed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The row a POST of ``values`` at ``created`` stores (``updated``: a later PATCH's
        time, e.g. an order's completion).

        Args:
            values: API input, attribute name to canonical value, with ``remoteId``.
            row_id: the row's id (``BulkWriter.take_ids``).
            row_uuid: its uuid.
            created: when the importer POSTed it.
            updated: when the importer last changed it; default ``created``.
            references: the uuid of each referenced row, by attribute (``productId``).
            parent: the stored parent row of a line embedded in its order's POST.
            computed: columns a rule would compute from rows already written, computed by the
                caller with the rule's own function (``delivery_dates.plus_days``): the rule
                then leaves them as they are, and needs no query.
        """
        plan = self.check(values)
        row = self._template.copy()
        row.update(
            crud.new_row(
                self.spec,
                values,
                now=created,
                coupling_id=DEMO_COUPLING,
                row_uuid=row_uuid,
                from_public_api=False,
            )
        )
        row["id"] = row_id
        for name, column in plan.uuid_columns:
            assert references is not None, f"{self.spec.type}: the uuid of {name}"
            row[column] = references[name]
        if parent is not None and self._parent_columns:  # as crud._create_lines sets them
            id_column, uuid_column = self._parent_columns
            row[id_column] = parent["id"]
            row[uuid_column] = parent["uuid"]
        if updated is not None:
            row["updated_at"] = updated
        if computed:
            row.update(computed)
        rules.before_insert(cast("Connection", self.connection), self.spec, row, parent)
        return row

    def check(self, values: Mapping[str, Any]) -> _Plan:
        """Raise ``DemoDataError`` unless the API reads each value's JSON form as the value
        itself, and every required attribute is there; the plan of these attribute names."""
        keys = tuple(values)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans[keys] = self._plan(keys)
        for name, attribute, memo in plan.checks:
            value = values[name]
            if memo is not None:
                if value in memo:
                    continue
                _check_value(self.spec, attribute, value)
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[value] = None
            elif type(value) is datetime and value.tzinfo is UTC:
                # Its JSON form is format_datetime(value), which the API reads back as the
                # value itself (tested); date-times have no other rule.
                if attribute.kind is not Kind.DATETIME:
                    raise DemoDataError(f"{self.spec.type}: {name} is no date-time")
            else:
                _check_value(self.spec, attribute, value)
        return plan

    def _plan(self, keys: tuple[str, ...]) -> _Plan:
        checks = []
        for name in keys:
            attribute = self._inputs.get(name)
            if attribute is None:
                raise DemoDataError(f"{self.spec.type}: {name} is no input of a POST")
            checks.append((name, attribute, self._memos.get(name)))
        for name in self._required:
            if name not in keys:
                raise DemoDataError(f"{self.spec.type}: {name} is required")
        uuid_columns = tuple((n, c) for n, c in self._uuid_columns.items() if n in keys)
        return _Plan(tuple(checks), uuid_columns)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to check, and which ``*_uuid`` columns to fill, for one set of attribute names."""

    checks: tuple[tuple[str, Attribute, dict[Any, None] | None], ...]
    uuid_columns: tuple[tuple[str, str], ...]


def _postable(attribute: Attribute) -> bool:
    return (
        attribute.writable_on_create
        and attribute.access is not Access.HIDDEN
        and attribute.kind is not Kind.LINES
    )


def _check_value(spec: ResourceSpec, attribute: Attribute, value: Any) -> None:
    if type(value) is str and attribute.kind is Kind.STRING:
        try:  # what ``coerce`` does with a string for a string attribute
            check_rules(attribute, value)
        except InvalidValue as error:
            raise DemoDataError(f"{spec.type}: {error} (got {value!r})") from None
        return
    if isinstance(value, datetime):  # not in UTC (``check`` takes those)
        raise DemoDataError(f"{spec.type}: {attribute.name} {value!r} is no UTC date-time")
    try:
        read = accept(attribute, value)
    except InvalidValue as error:
        raise DemoDataError(f"{spec.type}: {error} (got {value!r})") from None
    if read is IGNORED or read != value or type(read) is not type(value):
        raise DemoDataError(f"{spec.type}: {attribute.name} {value!r} reads as {read!r}")


Add = Callable[[ResourceSpec, dict[str, Any]], None]
"""Takes each row made (to buffer it, bind it, send it)."""


class Makers:
    """The ``RowMaker`` of each of some resources, with the uuid stream (``uuid_stream``) and
    the ids of its rows; every row made goes to ``add``."""

    def __init__(
        self,
        connection: Connection | None,
        specs: Iterable[tuple[ResourceSpec, ResourceSpec | None]],
        *,
        seed: int,
        account_id: int,
        account_uuid: str,
        ids: Mapping[str, Iterator[int]],
        add: Add,
    ) -> None:
        """``specs``: each resource, and the order it is embedded in (or None)."""
        self.makers: dict[str, RowMaker] = {}
        self.uuids: dict[str, Random] = {}
        for spec, embedded_in in specs:
            self.makers[spec.type] = RowMaker(
                connection,
                spec,
                account_id=account_id,
                account_uuid=account_uuid,
                embedded_in=embedded_in,
            )
            self.uuids[spec.type] = uuid_stream(seed, account_id, spec)
        self.ids = ids
        self.add = add

    def make(
        self,
        spec: ResourceSpec,
        values: Mapping[str, Any],
        created: datetime,
        updated: datetime | None = None,
        references: Mapping[str, str] | None = None,
        parent: Mapping[str, Any] | None = None,
        computed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make the next row of ``spec`` (``RowMaker.make``), hand it to ``add``, return it."""
        kind = spec.type
        row = self.makers[kind].make(
            values,
            row_id=next(self.ids[kind]),
            row_uuid=uuid4(self.uuids[kind]),
            created=created,
            updated=updated,
            references=references,
            parent=parent,
            computed=computed,
        )
        self.add(spec, row)
        return row
