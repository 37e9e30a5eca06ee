"""Keyset cursors for ``page[after]``: where the previous page ended, and the walk's total.

A cursor is the URL-safe base64 of a JSON array: the text forms of the last row's sort-key
values (ending with its id) and, last, the ``totalResourceCount`` of the walk's first page.
Keyset paging needs sort keys that are never null; other sorts page by offset only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import orjson

from optiply.query.ast import SortKey
from optiply.query.build import format_value
from optiply.resources import Kind, ResourceSpec
from optiply.resources.types import InvalidValue, parse_text


def keyset_keys(sort: Sequence[SortKey], spec: ResourceSpec) -> tuple[SortKey, ...] | None:
    """The full ordering (sort keys plus the ``id`` tie breaker), or None when a key is nullable.

    >>> from optiply.resources import get
    >>> [k.attribute.name for k in keyset_keys((), get("products"))]
    ['id']
    """
    keys = list(sort)
    if not any(key.attribute.kind is Kind.ID for key in keys):
        identity = spec.attribute("id")
        assert identity is not None
        keys.append(SortKey(identity))
    if any(key.attribute.nullable for key in keys):
        return None
    return tuple(keys)


def encode(values: Sequence[Any], total: int) -> str:
    """The cursor text of a position and a total."""
    payload = orjson.dumps([*(format_value(value) for value in values), total])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode(text: str, keys: Sequence[SortKey]) -> tuple[tuple[Any, ...], int]:
    """The position and total of a cursor made for ``keys``; ValueError when it isn't one."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise ValueError("page[after] is not a cursor from a links.next of this query") from None
    if (
        not isinstance(payload, list)
        or len(payload) != len(keys) + 1
        or not all(isinstance(item, str) for item in payload[:-1])
        or not isinstance(payload[-1], int)
        or payload[-1] < 0
    ):
        raise ValueError("page[after] is not a cursor from a links.next of this query")
    try:
        values = tuple(
            parse_text(key.attribute, item) for key, item in zip(keys, payload, strict=False)
        )
    except InvalidValue:
        raise ValueError("page[after] is not a cursor from a links.next of this query") from None
    return values, payload[-1]
