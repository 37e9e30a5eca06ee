"""``load``: a demo shop into an account, in one transaction, by bulk inserts.

The history is simulated twice with the same seed: once to learn every product's final stock
(products are written first, with their stock level, and everything else refers to them) and
each resource's row count, then again to write the orders and receipts day by day (for big
shops the sell orders are made by a process of their own, ``sales.py``, which runs the same
history once more). Either the whole shop is written or, on any error (or Ctrl-C),
nothing. On SQLite the load holds the database's write lock throughout (API writes of every
account wait, up to their busy timeout); on PostgreSQL only the account is locked, as by any
API write.
"""

from __future__ import annotations

import os
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from optiply.resources import REGISTRY
from optiply.resources import get as get_spec
from optiply.server.demo.catalogue import Catalogue, plan
from optiply.server.demo.codes import uuid4, uuid_stream
from optiply.server.demo.emit import PRODUCTS, SALES, Emitter
from optiply.server.demo.rows import DEMO_COUPLING
from optiply.server.demo.sales import SalesJob, SalesProcess
from optiply.server.demo.shops import SHOPS, Shop
from optiply.server.demo.simulation import Simulation
from optiply.server.storage import account_data, bulk, repository
from optiply.server.storage.repository import Connection, Engine

SPLIT_FROM = 200_000
"""Sell order lines from which a shop's sales are made in a process of their own."""
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 12, 31)  # room for two years of history before and deliveries after


class DemoError(Exception):
    """Bad input for a load (an unknown account or shop, a bad date, a loaded account)."""


class Progress(Protocol):
    """Told how far a load is: ``start`` a task (``"history"``, then each resource type)
    with its total, then ``advance`` it."""

    def start(self, task: str, total: int) -> None:
        """A task begins; ``total`` is its size (days or rows)."""

    def advance(self, task: str, amount: int) -> None:
        """``amount`` more of ``task`` is done."""


