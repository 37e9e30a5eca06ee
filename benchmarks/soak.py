"""The crash test: ``kill -9`` of ``optiply serve`` under concurrent writers, then a restart.

Run it with ``scripts/soak`` (``--help`` lists the options); ``tests/server/test_crash.py`` runs
a short version of the same thing in the normal suite. Each cycle:

1. Writer threads (each with its own kept-alive HTTP connection) create products,
   supplierProducts, productCompositions, buyOrders with embedded orderLines and receiptLines,
   PATCH the rows they created and DELETE products and buyOrders (both cascade). Every request
   goes into a ledger before it is sent; its outcome is recorded when it ends: *acknowledged*
   (2xx), *rejected* (4xx or 503: the server promises nothing was written), *unknown* (no
   answer, or another 5xx: it may or may not have been written) or *refused* (the connection
   was refused, so the request never left).
2. At a random moment while they are busy, every process of the server (uvicorn's master and
   its workers, one process group of their own) gets SIGKILL.
3. The server is started again on the same database and must answer ``/health``.
4. The whole database is checked against the ledger, and what this cycle touched is read back
   through the API (which must agree with the database).

What is checked, over every row of the run (soft-deleted rows included, so duplicates and
half-applied cascades cannot hide):

- every acknowledged create is there exactly once (by its ``remoteId``, and by ``skuCode`` for
  products), under the id the 201 gave; an unknown one at most once; a rejected or refused one
  not at all; no row exists that no request of the ledger wrote;
- every buyOrder has all the lines it was posted with, under the ids of ``meta.orderLineIds``,
  or (when it is absent) none of them exists;
- every acknowledged PATCH value is there, or a later one (acknowledged or not); a row never
  patched holds the value it was created with;
- every acknowledged DELETE took its row, a rejected or refused one did not, and an
  acknowledged create of a product or buyOrder is only gone if a DELETE of it was sent;
- cascades are all or nothing: no live child of a deleted parent (for every cascade of the
  registry), and no deleted child without a cascade parent deleted in the same transaction
  (same ``deleted_at``): the workload never deletes children directly.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from benchmarks import data
from optiply.resources import REGISTRY
from optiply.resources import get as get_spec
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

SOAK_PREFIX = "optiply_soak_"  # the scratch databases of a run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
JSONAPI = "application/vnd.api+json"
TOKEN_PATH = "/api/auth/oauth/token"
PUBLIC_API_KEY = "publicApi"  # where remoteId is stored without a couplingId
BACKENDS = ("sqlite", "postgresql")
_SERVER_SETTINGS = ("OPTIPLY_DATABASE_URL", "OPTIPLY_ACCESS_LOG", "OPTIPLY_PUBLIC_URL")

# The types the workload writes, which of them it deletes itself (all others are deleted only
# by cascades), the attribute each PATCH changes, and every cascade among those types.
TYPES = (
    "suppliers",
    "products",
    "supplierProducts",
    "productCompositions",
    "buyOrders",
    "buyOrderLines",
    "receiptLines",
)
DELETED_DIRECTLY = frozenset({"products", "buyOrders"})
PATCHED = {"products": "stockLevel", "buyOrders": "totalValue"}
CASCADES = tuple(
    (spec.type, relationship.target, relationship.attribute)
    for spec in REGISTRY
    if spec.type in TYPES
    for relationship in spec.relationships
    if relationship.cascade and relationship.target in TYPES
)


# --- the ledger ---------------------------------------------------------------------------


class Outcome(StrEnum):
    """What the client knows about a write once its request ended."""

    PENDING = "pending"  # sent, not ended yet (never left in a finished ledger)
    ACKNOWLEDGED = "acknowledged"  # 2xx
    REJECTED = "rejected"  # 4xx, or 503 (retry later): nothing may have been written
    UNKNOWN = "unknown"  # no answer (the kill), or a 5xx other than 503
    REFUSED = "refused"  # the connection was refused: the request never left


@dataclass
class Write:
    """One request of a writer, as the client saw it."""

    cycle: int
    writer: int
    action: str  # "create", "patch" or "delete"
    type: str
    outcome: Outcome = Outcome.PENDING
    status: int | None = None
    remote_id: str | None = None  # creates: the remoteId (and a product's skuCode)
    row_id: int | None = None  # the row: from the 201 of a create, or the URL of a PATCH/DELETE
    value: Decimal | None = None  # creates of patched types: the initial value; PATCHes: the new
    lines: tuple[str, ...] = ()  # buyOrders: the remoteIds of the embedded lines, in order
    line_ids: tuple[int, ...] | None = None  # buyOrders acknowledged: meta.orderLineIds

    def describe(self) -> str:
        """One line for a report."""
        what = f"{self.action} {self.type}"
        if self.remote_id:
            what += f" remoteId={self.remote_id}"
        if self.row_id is not None:
            what += f" id={self.row_id}"
        if self.value is not None and self.action == "patch":
            what += f" {PATCHED[self.type]}={self.value}"
        status = f" ({self.status})" if self.status is not None else ""
        return f"{what}: {self.outcome}{status} [cycle {self.cycle}, writer {self.writer}]"


def _outcome(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.ACKNOWLEDGED
    if 400 <= status < 500 or status == 503:
        return Outcome.REJECTED
    return Outcome.UNKNOWN


# --- writers ------------------------------------------------------------------------------


@dataclass
class Order:
    """An acknowledged buyOrder of a writer: its line ids."""

    line_ids: tuple[int, ...]


class Writer:
    """One writer thread's workload; the rows it created are its own and only it touches them."""

    # (operation, weight); an operation whose rows do not exist yet creates a product instead.
    MIX = (
        ("create_product", 24),
        ("create_supplier_product", 10),
        ("create_composition", 5),
        ("create_buy_order", 20),
        ("create_receipt_line", 10),
        ("patch_product", 12),
        ("patch_buy_order", 7),
        ("delete_product", 6),
        ("delete_buy_order", 6),
    )

    def __init__(self, index: int, tag: str, account_id: int, seed: int) -> None:
        self.index = index
        self.tag = tag
        self.account_id = account_id
        self.rng = random.Random(seed)
        self.writes: list[Write] = []
        self.suppliers: list[int] = []
        self.products: dict[int, set[int]] = {}  # live product id -> suppliers linked to it
        self.compositions: set[tuple[int, int]] = set()
        self.orders: dict[int, Order] = {}
        self.cycle = 0
        self.sequence = 0
        self.failure: str | None = None
        self._client: httpx.Client | None = None
        self._operations: list[Callable[[], Write]] = [getattr(self, n) for n, _ in self.MIX]
        self._weights = [w for _, w in self.MIX]

    # running

    def run(self, client: httpx.Client, killed: threading.Event, cycle: int) -> None:
        """Write until the server is killed (the thread's target; never raises)."""
        self.cycle = cycle
        self._client = client
        try:
            while not killed.is_set():  # set right after the SIGKILL
                [operation] = self.rng.choices(self._operations, self._weights)
                operation()
        except BaseException as error:  # reported by the caller as a harness failure
            self.failure = f"writer {self.index}: {type(error).__name__}: {error}"

    def setup(self, client: httpx.Client, suppliers: int = 2) -> None:
        """Create the writer's suppliers (they are never deleted)."""
        self._client = client
        while len(self.suppliers) < suppliers:
            remote = self._key("s")
            write, body = self._send(
                Write(self.cycle, self.index, "create", "suppliers", remote_id=remote),
                "POST",
                "/suppliers",
                {"name": f"Supplier {remote}", "remoteId": remote, "accountId": self.account_id},
            )
            if write.outcome is not Outcome.ACKNOWLEDGED or body is None:
                raise RuntimeError(f"could not create a supplier: {write.describe()}")
            self.suppliers.append(write.row_id or 0)

    def _key(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}-{self.tag}-{self.index}-{self.sequence}"

    def _value(self) -> int:
        self.sequence += 1
        return self.sequence

    def _send(
        self, write: Write, method: str, path: str, attributes: dict[str, Any] | None = None
    ) -> tuple[Write, dict[str, Any] | None]:
        """Send one request, recording it in the ledger first; returns the 2xx body, if any."""
        assert self._client is not None
        self.writes.append(write)
        document = None
        if attributes is not None:
            document = {"data": {"type": write.type, "attributes": attributes}}
            if method == "PATCH":
                document["data"]["id"] = str(write.row_id)
        try:
            response = self._client.request(method, path, json=document)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            write.outcome = Outcome.REFUSED
            return write, None
        except httpx.TransportError:
            write.outcome = Outcome.UNKNOWN
            return write, None
        write.status = response.status_code
        write.outcome = _outcome(response.status_code)
        if write.outcome is not Outcome.ACKNOWLEDGED or response.status_code == 204:
            return write, None
        body: dict[str, Any] = response.json()
        if write.action == "create":
            write.row_id = int(body["data"]["id"])
        return write, body

    # operations

    def create_product(self) -> Write:
        remote, stock = self._key("p"), self._value()
        write, _ = self._send(
            Write(
                self.cycle, self.index, "create", "products", remote_id=remote, value=Decimal(stock)
            ),
            "POST",
            "/products",
            {
                "name": f"Product {remote}",
                "skuCode": remote,
                "remoteId": remote,
                "stockLevel": stock,
                "accountId": self.account_id,
            },
        )
        if write.outcome is Outcome.ACKNOWLEDGED and write.row_id is not None:
            self.products[write.row_id] = set()
        return write

    def create_supplier_product(self) -> Write:
        choices = [
            (p, s) for p, linked in self.products.items() for s in self.suppliers if s not in linked
        ]
        if not choices:
            return self.create_product()
        product, supplier = self.rng.choice(choices)
        remote = self._key("sp")
        write, _ = self._send(
            Write(self.cycle, self.index, "create", "supplierProducts", remote_id=remote),
            "POST",
            "/supplierProducts",
            {
                "productId": product,
                "supplierId": supplier,
                "name": f"Offer {remote}",
                "remoteId": remote,
            },
        )
        if write.outcome not in (Outcome.REJECTED, Outcome.REFUSED):
            self.products[product].add(supplier)  # (the pair is unique: never try it again)
        return write

    def create_composition(self) -> Write:
        if len(self.products) < 2:
            return self.create_product()
        composed, part = self.rng.sample(sorted(self.products), 2)
        if (composed, part) in self.compositions:
            return self.create_product()
        remote = self._key("pc")
        write, _ = self._send(
            Write(self.cycle, self.index, "create", "productCompositions", remote_id=remote),
            "POST",
            "/productCompositions",
            {
                "composedProductId": composed,
                "partProductId": part,
                "partQuantity": self.rng.randint(1, 5),
                "remoteId": remote,
            },
        )
        if write.outcome not in (Outcome.REJECTED, Outcome.REFUSED):
            self.compositions.add((composed, part))
        return write

    def create_buy_order(self) -> Write:
        if not self.products:
            return self.create_product()
        remote, total = self._key("bo"), self._value()
        products = self.rng.choices(sorted(self.products), k=self.rng.randint(1, 4))
        lines = [
            {
                "productId": product,
                "quantity": self.rng.randint(1, 20),
                "subtotalValue": f"{self.rng.randint(1, 500)}.00",
                "remoteId": f"{remote}-l{n}",
            }
            for n, product in enumerate(products)
        ]
        write, body = self._send(
            Write(
                self.cycle,
                self.index,
                "create",
                "buyOrders",
                remote_id=remote,
                value=Decimal(total),
                lines=tuple(str(line["remoteId"]) for line in lines),
            ),
            "POST",
            "/buyOrders",
            {
                "placed": "2024-03-05T10:00:00Z",
                "totalValue": f"{total}.00",
                "supplierId": self.rng.choice(self.suppliers),
                "remoteId": remote,
                "accountId": self.account_id,
                "orderLines": lines,
            },
        )
        if body is not None and write.row_id is not None:
            ids = body.get("meta", {}).get("orderLineIds")
            write.line_ids = None if ids is None else tuple(int(i) for i in ids)
            self.orders[write.row_id] = Order(write.line_ids or ())
        return write

    def create_receipt_line(self) -> Write:
        lines = [line for order in self.orders.values() for line in order.line_ids]
        if not lines:
            return self.create_buy_order()
        remote = self._key("rl")
        write, _ = self._send(
            Write(self.cycle, self.index, "create", "receiptLines", remote_id=remote),
            "POST",
            "/receiptLines",
            {
                "buyOrderLineId": self.rng.choice(lines),
                "occurred": "2024-03-08T09:30:00Z",
                "quantity": self.rng.randint(1, 20),
                "remoteId": remote,
            },
        )
        return write

    def _patch(self, resource_type: str, row_id: int, value: int) -> Write:
        attribute = PATCHED[resource_type]
        sent: int | str = value if resource_type == "products" else f"{value}.00"
        write, _ = self._send(
            Write(
                self.cycle, self.index, "patch", resource_type, row_id=row_id, value=Decimal(value)
            ),
            "PATCH",
            f"/{resource_type}/{row_id}",
            {attribute: sent},
        )
        return write

    def patch_product(self) -> Write:
        if not self.products:
            return self.create_product()
        return self._patch("products", self.rng.choice(sorted(self.products)), self._value())

    def patch_buy_order(self) -> Write:
        if not self.orders:
            return self.create_buy_order()
        return self._patch("buyOrders", self.rng.choice(sorted(self.orders)), self._value())

    def delete_product(self) -> Write:
        if len(self.products) < 3:  # keep a few for orders and compositions
            return self.create_product()
        product = self.rng.choice(sorted(self.products))
        write, _ = self._send(
            Write(self.cycle, self.index, "delete", "products", row_id=product),
            "DELETE",
            f"/products/{product}",
        )
        if write.outcome not in (Outcome.REJECTED, Outcome.REFUSED):
            del self.products[product]
            self.compositions = {c for c in self.compositions if product not in c}
        return write

    def delete_buy_order(self) -> Write:
        if len(self.orders) < 2:
            return self.create_buy_order()
        order = self.rng.choice(sorted(self.orders))
        write, _ = self._send(
            Write(self.cycle, self.index, "delete", "buyOrders", row_id=order),
            "DELETE",
            f"/buyOrders/{order}",
        )
        if write.outcome not in (Outcome.REJECTED, Outcome.REFUSED):
            del self.orders[order]
        return write


