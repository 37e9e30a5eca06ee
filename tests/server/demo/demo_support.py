"""Helpers of the demo-shop tests: a small shop loaded into a fresh account of a live server,
and its rows as the API answers them."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from live import LiveServer, Login, make_login
from optiply.resources import REGISTRY
from optiply.server import demo

SEED = 7
UNTIL = date(2026, 6, 30)
TYPES = [spec.type for spec in REGISTRY if spec.type != "accounts"]


def read_all(api: httpx.Client, resource_type: str, query: str = "") -> list[dict[str, Any]]:
    """Every row of a type (matching ``query``, e.g. ``filter[x]=1``), following
    ``links.next`` (100 a page)."""
    rows: list[dict[str, Any]] = []
    url: str | None = f"/{resource_type}?page[limit]=100{'&' + query if query else ''}"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.text
        document = response.json()
        rows.extend(document["data"])
        url = document["links"]["next"]
    return rows


class Shop:
    """A loaded small shop: its login, what ``load`` said, and its rows as the API reads them."""

    def __init__(self, login: Login, loaded: demo.Loaded) -> None:
        self.login = login
        self.loaded = loaded
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def rows(self, resource_type: str) -> list[dict[str, Any]]:
        """Every row of a type (read once)."""
        if resource_type not in self._rows:
            with self.login.client() as api:
                self._rows[resource_type] = read_all(api, resource_type)
        return self._rows[resource_type]

    def by_id(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The attributes of every row of a type, by id."""
        return {row["id"]: row["attributes"] for row in self.rows(resource_type)}


def load_small(server: LiveServer, seed: int = SEED) -> Shop:
    """The small shop in a new account of ``server``."""
    login = make_login(server)
    loaded = demo.load(
        server.engine, account_id=login.account_id, shop="small", seed=seed, until=UNTIL
    )
    return Shop(login, loaded)