class _Silent:
    def start(self, task: str, total: int) -> None:
        pass

    def advance(self, task: str, amount: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a load wrote."""

    account_id: int
    shop: str
    seed: int
    until: date
    counts: dict[str, int] = field(default_factory=dict)  # rows per resource type
    seconds: float = 0.0


def load(
    engine: Engine,
    *,
    account_id: int,
    shop: str,
    seed: int = 0,
    until: date | None = None,
    progress: Progress | None = None,
    processes: int | None = None,
) -> Loaded:
    """Write demo shop ``shop`` into account ``account_id``; its sales end on ``until``
    (default: today, UTC).

    ``processes``: 2 makes the sell orders in a process of their own (``sales.py``), 1 here;
    the rows are the same. Default: 2 for shops of ``SPLIT_FROM`` sell order lines or more,
    on a machine of two cores or more.

    Raises:
        DemoError: an unknown shop or account, a date out of range, or an account that holds
            demo rows already.
    """
    started = time.monotonic()
    progress = progress or _Silent()
    chosen = shop_named(shop)
    until = until or datetime.now(UTC).date()
    if not EARLIEST <= until <= LATEST:
        raise DemoError(f"--until {until} is out of range ({EARLIEST} to {LATEST})")
    if processes is None:
        big = chosen.sell_order_lines >= SPLIT_FROM
        processes = 2 if big and (os.cpu_count() or 1) >= 2 else 1
    with engine.connect() as connection:  # fail fast, before the simulation
        _check_account(connection, account_id, seed)
    catalogue = plan(chosen, seed, until)
    stock, totals = _simulate(catalogue, seed, progress)
    with engine.begin() as connection:
        repository.lock_account(connection, account_id)
        account_uuid = _check_account(connection, account_id, seed)
        with bulk.writer(connection) as writer:
            emitter = Emitter(
                connection,
                writer,
                catalogue,
                seed=seed,
                account_id=account_id,
                account_uuid=account_uuid,
                totals=totals,
                advance=progress.advance,
                sales_here=processes == 1,
            )
            for task, total in totals.items():
                writer.expect(get_spec(task), total)
                progress.start(task, total)
            if processes == 1:
                emitter.write_catalogue(stock)
                for day in Simulation(catalogue, seed).days():
                    emitter.write_day(day)
            else:
                _write_with_sales_process(emitter, writer, catalogue, stock, seed, account_uuid)
            emitter.flush()
            counts = {task: emitter.counts[task] for task in totals}
            if counts != totals:  # the two runs of the history differ: a bug; roll back
                raise RuntimeError(f"the demo history is not reproducible: {totals}, {counts}")
    return Loaded(account_id, shop, seed, until, counts, time.monotonic() - started)


def _write_with_sales_process(
    emitter: Emitter,
    writer: bulk.BulkWriter,
    catalogue: Catalogue,
    stock: array[int],
    seed: int,
    account_uuid: str,
) -> None:
    """The shop, its sell orders made by a ``SalesProcess`` meanwhile and written between
    the rest (after the catalogue they refer to)."""
    layouts = {
        kind: writer.layout(
            get_spec(kind), [c.name for c in bulk.table_for(get_spec(kind)).columns]
        )
        for kind in SALES
    }
    job = SalesJob(
        shop=catalogue.shop,
        seed=seed,
        until=catalogue.day(catalogue.shop.days - 1),
        account_id=emitter.account_id,
        account_uuid=account_uuid,
        product_ids=emitter.taken["products"],
        ids=emitter.sales_ids,
        layouts=layouts,
    )
    with SalesProcess(job) as sales:
        emitter.write_catalogue(stock)
        for day in Simulation(catalogue, seed).days():
            emitter.write_day(day)
            for kind, rows in sales.ready():
                emitter.insert_bound(kind, layouts[kind], rows)
        emitter.flush()
        for kind, rows in sales.rest():
            emitter.insert_bound(kind, layouts[kind], rows)


def shop_named(name: str) -> Shop:
    """The shop called ``name``; DemoError when there is none."""
    if name not in SHOPS:
        *others, last = SHOPS
        raise DemoError(f"unknown shop {name!r}: choose {', '.join(others)} or {last}")
    return SHOPS[name]


def _check_account(connection: Connection, account_id: int, seed: int) -> str:
    """The account's uuid; DemoError when it does not exist or holds demo rows."""
    account_uuid = account_data.live_account_uuid(connection, account_id)
    if account_uuid is None:
        raise DemoError(f"account {account_id} does not exist")
    loaded = account_data.types_with_coupling(connection, account_id, DEMO_COUPLING)
    first_product = uuid4(uuid_stream(seed, account_id, PRODUCTS))
    if loaded or account_data.uuid_taken(connection, PRODUCTS, first_product):
        shown = ", ".join(loaded[:2]) + (f" and {len(loaded) - 2} more" if len(loaded) > 2 else "")
        held = f" ({shown})" if loaded else " (deleted rows of an earlier load)"
        raise DemoError(
            f"account {account_id} holds demo data already{held}: remove it with "
            f"`optiply accounts reset {account_id} --coupling {DEMO_COUPLING}`, or load into "
            f"another account"
        )
    return account_uuid


def _simulate(
    catalogue: Catalogue, seed: int, progress: Progress
) -> tuple[array[int], dict[str, int]]:
    """The final stock of every product, and the rows each resource will get (registry
    order), from a first run of the history."""
    progress.start("history", catalogue.shop.days + 1)
    simulation = Simulation(catalogue, seed)
    counts = dict.fromkeys(("sellOrders", "sellOrderLines", "buyOrders", "buyOrderLines"), 0)
    counts["receiptLines"] = 0
    for day in simulation.days():
        counts["buyOrders"] += len(day.purchases)
        counts["buyOrderLines"] += sum(len(purchase.lines) for purchase in day.purchases)
        counts["receiptLines"] += len(day.receipts)
        counts["sellOrders"] += len(day.sales)
        counts["sellOrderLines"] += sum(len(lines) for lines in day.sales)
        progress.advance("history", 1)
    counts.update(
        products=catalogue.products,
        suppliers=catalogue.suppliers,
        supplierProducts=catalogue.products + len(catalogue.offers),
        productCompositions=len(catalogue.compositions),
        promotions=len(catalogue.promotions),
        promotionProducts=sum(len(p.products) for p in catalogue.promotions),
    )
    order = [spec.type for spec in REGISTRY if spec.type in counts]
    return simulation.stock, {resource: counts[resource] for resource in order}
