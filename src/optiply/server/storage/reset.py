"""Reset an account: delete its data, all of it or what one coupling or the public API created.

One transaction, one set-based ``DELETE`` per table (children before parents), so a million
rows take seconds. The account's row, users, OAuth clients and tokens, journal and sandbox
controls stay. Rows are removed for good, including rows deleted earlier through the API.
The account's ``Idempotency-Key`` records go too (``idempotency.forget_account``): a key
replayed after a reset would otherwise answer with a row that is gone.

A scoped reset (``coupling``, ``created_from_public_api``; both: rows matching both) selects
the account's rows that carry the coupling's key in ``remoteIdMap`` and/or
``createdFromPublicApi = true``, and with them, whatever their provenance, every row that
cascades from a selected row as the API's DELETE cascades (``Relationship.cascade``: a sell
order's lines, a product's supplierProducts, …). A selected row that rows outside the selection
still point at without a cascade (a product with another coupling's sell order lines, a
supplier with another coupling's buy orders) is not removed but soft-deleted, exactly as
``DELETE /v1/…`` leaves it: the history keeps its reference, and the API no longer shows the
row. No reference ever dangles. Promotions that keep living get their ``productCount`` right.

On SQLite the ids of removed rows at the top of a table are given out again (SQLite picks
max(id) + 1); PostgreSQL's sequences never go back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    and_,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)

from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.storage import account_data, idempotency
from optiply.server.storage.account_data import data_specs, references, table


@dataclass(frozen=True, slots=True)
class ResetScope:
    """Which rows a reset removes: everything, or what a coupling and/or the public API made."""

    coupling: str | None = None  # the remoteIdMap key: a couplingId, or "publicApi"
    created_from_public_api: bool = False

    @property
    def everything(self) -> bool:
        """Whether the reset removes all the account's data."""
        return self.coupling is None and not self.created_from_public_api


@dataclass(frozen=True, slots=True)
class ResetResult:
    """Rows removed per type; rows soft-deleted instead (still referenced) per type."""

    account_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    kept_as_deleted: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The JSON form of the CLI's ``--json`` and of ``POST /sandbox/reset``."""
        return {
            "accountId": self.account_id,
            "deleted": self.deleted,
            "keptAsDeleted": self.kept_as_deleted,
        }


def reset_account(
    connection: Connection, account_id: int, scope: ResetScope, now: datetime
) -> ResetResult:
    """Delete the account's data in ``scope`` (the caller owns the transaction).

    Raises:
        UnknownAccount: when there is no such account.
    """
    account_data.lock(connection, account_id)
    idempotency.forget_account(connection, account_id)
    with account_data.roomy_cache(connection):
        if scope.everything or _covers_everything(connection, account_id, scope):
            return ResetResult(account_id, delete_all(connection, account_id))
        return _reset_scoped(connection, account_id, scope, now)


def delete_all(connection: Connection, account_id: int) -> dict[str, int]:
    """Delete every data row of the account, children first; rows per type.

    The caller has taken the account's lock (``account_data.lock``).
    """
    deleted: dict[str, int] = {}
    for spec in reversed(data_specs()):
        t = table(spec)
        with account_data.indexes_set_aside(connection, t, account_id):
            result = connection.execute(delete(t).where(t.c.account_id == account_id))
        deleted[spec.type] = result.rowcount
    return {spec.type: deleted[spec.type] for spec in data_specs()}


def _covers_everything(connection: Connection, account_id: int, scope: ResetScope) -> bool:
    """Whether every row of the account is in ``scope`` (a demo shop's coupling, say): then
    the plain delete does the same, faster. Each table's look stops at its first row left out."""
    dialect = connection.dialect.name
    for spec in data_specs():
        t = table(spec)
        outside = select(literal(1)).where(
            t.c.account_id == account_id, ~_in_scope(spec, scope, dialect)
        )
        if connection.execute(outside.limit(1)).first() is not None:
            return False
    return True


