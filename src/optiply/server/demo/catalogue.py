"""The plan of a demo shop: its products, suppliers, offers, compositions and promotions as
compact numbers (arrays, no rows), drawn from the seed.

The simulation (``simulation.py``) runs on these numbers; the rows (``emit.py``) add names
and codes. Demand: every product has a popularity (lognormal) and a season (flat, summer or
winter peak); a day's expected sell order lines are the shop's rate times a weekday factor
times the season's factor of that day, scaled so the history holds about
``Shop.sell_order_lines`` lines. Purchasing: a product is bought from its preferred supplier
by an (s, S) policy reviewed every ``review`` days: s covers the demand over lead time plus
review period with a safety margin, S - s is ``Shop.cover_days`` of demand, rounded up to the
lot size.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from random import Random

from optiply.server.demo.codes import CATEGORIES
from optiply.server.demo.shops import Shop

WEEKDAYS = (1.10, 1.05, 1.00, 0.97, 0.92, 0.82, 1.14)  # Monday to Sunday: webshop evenings
SEASONS = ((0.15, 350), (0.6, 190), (0.6, 355))  # (amplitude, peak day of year) per season
SEASON_SHARES = (0.70, 0.88)  # cumulative: 70% flat (a December bump), 18% summer, 12% winter
QUANTITIES = ((0.70, 1), (0.87, 2), (0.94, 3))  # (cumulative probability, units); else 4-12
MEAN_QUANTITY = 1.6
LOT_SIZES = (1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 12, 12, 24)


def season_factor(season: int, day: date) -> float:
    """How much a season sells on ``day`` relative to its mean.

    >>> round(season_factor(1, date(2024, 7, 8)), 2), round(season_factor(1, date(2024, 1, 8)), 2)
    (1.6, 0.4)
    """
    amplitude, peak = SEASONS[season]
    return 1 + amplitude * math.cos(2 * math.pi * (day.timetuple().tm_yday - peak) / 365.25)


def day_factor(season: int, day: date) -> float:
    """Weekday times season factor: the shape of a product's demand over the year."""
    return WEEKDAYS[day.weekday()] * season_factor(season, day)


@dataclass(slots=True)
class Promotion:
    """A promotion of some products over some days (indexes of the history)."""

    start: int
    end: int  # inclusive; may lie after the last day
    uplift: int  # percent more demand
    products: list[int]
    cumulative: list[float]  # the products' cumulative popularity, to draw from


@dataclass(slots=True)
class Catalogue:
    """A shop's numbers. Products, suppliers and promotions are indexes from 0."""

    shop: Shop
    first_day: date
    category: array[int]
    supplier: array[int]  # the preferred supplier
    item: array[int]  # the product's number at its preferred supplier (EAN item reference)
    price: array[int]  # sales price, cents
    cost: array[int]  # purchase price at the preferred supplier, cents
    rate: array[float]  # expected sell order lines a day, before the day's factor
    season: array[int]
    lot: array[int]
    minimum: array[int]  # minimum purchase quantity
    reorder: array[int]  # s
    up_to: array[int]  # S
    lead: list[int]  # per supplier: delivery time in days
    review: list[int]  # per supplier: replenishment period in days
    phase: list[int]  # per supplier: its review days are those where (day + phase) % review == 0
    prefix: list[int]  # per supplier: the EAN company prefix (5 digits)
    offers: list[tuple[int, int, int]]  # other suppliers' offers: (product, supplier, cents)
    compositions: list[tuple[int, int, int]]  # (composed product, part product, quantity)
    promotions: list[Promotion]
    groups: list[tuple[array[int], list[float]]]  # per season: products, cumulative popularity
    season_rates: list[float]  # per season: the summed rate of its products

    @property
    def products(self) -> int:
        """How many products."""
        return len(self.price)

    @property
    def suppliers(self) -> int:
        """How many suppliers."""
        return len(self.lead)

    def day(self, index: int) -> date:
        """The date of day ``index`` of the history."""
        return self.first_day + timedelta(days=index)


def plan(shop: Shop, seed: int, until: date) -> Catalogue:
    """The catalogue of ``shop`` for ``seed``, with sales ending on ``until``."""
    rng = Random(f"{seed}:catalogue")  # noqa: S311 - seeded on purpose: same seed, same shop
    first_day = until - timedelta(days=shop.days - 1)
    count, suppliers = shop.products, shop.suppliers
    prefix = rng.sample(range(10_000, 100_000), suppliers)
    lead = [rng.randint(2, 10) if rng.random() < 0.8 else rng.randint(11, 21) for _ in prefix]
    review = [rng.randint(*shop.review_days) for _ in range(suppliers)]
    phase = [rng.randrange(period) for period in review]
    supplier = _assign_suppliers(rng, count, suppliers)
    item = array("i", [0]) * count
    items_of = [0] * suppliers
    for index in range(count):
        items_of[supplier[index]] += 1
        item[index] = items_of[supplier[index]]
    assert max(items_of) < 100_000, "an EAN item reference has five digits"
    category = array("b", (rng.randrange(len(CATEGORIES)) for _ in range(count)))
    price = array("q", (_price(rng) for _ in range(count)))
    cost = array("q", (max(1, int(p * rng.uniform(0.35, 0.65))) for p in price))
    weight = [rng.lognormvariate(0, 1.0) for _ in range(count)]
    season = array("b", (bisect(SEASON_SHARES, rng.random()) for _ in range(count)))
    lot = array("i", (rng.choice(LOT_SIZES) for _ in range(count)))
    minimum = array("i", (size if rng.random() < 0.5 else 1 for size in lot))
    days = [first_day + timedelta(days=d) for d in range(shop.days)]
    shape = [sum(day_factor(s, day) for day in days) for s in range(len(SEASONS))]
    scale = shop.sell_order_lines / sum(w * shape[s] for w, s in zip(weight, season, strict=True))
    rate = array("d", (w * scale for w in weight))
    reorder, up_to = _policy(shop, rate, supplier, lot, minimum, lead, review)
    groups = []
    season_rates = []
    for s in range(len(SEASONS)):
        members = array("i", (i for i in range(count) if season[i] == s))
        groups.append((members, list(accumulate(rate[i] for i in members))))
        season_rates.append(sum(rate[i] for i in members))
    return Catalogue(
        shop=shop,
        first_day=first_day,
        category=category,
        supplier=supplier,
        item=item,
        price=price,
        cost=cost,
        rate=rate,
        season=season,
        lot=lot,
        minimum=minimum,
        reorder=reorder,
        up_to=up_to,
        lead=lead,
        review=review,
        phase=phase,
        prefix=prefix,
        offers=_offers(rng, shop, supplier, price, cost),
        compositions=_compositions(rng, shop, count),
        promotions=_promotions(rng, shop, rate),
        groups=groups,
        season_rates=season_rates,
    )