# --- the database, as it is ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One stored row: what the checks need of it."""

    id: int
    account_id: int
    deleted_at: datetime | None
    remote_id: str | None
    values: dict[str, Any]

    @property
    def live(self) -> bool:
        return self.deleted_at is None


Snapshot = dict[str, dict[int, Row]]


def _columns(resource_type: str) -> list[str]:
    """The attributes a check reads of ``resource_type``."""
    names = [attribute for _, child, attribute in CASCADES if child == resource_type]
    if resource_type in PATCHED:
        names.append(PATCHED[resource_type])
    if resource_type == "products":
        names.append("skuCode")
    return names


def snapshot(engine: Engine) -> Snapshot:
    """Every row of the workload's tables, soft-deleted ones included."""
    rows: Snapshot = {}
    with engine.connect() as connection:
        for resource_type in TYPES:
            spec, table = get_spec(resource_type), RESOURCE_TABLES[resource_type]
            names = _columns(resource_type)
            columns = []
            for name in names:
                attribute = spec.attribute(name)
                assert attribute is not None, name
                columns.append(table.c[attribute.column])
            statement = select(
                table.c.id,
                table.c.account_id,
                table.c.deleted_at,
                table.c.remote_id_map,
                *columns,
            )
            found: dict[int, Row] = {}
            for row in connection.execute(statement):
                remote_map = row[3] or {}
                found[row[0]] = Row(
                    id=row[0],
                    account_id=row[1],
                    deleted_at=row[2],
                    remote_id=remote_map.get(PUBLIC_API_KEY),
                    values=dict(zip(names, row[4:], strict=True)),
                )
            rows[resource_type] = found
    return rows


