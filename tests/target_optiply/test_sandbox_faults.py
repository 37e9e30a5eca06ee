"""The target against the sandbox's fault rules (docs/sandbox.md walkthrough), one request per
record (``bulk: off``; batches under faults: test_bulk.py): a failed POST is sent again; an
ambiguous one (committed, then the answer lost) is sent again with its ``Idempotency-Key`` and
answered by the server's replay, or, on a server without the extension, read back; never
duplicated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from target_support import extensions_on, singer, target_config

from live import Login

PRODUCTS = [{"externalId": f"P{n}", "name": f"Product {n}", "stockLevel": n} for n in range(1, 6)]


def stored_names(login: Login) -> list[str]:
    with login.optiply_client() as client:
        return sorted(row.attributes["name"] for row in client.iterate("products"))


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "status", "status": 503, "every": 3, "times": 1},
        {"action": "commit-then-fail", "times": 1},
        {"action": "commit-then-fail", "dropAfterCommit": True, "times": 1},
        {"action": "drop", "times": 1},
        {"action": "broken", "times": 1},
    ],
    ids=["503-third", "commit-then-500", "commit-then-drop", "drop", "broken"],
)
def test_every_product_is_written_exactly_once_through_faults(
    login: Login, tmp_path: Path, run_target: Any, rule: dict[str, Any]
) -> None:
    rule_id = login.add_fault(method="POST", path="/v1/products", **rule)["id"]
    run = run_target(target_config(login, tmp_path, bulk="off"), singer("Products", *PRODUCTS))
    assert run.returncode == 0, run.stderr
    assert stored_names(login) == sorted(p["name"] for p in PRODUCTS)  # no duplicate, none lost
    for product in PRODUCTS:
        run.id("Products", product["externalId"])  # each record succeeded in the state
    posts = login.journal(method="POST", path="/v1/products")
    faulted = [row for row in posts if row["fault"] == rule_id]
    assert len(faulted) == 1
    committed = rule["action"] == "commit-then-fail"
    if extensions_on(login):  # sent again with its key: replayed or written, once either way
        assert len(posts) == len(PRODUCTS) + 1
        assert len({row["requestHeaders"]["idempotency-key"] for row in posts}) == len(PRODUCTS)
    else:  # a write that did not happen is sent again; one that did is read back, not sent again
        assert len(posts) == len(PRODUCTS) + (0 if committed else 1)
