"""A writer updates rows while the tap syncs: every row's final version arrives in this sync
or the next one, and every sync ends."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

from tap_support import create, run_tap, tap_config, update


def _latest(*outputs: Any) -> dict[str, dict[str, Any]]:
    """Per id, the newest version emitted (by updatedAt, then output order)."""
    seen: dict[str, dict[str, Any]] = {}
    for output in outputs:
        for record in output.records("products"):
            known = seen.get(record["id"])
            if known is None or record["updatedAt"] >= known["updatedAt"]:
                seen[record["id"]] = record
    return seen


def test_every_final_version_arrives_in_this_sync_or_the_next(login, api, tmp_path: Path):
    ids = [create(api, "products", name=f"p{n}", stockLevel=0)["id"] for n in range(40)]
    stop = threading.Event()
    writes = 0

    def writer() -> None:
        nonlocal writes
        chooser = random.Random(7)
        with login.client() as own:
            while not stop.is_set():
                writes += 1
                update(own, "products", chooser.choice(ids), stockLevel=writes)

    config = tap_config(login, page_size=3, settle_seconds=1)
    thread = threading.Thread(target=writer)
    thread.start()
    try:  # the tap as a process of its own, running beside the writer
        first = run_tap(tmp_path, config, executable=True)
    finally:
        stop.set()
        thread.join()
    second = run_tap(tmp_path, config, state=first.state)

    assert writes > 10  # the writer really wrote during the sync
    final = {}
    with login.client() as own:
        for page_url in ("/products?page[limit]=100",):
            final = {
                r["id"]: r["attributes"]["stockLevel"] for r in own.get(page_url).json()["data"]
            }
    latest = _latest(first, second)
    assert set(latest) == set(ids)
    assert {i: r["stockLevel"] for i, r in latest.items()} == final
