"""Singer record -> API attributes, derived from the resource registry (the only converter).

A record of stream ``Products`` becomes a ``Mapped``: the source id (``externalId``), the
Optiply id when the record carries one, the coerced attributes the API accepts for the type,
the foreign keys still to resolve (``Remote_productId``), embedded order lines (``line_items``)
and whether the record is a delete. Every value goes through ``optiply.resources.types.coerce``,
so the API never sees garbage; a value that cannot be repaired raises ``BadRecord`` naming its
field path, and only that record fails.

>>> from optiply.resources import get
>>> record = {"remoteId": "SKU-1", "name": " Mug\\r\\n", "stockLevel": "3.0"}
>>> mapped = convert(get("products"), record)
>>> mapped.external_id, mapped.attributes
('SKU-1', {'name': 'Mug', 'stockLevel': 3})
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from optiply.resources import Access, Attribute, Kind, ResourceSpec, get
from optiply.resources.types import (
    IGNORED,
    InvalidValue,
    accept,
    coerce,
    format_datetime,
    format_decimal,
)
from target_optiply.streams import of

# Alternative record keys seen in existing ETLs (integrator-needs §2.1).
ALIASES: dict[str, str] = {
    "remoteId": "externalId",
    "inputId": "externalId",  # TGT-M's fallback source id
    "optiply_id": "id",
    "updated_at": "updatedAt",
    "created_at": "createdAtRemote",
}
DELETE_KEYS = ("deleted_at", "_sdc_deleted_at")
LINES_KEY = "line_items"
REMOTE_PREFIX = "Remote_"
_MISSING_TEXT = frozenset({"", "nan", "none", "null"})
_WHOLE_FLOAT_TEXT = re.compile(r"-?[0-9]+\.0+")
# Attributes the target sets itself; never part of the content hash.
VOLATILE = frozenset({"remoteDataSyncedToDate"})


class BadRecord(ValueError):
    """A record that cannot be sent; ``path`` names the culprit (``/stockLevel``)."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}" if path else detail)


@dataclass
class Line:
    """One embedded order line: coerced attributes plus a product still to resolve."""

    attributes: dict[str, Any]
    product_id: int | None
    remote_product_id: str | None
    external_id: str | None


@dataclass
class Mapped:
    """A record converted for one resource type."""

    spec: ResourceSpec
    external_id: str | None
    optiply_id: int | None
    attributes: dict[str, Any]
    remote_refs: dict[str, str] = field(default_factory=dict)  # productId -> source id
    lines: list[Line] | None = None
    deleted: bool = False

    @property
    def hash(self) -> str:
        """sha256 of the API-bound content (volatile dates excluded)."""
        content = {
            "externalId": self.external_id,
            "id": self.optiply_id,
            "attributes": {k: v for k, v in self.attributes.items() if k not in VOLATILE},
            "remote": self.remote_refs,
            "lines": [
                [line.attributes, line.product_id, line.remote_product_id, line.external_id]
                for line in self.lines or ()
            ],
            "deleted": self.deleted,
        }
        text = orjson.dumps(content, default=_wire, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(text).hexdigest()


def normalise_id(value: Any) -> int | None:
    """An Optiply id from loose input, or None for "no id".

    >>> [normalise_id(v) for v in (None, "", "nan", float("nan"), "12345.0", 12345.0, Decimal(7))]
    [None, None, None, None, 12345, 12345, 7]
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return None
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _MISSING_TEXT:
            return None
        try:
            number = Decimal(text)
        except ArithmeticError:
            return None
        if not number.is_finite() or number != number.to_integral_value():
            return None
        value = int(number)
    if isinstance(value, int) and value > 0:
        return value
    return None


def normalise_external_id(value: Any) -> str | None:
    """A source id as text, or None when missing.

    Whole numbers written as floats become integers, whether they come as numbers or as text
    (a pandas float column in a HotGlue snapshot), so both sides of a match agree:

    >>> [normalise_external_id(v) for v in (12.0, "12.0", " 12 ", "SKU-1.0", "nan", None)]
    ['12', '12', '12', 'SKU-1.0', None, None]
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    if _WHOLE_FLOAT_TEXT.fullmatch(text):
        return text.split(".", 1)[0]
    return None if text.lower() in _MISSING_TEXT else text


def is_missing(value: Any) -> bool:
    """True for null, blank and not-a-number values, which mean "not given"."""
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, str):
        return value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity")
    return False