# --- checks -------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What a verification found."""

    checks: int = 0
    verified: int = 0  # acknowledged writes whose every check passed
    cascaded: int = 0  # child rows found deleted together with a parent
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool) -> bool:
        """Count one check; its caller records the violation when it failed."""
        self.checks += 1
        return ok

    def fail(self, violation: str) -> None:
        self.violations.append(violation)

    def merge(self, other: Verdict) -> None:
        self.checks += other.checks
        self.verified += other.verified
        self.cascaded += other.cascaded
        self.violations += other.violations


def _ids(rows: list[Row]) -> list[int]:
    """The rows' ids, ascending (a snapshot's order is the database's, which an update moves)."""
    return sorted(row.id for row in rows)


def verify_database(writes: list[Write], rows: Snapshot) -> Verdict:
    """Check the stored rows against the ledger (see the module's docstring for the rules)."""
    verdict = Verdict()
    by_remote: dict[str, dict[str, list[Row]]] = {t: defaultdict(list) for t in TYPES}
    for resource_type, stored in rows.items():
        for row in stored.values():
            by_remote[resource_type][row.remote_id or ""].append(row)
    skus: dict[str, list[Row]] = defaultdict(list)
    for row in rows["products"].values():
        skus[str(row.values["skuCode"])].append(row)
    written: dict[str, set[str]] = {t: set() for t in TYPES}
    deletes: dict[tuple[str, int], list[Write]] = defaultdict(list)
    patches: dict[tuple[str, int], list[Write]] = defaultdict(list)
    initial: dict[tuple[str, int], Write] = {}
    for write in writes:
        if write.action == "delete" and write.row_id is not None:
            deletes[write.type, write.row_id].append(write)
        elif write.action == "patch" and write.row_id is not None:
            patches[write.type, write.row_id].append(write)

    for write in writes:
        if write.action != "create" or write.remote_id is None:
            continue
        written[write.type].add(write.remote_id)
        written["buyOrderLines"].update(write.lines)
        found = by_remote[write.type].get(write.remote_id, [])
        before = len(verdict.violations)
        if write.outcome is Outcome.ACKNOWLEDGED:
            if not verdict.check(_ids(found) == [write.row_id]):
                verdict.fail(
                    f"{write.describe()}: stored as ids {_ids(found)}, expected exactly once, "
                    f"as id {write.row_id}"
                )
        elif write.outcome is Outcome.UNKNOWN:
            if not verdict.check(len(found) <= 1):
                verdict.fail(f"{write.describe()}: stored {len(found)} times: {_ids(found)}")
        elif not verdict.check(not found):
            verdict.fail(
                f"{write.describe()}: stored as ids {_ids(found)}, though the request was "
                "rejected or never sent"
            )
        if write.type == "products":
            sku_rows = skus.get(write.remote_id, [])
            if not verdict.check(len(sku_rows) <= 1 and _ids(sku_rows) == _ids(found)):
                verdict.fail(
                    f"{write.describe()}: rows {_ids(sku_rows)} have skuCode {write.remote_id}"
                )
        if write.type == "buyOrders":
            _check_lines(verdict, write, found[0] if len(found) == 1 else None, by_remote)
        if found and write.type in DELETED_DIRECTLY:
            first = found[0]
            sent = [d for d in deletes.get((write.type, first.id), []) if _may_apply(d)]
            if not verdict.check(first.live or bool(sent)):
                verdict.fail(
                    f"{write.describe()}: row {first.id} is deleted, but no DELETE of it was sent"
                )
        if found and write.type in PATCHED:
            initial[write.type, found[0].id] = write
        if len(verdict.violations) == before and write.outcome is Outcome.ACKNOWLEDGED:
            verdict.verified += 1

    for resource_type, stored in rows.items():  # rows nobody wrote
        for row in stored.values():
            if not verdict.check(row.remote_id in written[resource_type]):
                verdict.fail(
                    f"{resource_type} {row.id} (remoteId {row.remote_id}) was written by no "
                    "request of the ledger"
                )

    for (resource_type, row_id), sent in deletes.items():
        target = rows[resource_type].get(row_id)
        applied = target is not None and not target.live
        acknowledged = any(d.outcome is Outcome.ACKNOWLEDGED for d in sent)
        possible = any(_may_apply(d) for d in sent)
        if verdict.check(applied if acknowledged else (possible or not applied)):
            verdict.verified += sum(d.outcome is Outcome.ACKNOWLEDGED for d in sent)
        else:
            state = "deleted" if applied else "live"
            verdict.fail(f"{sent[-1].describe()}: the row is {state}")

    for key in initial.keys() | patches.keys():  # the value each patched type's row holds
        sent = patches.get(key, [])
        target = rows[key[0]].get(key[1])
        value = None if target is None else Decimal(target.values[PATCHED[key[0]]])
        allowed = _allowed_values(initial.get(key), sent)
        if verdict.check(value in allowed):
            verdict.verified += sum(p.outcome is Outcome.ACKNOWLEDGED for p in sent)
        else:
            last = sent[-1] if sent else initial[key]
            verdict.fail(
                f"{last.describe()}: stored value {value}, expected one of "
                f"{sorted(str(a) for a in allowed)} (the last acknowledged value or a later one)"
            )

    verdict.merge(verify_cascades(rows))
    return verdict


