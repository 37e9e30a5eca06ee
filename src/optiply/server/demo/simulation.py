"""A shop's history, day by day: sales against stock, reorders, deliveries.

Before the first day every product is bought once up to its order-up-to level S (opening buy
orders, received early on day 0), so stock starts at zero and always equals what was received
minus what was sold. Then each day:

1. suppliers whose review day it is get a buy order for every product of theirs whose stock
   position (stock + on order) is at or below s, up to S in whole lots (the small shop: a buy
   order per product). Deliveries are decided at once: the order arrives its supplier's
   delivery time after it was placed, give or take a few days, and about one line in eight
   comes in two parts;
2. deliveries due that day are received (stock goes up);
3. customers place orders: the day's count is Poisson around the expected lines (weekday,
   season, promotions) over the mean lines per order; each line picks a product by
   popularity and a quantity, and gets what is in stock (nothing in stock: a lost sale).

Only deliveries up to the last day happen; a buy order is completed when all its lines were
fully received within the history. Everything is drawn from ``Random(f"{seed}:simulation")``,
so two runs give the same days (``load`` runs it once for the final stock, then to write).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from random import Random

from optiply.server.demo.catalogue import (
    QUANTITIES,
    SEASONS,
    WEEKDAYS,
    Catalogue,
    Promotion,
    day_factor,
)

SPLIT_SHARE = 0.12  # buy order lines delivered in two parts
MAX_LINES = 8  # lines of one sell order
_HOUR = 3600


@dataclass(slots=True)
class Receipt:
    """A delivery of part (or all) of a buy order line."""

    line: int  # the line's handle
    product: int
    at: datetime
    quantity: int


@dataclass(slots=True)
class PurchaseLine:
    """A product on a buy order; ``receipts`` of its deliveries fall within the history."""

    handle: int
    product: int
    quantity: int
    receipts: int = 0


@dataclass(slots=True)
class Purchase:
    """A buy order to one supplier."""

    supplier: int
    placed: datetime
    lines: list[PurchaseLine]
    completed: datetime | None = None


@dataclass(slots=True)
class Day:
    """What happened on day ``index`` (-1: the opening buy orders)."""

    index: int
    purchases: list[Purchase] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    sales: list[list[tuple[int, int]]] = field(default_factory=list)  # orders: (product, units)


class Simulation:
    """Runs a catalogue's history; ``stock`` holds each product's stock as it goes."""

    def __init__(self, catalogue: Catalogue, seed: int) -> None:
        self.catalogue = catalogue
        self.rng = Random(f"{seed}:simulation")  # noqa: S311 - seeded on purpose
        count = catalogue.products
        self.stock = array("q", [0]) * count
        self.on_order = array("q", [0]) * count
        self._dirty: list[set[int]] = [set() for _ in range(catalogue.suppliers)]
        self._arrivals: dict[int, list[Receipt]] = {}
        self._handles = 0
        self._last = catalogue.shop.days - 1
        start = catalogue.first_day
        self._midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
        self._extra = 1 - 1 / catalogue.shop.lines_per_sell_order  # P(one more line)

    def days(self) -> Iterator[Day]:
        """The opening day (-1), then every day of the history."""
        yield self._opening()
        for index in range(self.catalogue.shop.days):
            yield self._day(index)

    def at(self, index: int, seconds: int) -> datetime:
        """The instant ``seconds`` after midnight of day ``index``."""
        return self._midnight + timedelta(days=index, seconds=seconds)

    def _opening(self) -> Day:
        catalogue, rng = self.catalogue, self.rng
        wanted: list[list[tuple[int, int]]] = [[] for _ in range(catalogue.suppliers)]
        for product in range(catalogue.products):
            wanted[catalogue.supplier[product]].append((product, catalogue.up_to[product]))
        day = Day(-1)
        for supplier, lines in enumerate(wanted):
            for group in self._grouped(lines):
                placed = self.at(-catalogue.lead[supplier], rng.randint(8 * _HOUR, 12 * _HOUR))
                received = self.at(0, rng.randint(6 * _HOUR, 7 * _HOUR))
                purchase = Purchase(supplier, placed, [])
                for product, units in group:
                    line = PurchaseLine(self._handle(), product, units, receipts=1)
                    self._arrive(Receipt(line.handle, product, received, units), 0)
                    self.on_order[product] += units
                    purchase.lines.append(line)
                purchase.completed = received + timedelta(seconds=rng.randint(300, _HOUR))
                day.purchases.append(purchase)
        return day

    def _day(self, index: int) -> Day:
        catalogue = self.catalogue
        day = Day(index)
        for supplier in range(catalogue.suppliers):
            if (index + catalogue.phase[supplier]) % catalogue.review[supplier] == 0:
                day.purchases.extend(self._review(index, supplier))
        day.receipts = sorted(self._arrivals.pop(index, ()), key=lambda receipt: receipt.at)
        for receipt in day.receipts:
            self.stock[receipt.product] += receipt.quantity
            self.on_order[receipt.product] -= receipt.quantity
        day.sales = self._sales(index)
        return day

    def _review(self, index: int, supplier: int) -> list[Purchase]:
        """Buy orders for the supplier's products at or below their reorder level."""
        dirty = self._dirty[supplier]
        if not dirty:
            return []
        catalogue = self.catalogue
        due = []
        for product in sorted(dirty):
            position = self.stock[product] + self.on_order[product]
            if position <= catalogue.reorder[product]:
                units = max(catalogue.up_to[product] - position, catalogue.minimum[product])
                lot = catalogue.lot[product]
                due.append((product, -(-units // lot) * lot))
        dirty.clear()
        return [self._purchase(index, supplier, group) for group in self._grouped(due)]

    def _purchase(self, index: int, supplier: int, group: list[tuple[int, int]]) -> Purchase:
        rng = self.rng
        purchase = Purchase(supplier, self.at(index, rng.randint(8 * _HOUR, 12 * _HOUR)), [])
        arrival = max(index + 1, index + self.catalogue.lead[supplier] + self._delay())
        latest: datetime | None = None
        complete = True
        for product, units in group:
            line = PurchaseLine(self._handle(), product, units)
            parts = [units]
            if units >= 2 and rng.random() < SPLIT_SHARE:
                first = max(1, int(units * rng.uniform(0.4, 0.9)))
                parts = [first, units - first]
            when = arrival
            for number, part in enumerate(parts):
                when += rng.randint(1, 7) if number else 0
                at = self.at(when, rng.randint(8 * _HOUR, 17 * _HOUR))
                if when > self._last:
                    complete = False
                    continue
                self._arrive(Receipt(line.handle, product, at, part), when)
                line.receipts += 1
                latest = at if latest is None or at > latest else latest
            self.on_order[product] += units
            purchase.lines.append(line)
        if complete and latest is not None:
            purchase.completed = latest + timedelta(seconds=rng.randint(300, 2 * _HOUR))
        return purchase

    def _delay(self) -> int:
        """Days a delivery arrives after its expected date: mostly on time."""
        draw = self.rng.random()
        if draw < 0.10:
            return -1
        if draw < 0.65:
            return 0
        if draw < 0.80:
            return 1
        return 2 if draw < 0.90 else self.rng.randint(3, 6)

    def _sales(self, index: int) -> list[list[tuple[int, int]]]:
        catalogue, rng = self.catalogue, self.rng
        day = catalogue.day(index)
        sources = [
            rate * day_factor(season, day) for season, rate in enumerate(catalogue.season_rates)
        ]
        promotions = [p for p in catalogue.promotions if p.start <= index <= p.end]
        weekday = WEEKDAYS[day.weekday()]
        sources.extend(p.cumulative[-1] * weekday * p.uplift / 100 for p in promotions)
        cumulative = list(accumulate(sources))
        total = cumulative[-1]
        seasons = cumulative[: len(SEASONS)]
        orders = poisson(rng, total / catalogue.shop.lines_per_sell_order)
        random, stock, supplier, dirty = rng.random, self.stock, catalogue.supplier, self._dirty
        last_source, last_season, extra = len(sources) - 1, len(SEASONS) - 1, self._extra
        sales = []
        for _ in range(orders):
            lines: list[tuple[int, int]] = []
            chosen: list[int] = []
            source = min(bisect(cumulative, random() * total), last_source)
            count = 1
            while count < MAX_LINES and random() < extra:
                count += 1
            for number in range(count):
                if number:
                    source = min(bisect(seasons, random() * seasons[-1]), last_season)
                product = self._pick(source, promotions)
                if product in chosen:
                    continue
                chosen.append(product)
                units = min(quantity(rng), stock[product])
                if units <= 0:
                    continue  # out of stock: a lost sale
                stock[product] -= units
                dirty[supplier[product]].add(product)
                lines.append((product, units))
            if lines:
                sales.append(lines)
        return sales

    def _pick(self, source: int, promotions: list[Promotion]) -> int:
        """A product of a season (0-2), or of an active promotion, by popularity."""
        members: Sequence[int]
        if source < len(SEASONS):
            members, cumulative = self.catalogue.groups[source]
        else:
            promotion = promotions[source - len(SEASONS)]
            members, cumulative = promotion.products, promotion.cumulative
        position = bisect(cumulative, self.rng.random() * cumulative[-1])
        return int(members[min(position, len(members) - 1)])

    def _handle(self) -> int:
        self._handles += 1
        return self._handles

    def _grouped(self, lines: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
        if not lines:
            return []
        if self.catalogue.shop.one_line_buy_orders:
            return [[line] for line in lines]
        return [lines]

    def _arrive(self, receipt: Receipt, index: int) -> None:
        self._arrivals.setdefault(index, []).append(receipt)


def poisson(rng: Random, mean: float) -> int:
    """A Poisson draw (Knuth's method below 30, the normal approximation above).

    >>> round(sum(poisson(Random(1), 4.0) for _ in range(10_000)) / 10_000, 1)
    4.0
    """
    if mean < 30:
        limit, count, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def quantity(rng: Random) -> int:
    """Units on a sell order line: mostly 1, sometimes a few, rarely a dozen."""
    draw = rng.random()
    for share, units in QUANTITIES:
        if draw < share:
            return units
    return rng.randint(4, 6) if draw < 0.99 else rng.randint(7, 12)