def convert(spec: ResourceSpec, record: Mapping[str, Any]) -> Mapped:
    """Convert one Singer record for ``spec``; raises ``BadRecord`` with the field path."""
    values = {ALIASES.get(key, key): value for key, value in record.items() if key not in ALIASES}
    for alias, name in ALIASES.items():  # the canonical key wins over its alias
        if alias in record and is_missing_value(values.get(name)):
            values[name] = record[alias]
    deleted = any(not is_missing_value(record.get(key)) for key in DELETE_KEYS)
    mapped = Mapped(
        spec=spec,
        external_id=normalise_external_id(values.get("externalId")),
        optiply_id=normalise_id(values.get("id")),
        attributes={},
        deleted=deleted,
    )
    for key, value in values.items():
        if key.startswith(REMOTE_PREFIX):
            name = key.removeprefix(REMOTE_PREFIX)
            attribute = spec.attribute(name)
            source = normalise_external_id(value)
            if attribute is not None and attribute.kind is Kind.REFERENCE and source:
                mapped.remote_refs[name] = source
            continue
        attribute = spec.attribute(key)
        if attribute is None or not _settable(attribute) or attribute.name in ("remoteId",):
            continue
        if attribute.kind is Kind.REFERENCE:
            ref = normalise_id(value)
            if ref is not None:
                mapped.attributes[attribute.name] = ref
            elif not is_missing_value(value):
                raise BadRecord(f"/{key}", f"{key} must be an Optiply id, got {_show(value)}")
            continue
        if attribute.kind is Kind.LINES:
            continue
        if is_missing(value):
            continue
        parsed = coerce_value(attribute, value, f"/{key}")
        if parsed is not IGNORED:
            mapped.attributes[attribute.name] = parsed
    lines_key = _lines_key(spec, record)
    if lines_key is not None:
        mapped.lines = _lines(spec, record[lines_key], lines_key)
        total = of(spec).total_from_lines
        if total is not None and total not in mapped.attributes:
            subtotal = sum(
                line.attributes.get("subtotalValue", Decimal(0)) for line in mapped.lines
            )
            mapped.attributes[total] = Decimal(subtotal)
    return mapped


def is_missing_value(value: Any) -> bool:
    """``is_missing`` plus blank text."""
    return is_missing(value) or (isinstance(value, str) and not value.strip())


# Values the existing HotGlue targets translate before sending (TGT-J's sinks), so records
# shaped for them keep landing: not API forms, the target's own repairs.
_BOOLEAN_WORDS = {"yes": True, "no": False, "y": True, "n": False, "1": True, "0": False}
_STATUS_WORDS = {
    "active": "enabled",
    "inactive": "disabled",
    "true": "enabled",
    "false": "disabled",
    "1": "enabled",
    "0": "disabled",
}


def coerce_value(attribute: Attribute, value: Any, path: str) -> Any:
    """The API's own reading of a record value (``types.accept``: canonical, or ``IGNORED``),
    after the repairs the target makes on top of it; ``BadRecord`` when it does not fit.

    The repairs (integrator-needs §2.6) only widen what is accepted: date and date-time
    objects become ISO text; for text attributes, line breaks are removed, the ends trimmed,
    the text cut where the API would refuse it as too long, and numbers become their text;
    the words the existing HotGlue targets translate are translated too (``yes``/``no`` and
    ``1``/``0`` for booleans, ``active``/``inactive`` for a status).
    """
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if attribute.kind is Kind.BOOLEAN or attribute.name == "status":
        words = _BOOLEAN_WORDS if attribute.kind is Kind.BOOLEAN else _STATUS_WORDS
        key = str(value).strip().lower() if isinstance(value, str | int) else None
        value = words.get(key, value) if key is not None else value
    if attribute.kind is Kind.STRING:
        if isinstance(value, Decimal | float):
            value = str(value)
        if isinstance(value, str):
            value = value.replace("\r", "").replace("\n", "").strip()
            if attribute.max_length is not None:
                value = value[: attribute.max_length]
    try:
        return accept(attribute, value)
    except InvalidValue as error:
        raise BadRecord(path, str(error)) from None


def _lines_key(spec: ResourceSpec, record: Mapping[str, Any]) -> str | None:
    """Where a record of an order type holds its lines: HotGlue's ``line_items``, else the
    API's own ``orderLines``; None when it has none."""
    if spec.embedded is None:
        return None
    for key in (LINES_KEY, spec.embedded.attribute):
        if not is_missing_value(record.get(key)):
            return key
    return None


