"""Test helpers: build valid resources of any type through the API, derived from the registry."""

from __future__ import annotations

from typing import Any

import httpx

from optiply.resources import Kind, ResourceSpec
from optiply.resources import get as get_spec

SAMPLE = {
    Kind.STRING: "Sample",
    Kind.INTEGER: 5,
    Kind.DECIMAL: "12.50",
    Kind.BOOLEAN: True,
    Kind.DATETIME: "2024-03-05T10:00:00Z",
}
# Values that satisfy the single-attribute rules where the sample above would not.
SPECIAL = {
    "endDate": "2024-04-05T10:00:00Z",
    "globalLocationNumber": "8712345678906",
    "currency": "EUR",
    "stockMeasurementUnit": "pcs",
    "lostSalesReaction": 1,
    "lostSalesMovReaction": 1,
    "backorderThreshold": 1,
    "backordersReaction": 1,
    "manualServiceLevel": "95.00",
    "emails": ["buyer@example.com"],
    "status": "enabled",
    "type": "vendor",
    "upliftType": "relative",
    "specificUpliftType": "absolute",
}


def create(api: httpx.Client, resource_type: str, **attributes: Any) -> dict[str, Any]:
    """POST a resource (filling required attributes and parents) and return its ``data``."""
    spec = get_spec(resource_type)
    body = {**required_attributes(api, spec), **attributes}
    response = api.post(
        f"/{resource_type}", json={"data": {"type": resource_type, "attributes": body}}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def required_attributes(api: httpx.Client, spec: ResourceSpec) -> dict[str, Any]:
    """Values for the required attributes of ``spec``, creating referenced rows as needed."""
    values: dict[str, Any] = {}
    for attribute in spec.attributes:
        if not attribute.required:
            continue
        if attribute.kind is Kind.REFERENCE:
            assert attribute.references
            values[attribute.name] = int(create(api, attribute.references)["id"])
        elif attribute.name in SPECIAL:
            values[attribute.name] = SPECIAL[attribute.name]
        else:
            values[attribute.name] = SAMPLE[attribute.kind]
    return values


def full_attributes(spec: ResourceSpec) -> dict[str, Any]:
    """A value for every writable non-reference attribute (for round-trip tests)."""
    values: dict[str, Any] = {}
    for attribute in spec.attributes:
        if not attribute.writable_on_update or not attribute.stored:
            continue
        if attribute.kind in (Kind.REFERENCE, Kind.LINES):
            continue
        if attribute.name in SPECIAL:
            values[attribute.name] = SPECIAL[attribute.name]
        elif attribute.kind in SAMPLE:
            values[attribute.name] = SAMPLE[attribute.kind]
    return values
