"""The extensions in the OpenAPI document (docs/extensions.md): every write of /v1 documents
Idempotency-Key with its 409, 422 and replay marker; every type with remoteIdMap documents
filter[remoteId] as the parser reads it, and every type whose rows can be deleted
filter[deletedAt], sort=deletedAt and meta.deletedAt; everything added is labelled an
extension; without extensions the document is the v1 one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from optiply.jsonapi.extensions import DELETED_ROWS, IDEMPOTENCY, REMOTE_ID, SERVER_EXTENSIONS
from optiply.query import QueryError, parse
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.http.openapi import openapi_document
from optiply.server.http.openapi.extensions import LABEL, NOT_HOSTED

DOCUMENT = openapi_document(version="1.2.3")
PLAIN = openapi_document(version="1.2.3", extensions=False)
WRITES = ("post", "patch", "delete")


def labelled(node: Any) -> list[Any]:
    """Every object of ``node`` carrying the extension label."""
    if isinstance(node, dict):
        here = [node] if LABEL in node else []
        return here + [found for value in node.values() for found in labelled(value)]
    if isinstance(node, list):
        return [found for item in node for found in labelled(item)]
    return []


def resolve(item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        *_, section, name = item["$ref"].split("/")
        item = DOCUMENT["components"][section][name]
    return item


def v1_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in ("get", *WRITES)
    ]


def test_both_documents_are_valid_openapi_3_1() -> None:
    validate(DOCUMENT)
    validate(PLAIN)


def test_without_extensions_nothing_is_added() -> None:
    assert labelled(PLAIN) == []
    assert "/v1" not in PLAIN["paths"]
    assert "**Extensions**" not in PLAIN["info"]["description"]
    assert (
        "header"
        not in PLAIN["components"]["schemas"]["Error"]["properties"]["source"]["properties"]
    )
    assert "IdempotencyKey" not in PLAIN["components"]["parameters"]


def test_what_is_added_is_labelled_and_says_so() -> None:
    found = labelled(DOCUMENT)
    uris = {e.uri for e in SERVER_EXTENSIONS}
    assert found
    for node in found:
        value = node[LABEL]
        assert set(value if isinstance(value, list) else [value]) <= uris
    described = [node for node in found if "description" in node]
    assert all(
        NOT_HOSTED in node["description"] for node in described if node.get("in") == "header"
    )
    assert "not in the hosted API" in DOCUMENT["info"]["description"]
    assert DOCUMENT["paths"]["/v1"]["get"]["security"] == []


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [pytest.param(*op, id=f"{op[1]} {op[0]}") for op in v1_operations(DOCUMENT)],
)
def test_writes_document_the_key_and_reads_do_not(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    names = [resolve(p)["name"] for p in operation["parameters"]]
    responses = operation["responses"]
    if method == "get":
        assert "Idempotency-Key" not in names and "422" not in responses
        return
    assert names.count("Idempotency-Key") == 1
    header = resolve(operation["parameters"][names.index("Idempotency-Key")])
    assert header["in"] == "header" and header[LABEL] == IDEMPOTENCY.uri
    assert header["schema"]["maxLength"] == 255
    assert "IDEMPOTENCY_KEY_IN_USE" in resolve(responses["409"])["description"]
    assert "IDEMPOTENCY_KEY_REUSED" in resolve(responses["422"])["description"]
    for status, response in responses.items():
        if status.startswith("2"):
            assert response["headers"]["Idempotent-Replayed"]["schema"]["const"] == "true"


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.type) for s in REGISTRY])
def test_remote_id_filter_where_remote_id_map_is(spec: ResourceSpec) -> None:
    properties = DOCUMENT["components"]["schemas"][f"{spec.label}Filter"]["properties"]
    assert ("remoteId" in properties) is spec.has_remote_ids
    assert ("remoteId" in properties[spec.type]["properties"]) is spec.has_remote_ids
    if spec.has_remote_ids:
        assert resolve(properties["remoteId"])[LABEL] == REMOTE_ID.uri
        filters = [
            p
            for p in DOCUMENT["paths"][f"/v1/{spec.type}"]["get"]["parameters"]
            if p.get("name") == "filter"
        ]
        assert "filter[remoteId]" in filters[0]["description"]


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("A", True),
        ("B,C", True),
        (" null", True),
        ("x" * 255, True),
        ("null", False),
        ("NULL", False),
        ("x" * 256, False),
        ("a\x00b", False),
    ],
)
def test_the_remote_id_schema_allows_what_the_parser_reads(value: str, read: bool) -> None:
    root = {
        "$ref": "#/components/schemas/RemoteIdFilterValue",
        "components": DOCUMENT["components"],
    }
    assert Draft202012Validator(root).is_valid(value) is read
    products = next(s for s in REGISTRY if s.type == "products")
    try:
        parse([("filter[remoteId]", value)], products, remote_id_key="publicApi")
    except QueryError:
        assert not read
    else:
        assert read


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.type) for s in REGISTRY])
def test_deleted_at_where_rows_can_be_deleted(spec: ResourceSpec) -> None:
    schemas = DOCUMENT["components"]["schemas"]
    properties = schemas[f"{spec.label}Filter"]["properties"]
    assert ("deletedAt" in properties) is spec.deletable
    assert ("deletedAt" in properties[spec.type]["properties"]) is spec.deletable
    assert ("meta" in schemas[spec.label]["properties"]) is spec.deletable
    assert "deletedAt" not in PLAIN["components"]["schemas"][f"{spec.label}Filter"]["properties"]
    parameters = DOCUMENT["paths"][f"/v1/{spec.type}"]["get"]["parameters"]
    by_name = {p["name"]: p for p in parameters if "name" in p}
    assert ("filter[deletedAt]" in by_name["filter"]["description"]) is spec.deletable
    assert ("deletedAt" in by_name["sort"]["schema"]["pattern"]) is spec.deletable
    if spec.deletable:
        assert resolve(properties["deletedAt"])[LABEL] == DELETED_ROWS.uri
        meta = resolve(schemas[spec.label]["properties"]["meta"])
        assert meta[LABEL] == DELETED_ROWS.uri and meta["required"] == ["deletedAt"]


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ({"GT": "2024-01-02T03:04:05Z"}, True),
        ({"LE": "2024-01-02T03:04:05.123456+01:00"}, True),
        ("2024-01-02T03:04:05Z", True),  # EQ
        ({"NEQ": "2024-01-02T03:04:05Z"}, False),
        ({"LIKE": "2024"}, False),
        ("null", False),
        ({"GT": "yesterday"}, False),
    ],
)
def test_the_deleted_at_schema_allows_what_the_parser_reads(value: Any, read: bool) -> None:
    root = {"$ref": "#/components/schemas/DeletedAtFilter", "components": DOCUMENT["components"]}
    assert Draft202012Validator(root).is_valid(value) is read
    items = (
        [(f"filter[deletedAt][{op}]", text) for op, text in value.items()]
        if isinstance(value, dict)
        else [("filter[deletedAt]", value)]
    )
    products = next(s for s in REGISTRY if s.type == "products")
    try:
        parse(items, products, deleted_rows=True)
    except QueryError:
        assert not read
    else:
        assert read


@pytest.mark.parametrize("operator", ["EQ", "LT", "LE", "GT", "GE"])
def test_every_deleted_at_value_the_schema_allows_is_read(operator: str) -> None:
    forms = DOCUMENT["components"]["schemas"]["DeletedAtFilterOperators"]["properties"]
    pattern = resolve(forms[operator])["pattern"]
    products = next(s for s in REGISTRY if s.type == "products")

    @settings(max_examples=20, derandomize=True, database=None, deadline=None)
    @given(text=st.from_regex(pattern, fullmatch=True))
    def read(text: str) -> None:
        assert parse(
            [(f"filter[deletedAt][{operator}]", text)], products, deleted_rows=True
        ).deleted

    read()
