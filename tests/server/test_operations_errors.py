"""Malformed atomic operations documents (docs/extensions.md): each answers a JSON:API error
with its status, code and pointer into the document, never a 500, and writes nothing (the
valid operation in front of every broken one is rolled back or never run)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from optiply.jsonapi.extensions import ATOMIC_MEDIA_TYPE, MAX_OPERATIONS

HEADERS = {"Content-Type": ATOMIC_MEDIA_TYPE}
MARK = "broken-batch-marker"
FIRST = {
    "op": "add",
    "data": {"type": "products", "lid": "p", "attributes": {"name": MARK, "stockLevel": 1}},
}


def product(**members: Any) -> dict[str, Any]:
    return {"type": "products", "attributes": {"name": "x", "stockLevel": 1}, **members}


def pair(product_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "op": "add",
        "data": {
            "type": "supplierProducts",
            "attributes": {"name": "x", "supplierId": 1},
            "relationships": {"product": {"data": product_ref}},
        },
    }


# (id, the operation after FIRST, status, code, pointer)
BROKEN_OPERATIONS = [
    ("not an object", "add", 400, "INVALID_DOCUMENT", "/atomic:operations/1"),
    (
        "unknown op",
        {"op": "upsert", "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/op",
    ),
    ("no op", {"data": product()}, 400, "INVALID_DOCUMENT", "/atomic:operations/1/op"),
    (
        "unknown type",
        {"op": "add", "data": {"type": "widgets"}},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/type",
    ),
    ("add without data", {"op": "add"}, 400, "INVALID_DOCUMENT", "/atomic:operations/1/data"),
    (
        "add of accounts",
        {"op": "add", "data": {"type": "accounts"}},
        405,
        "METHOD_NOT_ALLOWED",
        "/atomic:operations/1/op",
    ),
    (
        "client id on add",
        {"op": "add", "data": product(id="5")},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/id",
    ),
    (
        "href",
        {"op": "add", "href": "/v1/products", "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/href",
    ),
    (
        "relationship operation",
        {
            "op": "update",
            "ref": {"type": "products", "id": "1", "relationship": "account"},
            "data": None,
        },
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref/relationship",
    ),
    (
        "update without id",
        {"op": "update", "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref",
    ),
    (
        "update ref without id",
        {"op": "update", "ref": {"type": "products"}, "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref/id",
    ),
    (
        "ref and data ids differ",
        {"op": "update", "ref": {"type": "products", "id": "1"}, "data": product(id="2")},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/id",
    ),
    (
        "ref and data types differ",
        {"op": "update", "ref": {"type": "suppliers", "id": "1"}, "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref/type",
    ),
    (
        "invalid ref id",
        {"op": "remove", "ref": {"type": "products", "id": "abc"}},
        400,
        "INVALID_ID",
        "/atomic:operations/1/ref/id",
    ),
    (
        "remove without ref",
        {"op": "remove", "data": product(id="1")},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref",
    ),
    (
        "remove with data",
        {"op": "remove", "ref": {"type": "products", "id": "1"}, "data": product()},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data",
    ),
    (
        "lid used before defined",
        pair({"type": "products", "lid": "later"}),
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/product/data/lid",
    ),
    (
        "duplicate lid",
        {"op": "add", "data": product(lid="p")},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/lid",
    ),
    (
        "lid of wrong type",
        {"op": "remove", "ref": {"type": "suppliers", "lid": "p"}},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/ref/lid",
    ),
    (
        "identifier of wrong type",
        pair({"type": "suppliers", "lid": "p"}),
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/product/data/type",
    ),
    (
        "id and lid",
        pair({"type": "products", "lid": "p", "id": "1"}),
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/product/data",
    ),
    (
        "lid not a string",
        {"op": "add", "data": product(lid=7)},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/lid",
    ),
    (
        "unknown relationship",
        {"op": "add", "data": product(relationships={"owner": {"data": None}})},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/owner",
    ),
    (
        "to-many relationship",
        {"op": "add", "data": product(relationships={"supplierProducts": {"data": []}})},
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/supplierProducts",
    ),
    (
        "relationship and attribute disagree",
        {
            "op": "add",
            "data": {
                "type": "supplierProducts",
                "attributes": {"name": "x", "supplierId": 1, "productId": 2},
                "relationships": {"product": {"data": {"type": "products", "lid": "p"}}},
            },
        },
        400,
        "INVALID_DOCUMENT",
        "/atomic:operations/1/data/relationships/product",
    ),
    (
        "missing required attribute",
        {"op": "add", "data": {"type": "products"}},
        400,
        "REQUIRED",
        "/atomic:operations/1/data/attributes/name",
    ),
    (
        "invalid value",
        {"op": "add", "data": product(attributes={"name": "x", "stockLevel": "a"})},
        400,
        "INVALID_VALUE",
        "/atomic:operations/1/data/attributes/stockLevel",
    ),
    (
        "missing row",
        {"op": "remove", "ref": {"type": "products", "id": "987654321"}},
        404,
        "NOT_FOUND",
        "/atomic:operations/1",
    ),
    (
        "missing reference by id",
        pair({"type": "products", "id": "987654321"}),
        404,
        "REFERENCE_NOT_FOUND",
        "/atomic:operations/1/data/relationships/product",
    ),
]


@pytest.mark.parametrize(
    ("operation", "status", "code", "pointer"),
    [pytest.param(*row[1:], id=row[0]) for row in BROKEN_OPERATIONS],
)
def test_a_broken_operation_is_refused_and_nothing_is_written(
    api: httpx.Client, operation: Any, status: int, code: str, pointer: str
) -> None:
    response = api.post(
        "/operations", json={"atomic:operations": [FIRST, operation]}, headers=HEADERS
    )
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert [(e["code"], e["source"]["pointer"]) for e in errors][:1] == [(code, pointer)]
    assert written(api) == 0


# (id, the whole body, status, pointer)
BROKEN_DOCUMENTS = [
    ("not JSON", b"{", 400, ""),
    ("not an object", b"[]", 400, ""),
    ("no operations", b"{}", 400, "/atomic:operations"),
    ("operations not a list", b'{"atomic:operations": {"op": "add"}}', 400, "/atomic:operations"),
    ("empty list", b'{"atomic:operations": []}', 400, "/atomic:operations"),
    ("data member", b'{"atomic:operations": [], "data": {}}', 400, "/atomic:operations"),
]


@pytest.mark.parametrize(
    ("body", "status", "pointer"), [pytest.param(*row[1:], id=row[0]) for row in BROKEN_DOCUMENTS]
)
def test_a_broken_document_is_refused(
    api: httpx.Client, body: bytes, status: int, pointer: str
) -> None:
    response = api.post("/operations", content=body, headers=HEADERS)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["source"]["pointer"] == pointer


def test_more_than_the_maximum_is_refused_and_the_maximum_runs(api: httpx.Client) -> None:
    one = {"op": "add", "data": {"type": "products", "attributes": {"name": MARK, "stockLevel": 1}}}
    too_many = api.post(
        "/operations", json={"atomic:operations": [one] * (MAX_OPERATIONS + 1)}, headers=HEADERS
    )
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["source"]["pointer"] == "/atomic:operations"
    assert str(MAX_OPERATIONS) in too_many.json()["errors"][0]["detail"]
    assert written(api) == 0
    full = api.post(
        "/operations", json={"atomic:operations": [one] * MAX_OPERATIONS}, headers=HEADERS
    )
    assert full.status_code == 200, full.text
    assert len(full.json()["atomic:results"]) == MAX_OPERATIONS
    assert written(api) == MAX_OPERATIONS


def test_a_data_member_beside_operations_is_refused(api: httpx.Client) -> None:
    response = api.post(
        "/operations", json={"atomic:operations": [FIRST], "data": {}}, headers=HEADERS
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == "/data"
    assert written(api) == 0


def written(api: httpx.Client) -> int:
    """How many rows of the marker name the account holds."""
    body = api.get("/products", params={"filter[name]": MARK, "page[limit]": 1}).json()
    return int(body["meta"]["totalResourceCount"])