def was_applied(write: Write, rows: Snapshot) -> bool:
    """Whether the database shows ``write`` (creates, deletes, and PATCHes not overwritten)."""
    if write.action == "create":
        return any(row.remote_id == write.remote_id for row in rows[write.type].values())
    row = rows[write.type].get(write.row_id or 0)
    if row is None:
        return False
    if write.action == "delete":
        return not row.live
    return Decimal(row.values[PATCHED[write.type]]) == write.value


def _may_apply(write: Write) -> bool:
    return write.outcome in (Outcome.ACKNOWLEDGED, Outcome.UNKNOWN)


def _allowed_values(create: Write | None, patches: list[Write]) -> set[Decimal | None]:
    """The values a row may hold after ``create`` and ``patches`` (in the order they were sent)."""
    allowed: set[Decimal | None] = set()
    if create is not None:
        allowed.add(create.value)
    for patch in patches:
        if patch.outcome is Outcome.ACKNOWLEDGED:
            allowed = {patch.value}
        elif patch.outcome is Outcome.UNKNOWN:
            allowed.add(patch.value)
    return allowed


def _check_lines(
    verdict: Verdict, order: Write, row: Row | None, by_remote: dict[str, dict[str, list[Row]]]
) -> None:
    """An order's lines are all there, once each, under the order (and ids acknowledged), or
    the order is absent and none of them is."""
    lines = [by_remote["buyOrderLines"].get(remote, []) for remote in order.lines]
    if row is None:
        stray = [line.id for found in lines for line in found]
        if not verdict.check(not stray):
            verdict.fail(f"{order.describe()}: the order is absent but its lines {stray} exist")
        return
    whole = all(len(found) == 1 and found[0].values["buyOrderId"] == row.id for found in lines)
    if not verdict.check(whole):
        found_lines = [[(line.id, line.values["buyOrderId"]) for line in f] for f in lines]
        verdict.fail(
            f"{order.describe()}: order {row.id} has (line id, buyOrderId) {found_lines} for "
            f"its {len(order.lines)} posted lines: not all present exactly once"
        )
        return
    stored = tuple(found[0].id for found in lines)
    if order.outcome is Outcome.ACKNOWLEDGED and order.line_ids is not None:
        if not verdict.check(stored == order.line_ids):
            verdict.fail(
                f"{order.describe()}: lines stored as {list(stored)}, meta.orderLineIds said "
                f"{list(order.line_ids)}"
            )


