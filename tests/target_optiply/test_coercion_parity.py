"""The target reads every value the way the server does: anything the API accepts for an
attribute, the target accepts and sends in the same canonical form.

The table is derived from the registry: every attribute a record may carry, of every writable
type, times every input form of its kind (numeric strings, floats with integral values, dates
with ``Z``/``+00:00``/an offset/no zone, upper-case enums, JSON-string arrays, booleans where
they are ignored, nulls...). The server side is the server's own request parser
(``parse_document``, fed the form as JSON text); the target side is the SDK's msgspec reader
(floats read as ``Decimal``, as in a run) followed by ``records.convert``.

The target's documented repairs (integrator-needs §2.6) come on top for text attributes: line
breaks removed, ends trimmed, text cut at the API's length. For those the expectation is the
server's reading of the repaired text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from singer_sdk.contrib.msgspec import decoder

from optiply.resources import Access, Attribute, Kind, ResourceSpec
from optiply.server.http.deserialize import parse_document
from optiply.server.service.errors import DomainError
from support import SAMPLE, SPECIAL
from target_optiply.records import BadRecord, convert, wire
from target_optiply.streams import WRITABLE, stream_name

ABSENT = "<absent>"  # the value is dropped: not sent, not stored

# Input forms per kind, as JSON text; each is tried on every attribute of that kind.
FORMS: dict[Kind, tuple[str, ...]] = {
    Kind.INTEGER: (
        "7",
        '"7"',
        '" 7 "',
        "7.0",
        '"7.0"',
        '"+7"',
        "7.5",
        '"7.5"',
        '"1e3"',
        '"x"',
        "true",
        '""',
        "[]",
        "9223372036854775807",
        "9223372036854775808",
        "-7",
    ),
    Kind.REFERENCE: ("7", '"7"', "7.0", '"7.00"', "0", "-1", "7.5", '"abc"', "true"),
    Kind.DECIMAL: (
        "12.5",
        '"12.5"',
        '" 12.349 "',
        "12",
        "12.0",
        '"1e2"',
        "1e2",
        "-0.001",
        '"nan"',
        '"x"',
        "true",
        "0.005",
        "99999999999999999999",
    ),
    Kind.BOOLEAN: ("true", "false", '"true"', '"FALSE"', '" True "', "1", "0", '"yes"'),
    Kind.DATETIME: (
        '"2024-03-05T10:00:00Z"',
        '"2024-03-05T10:00:00+00:00"',
        '"2024-03-05T11:00:00+01:00"',
        '"2024-03-05T10:00:00"',
        '"2024-03-05"',
        '"2024-03-05T10:00:00.1234567Z"',
        '"2024-03-05 10:00:00"',
        "true",
        "false",
        '"yesterday"',
        "1709632800",
    ),
    Kind.STRING: (
        '"Blue mug"',
        '"  padded  "',
        '"two\\r\\nlines"',
        "123",
        "12.5",
        '""',
        "true",
        json.dumps("x" * 300),
        '"\\u00e9t\\u00e9"',
    ),
    Kind.UUID: ('"6f1c0e1a-1b2c-4d5e-8f90-123456789abc"',),
    Kind.EMAILS: (
        '["a@example.com"]',
        '"a@example.com"',
        '"a@example.com; b@example.com"',
        '"a@example.com,b@example.com"',
        '"[\\"a@example.com\\"]"',
        '"not an address"',
        "[]",
        "5",
    ),
}


def enum_forms(attribute: Attribute) -> tuple[str, ...]:
    """Every choice (and alias) in lower, upper and title case, padded, plus a wrong value."""
    words = [*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)]
    variants = {v for w in words for v in (w, w.upper(), w.title(), f" {w} ")}
    return (*sorted(json.dumps(v) for v in variants), '"nonsense"', "1")


def forms(attribute: Attribute) -> tuple[str, ...]:
    base = enum_forms(attribute) if attribute.kind is Kind.ENUM else FORMS[attribute.kind]
    return (*base, "null")


def record_attributes(spec: ResourceSpec) -> Iterator[Attribute]:
    """The attributes a Singer record may carry for ``spec``: every settable stored one but the
    source id (``remoteId``, which the target reads as ``externalId``) and the embedded lines
    (a record's ``line_items``, covered by the line types' own rows)."""
    for attribute in spec.attributes:
        settable = attribute.access in (Access.WRITABLE, Access.WRITE_ONLY, Access.CREATE_ONLY)
        if not settable or attribute.kind in (Kind.LINES, Kind.OBJECT, Kind.ID):
            continue
        if attribute.name == "remoteId":
            continue
        yield attribute


CASES = [
    pytest.param(spec, attribute, form, id=f"{spec.type}.{attribute.name}={form}")
    for spec in WRITABLE
    for attribute in record_attributes(spec)
    for form in forms(attribute)
]


def filler(spec: ResourceSpec, skip: str) -> dict[str, Any]:
    """Valid values for the other required attributes, so only ``skip`` is on trial."""
    values: dict[str, Any] = {}
    for attribute in spec.attributes:
        if not attribute.required or attribute.name == skip:
            continue
        if attribute.kind is Kind.REFERENCE:
            values[attribute.name] = 1
        elif attribute.name in SPECIAL:
            values[attribute.name] = SPECIAL[attribute.name]
        else:
            values[attribute.name] = SAMPLE[attribute.kind]
    return values


def server_reading(spec: ResourceSpec, attribute: Attribute, form: str) -> Any:
    """What the server stores for ``form``: a wire value, ABSENT, or a DomainError."""
    others = orjson.dumps(filler(spec, attribute.name)).decode()[1:-1]
    creating = attribute.writable_on_create
    body = (
        f'{{"data": {{"type": "{spec.type}", "attributes": '
        f'{{{others}{", " if others else ""}"{attribute.name}": {form}}}}}}}'
    )
    try:
        parsed = parse_document(body.encode(), spec, row_id=None if creating else 1)
    except DomainError as error:
        return error
    if attribute.name not in parsed.values:
        return ABSENT
    value = parsed.values[attribute.name]
    return None if value is None else wire(value)


def target_reading(spec: ResourceSpec, attribute: Attribute, form: str) -> Any:
    """What the target sends for ``form``: a wire value, ABSENT, or a BadRecord."""
    line = (
        f'{{"type": "RECORD", "stream": "{stream_name(spec)}", '
        f'"record": {{"externalId": "S1", "{attribute.name}": {form}}}}}'
    )
    record = decoder.decode(line)["record"]
    try:
        mapped = convert(spec, record)
    except BadRecord as error:
        return error
    if attribute.name not in mapped.attributes:
        return ABSENT
    return wire(mapped.attributes[attribute.name])


def repaired(attribute: Attribute, form: str) -> str:
    """The form after the target's documented text repairs (integrator-needs §2.6)."""
    value = json.loads(form)
    if attribute.kind is not Kind.STRING or not isinstance(value, str):
        return form
    value = value.replace("\r", "").replace("\n", "").strip()
    if attribute.max_length is not None:
        value = value[: attribute.max_length]
    return json.dumps(value)


