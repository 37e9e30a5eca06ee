"""Sell orders and their lines: four rows in five of a shop, made here, in this process or in a
process of its own.

Making rows is Python work, and Python runs one thread at a time: a second process lets a
shop's two cores make rows at once. The sales need nothing the rest of the shop makes but the
products' ids and uuids, and everything they need is drawn from the seed (the catalogue, the
history, their own random stream and uuid streams), so a process started with the seed, the
ids reserved for it and the product ids makes exactly the rows this process would have made.
It binds them (``bulk.Layout.binder``) and sends them here in chunks; the writer inserts them
(``BulkWriter.insert_bound``) between the rest.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from multiprocessing.connection import Connection as Pipe
from random import Random
from types import TracebackType
from typing import Any

from optiply.resources import ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.demo.catalogue import Catalogue, plan
from optiply.server.demo.codes import money, uuid4, uuid_stream
from optiply.server.demo.rows import Add, Makers
from optiply.server.demo.shops import Shop
from optiply.server.demo.simulation import Simulation
from optiply.server.storage.bulk import CHUNK, Layout

PRODUCTS = get_spec("products")
SELL_ORDERS, SELL_ORDER_LINES = get_spec("sellOrders"), get_spec("sellOrderLines")
TYPES = (SELL_ORDERS.type, SELL_ORDER_LINES.type)
_HOUR = 3600


class Sales:
    """Makes a day's sell orders, each with its lines (as POSTed with ``orderLines``)."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        seed: int,
        account_id: int,
        account_uuid: str,
        product_ids: Sequence[int],
        product_uuids: Sequence[str],
        ids: Mapping[str, Iterator[int]],
        add: Add,
    ) -> None:
        self.catalogue = catalogue
        self.rng = Random(f"{seed}:sales")  # noqa: S311 - seeded on purpose
        self.makers = Makers(
            None,  # no rule of these reads the database
            ((SELL_ORDERS, None), (SELL_ORDER_LINES, SELL_ORDERS)),
            seed=seed,
            account_id=account_id,
            account_uuid=account_uuid,
            ids=ids,
            add=add,
        )
        self.product_ids = product_ids
        self.product_uuids = product_uuids
        first = catalogue.first_day
        self.midnight = datetime(first.year, first.month, first.day, tzinfo=UTC)
        self.end = self.midnight + timedelta(days=catalogue.shop.days)  # after the last day
        self._number = 0
        self._amounts: dict[int, Decimal] = {}

    def write_day(self, index: int, sales: list[list[tuple[int, int]]]) -> None:
        """The sell orders of day ``index``: placed through the day (mostly evenings), made a
        few minutes later, most completed a few hours to two days after."""
        catalogue, rng, make = self.catalogue, self.rng, self.makers.make
        draw = rng.random  # rather than randint(): a third of the time of an order's row
        day = self.midnight + timedelta(days=index)
        times = sorted(int(rng.triangular(7 * _HOUR, 23 * _HOUR, 20 * _HOUR)) for _ in sales)
        for lines, seconds in zip(sales, times, strict=True):
            self._number += 1
            number = self._number
            placed = day + timedelta(seconds=seconds)
            subtotals = [catalogue.price[product] * units for product, units in lines]
            values: dict[str, Any] = {
                "placed": placed,
                "totalValue": self._money(sum(subtotals)),
                "remoteId": f"SO-{number:08d}",
            }
            created = placed + timedelta(seconds=60 + int(draw() * 1140))
            completed = placed + timedelta(seconds=2 * _HOUR + int(draw() * 46 * _HOUR))
            changed = completed + timedelta(seconds=60 + int(draw() * 540))
            updated = None
            if changed < self.end:  # shipped within the history
                values["completed"] = completed
                updated = changed
            order = make(SELL_ORDERS, values, created, updated)
            for position, ((product, units), subtotal) in enumerate(
                zip(lines, subtotals, strict=True)
            ):
                make(
                    SELL_ORDER_LINES,
                    {
                        "productId": int(self.product_ids[product]),
                        "quantity": units,
                        "subtotalValue": self._money(subtotal),
                        "remoteId": f"SO-{number:08d}-{position + 1}",
                    },
                    created,
                    references={"productId": self.product_uuids[product]},
                    parent=order,
                )

    def _money(self, cents: int) -> Decimal:
        """``money(cents)``, remembered: order lines repeat a few thousand amounts."""
        amount = self._amounts.get(cents)
        if amount is None:
            if len(self._amounts) > 100_000:
                self._amounts.clear()
            amount = self._amounts[cents] = money(cents)
        return amount