def verify_cascades(rows: Snapshot) -> Verdict:
    """No live child under a deleted parent; no child deleted but by its parent's cascade."""
    verdict = Verdict()
    parents_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for parent_type, child_type, attribute in CASCADES:
        parents_of[child_type].append((parent_type, attribute))
        for child in rows[child_type].values():
            parent = rows[parent_type].get(child.values[attribute])
            if parent is None:
                verdict.check(False)
                verdict.fail(f"{child_type} {child.id} points at a missing {parent_type}")
            elif not verdict.check(parent.live or not child.live):
                verdict.fail(
                    f"{child_type} {child.id} is live under the deleted {parent_type} "
                    f"{parent.id} (deleted at {parent.deleted_at})"
                )
    for child_type, parents in parents_of.items():
        if child_type in DELETED_DIRECTLY:
            continue
        for child in rows[child_type].values():
            if child.live:
                continue
            deleted_with = [
                parent_type
                for parent_type, attribute in parents
                if (parent := rows[parent_type].get(child.values[attribute])) is not None
                and parent.deleted_at == child.deleted_at
            ]
            verdict.cascaded += bool(deleted_with)
            if not verdict.check(bool(deleted_with)):
                verdict.fail(
                    f"{child_type} {child.id} was deleted at {child.deleted_at} without a "
                    "cascade parent deleted in the same transaction (half a cascade)"
                )
    return verdict


def verify_api(
    client: httpx.Client, writes: Iterable[Write], rows: Snapshot, account_ids: list[int]
) -> Verdict:
    """Read back through the API what ``writes`` touched: it must match the database."""
    verdict = Verdict()
    ids: dict[str, set[int]] = {t: set() for t in TYPES}
    remotes: dict[str, set[str]] = {t: set() for t in TYPES}
    for write in writes:
        if write.row_id is not None:
            ids[write.type].add(write.row_id)
        if write.remote_id is not None:
            remotes[write.type].add(write.remote_id)
            remotes["buyOrderLines"].update(write.lines)
    for resource_type in TYPES:
        stored = rows[resource_type]
        wanted = ids[resource_type] | {
            row.id for row in stored.values() if row.remote_id in remotes[resource_type]
        }
        attribute = PATCHED.get(resource_type)
        listed: dict[int, Any] = {}
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 100):
            chunk = ordered[start : start + 100]
            response = client.get(
                f"/{resource_type}",
                params={"filter[id]": ",".join(map(str, chunk)), "page[limit]": "100"},
            )
            if not verdict.check(response.status_code == 200):
                verdict.fail(
                    f"GET /v1/{resource_type}?filter[id]=…: {response.status_code} "
                    f"{response.text[:200]}"
                )
                break
            for resource in response.json()["data"]:
                attributes = resource["attributes"]
                listed[int(resource["id"])] = attributes.get(attribute) if attribute else None
        for row_id in ordered:
            row = stored.get(row_id)
            live = row is not None and row.live
            if not verdict.check((row_id in listed) == live):
                verdict.fail(
                    f"{resource_type} {row_id}: the API "
                    f"{'lists' if row_id in listed else 'does not list'} it, the database has "
                    f"it {'live' if live else 'deleted or absent'}"
                )
            if attribute and row is not None and row_id in listed:
                api_value, db_value = listed[row_id], row.values[attribute]
                if not verdict.check(Decimal(str(api_value)) == Decimal(db_value)):
                    verdict.fail(
                        f"{resource_type} {row_id}: the API says {attribute}={api_value}, "
                        f"the database {db_value}"
                    )
        for account_id in account_ids:
            response = client.get(
                f"/{resource_type}", params={"accountId": str(account_id), "page[limit]": "1"}
            )
            expected = sum(1 for r in stored.values() if r.live and r.account_id == account_id)
            total = response.json().get("meta", {}).get("totalResourceCount")
            if not verdict.check(response.status_code == 200 and total == expected):
                verdict.fail(
                    f"GET /v1/{resource_type}?accountId={account_id}: totalResourceCount "
                    f"{total}, the database has {expected} live rows"
                )
    return verdict


# --- the server ---------------------------------------------------------------------------


class ServerFailed(RuntimeError):
    """The server did not (re)start."""


def _process_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _SERVER_SETTINGS}


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


class Server:
    """``optiply serve`` as a subprocess in a process group (a session) of its own."""

    def __init__(self, database_url: str, workers: int, log: Path, port: int | None = None) -> None:
        self.database_url = database_url
        self.workers = workers
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "optiply.cli.main",
            "serve",
            "--database-url",
            self.database_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
        ]

    def start(self, timeout: float = 120) -> float:
        """Start on the same port and database; seconds until ``/health`` answered 200."""
        started = time.perf_counter()
        with self.log.open("ab") as log:
            log.write(f"--- start {datetime.now(UTC):%H:%M:%S.%f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own: killpg reaches every worker
                cwd=ROOT,
                env=_process_env(),
            )
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerFailed(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise ServerFailed(f"/health did not answer 200 within {timeout:g} s")
            time.sleep(0.05)

    def members(self) -> list[int]:
        """The server's processes (uvicorn's master, its workers and their helpers)."""
        assert self.process is not None
        return group_members(self.process.pid)

    def kill(self, then: Callable[[], None]) -> None:
        """SIGKILL every process of the server at once, call ``then``, wait until all are gone.

        Nothing comes before the signal: even a scan of /proc holds the GIL for milliseconds,
        in which the writer threads stall while the server drains their requests.
        """
        assert self.process is not None
        pgid = self.process.pid
        os.killpg(pgid, signal.SIGKILL)
        then()
        self.process.wait()
        deadline = time.monotonic() + 10
        while survivors := group_members(pgid):
            if time.monotonic() > deadline:
                raise ServerFailed(f"processes {survivors} survived SIGKILL")
            time.sleep(0.01)
        self.process = None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the master), or kill the group after 20 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own group, and only it
                self.process.wait()
        self.process = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- a run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One backend's crash test."""

    backend: str  # "sqlite" or "postgresql"
    database_url: str  # an empty database; migrated here
    workers: int = 1  # server worker processes
    writers: int = 8
    cycles: int = 10
    duration: float | None = None  # seconds: cycle until spent (instead of ``cycles``)
    cycle_seconds: float = 5.0  # writers run for a random 25 %..100 % of this, then the kill
    accounts: int = 2
    seed: int = 1