@pytest.mark.parametrize(("spec", "attribute", "form"), CASES)
def test_the_target_accepts_what_the_server_accepts_in_the_same_form(spec, attribute, form):
    server = server_reading(spec, attribute, repaired(attribute, form))
    target = target_reading(spec, attribute, form)

    if isinstance(server, DomainError):
        return  # the API refuses it: the target may refuse it too, or repair it
    if attribute.kind is Kind.REFERENCE and server is None:
        # null for a reference means "not given" to the target (it resolves Remote_* keys)
        assert target == ABSENT
        return
    if server is None and form == "null":
        # a null means "not given" in a record: nothing is sent, nothing is changed
        assert target == ABSENT
        return
    assert not isinstance(target, BadRecord), f"the server accepts {form}, the target: {target}"
    assert target == server


def test_the_table_covers_every_kind_a_record_can_carry():
    kinds = {attribute.kind for spec in WRITABLE for attribute in record_attributes(spec)}
    assert kinds <= set(FORMS) | {Kind.ENUM}
    assert len(CASES) > 1000


def test_a_boolean_where_the_api_ignores_booleans_is_dropped_not_refused():
    products = next(spec for spec in WRITABLE if spec.type == "products")
    attribute = products.attribute("resumingPurchase")
    assert attribute is not None
    assert server_reading(products, attribute, "false") == ABSENT
    assert target_reading(products, attribute, "false") == ABSENT
    assert target_reading(products, attribute, '"2024-03-05"') == "2024-03-05T00:00:00Z"