@dataclass(frozen=True)
class SalesJob:
    """What a process of its own needs to make a shop's sales: plain data."""

    shop: Shop
    seed: int
    until: date
    account_id: int
    account_uuid: str
    product_ids: Sequence[int]
    ids: Mapping[str, Sequence[int]]  # reserved for sellOrders and sellOrderLines
    layouts: Mapping[str, Layout]


class SalesProcess:
    """A process making a shop's sales (``python -m optiply.server.demo.worker``, given the
    job on its stdin); ``ready`` and ``rest`` yield its bound rows as ``(resource type,
    rows)``, sell orders before their lines.

    A command of its own rather than a ``multiprocessing`` child: nothing of this process is
    copied (its threads, its connections) nor imported again (its ``__main__``).
    """

    def __init__(self, job: SalesJob) -> None:
        read, write = os.pipe()
        command = [sys.executable, "-m", "optiply.server.demo.worker", str(write)]
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
            command, stdin=subprocess.PIPE, pass_fds=(write,)
        )
        os.close(write)
        self._pipe = Pipe(read, writable=False)
        assert self._process.stdin is not None
        with self._process.stdin as stdin:
            pickle.dump(job, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.counts: dict[str, int] | None = None  # set once the process is done

    def __enter__(self) -> SalesProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._pipe.close()

    def ready(self) -> Iterator[tuple[str, list[list[Any]]]]:
        """The chunks the process has sent so far (none waited for)."""
        while self.counts is None and self._pipe.poll():
            yield from self._receive()

    def rest(self) -> Iterator[tuple[str, list[list[Any]]]]:
        """Every chunk still to come, until the process is done."""
        while self.counts is None:
            yield from self._receive()

    def _receive(self) -> Iterator[tuple[str, list[list[Any]]]]:
        try:
            kind, payload = self._pipe.recv()
        except EOFError:
            code = self._process.wait()
            raise RuntimeError(f"the demo sales process ended early (exit code {code})") from None
        if kind == "error":
            raise RuntimeError(f"the demo sales process failed: {payload}")
        if kind == "done":
            self.counts = payload
            return
        yield kind, payload


def produce(pipe: Pipe, job: SalesJob) -> None:
    """The sales process: make, bind and send every sell order and line of the shop."""
    try:
        catalogue = plan(job.shop, job.seed, job.until)
        product_uuids = _product_uuids(job.seed, job.account_id, catalogue.products)
        binders = {kind: layout.binder() for kind, layout in job.layouts.items()}
        buffers: dict[str, list[list[Any]]] = {kind: [] for kind in TYPES}
        counts = dict.fromkeys(TYPES, 0)

        def send() -> None:
            for kind in TYPES:  # orders before their lines
                if buffers[kind]:
                    pipe.send((kind, buffers[kind]))
                    counts[kind] += len(buffers[kind])
                    buffers[kind] = []

        def add(spec: ResourceSpec, row: dict[str, Any]) -> None:
            buffers[spec.type].append(binders[spec.type](row))
            if len(buffers[SELL_ORDER_LINES.type]) >= CHUNK:
                send()

        sales = Sales(
            catalogue,
            seed=job.seed,
            account_id=job.account_id,
            account_uuid=job.account_uuid,
            product_ids=job.product_ids,
            product_uuids=product_uuids,
            ids={kind: iter(ids) for kind, ids in job.ids.items()},
            add=add,
        )
        for day in Simulation(catalogue, job.seed).days():
            if day.sales:
                sales.write_day(day.index, day.sales)
        send()
        pipe.send(("done", counts))
    except BaseException as error:  # reported to the loading process
        pipe.send(("error", "".join(traceback.format_exception_only(error)).strip()))
    finally:
        pipe.close()


def _product_uuids(seed: int, account_id: int, count: int) -> list[str]:
    """The uuids the loading process gives the products (their stream, in product order)."""
    stream = uuid_stream(seed, account_id, PRODUCTS)
    return [uuid4(stream) for _ in range(count)]