@dataclass
class Cycle:
    """The figures of one kill cycle."""

    cycle: int
    attempted: int
    acknowledged: int
    rejected: int
    unknown: int
    unknown_applied: int  # of those, found written after the restart (the kill came after commit)
    refused: int
    server_errors: int  # 5xx answers (503 included) while the server was up
    killed_after_s: float
    processes_killed: int
    restart_s: float
    verify_s: float
    cycle_s: float
    checks: int
    verified: int
    cascaded: int  # child rows deleted by cascades so far, each with its parent
    violations: int


@dataclass
class Report:
    """A backend's result."""

    backend: str
    workers: int
    writers: int
    cycles: list[Cycle] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    failure: str | None = None  # the run could not go on (a server that did not restart, …)
    writes: list[Write] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(cycle, name)) for cycle in self.cycles)

    @property
    def ok(self) -> bool:
        return not self.violations and self.failure is None

    def summary(self) -> dict[str, Any]:
        """The figures (and the violations) as JSON."""
        times = [c.cycle_s for c in self.cycles] or [0.0]
        counts = Counter(w.outcome.value for w in self.writes)
        return {
            "backend": self.backend,
            "workers": self.workers,
            "writers": self.writers,
            "cycles": len(self.cycles),
            "attempted": len(self.writes),
            "outcomes": dict(counts),
            "verified": self.cycles[-1].verified if self.cycles else 0,
            "cascaded": self.cycles[-1].cascaded if self.cycles else 0,
            "acknowledged_by_kind": dict(
                Counter(
                    f"{w.action} {w.type}" for w in self.writes if w.outcome is Outcome.ACKNOWLEDGED
                )
            ),
            "checks": self.total("checks"),
            "violations": self.violations,
            "failure": self.failure,
            "cycle_s_median": statistics.median(times),
            "cycle_s_max": max(times),
            "unknown_applied": self.total("unknown_applied"),
            "server_errors": self.total("server_errors"),
            "restart_s_median": statistics.median([c.restart_s for c in self.cycles] or [0.0]),
            "restart_s_max": max([c.restart_s for c in self.cycles] or [0.0]),
            "per_cycle": [asdict(c) for c in self.cycles],
        }


def _api_client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/v1",
        headers={"Authorization": f"Bearer {token}", "Content-Type": JSONAPI, "Accept": JSONAPI},
        timeout=30,
    )


