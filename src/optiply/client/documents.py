"""What requests and answers carry: attributes as a JSON:API body, documents as ``Resource``.

Bodies are compact JSON (``Decimal``, dates and UUIDs as strings; NaN and infinities refused
before sending); answers are decoded into ``Resource`` and ``ResourcePage``, and a success whose
body is not the expected document is an error (``AmbiguousWriteError`` for a POST).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import orjson

from optiply.client.errors import (
    AmbiguousWriteError,
    ConfigurationError,
    FatalError,
    OptiplyError,
    ValidationError,
    safe_url,
)


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource object of a response.

    Attributes:
        id: The Optiply id.
        type: The JSON:API type, e.g. ``products``.
        attributes: The attributes as the server rendered them (decimals are strings).
        meta: The resource's ``meta``; for a single-resource document the top-level ``meta``
            too (e.g. ``orderLineIds`` after a buy order was created with embedded lines).
    """

    id: int
    type: str
    attributes: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourcePage:
    """One page of a collection: the resources, the paging links and the ``meta``."""

    data: tuple[Resource, ...]
    links: dict[str, str | None]
    meta: dict[str, Any]

    @property
    def next_url(self) -> str | None:
        """``links.next``: the absolute URL of the next page, or None on the last page."""
        return self.links.get("next") or None

    @property
    def total(self) -> int | None:
        """``meta.totalResourceCount``: the number of rows on all pages, when given."""
        total = self.meta.get("totalResourceCount")
        return total if isinstance(total, int) else None

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Reply:
    """A plain 2xx answer as read from the wire (no ``httpx.Response`` built for it)."""

    status_code: int
    content: bytes
    method: str
    url: httpx.URL

    @property
    def is_success(self) -> bool:
        """Always: only a 2xx becomes a ``Reply``."""
        return True


Answer = httpx.Response | Reply
"""A successful answer: a ``Reply`` from the hot path, or an ``httpx.Response``."""


def body(
    resource_type: str,
    attributes: Mapping[str, Any],
    resource_id: int | None = None,
    *,
    pointer_prefix: str = "",
) -> bytes:
    """The request document for a create (no id) or an update (``pointer_prefix``: where the
    document sits in a larger one, for the pointer of a value JSON cannot carry).

    >>> body("products", {"name": "Mug", "price": Decimal("4.50")}, 7)
    b'{"data":{"type":"products","id":"7","attributes":{"name":"Mug","price":"4.50"}}}'

    Raises:
        ValidationError: A value cannot be written as JSON; ``pointer`` names it.
    """
    data: dict[str, Any] = {"type": resource_type}
    if resource_id is not None:
        data["id"] = str(resource_id)
    data["attributes"] = dict(attributes)
    try:
        return dumps({"data": data})
    except (TypeError, ValueError):
        pass
    for name, value in attributes.items():
        try:
            dumps(value)
        except (TypeError, ValueError) as error:
            raise ValidationError(
                f"{name}: {error}",
                code="INVALID_VALUE",
                pointer=f"{pointer_prefix}/data/attributes/{name}",
            ) from None
    raise ValidationError("the attributes cannot be written as JSON", code="INVALID_VALUE")


def resource(answer: Answer) -> Resource:
    """The resource of a single-resource document."""
    parsed = document(answer)
    try:
        return resource_object(parsed["data"], parsed.get("meta"))
    except (KeyError, TypeError, ValueError):
        raise bad_answer(answer) from None


def page(answer: Answer) -> ResourcePage:
    """The resources, links and meta of a collection document."""
    parsed = document(answer)
    try:
        data = tuple(resource_object(item, None) for item in parsed["data"])
        links = parsed.get("links") or {}
        meta = parsed.get("meta") or {}
        if not isinstance(links, dict) or not isinstance(meta, dict):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise bad_answer(answer) from None
    return ResourcePage(data=data, links=links, meta=meta)


def bad_answer(answer: Answer) -> OptiplyError:
    """A success whose body is not the expected document; a POST then may have applied."""
    if isinstance(answer, Reply):
        method, url = answer.method, answer.url
    else:
        method, url = answer.request.method, answer.request.url
    cls = AmbiguousWriteError if method == "POST" else FatalError
    return cls(
        "the response is not the expected JSON:API document",
        status=answer.status_code,
        method=method,
        url=safe_url(url),
    )


def resource_id(value: int | str) -> int:
    """A positive integer id from an int or its text; anything else is refused before sending.

    >>> resource_id("12")
    12
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    if number is None or number <= 0:
        raise ValidationError(
            f"{value!r} is not a valid id: ids are positive integers", code="INVALID_ID"
        )
    return number


def account_id(value: int | str | None) -> int | None:
    """The ``account_id`` setting: None, or a positive integer."""
    if value is None or value == "":
        return None
    try:
        return resource_id(value)
    except ValidationError:
        raise ConfigurationError(f"account_id must be a positive integer, got {value!r}") from None


def document(answer: Answer) -> dict[str, Any]:
    """The JSON object of an answer (else ``bad_answer``)."""
    try:
        parsed = orjson.loads(answer.content)
        if isinstance(parsed, dict):
            return parsed
    except orjson.JSONDecodeError:
        pass
    raise bad_answer(answer)


def resource_object(data: Any, meta: Any) -> Resource:
    """A ``Resource`` from a resource object (and a document's top-level meta)."""
    if not isinstance(data, dict):
        raise TypeError("not a resource object")
    attributes = data.get("attributes") or {}
    own_meta = data.get("meta") or {}
    if not isinstance(attributes, dict) or not isinstance(own_meta, dict):
        raise TypeError("not a resource object")
    merged = {**meta, **own_meta} if isinstance(meta, dict) else own_meta
    return Resource(id=int(data["id"]), type=str(data["type"]), attributes=attributes, meta=merged)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can carry")
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def dumps(value: Any) -> bytes:
    """Compact JSON; NaN and infinities are refused (the API would answer 500 or worse;
    orjson alone would write them as null)."""
    if _non_finite(value):
        raise ValueError("NaN and infinity are not numbers JSON can carry")
    return orjson.dumps(value, default=_json_default)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite(item) for item in value)
    return False
