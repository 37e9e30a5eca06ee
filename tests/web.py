"""httpx for the tests, with one TLS context for the whole process.

httpx builds a TLS context for every client it makes, ``httpx.get`` and friends included, and
loading certifi's bundle into one costs ~30-40 ms: 7,043 of them took 269 CPU-seconds of a
431-second suite (2026-12-02). The tests speak plain HTTP to their servers, so the shared
context is never even used; it only spares the building. ``tests/ruff.toml`` bans the httpx
calls that would build one.
"""

from __future__ import annotations

from typing import Any

import httpx

TLS = httpx.create_ssl_context()


def Client(**options: Any) -> httpx.Client:
    """``httpx.Client`` with the shared TLS context."""
    return httpx.Client(verify=TLS, **options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    """``httpx.request`` with the shared TLS context."""
    return httpx.request(method, url, verify=TLS, **options)  # noqa: TID251


def get(url: str, **options: Any) -> httpx.Response:
    """``httpx.get`` with the shared TLS context."""
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    """``httpx.post`` with the shared TLS context."""
    return request("POST", url, **options)


def patch(url: str, **options: Any) -> httpx.Response:
    """``httpx.patch`` with the shared TLS context."""
    return request("PATCH", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    """``httpx.delete`` with the shared TLS context."""
    return request("DELETE", url, **options)
