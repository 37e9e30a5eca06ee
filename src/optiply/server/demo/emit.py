"""A demo shop as rows: the catalogue, then the simulated days, written through ``bulk``.

Every row is made of the values an importer would POST (``rows.RowMaker``), with timestamps of
the moment it would have: the catalogue was imported when the shop was onboarded (30 days
before the first day of sales), a sell order a few minutes after it was placed (and changed
when it was completed), a buy order when it was placed, a receipt line after the goods
arrived, and every product's stock last synced late on the last day. Names, codes and times
come from ``Random(f"{seed}:rows")`` and uuids from a generator per resource seeded with the
account too (a shop loaded into two accounts gets other uuids), so nothing depends on the
clock: the same seed and ``--until`` give the same bytes.

Rows wait in buffers and go to the database in registry order every ``FLUSH_ROWS`` rows: a
row is made after the rows it refers to, so its parents are in the same flush or an earlier
one.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from optiply.resources import REGISTRY, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.demo.catalogue import Catalogue
from optiply.server.demo.codes import ean13, money, product_name, sku, slug, supplier_names
from optiply.server.demo.rows import Makers
from optiply.server.demo.sales import Sales
from optiply.server.demo.simulation import Day, Purchase, Receipt
from optiply.server.service import delivery_dates, promotions
from optiply.server.storage.bulk import BulkWriter, Layout
from optiply.server.storage.repository import Connection

FLUSH_ROWS = 20_000
PRODUCT_CHUNK = 10_000
_HOUR = 3600
_THEMES = (  # promotion names by the month they start
    "New year sale", "Winter deals", "Spring start", "Easter offers", "Garden weeks",
    "Summer kick-off", "Summer sale", "Holiday deals", "Back to school", "Autumn days",
    "Black Friday", "Christmas specials",
)  # fmt: skip

PRODUCTS, SUPPLIERS, SUPPLIER_PRODUCTS = (
    get_spec("products"),
    get_spec("suppliers"),
    get_spec("supplierProducts"),
)
COMPOSITIONS, PROMOTIONS, PROMOTION_PRODUCTS = (
    get_spec("productCompositions"),
    get_spec("promotions"),
    get_spec("promotionProducts"),
)
SALES = ("sellOrders", "sellOrderLines")  # made by ``sales.Sales``, here or elsewhere
BUY_ORDERS, BUY_ORDER_LINES = get_spec("buyOrders"), get_spec("buyOrderLines")
RECEIPT_LINES = get_spec("receiptLines")

Advance = Callable[[str, int], None]
"""Told ``(resource type, rows)`` each time rows were written."""


@dataclass(slots=True)
class _Open:
    """A buy order line whose receipts are still to be written."""

    id: int
    uuid: str
    receipts: int


class Emitter:
    """Writes one shop into one account."""

    def __init__(
        self,
        connection: Connection,
        writer: BulkWriter,
        catalogue: Catalogue,
        *,
        seed: int,
        account_id: int,
        account_uuid: str,
        totals: Mapping[str, int],
        advance: Advance,
        sales_here: bool = True,
    ) -> None:
        """``totals``: the rows of each resource (exact: their ids are taken at once, one
        statement per table on PostgreSQL); ``sales_here``: whether this emitter makes the sell
        orders too (else ``sales_ids`` are for the process that does)."""
        self.connection = connection
        self.writer = writer
        self.catalogue = catalogue
        self.advance = advance
        self.rng = Random(f"{seed}:rows")  # noqa: S311 - seeded on purpose
        self.account_id = account_id
        ids = {kind: writer.take_ids(get_spec(kind), count) for kind, count in totals.items()}
        self.taken = dict(ids)  # every id reserved, by resource
        self.sales_ids = {kind: ids.pop(kind) for kind in SALES}
        embedded = {BUY_ORDER_LINES.type: BUY_ORDERS}
        self.makers = Makers(
            connection,
            [(spec, embedded.get(spec.type)) for spec in REGISTRY if spec.type in ids],
            seed=seed,
            account_id=account_id,
            account_uuid=account_uuid,
            ids={kind: iter(taken) for kind, taken in ids.items()},
            add=self._add,
        )
        self.buffers: dict[str, list[dict[str, Any]]] = {kind: [] for kind in totals}
        self.counts: dict[str, int] = dict.fromkeys(totals, 0)
        self._buffered = 0
        count = catalogue.products
        self.product_ids = array("q", [0]) * count
        self.product_uuids: list[str] = [""] * count
        self.sales = (
            Sales(
                catalogue,
                seed=seed,
                account_id=account_id,
                account_uuid=account_uuid,
                product_ids=self.product_ids,
                product_uuids=self.product_uuids,
                ids={kind: iter(taken) for kind, taken in self.sales_ids.items()},
                add=self._add,
            )
            if sales_here
            else None
        )
        self.supplier_ids: list[int] = []
        self.supplier_uuids: list[str] = []
        self._names: list[tuple[str, str]] = []  # the name and EAN of each product of a chunk
        self._open: dict[int, _Open] = {}
        self._linked: list[tuple[int, datetime]] = []  # (promotion id, its last link's time)
        self._kits = {composed for composed, _, _ in catalogue.compositions}
        self._numbers = dict.fromkeys(("PO", "GR"), 0)
        first = catalogue.first_day
        self.midnight = datetime(first.year, first.month, first.day, tzinfo=UTC)
        self.onboarded = self.midnight - timedelta(days=30) + timedelta(hours=9)
        self.end = self.midnight + timedelta(days=catalogue.shop.days)  # after the last day

    # The catalogue.

    def write_catalogue(self, stock: array[int]) -> None:
        """Suppliers, products with their supplierProducts, compositions and promotions."""
        self._suppliers()
        catalogue = self.catalogue
        offers = iter(catalogue.offers)
        offer = next(offers, None)
        for start in range(0, catalogue.products, PRODUCT_CHUNK):
            end = min(start + PRODUCT_CHUNK, catalogue.products)
            for index in range(start, end):
                self._product(index, stock[index])
            for index in range(start, end):
                extras = []
                while offer is not None and offer[0] == index:
                    extras.append(offer)
                    offer = next(offers, None)
                self._supplier_products(index, extras)
            self._names = []
        self._compositions()
        self._promotions()
        self.flush()
        self.writer.wait()  # the rule below reads what was written
        self._recount()

    def _suppliers(self) -> None:
        catalogue, rng = self.catalogue, self.rng
        names = supplier_names(rng, catalogue.suppliers)
        for index, name in enumerate(names):
            values = {
                "name": name,
                "emails": [f"orders@{slug(name)}.example"],
                "minimumOrderValue": money(rng.choice((0, 5000, 10000, 25000))),
                "fixedCosts": money(rng.choice((0, 750, 1500, 2500))),
                "deliveryTime": catalogue.lead[index],
                "userReplenishmentPeriod": catalogue.review[index],
                "globalLocationNumber": ean13(f"87{catalogue.prefix[index]:05d}00000"),
                "type": "producer" if rng.random() < 0.15 else "vendor",
                "currency": "EUR",
                "remoteId": f"SUP-{index + 1:04d}",
            }
            created = self.onboarded + timedelta(milliseconds=50 * index)
            row = self._make(SUPPLIERS, values, created)
            self.supplier_ids.append(row["id"])
            self.supplier_uuids.append(row["uuid"])

    def _product(self, index: int, stock: int) -> None:
        catalogue, rng = self.catalogue, self.rng
        category = catalogue.category[index]
        name = product_name(rng, category)
        supplier = catalogue.supplier[index]
        ean = self._ean(supplier, catalogue.item[index])
        self._names.append((name, ean))  # for its supplierProducts
        values = {
            "name": name,
            "skuCode": sku(category, index + 1),
            "eanCode": ean,
            "articleCode": f"A{index + 1:07d}",
            "price": money(catalogue.price[index]),
            "unlimitedStock": False,
            "stockLevel": stock,
            "assembled": index in self._kits,
            "createdAtRemote": self.onboarded - timedelta(seconds=rng.randint(30, 1500) * 86400),
            "stockMeasurementUnit": "pcs",
            "remoteId": str(10_000 + index),
        }
        created = self.onboarded + timedelta(minutes=10, milliseconds=2 * index)
        synced = self.end - timedelta(minutes=30) + timedelta(microseconds=1000 * index)
        row = self._make(PRODUCTS, values, created, synced)
        self.product_ids[index] = row["id"]
        self.product_uuids[index] = row["uuid"]

    def _supplier_products(self, index: int, extras: list[tuple[int, int, int]]) -> None:
        catalogue, rng = self.catalogue, self.rng
        name, ean = self._names[index % PRODUCT_CHUNK]
        preferred = (index, catalogue.supplier[index], catalogue.cost[index])
        offers = [preferred, *extras]
        for number, (_, supplier, cents) in enumerate(offers):
            first = number == 0
            item = catalogue.item[index] if first else index % 99_999 + 1
            made = self.counts_made(SUPPLIER_PRODUCTS)
            values = {
                "productId": int(self.product_ids[index]),
                "supplierId": self.supplier_ids[supplier],
                "name": name,
                "skuCode": f"{catalogue.prefix[supplier]}-{item:05d}",
                "eanCode": ean,
                "articleCode": f"{catalogue.prefix[supplier] % 1000:03d}{item:05d}",
                "price": money(cents),
                "minimumPurchaseQuantity": catalogue.minimum[index] if first else 1,
                "lotSize": catalogue.lot[index] if first else 1,
                "deliveryTime": catalogue.lead[supplier],
                "status": "enabled",
                "preferred": first,
                "availability": True,
                "costPrice": money(cents),
                "weight": money(rng.randint(5, 500) * 10),
                "remoteId": f"SP-{made + 1:07d}",
            }
            if first:
                values["economicOrderQuantity"] = catalogue.up_to[index] - catalogue.reorder[index]
            created = self.onboarded + timedelta(hours=1, milliseconds=2 * made)
            self._make(
                SUPPLIER_PRODUCTS,
                values,
                created,
                references={
                    "productId": self.product_uuids[index],
                    "supplierId": self.supplier_uuids[supplier],
                },
            )

    def _compositions(self) -> None:
        rows = self.catalogue.compositions
        for number, (composed, part, quantity) in enumerate(rows):
            values = {
                "composedProductId": int(self.product_ids[composed]),
                "partProductId": int(self.product_ids[part]),
                "partQuantity": quantity,
                "remoteId": f"BOM-{number + 1:06d}",
            }
            created = self.onboarded + timedelta(hours=3, milliseconds=10 * number)
            self._make(
                COMPOSITIONS,
                values,
                created,
                references={
                    "composedProductId": self.product_uuids[composed],
                    "partProductId": self.product_uuids[part],
                },
            )

    def _promotions(self) -> None:
        catalogue = self.catalogue
        for number, promotion in enumerate(catalogue.promotions):
            start = self.midnight + timedelta(days=promotion.start)
            end = self.midnight + timedelta(days=promotion.end + 1, seconds=-1)
            code = f"PROMO-{number + 1:03d}"
            values = {
                "name": f"{_THEMES[start.month - 1]} {start.year}",
                "startDate": start,
                "endDate": end,
                "upliftType": "relative",
                "upliftIncrease": money(promotion.uplift * 100),
                "enabled": True,
                "entireShop": False,
                "remoteId": code,
            }
            created = start - timedelta(days=14) + timedelta(hours=10, minutes=number)
            row = self._make(PROMOTIONS, values, created)
            linked = created
            for position, product in enumerate(promotion.products):
                linked = created + timedelta(seconds=position + 1)
                self._make(
                    PROMOTION_PRODUCTS,
                    {
                        "promotionId": row["id"],
                        "productId": int(self.product_ids[product]),
                        "remoteId": f"{code}-{10_000 + product}",
                    },
                    linked,
                    references={
                        "promotionId": row["uuid"],
                        "productId": self.product_uuids[product],
                    },
                )
            self._linked.append((row["id"], linked))

    def _recount(self) -> None:
        """``productCount`` and ``updatedAt`` by the API's own rule, as each link's POST did."""
        for promotion_id, linked in self._linked:
            promotions.recount(self.connection, [promotion_id], linked)

    # The days.

    def write_day(self, day: Day) -> None:
        """The buy orders placed, the receipts and the sell orders of one day."""
        self._purchases(day.purchases)
        self._receipts(day.receipts)
        if day.sales and self.sales is not None:
            self.sales.write_day(day.index, day.sales)

    def _purchases(self, purchases: list[Purchase]) -> None:
        if not purchases:
            return
        catalogue, rng = self.catalogue, self.rng
        for purchase in purchases:
            number = self._number("PO")
            supplier = purchase.supplier
            subtotals = [catalogue.cost[line.product] * line.quantity for line in purchase.lines]
            values: dict[str, Any] = {
                "placed": purchase.placed,
                "totalValue": money(sum(subtotals)),
                "supplierId": self.supplier_ids[supplier],
                "assembly": False,
                "remoteId": f"PO-{number:07d}",
            }
            updated = None
            if purchase.completed is not None:
                values["completed"] = purchase.completed
                updated = purchase.completed + timedelta(seconds=rng.randint(60, 900))
            created = purchase.placed + timedelta(seconds=rng.randint(30, 300))
            order = self._make(
                BUY_ORDERS,
                values,
                created,
                updated,
                references={"supplierId": self.supplier_uuids[supplier]},
                computed={
                    "expected_delivery_date": delivery_dates.plus_days(
                        purchase.placed, catalogue.lead[supplier]
                    )
                },
            )
            for position, (line, subtotal) in enumerate(
                zip(purchase.lines, subtotals, strict=True)
            ):
                row = self._make(
                    BUY_ORDER_LINES,
                    {
                        "productId": int(self.product_ids[line.product]),
                        "quantity": line.quantity,
                        "subtotalValue": money(subtotal),
                        "remoteId": f"PO-{number:07d}-{position + 1}",
                    },
                    created,
                    references={"productId": self.product_uuids[line.product]},
                    parent=order,
                )
                if line.receipts:
                    self._open[line.handle] = _Open(row["id"], row["uuid"], line.receipts)

    def _receipts(self, receipts: list[Receipt]) -> None:
        if not receipts:
            return
        for receipt in receipts:
            line = self._open[receipt.line]
            line.receipts -= 1
            if not line.receipts:
                del self._open[receipt.line]
            self._make(
                RECEIPT_LINES,
                {
                    "buyOrderLineId": line.id,
                    "occurred": receipt.at,
                    "quantity": receipt.quantity,
                    "remoteId": f"GR-{self._number('GR'):08d}",
                },
                receipt.at + timedelta(seconds=self.rng.randint(300, 1800)),
                references={"buyOrderLineId": line.uuid},
            )

    # Rows and buffers.

    def _make(
        self,
        spec: ResourceSpec,
        values: Mapping[str, Any],
        created: datetime,
        updated: datetime | None = None,
        references: Mapping[str, str] | None = None,
        parent: Mapping[str, Any] | None = None,
        computed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self.makers.make(spec, values, created, updated, references, parent, computed)

    def _add(self, spec: ResourceSpec, row: dict[str, Any]) -> None:
        self.buffers[spec.type].append(row)
        self._buffered += 1
        if self._buffered >= FLUSH_ROWS:  # even within a day: day 0 receives every product
            self.flush()

    def insert_bound(self, kind: str, layout: Layout, rows: list[list[Any]]) -> None:
        """Write rows made and bound elsewhere (``sales.SalesProcess``)."""
        self.writer.insert_bound(layout, rows)
        self.counts[kind] += len(rows)
        self.advance(kind, len(rows))

    def flush(self) -> None:
        """Write every buffered row, parents first."""
        for spec_type, rows in self.buffers.items():
            if rows:
                self.writer.insert(get_spec(spec_type), rows)
                self.counts[spec_type] += len(rows)
                self.advance(spec_type, len(rows))
                rows.clear()
        self._buffered = 0

    def counts_made(self, spec: ResourceSpec) -> int:
        """Rows of ``spec`` made so far (written or buffered)."""
        return self.counts[spec.type] + len(self.buffers[spec.type])

    def _number(self, series: str) -> int:
        self._numbers[series] += 1
        return self._numbers[series]

    def _ean(self, supplier: int, item: int) -> str:
        return ean13(f"87{self.catalogue.prefix[supplier]:05d}{item:05d}")