def _reset_scoped(
    connection: Connection, account_id: int, scope: ResetScope, now: datetime
) -> ResetResult:
    selected = _selections(account_id, scope, connection.dialect.name)
    deleted: dict[str, int] = {}
    kept: dict[str, int] = {}
    for spec in reversed(data_specs()):
        t = table(spec)
        pointed_at = _pointed_at(spec)
        soft = connection.execute(
            update(t)
            .where(selected[spec.type], t.c.deleted_at.is_(None), pointed_at)
            .values(deleted_at=now, updated_at=now)
        )
        removed = connection.execute(delete(t).where(selected[spec.type], ~pointed_at))
        deleted[spec.type] = removed.rowcount
        if soft.rowcount:
            kept[spec.type] = soft.rowcount
    _recount_promotions(connection, account_id, now)
    ordered = {spec.type: deleted[spec.type] for spec in data_specs()}
    return ResetResult(account_id, ordered, kept)


def _selections(account_id: int, scope: ResetScope, dialect: str) -> dict[str, ColumnElement[bool]]:
    """Per type, the condition of its rows a scoped reset removes: in the account, and in the
    scope or below a selected row along cascading relationships (parents first, so each
    condition can use its parents')."""
    cascades: dict[str, list[tuple[str, ResourceSpec]]] = {}
    for spec in data_specs():
        for relationship in spec.relationships:
            if relationship.cascade:
                child = get_spec(relationship.target)
                attribute = child.attribute(relationship.attribute)
                assert attribute is not None
                cascades.setdefault(child.type, []).append((attribute.column, spec))
    selected: dict[str, ColumnElement[bool]] = {}
    for spec in data_specs():
        t = table(spec)
        below = [
            t.c[column].in_(select(table(parent).c.id).where(selected[parent.type]))
            for column, parent in cascades.get(spec.type, [])
        ]
        selected[spec.type] = and_(
            t.c.account_id == account_id, or_(_in_scope(spec, scope, dialect), *below)
        )
    return selected


def _in_scope(spec: ResourceSpec, scope: ResetScope, dialect: str) -> ColumnElement[bool]:
    """The rows of ``spec`` the scope names by their provenance."""
    t = table(spec)
    conditions: list[ColumnElement[bool]] = []
    if scope.coupling is not None:
        if "remote_id_map" not in t.c:
            return false()
        conditions.append(has_key(t.c.remote_id_map, scope.coupling, dialect))
    if scope.created_from_public_api:
        if "created_from_public_api" not in t.c:
            return false()
        conditions.append(t.c.created_from_public_api.is_(True))
    return and_(true(), *conditions)


def has_key(column: ColumnElement[object], key: str, dialect: str) -> ColumnElement[bool]:
    """Whether the JSON object in ``column`` has ``key`` (any key: no JSON path quoting)."""
    if dialect == "postgresql":  # NULL for a NULL map: false, so that NOT … holds for it
        return func.coalesce(column.op("?", return_type=Boolean)(key), false())
    pairs = func.json_each(column).table_valued("key")
    return exists(select(literal(1)).select_from(pairs).where(pairs.c.key == key))


def _pointed_at(spec: ResourceSpec) -> ColumnElement[bool]:
    """Whether a row of ``spec`` is referenced by any row (that a reset has not removed)."""
    t = table(spec)
    found = [
        exists(select(literal(1)).where(table(r.child).c[r.column] == t.c.id))
        for r in references()
        if r.parent is spec
    ]
    return or_(false(), *found)


def _recount_promotions(connection: Connection, account_id: int, now: datetime) -> None:
    """``productCount`` of the live promotions: their live promotionProducts (as
    ``service.promotions.recount`` keeps it), ``updatedAt`` bumped where it changes."""
    promotions = table(get_spec("promotions"))
    links = table(get_spec("promotionProducts"))
    count = (
        select(func.count())
        .where(links.c.promotion_id == promotions.c.id, links.c.deleted_at.is_(None))
        .scalar_subquery()
    )
    connection.execute(
        update(promotions)
        .where(
            promotions.c.account_id == account_id,
            promotions.c.deleted_at.is_(None),
            promotions.c.product_count != count,
        )
        .values(product_count=count, updated_at=now)
    )