def _assign_suppliers(rng: Random, count: int, suppliers: int) -> array[int]:
    """Every supplier gets a product first, then products go by supplier size (lognormal)."""
    sizes = list(accumulate(rng.lognormvariate(0, 0.5) for _ in range(suppliers)))
    chosen = array("i", (i % suppliers for i in range(min(count, suppliers))))
    chosen.extend(bisect(sizes, rng.random() * sizes[-1]) for _ in range(count - len(chosen)))
    return chosen


def _price(rng: Random) -> int:
    """A shop price in cents ending in .95 or .99 (or .50), mostly between 5 and 50 euros."""
    euros = max(1, int(math.exp(rng.gauss(math.log(15), 0.8))))
    return euros * 100 + rng.choice((95, 99, 99, 50)) - 100 * (euros > 1)


def _policy(
    shop: Shop,
    rate: array[float],
    supplier: array[int],
    lot: array[int],
    minimum: array[int],
    lead: list[int],
    review: list[int],
) -> tuple[array[int], array[int]]:
    reorder = array("i", [0]) * len(rate)
    up_to = array("i", [0]) * len(rate)
    for index, lines in enumerate(rate):
        units = lines * MEAN_QUANTITY  # a day's expected units (about; seasons move it)
        horizon = units * (lead[supplier[index]] + review[supplier[index]])
        low = math.ceil(horizon + 2 * math.sqrt(2 * horizon) + 0.5)
        quantity = max(minimum[index], math.ceil(units * shop.cover_days))
        quantity = -(-quantity // lot[index]) * lot[index]
        reorder[index], up_to[index] = low, low + quantity
    return reorder, up_to


def _offers(
    rng: Random, shop: Shop, supplier: array[int], price: array[int], cost: array[int]
) -> list[tuple[int, int, int]]:
    """Offers of products by suppliers other than the preferred one (a second, rarely a third),
    a little dearer than the preferred one and still below the shop price."""
    suppliers = shop.suppliers
    offers: list[tuple[int, int, int]] = []
    if suppliers < 2:
        return offers
    for index in range(len(price)):
        if rng.random() >= shop.second_supplier:
            continue
        others = {supplier[index]}
        for _ in range(2 if rng.random() < 0.15 and suppliers > 2 else 1):
            other = rng.randrange(suppliers - 1)
            while other in others:
                other = (other + 1) % suppliers
            others.add(other)
            cents = min(price[index] - 1, int(cost[index] * rng.uniform(1.02, 1.15)))
            offers.append((index, other, max(cost[index], cents)))
    return offers


def _compositions(rng: Random, shop: Shop, count: int) -> list[tuple[int, int, int]]:
    """Composed products (kits, gift sets) of 2-3 parts each; a part is never composed."""
    composed = sorted(rng.sample(range(count), min(shop.composed_products, count // 4)))
    kits = set(composed)
    parts_pool = [i for i in range(count) if i not in kits] if count < 100_000 else None
    rows: list[tuple[int, int, int]] = []
    for product in composed:
        parts: set[int] = set()
        wanted = rng.randint(2, 3)
        while len(parts) < wanted:
            part = rng.choice(parts_pool) if parts_pool else rng.randrange(count)
            if part not in kits:
                parts.add(part)
        rows.extend((product, part, rng.randint(1, 3)) for part in sorted(parts))
    return rows


def _promotions(rng: Random, shop: Shop, rate: array[float]) -> list[Promotion]:
    """Promotions of 1-4 weeks with 20-80% uplift; the last may run past the history."""
    promotions = []
    low, high = shop.products_per_promotion
    for _ in range(shop.promotions):
        start = rng.randint(7, shop.days - 3)
        size = min(rng.randint(low, high), len(rate) // 2)
        products = sorted(rng.sample(range(len(rate)), size))
        promotions.append(
            Promotion(
                start=start,
                end=start + rng.randint(7, 28) - 1,
                uplift=rng.choice((20, 25, 30, 40, 50, 60, 80)),
                products=products,
                cumulative=list(accumulate(rate[i] for i in products)),
            )
        )
    promotions.sort(key=lambda promotion: promotion.start)
    return promotions
