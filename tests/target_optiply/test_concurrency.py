"""Records of one stream are written concurrently; streams stay in dependency order (one record
per request, ``bulk: off``; atomic batches: test_bulk.py)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from optiply.client import OptiplyClient, Resource
from optiply.resources import get
from target_optiply.batches import Writer
from target_optiply.policy import ErrorPolicy
from target_optiply.references import References
from target_optiply.settings import resolve
from target_optiply.state import TargetState

PLACED = "2024-03-01T10:00:00Z"


class _Watched:
    """The real client; writes are timed, overlapping ones counted."""

    def __init__(self, client: OptiplyClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.calls: list[tuple[str, str, float, float]] = []  # method, type, start, end

    def _timed(self, method: str, resource_type: str, *args: Any, **options: Any) -> Any:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        start = time.monotonic()
        try:
            time.sleep(0.01)  # so that overlaps show on a fast machine too
            return getattr(self._client, method)(resource_type, *args, **options)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.calls.append((method, resource_type, start, time.monotonic()))

    def create(self, resource_type: str, attributes: Any, **options: Any) -> Resource:
        return self._timed("create", resource_type, attributes, **options)  # type: ignore[no-any-return]

    def update(
        self, resource_type: str, resource_id: Any, attributes: Any, **options: Any
    ) -> Resource:
        return self._timed("update", resource_type, resource_id, attributes, **options)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def watched_writer(login, api: _Watched, state: TargetState, *, concurrency: int) -> Writer:
    """A writer on ``login``'s account, ``concurrency`` records at a time, through ``api``."""
    settings = resolve(
        {
            "access_token": "unused",
            "account_id": login.account_id,
            "max_concurrency": concurrency,
            "bulk": "off",
        },
        environ={},
    )
    return Writer(
        settings=settings,
        api=api,
        references=References(),
        state=state,
        policy=ErrorPolicy(),
        concurrency=settings.max_concurrency,
    )


def test_records_of_a_stream_are_written_concurrently_in_dependency_order(login, tmp_path):
    with login.optiply_client() as client:
        api = _Watched(client)
        state = TargetState(tmp_path / "state.json")
        writer = watched_writer(login, api, state, concurrency=4)
        # Children first in the input: the writer still writes parents first.
        for n in range(6):
            lines = [
                {"Remote_productId": f"P{n + k}", "quantity": 1, "subtotalValue": 1} for k in (0, 1)
            ]
            writer.add(
                get("buyOrders"),
                {
                    "externalId": f"BO{n}",
                    "Remote_supplierId": "S1",
                    "placed": PLACED,
                    "line_items": json.dumps(lines),
                },
            )
        for n in range(20):
            writer.add(get("products"), {"externalId": f"P{n}", "name": f"P {n}", "stockLevel": n})
        # The same source id twice: the second must follow the first (a PATCH of its row).
        writer.add(get("products"), {"externalId": "P0", "name": "renamed", "stockLevel": 5})
        writer.add(get("suppliers"), {"externalId": "S1", "name": "Acme"})
        writer.flush(final=True)
        products = list(client.iterate("products"))
        orders = list(client.iterate("buyOrders"))
        p0 = [e for e in state.document()["bookmarks"]["Products"] if e["externalId"] == "P0"]
        renamed = client.get("products", p0[0]["id"])

    assert 1 < api.peak <= 4
    parents_done = max(end for _, kind, _, end in api.calls if kind in ("products", "suppliers"))
    children_start = min(start for _, kind, start, _ in api.calls if kind == "buyOrders")
    assert parents_done <= children_start
    assert len(products) == 20 and len(orders) == 6
    assert renamed.attributes["name"] == "renamed"
    assert [e["id"] for e in p0] == [str(renamed.id)] * 2
    assert state.summary["Products"]["success"] == 20
    assert state.summary["Products"]["updated"] == 1
    assert state.summary["BuyOrders"]["success"] == 6
    on_disk = json.loads((tmp_path / "state.json").read_text())
    assert {key: on_disk[key] for key in ("bookmarks", "summary")} == state.document()


def test_versions_of_one_source_id_arriving_together_are_written_in_input_order(login, tmp_path):
    """Three versions of each of ten products, back to back, on eight threads: each source id
    is one row, and it holds the last version (a later version never overtakes an earlier
    one, nor POSTs a twin while the first POST is under way)."""
    with login.optiply_client() as client:
        api = _Watched(client)
        state = TargetState(tmp_path / "state.json")
        writer = watched_writer(login, api, state, concurrency=8)
        for n in range(10):
            for version in range(3):
                writer.add(
                    get("products"),
                    {"externalId": f"P{n}", "name": f"P{n} v{version}", "stockLevel": version},
                )
        writer.flush(final=True)
        products = list(client.iterate("products"))

    assert api.peak > 1
    assert sorted(p.attributes["name"] for p in products) == [f"P{n} v2" for n in range(10)]
    assert state.summary["Products"]["success"] == 10
    assert state.summary["Products"]["updated"] == 20
