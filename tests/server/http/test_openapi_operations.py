"""``POST /v1/operations`` in the OpenAPI document: labelled as the atomic extension, sent and
answered as its media type, one operation schema per type and method the registry allows,
requests the server runs are valid and malformed ones are not; absent without extensions."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from optiply.jsonapi.extensions import ATOMIC, ATOMIC_MEDIA_TYPE, MAX_OPERATIONS, OPERATIONS_PATH
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.http.openapi import openapi_document
from optiply.server.http.openapi.common import LABEL

DOCUMENT = openapi_document(version="1.2.3")
SCHEMAS = DOCUMENT["components"]["schemas"]
OPERATION = DOCUMENT["paths"][OPERATIONS_PATH]["post"]
METHODS = {"Add": "POST", "Update": "PATCH", "Remove": "DELETE"}


def validator(name: str) -> Any:
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(schema)


def test_labelled_and_sent_as_the_extension_media_type() -> None:
    assert OPERATION[LABEL] == ATOMIC.uri
    assert list(OPERATION["requestBody"]["content"]) == [ATOMIC_MEDIA_TYPE]
    assert list(OPERATION["responses"]["200"]["content"]) == [ATOMIC_MEDIA_TYPE]
    assert {"400", "403", "404", "405", "406", "409", "413", "415", "422"} <= set(
        OPERATION["responses"]
    )
    names = [p.get("$ref", "").rsplit("/", 1)[-1] for p in OPERATION["parameters"]]
    assert "IdempotencyKey" in names
    assert "not in the hosted API" in OPERATION["description"]


def test_without_extensions_there_is_no_such_path() -> None:
    plain = openapi_document(version="1.2.3", extensions=False)
    assert OPERATIONS_PATH not in plain["paths"]
    assert "AtomicOperation" not in plain["components"]["schemas"]


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.type) for s in REGISTRY])
def test_one_operation_schema_per_method_the_type_allows(spec: ResourceSpec) -> None:
    for kind, method in METHODS.items():
        assert (f"{spec.label}{kind}Operation" in SCHEMAS) is (method in spec.methods)


PAIR = {
    "op": "add",
    "data": {
        "type": "supplierProducts",
        "attributes": {"name": "pair"},
        "relationships": {
            "product": {"data": {"type": "products", "lid": "p"}},
            "supplier": {"data": {"type": "suppliers", "id": "7"}},
        },
    },
}
PRODUCT = {
    "op": "add",
    "data": {"type": "products", "lid": "p", "attributes": {"name": "m", "stockLevel": 1}},
}


@pytest.mark.parametrize(
    ("operations", "valid"),
    [
        pytest.param([PRODUCT, PAIR], True, id="add with lid and relationships"),
        pytest.param(
            [
                {
                    "op": "update",
                    "ref": {"type": "products", "lid": "p"},
                    "data": {"type": "products", "attributes": {"name": "n"}},
                }
            ],
            True,
            id="update by lid",
        ),
        pytest.param([{"op": "remove", "ref": {"type": "products", "id": "3"}}], True, id="remove"),
        pytest.param([PRODUCT] * MAX_OPERATIONS, True, id="the maximum"),
        pytest.param([PRODUCT] * (MAX_OPERATIONS + 1), False, id="over the maximum"),
        pytest.param([], False, id="empty"),
        pytest.param([{"op": "upsert", "data": PRODUCT["data"]}], False, id="unknown op"),
        pytest.param(
            [{"op": "add", "data": {"type": "accounts", "attributes": {}}}],
            False,
            id="add of accounts",
        ),
        pytest.param([{"op": "remove", "ref": {"type": "products"}}], False, id="remove no id"),
        pytest.param(
            [{"op": "add", "data": {**PAIR["data"], "relationships": {"owner": {"data": None}}}}],
            False,
            id="unknown relationship",
        ),
    ],
)
def test_the_request_schema(operations: list[Any], valid: bool) -> None:
    assert validator("AtomicOperationsRequest").is_valid({"atomic:operations": operations}) is valid


def test_the_result_schema() -> None:
    check = validator("AtomicResultsDocument")
    assert check.is_valid({"atomic:results": [{}]})
    assert not check.is_valid({"atomic:results": [{"data": {"type": "widgets"}}]})
    assert not check.is_valid({"errors": []})