def _login(engine: Engine, accounts: int) -> tuple[list[int], dict[str, str]]:
    """Accounts, a user reaching them all and a client; returns the account ids and a form."""
    tag = uuid.uuid4().hex[:8]
    account_ids = [admin.create_account(engine, name=f"Soak {tag}-{n}").id for n in range(accounts)]
    password = uuid.uuid4().hex
    admin.create_user(engine, username=f"soak-{tag}", password=password, account_ids=account_ids)
    client = admin.create_client(engine, name=f"soak-{tag}")
    form = {
        "grant_type": "password",
        "username": f"soak-{tag}",
        "password": password,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    return account_ids, form


def _token(url: str, form: dict[str, str]) -> str:
    response = httpx.post(url + TOKEN_PATH, data=form, timeout=60)
    if response.status_code != 200:
        raise ServerFailed(f"the token endpoint answered {response.status_code}")
    token: str = response.json()["access_token"]
    return token


def run(plan: Plan, work_dir: Path, log: Callable[[str], None] = print) -> Report:
    """Run ``plan``'s kill cycles; the report lists every violation found."""
    report = Report(plan.backend, plan.workers, plan.writers)
    engine = make_engine(plan.database_url)
    server = Server(plan.database_url, plan.workers, work_dir / f"serve-{plan.backend}.log")
    rng = random.Random(plan.seed)
    try:
        upgrade(engine)
        account_ids, form = _login(engine, plan.accounts)
        server.start()
        token = _token(server.url, form)
        tag = uuid.uuid4().hex[:6]
        writers = [
            Writer(n, tag, account_ids[n % len(account_ids)], seed=plan.seed * 1000 + n)
            for n in range(plan.writers)
        ]
        with _api_client(server.url, token) as client:
            for writer in writers:
                writer.setup(client)
        began = time.perf_counter()
        number = 0
        while True:
            number += 1
            if plan.duration is None and number > plan.cycles:
                break
            if plan.duration is not None and number > 1:
                if time.perf_counter() - began >= plan.duration:
                    break
            cycle = _cycle(number, plan, server, writers, token, account_ids, engine, rng, report)
            report.cycles.append(cycle)
            log(_cycle_line(cycle))
            if report.failure or report.violations:
                break
    except (ServerFailed, httpx.HTTPError) as error:
        report.failure = f"{error}\n--- server log ({server.log}):\n{server.tail()}"
    finally:
        server.stop()
        engine.dispose()
    return report


def _cycle(
    number: int,
    plan: Plan,
    server: Server,
    writers: list[Writer],
    token: str,
    account_ids: list[int],
    engine: Engine,
    rng: random.Random,
    report: Report,
) -> Cycle:
    started = time.perf_counter()
    first = sum(len(w.writes) for w in writers)
    marks = [len(w.writes) for w in writers]
    killed = threading.Event()
    clients = [_api_client(server.url, token) for _ in writers]
    threads = [
        threading.Thread(
            target=w.run, args=(c, killed, number), name=f"soak-writer-{w.index}", daemon=True
        )
        for w, c in zip(writers, clients, strict=True)
    ]
    for thread in threads:
        thread.start()
    kill_after = rng.uniform(0.25, 1.0) * plan.cycle_seconds
    processes = len(server.members())  # counted now: the kill must not wait for a scan
    time.sleep(max(0.0, kill_after - (time.perf_counter() - started)))
    server.kill(then=killed.set)  # requests in flight now end unknown
    for thread in threads:
        thread.join(120)
    for client in clients:
        client.close()
    failures = [w.failure for w in writers if w.failure]
    if any(t.is_alive() for t in threads):
        failures.append("a writer did not stop after the kill")
    if failures:
        raise ServerFailed("harness failure: " + "; ".join(failures))
    try:
        restart = server.start()
    except ServerFailed as error:
        raise ServerFailed(f"no restart after the kill of cycle {number}: {error}") from error
    checked = time.perf_counter()
    report.writes = [write for w in writers for write in w.writes]
    this_cycle = [
        write for w, mark in zip(writers, marks, strict=True) for write in w.writes[mark:]
    ]
    rows = snapshot(engine)
    verdict = verify_database(report.writes, rows)
    with _api_client(server.url, token) as client:
        verdict.merge(verify_api(client, this_cycle, rows, account_ids))
    report.violations += [f"cycle {number}: {v}" for v in verdict.violations]
    outcomes = Counter(write.outcome for write in this_cycle)
    done = time.perf_counter()
    return Cycle(
        cycle=number,
        attempted=len(report.writes) - first,
        acknowledged=outcomes[Outcome.ACKNOWLEDGED],
        rejected=outcomes[Outcome.REJECTED],
        unknown=outcomes[Outcome.UNKNOWN],
        unknown_applied=sum(
            1 for w in this_cycle if w.outcome is Outcome.UNKNOWN and was_applied(w, rows)
        ),
        refused=outcomes[Outcome.REFUSED],
        server_errors=sum(1 for w in this_cycle if w.status is not None and w.status >= 500),
        killed_after_s=kill_after,
        processes_killed=processes,
        restart_s=restart,
        verify_s=done - checked,
        cycle_s=done - started,
        checks=verdict.checks,
        verified=verdict.verified,
        cascaded=verdict.cascaded,
        violations=len(verdict.violations),
    )


def _cycle_line(cycle: Cycle) -> str:
    return (
        f"  cycle {cycle.cycle:>3}: {cycle.attempted:,} writes ({cycle.acknowledged:,} "
        f"acknowledged, {cycle.rejected} rejected, {cycle.unknown} unknown of which "
        f"{cycle.unknown_applied} applied, {cycle.refused} refused); SIGKILL to "
        f"{cycle.processes_killed} processes after {cycle.killed_after_s:.1f} s, restart "
        f"{cycle.restart_s:.1f} s, {cycle.checks:,} checks in {cycle.verify_s:.1f} s, "
        f"{cycle.violations} violations; {cycle.cycle_s:.1f} s"
    )


# --- databases ----------------------------------------------------------------------------


def create_postgres_database(base_url: str) -> str:
    """Create an empty database ``optiply_soak_<random>`` on the server of ``base_url``."""
    return data.create_postgres_database(base_url, prefix=SOAK_PREFIX)


def drop_postgres_database(url: str) -> None:
    """Drop a database made by ``create_postgres_database`` (closing its connections)."""
    data.drop_postgres_database(url, prefix=SOAK_PREFIX)


def _reachable(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False


def _postgres_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("SHOW server_version").scalar_one())
    finally:
        engine.dispose()


# --- the command --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The command line."""

    backends: tuple[str, ...]
    cycles: int
    duration: float | None
    writers: int
    cycle_seconds: float
    workers: int
    postgres_url: str | None
    seed: int
    keep: bool
    output: Path


def parse_options(argv: list[str]) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/soak",
        description="The crash test: kill -9 of optiply serve under concurrent writers, "
        "restart, verify every acknowledged write (see benchmarks/README.md).",
    )
    parser.add_argument(
        "--backend", choices=(*BACKENDS, "both"), default="both", help="default: both"
    )
    parser.add_argument("--cycles", type=int, help="kill cycles per backend (default 10)")
    parser.add_argument(
        "--duration", type=float, help="seconds per backend: run cycles until spent (not --cycles)"
    )
    parser.add_argument("--writers", type=int, help="writer threads (default 8)")
    parser.add_argument(
        "--cycle-seconds",
        type=float,
        help="the kill comes a random 25-100%% of this after the writers start (default 5)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="server workers on PostgreSQL (default 2)"
    )
    parser.add_argument(
        "--postgres-url",
        help="a PostgreSQL server to create a scratch database on (default: "
        f"$OPTIPLY_BENCH_POSTGRES_URL, else {DEFAULT_POSTGRES_URL} if reachable)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 cycles of at most 2 s with 4 writers (~30 s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the databases and server logs (always kept when a violation is found)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    cycles = args.cycles if args.cycles is not None else (2 if quick else 10)
    writers = args.writers if args.writers is not None else (4 if quick else 8)
    cycle_seconds = args.cycle_seconds or (2.0 if quick else 5.0)
    if cycles < 1 or writers < 1 or args.workers < 1 or cycle_seconds <= 0:
        parser.error("--cycles, --writers, --workers and --cycle-seconds must be positive")
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    postgres_url = args.postgres_url or os.environ.get("OPTIPLY_BENCH_POSTGRES_URL")
    if "postgresql" in backends and postgres_url is None:
        if _reachable(DEFAULT_POSTGRES_URL):
            postgres_url = DEFAULT_POSTGRES_URL
        elif args.backend == "postgresql":
            parser.error(f"no PostgreSQL at {DEFAULT_POSTGRES_URL}: pass --postgres-url")
    return Options(
        backends=backends,
        cycles=cycles,
        duration=args.duration,
        writers=writers,
        cycle_seconds=cycle_seconds,
        workers=args.workers,
        postgres_url=postgres_url,
        seed=args.seed,
        keep=bool(args.keep),
        output=args.output,
    )


def machine() -> dict[str, Any]:
    """What the run was measured on."""
    return {
        "cpus": os.cpu_count(),
        "cpu": data.cpu_model(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "source": source_fingerprint(),
    }


def source_fingerprint() -> str:
    """A hash of the server's source (the work tree is shared and may change meanwhile)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "optiply").rglob("*.py")):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _label(backend: str, workers: int) -> str:
    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
    return f"{name}, optiply serve --workers {workers}"


def summary_table(reports: list[Report]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| backend | cycles | writes attempted | acknowledged | in flight at the kill: "
        "applied / not | rejected / refused | acknowledged writes verified | checks | violations "
        "| time per cycle (median, max) | restart (median, max) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for report in reports:
        s = report.summary()
        outcomes = s["outcomes"]
        lines.append(
            f"| {_label(report.backend, report.workers)}, {report.writers} writers "
            f"| {s['cycles']} | {s['attempted']:,} | {outcomes.get('acknowledged', 0):,} "
            f"| {s['unknown_applied']} / {outcomes.get('unknown', 0) - s['unknown_applied']} "
            f"| {outcomes.get('rejected', 0)} / {outcomes.get('refused', 0)} "
            f"| {s['verified']:,} | {s['checks']:,} "
            f"| {len(report.violations)}{' + failure' if report.failure else ''} "
            f"| {s['cycle_s_median']:.1f} s, {s['cycle_s_max']:.1f} s "
            f"| {s['restart_s_median']:.1f} s, {s['restart_s_max']:.1f} s |"
        )
    return "\n".join(lines)


def _mix_line(report: Report) -> str:
    """What the acknowledged writes were, and how many rows cascades took."""
    summary = report.summary()
    kinds = sorted(summary["acknowledged_by_kind"].items(), key=lambda item: -item[1])
    mix = ", ".join(f"{kind} {count:,}" for kind, count in kinds)
    return (
        f"{_label(report.backend, report.workers)}: acknowledged {mix}; "
        f"{summary['cascaded']:,} child rows deleted by cascades, each with its parent"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the crash test; 0 when nothing was lost, duplicated or half applied."""
    argv = sys.argv[1:] if argv is None else argv
    command = os.environ.get("OPTIPLY_SOAK_COMMAND") or shlex.join(["scripts/soak", *argv])
    options = parse_options(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # a line per cycle, also into a file
    started = datetime.now(UTC)
    info = machine()
    print(f"$ {command}")
    print(
        f"{started:%Y-%m-%d %H:%M} UTC; {info['cpus']} CPUs ({info['cpu']}), load average "
        f"{info['load_average_at_start'][0]:.2f}; Python {info['python']}, SQLite "
        f"{info['sqlite']}; server source {info['source']}"
    )
    reports: list[Report] = []
    notes: list[str] = []
    work_dir = Path(tempfile.mkdtemp(prefix="optiply-soak-"))
    keep = options.keep
    for backend in options.backends:
        if backend == "postgresql" and options.postgres_url is None:
            notes.append("PostgreSQL skipped: no server (pass --postgres-url)")
            print(notes[-1])
            continue
        workers = options.workers if backend == "postgresql" else 1
        if backend == "postgresql":
            assert options.postgres_url is not None
            info["postgresql"] = _postgres_version(options.postgres_url)
            url = create_postgres_database(options.postgres_url)
            where = f"database {make_url(url).database}"
        else:
            url = f"sqlite:///{work_dir / 'soak.db'}"
            where = str(work_dir / "soak.db")
        print(
            f"{_label(backend, workers)}: {options.writers} writers, "
            + (
                f"cycles for {options.duration:g} s"
                if options.duration
                else f"{options.cycles} cycles"
            )
            + f", kill within {options.cycle_seconds:g} s of the writers' start"
        )
        plan = Plan(
            backend=backend,
            database_url=url,
            workers=workers,
            writers=options.writers,
            cycles=options.cycles,
            duration=options.duration,
            cycle_seconds=options.cycle_seconds,
            seed=options.seed,
        )
        try:
            report = run(plan, work_dir)
        except BaseException:
            if backend == "postgresql" and not keep:
                drop_postgres_database(url)
            raise
        reports.append(report)
        if not report.ok:
            keep = True
            _explain(report, where, options.output.parent)
        if backend == "postgresql":
            if keep:
                print(f"  kept the {where} for inspection")
            else:
                drop_postgres_database(url)
    if source_fingerprint() != info["source"]:
        notes.append("the server's source changed during the run")
        print(f"warning: {notes[-1]}")
    print()
    print(summary_table(reports))
    for report in reports:
        print(_mix_line(report))
    data.write_results(
        options.output,
        command=command,
        started=started,
        machine=info,
        options={k: str(v) for k, v in asdict(options).items()},
        notes=notes,
        reports=[r.summary() for r in reports],
        markdown=summary_table(reports),
    )
    print(f"Results written to {options.output}")
    if keep:
        print(f"Work folder kept: {work_dir}")
    else:
        for path in sorted(work_dir.iterdir()):
            path.unlink()
        work_dir.rmdir()
    return 0 if reports and all(r.ok for r in reports) else 1


def _explain(report: Report, where: str, results: Path) -> None:
    """Print what went wrong, and save the ledger next to the results."""
    if report.failure:
        print(f"  FAILURE: {report.failure}")
    for violation in report.violations[:30]:
        print(f"  VIOLATION: {violation}")
    if len(report.violations) > 30:
        print(f"  … and {len(report.violations) - 30} more")
    results.mkdir(parents=True, exist_ok=True)
    ledger = results / f"soak-ledger-{report.backend}.json"
    ledger.write_text(
        json.dumps(
            [
                {**asdict(w), "value": None if w.value is None else str(w.value)}
                for w in report.writes
            ],
            indent=1,
        )
    )
    print(f"  the ledger of every request is in {ledger}; the database: {where}")


if __name__ == "__main__":
    sys.exit(main())
