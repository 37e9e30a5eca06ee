"""Resource objects and documents as JSON text, derived from the spec (§4.1-§4.4).

The attributes object arrives as JSON text rendered by the database (``storage/render.py``);
this module wraps it with the id, type, relationship links and self link through a template
prepared once per resource type, so a list page costs a few string joins per row. In a list of
deleted rows (the deleted-rows extension) each resource object, and each identifier, carries
``"meta":{"deletedAt":"..."}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from optiply.resources import ResourceSpec
from optiply.resources.types import format_datetime

_ID, _BASE, _ATTRIBUTES = "\x00", "\x01", "\x02"


def _template(spec: ResourceSpec) -> str:
    self_url = f"{_BASE}/v1/{spec.type}/{_ID}"
    parts = [f'{{"id":"{_ID}","type":"{spec.type}","attributes":{_ATTRIBUTES}']
    if spec.relationships:
        links = ",".join(
            f'"{r.name}":{{"links":{{"self":"{self_url}/relationships/{r.name}",'
            f'"related":"{self_url}/{r.name}"}}}}'
            for r in spec.relationships
        )
        parts.append(f',"relationships":{{{links}}}')
    parts.append(f',"links":{{"self":"{self_url}"}}}}')
    return "".join(parts)


class ResourceWriter:
    """Renders resource objects of one type for one base URL."""

    __slots__ = ("_after", "_before")

    def __init__(self, spec: ResourceSpec, base_url: str) -> None:
        escaped = orjson.dumps(base_url).decode()[1:-1]
        before, after = _template(spec).replace(_BASE, escaped).split(_ATTRIBUTES)
        self._before = before.split(_ID)
        self._after = after.split(_ID)

    def resource(self, row_id: int, attributes: str) -> str:
        """One resource object."""
        text_id = str(row_id)
        return text_id.join(self._before) + attributes + text_id.join(self._after)

    def resources(
        self, rows: Iterable[tuple[int, str]], deleted_at: Sequence[datetime] = ()
    ) -> str:
        """A JSON array of resource objects; with ``deleted_at`` (one per row: a list of
        deleted rows) each has ``meta.deletedAt``."""
        objects = [self.resource(row_id, attributes) for row_id, attributes in rows]
        if deleted_at:
            objects = [
                f"{text[:-1]},{_deleted_meta(moment)}}}"
                for text, moment in zip(objects, deleted_at, strict=True)
            ]
        return "[" + ",".join(objects) + "]"


def _deleted_meta(moment: datetime) -> str:
    """The ``meta`` member of a deleted row's resource object or identifier.

    >>> from datetime import UTC
    >>> _deleted_meta(datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC))
    '"meta":{"deletedAt":"2024-05-01T10:00:00.250000Z"}'
    """
    return f'"meta":{{"deletedAt":"{format_datetime(moment)}"}}'


@lru_cache(maxsize=256)
def writer_for(spec: ResourceSpec, base_url: str) -> ResourceWriter:
    """The (remembered) writer of ``spec`` for ``base_url``."""
    return ResourceWriter(spec, base_url)


def single_document(resource: str, meta: dict[str, Any] | None = None) -> bytes:
    """``{"data": <resource>}`` with optional top-level meta."""
    tail = "" if meta is None else ',"meta":' + orjson.dumps(meta).decode()
    return f'{{"data":{resource}{tail}}}'.encode()


def list_document(
    resources: str, links: dict[str, str | None], total: int, member: bytes = b""
) -> bytes:
    """A collection document with paging links, ``meta.totalResourceCount`` and the ``member``
    text (``http/extensions.document_member``) before its closing brace: the page's bytes are
    made once (adding the member afterwards copied a 200 KB page twice)."""
    return (
        f'{{"data":{resources},"links":{orjson.dumps(links).decode()},'
        f'"meta":{{"totalResourceCount":{total}}}{member.decode()}}}'
    ).encode()


def identifiers_document(
    resource_type: str, ids: Sequence[int] | int | None, deleted_at: Sequence[datetime] = ()
) -> bytes:
    """A relationship document of resource identifiers (to-one, or to-many when a sequence;
    with ``deleted_at``, one per id, each identifier has ``meta.deletedAt``)."""
    if ids is None:
        return b'{"data":null}'
    if isinstance(ids, int):
        return orjson.dumps({"data": {"type": resource_type, "id": str(ids)}})
    if deleted_at:
        return orjson.dumps(
            {
                "data": [
                    {"type": resource_type, "id": str(i), "meta": {"deletedAt": format_datetime(t)}}
                    for i, t in zip(ids, deleted_at, strict=True)
                ]
            }
        )
    return orjson.dumps({"data": [{"type": resource_type, "id": str(i)} for i in ids]})