def _lines(spec: ResourceSpec, raw: Any, key: str) -> list[Line]:
    assert spec.embedded is not None
    line_spec = get(spec.embedded.target)
    items = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            raise BadRecord(f"/{key}", f"{key} is not valid JSON") from None
    if not isinstance(items, list):
        raise BadRecord(f"/{key}", f"{key} must be a list of lines")
    lines = []
    for index, item in enumerate(items):
        path = f"/{key}/{index}"
        if not isinstance(item, dict):
            raise BadRecord(path, "a line must be an object")
        line = Line(
            {},
            normalise_id(item.get("productId")),
            normalise_external_id(item.get("Remote_productId")),
            normalise_external_id(item.get("externalId", item.get("remoteId"))),
        )
        for key, value in item.items():
            attribute = line_spec.attribute(key)
            if (
                attribute is None
                or attribute.kind is Kind.REFERENCE
                or not attribute.writable_on_create
                or attribute.name in ("remoteId", "accountId")
                or is_missing(value)
            ):
                continue
            parsed = coerce_value(attribute, value, f"{path}/{key}")
            if parsed is not IGNORED:
                line.attributes[attribute.name] = parsed
        for attribute in line_spec.attributes:
            if (
                attribute.required
                and attribute.kind is not Kind.REFERENCE
                and attribute.name not in line.attributes
            ):
                raise BadRecord(f"{path}/{attribute.name}", f"{attribute.name} is required")
        if line.product_id is None and line.remote_product_id is None:
            raise BadRecord(f"{path}/productId", "productId or Remote_productId is required")
        lines.append(line)
    return lines


def line_key(order: str | None, line: str | None, product: object) -> str:
    """The source id a line is remembered under: its own, else ``<order>_<product>`` (the ETL
    convention, so ReceiptLines can name lines of orders whose source has no line ids)."""
    return line if line else f"{order}_{product}"


def line_keys(mapped: Mapped) -> list[str]:
    """The keys of a converted order's lines (``line_key``)."""
    return [
        line_key(mapped.external_id, line.external_id, line.remote_product_id or line.product_id)
        for line in mapped.lines or ()
    ]


def raw_line_keys(spec: ResourceSpec, record: Mapping[str, Any], order: str | None) -> list[str]:
    """The keys of an order's lines read loosely from a record that failed to convert, so its
    receipt lines can be skipped with the reason instead of failing as unresolved."""
    key = _lines_key(spec, record)
    items = record[key] if key is not None else None
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except json.JSONDecodeError:
            return []
    if not isinstance(items, list):
        return []
    keys = []
    for item in items:
        if isinstance(item, dict):
            own = normalise_external_id(item.get("externalId", item.get("remoteId")))
            product = normalise_external_id(item.get("Remote_productId")) or normalise_id(
                item.get("productId")
            )
            keys.append(line_key(order, own, product))
    return keys


def missing_required(mapped: Mapped) -> BadRecord | None:
    """The first attribute required on POST that the record lacks, as a ``BadRecord``."""
    for attribute in mapped.spec.attributes:
        if (
            attribute.required
            and attribute.writable_on_create
            and attribute.name not in mapped.attributes
        ):
            return BadRecord(f"/{attribute.name}", f"{attribute.name} is required on create")
    return None


def create_body(mapped: Mapped) -> dict[str, Any]:
    """The wire attributes of a POST (lines not included), the type's create defaults added
    (``streams``)."""
    body = {
        name: wire(value)
        for name, value in mapped.attributes.items()
        if _attribute(mapped.spec, name).writable_on_create
    }
    for name, value in of(mapped.spec).create_defaults.items():
        body.setdefault(name, value)
    return body


def update_body(mapped: Mapped) -> dict[str, Any]:
    """The wire attributes of a PATCH: only what a PATCH may change."""
    return {
        name: wire(value)
        for name, value in mapped.attributes.items()
        if _attribute(mapped.spec, name).writable_on_update
    }


def differs(spec: ResourceSpec, wanted: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether PATCHing ``wanted`` (wire form) would change the rendered ``current`` row."""
    for name, value in wanted.items():
        attribute = spec.attribute(name)
        if attribute is None or not attribute.readable or name in VOLATILE:
            continue
        try:
            have = current.get(name)
            have = None if have is None else wire(coerce(attribute, have))
            want = None if value is None else wire(coerce(attribute, value))
        except InvalidValue:
            return True
        if have != want:
            return True
    return False


def wire(value: Any) -> Any:
    """The JSON form of a canonical value."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


def _wire(value: Any) -> Any:
    result = wire(value)
    if result is value:
        raise TypeError(f"cannot hash a {type(value).__name__}")
    return result


def _settable(attribute: Attribute) -> bool:
    return attribute.access in (Access.WRITABLE, Access.WRITE_ONLY, Access.CREATE_ONLY)


def _attribute(spec: ResourceSpec, name: str) -> Attribute:
    attribute = spec.attribute(name)
    assert attribute is not None
    return attribute


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
