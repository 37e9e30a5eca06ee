"""The OpenAPI document follows the registry: one table row per resource, attribute or operation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from optiply.jsonapi.extensions import OPERATIONS_PATH
from optiply.query import QueryError, parse
from optiply.query.operators import Operator
from optiply.resources import REGISTRY, Access, Attribute, Kind, ResourceSpec, get
from optiply.resources.types import INT64_MAX, INT64_MIN, coerce
from optiply.server.app import create_app
from optiply.server.http.dispatch import ByType
from optiply.server.http.openapi import openapi_document
from optiply.server.http.sandbox import MAX_MINUTES
from optiply.server.sandbox.limits import (
    COMPAT_MODES,
    MAX_BURST,
    MAX_RATE,
    MIN_RATE,
    checked_settings,
)
from optiply.server.sandbox.rules import (
    MAX_HANG_S,
    MAX_MS,
    MEMBERS,
    METHODS,
    Action,
    InputError,
    checked_rule,
)
from optiply.server.settings import Settings
from optiply.server.storage.sandbox import AccountSettings, fault_json
from optiply.server.storage.tables import RESOURCE_TABLES

DOCUMENT = openapi_document(version="1.2.3")
SCHEMAS = DOCUMENT["components"]["schemas"]
PATHS = DOCUMENT["paths"]
HTTP_METHODS = {"get", "post", "patch", "delete", "put", "head", "options", "trace"}


def specs(predicate: Any = None) -> list[Any]:
    return [pytest.param(s, id=s.type) for s in REGISTRY if predicate is None or predicate(s)]


def attributes(predicate: Any, *, spec_filter: Any = None) -> list[Any]:
    return [
        pytest.param(spec, attribute, id=f"{spec.type}.{attribute.name}")
        for spec in REGISTRY
        if spec_filter is None or spec_filter(spec)
        for attribute in spec.attributes
        if predicate(attribute)
    ]


def creatable(spec: ResourceSpec) -> bool:
    return "POST" in spec.methods


def updatable(spec: ResourceSpec) -> bool:
    return "PATCH" in spec.methods


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema validator for ``schema``, resolving refs into the document's components."""
    root = {**schema, "components": DOCUMENT["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def types_of(schema: dict[str, Any]) -> set[str]:
    kinds = schema["type"]
    return set(kinds) if isinstance(kinds, list) else {kinds}


def resolve(item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        *_, section, name = item["$ref"].split("/")
        item = DOCUMENT["components"][section][name]
    return item


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in PATHS.items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def v1_operations() -> list[Any]:
    """The operations of the resource paths (atomic operations: test_openapi_extensions.py)."""
    return [
        pytest.param(path, method, operation, id=f"{method} {path}")
        for path, method, operation in operations()
        if path.startswith("/v1/") and path != OPERATIONS_PATH
    ]


def parameter_names(path: str, operation: dict[str, Any]) -> list[str]:
    shared = PATHS[path].get("parameters", [])
    return [resolve(p)["name"] for p in [*shared, *operation.get("parameters", [])]]


# --- the document as a whole ---------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


def test_validation_catches_a_broken_document() -> None:
    broken = openapi_document(version="x")
    broken["components"]["schemas"]["ProductAttributes"]["properties"]["name"]["type"] = "text"
    with pytest.raises(Exception, match="not valid"):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_every_reference_resolves() -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if "$ref" in node else []
            return own + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    found = refs(DOCUMENT)
    assert found
    for ref in found:
        *_, section, name = ref.split("/")
        assert name in DOCUMENT["components"][section], ref


def test_each_call_builds_a_fresh_document() -> None:
    def shared(a: Any, b: Any) -> list[Any]:
        if isinstance(a, dict | list) and a is b:
            return [a]
        if isinstance(a, dict):
            return [x for key in a for x in shared(a[key], b[key])]
        if isinstance(a, list):
            return [x for pair in zip(a, b, strict=True) for x in shared(*pair)]
        return []

    first, second = openapi_document(version="x"), openapi_document(version="x")
    assert first == second
    assert shared(first, second) == []


def test_module_is_pure() -> None:
    code = (
        "import sys, optiply.server.http.openapi\n"
        "bad = {'fastapi', 'starlette', 'sqlalchemy'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_info_and_servers() -> None:
    info = DOCUMENT["info"]
    assert info["title"] == "Optiply Public API v1 (self-hosted)"
    assert info["version"] == "1.2.3"
    assert DOCUMENT["servers"] == [{"url": "/"}]


@pytest.mark.parametrize(
    "needle",
    [
        "application/vnd.api+json",
        "415",
        "two decimals",
        "rounded toward zero",
        "YYYY-MM-DDTHH:MM:SS[.ffffff]Z",
        "filter[attr][OP]",
        "EQ",
        "NEQ",
        "LIKE",
        "GE",
        "`null`",
        "sort=a,-b",
        "page[limit]",
        "default 50",
        "at most 100",
        "multiple of",
        "accountId",
        "couplingId",
        "meta.orderLineIds",
        *(f"`{s.type}`" for s in REGISTRY if s.embedded is not None),
        "SANDBOX_FAULT",
        "any status from 400 to 599",
        "429 `RATE_LIMITED` with `Retry-After`",
    ],
)
def test_description_explains_the_conventions(needle: str) -> None:
    assert needle in " ".join(DOCUMENT["info"]["description"].split())


def test_oauth2_password_flow() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["password"]
    assert flow["tokenUrl"] == flow["refreshUrl"] == "/api/auth/oauth/token"
    assert set(flow["scopes"]) == {"read", "write", "delete"}


# --- response attributes -------------------------------------------------------------------------

RESPONSE_TYPES = {
    Kind.STRING: "string",
    Kind.INTEGER: "integer",
    Kind.REFERENCE: "integer",
    Kind.DECIMAL: "string",
    Kind.BOOLEAN: "boolean",
    Kind.DATETIME: "string",
    Kind.UUID: "string",
    Kind.ENUM: "string",
    Kind.EMAILS: "array",
    Kind.OBJECT: "object",
}
UUID = "2b6c0f0e-8d0a-4c1e-9a53-2f5e7c1d9b10"

# Kind -> (values a response may hold, values it never holds), before attribute rules.
RESPONSE_VALUES: dict[Kind, tuple[list[Any], list[Any]]] = {
    Kind.STRING: (["x"], [5, True, ["x"]]),
    Kind.INTEGER: ([0, -7, 2**62], ["7", 1.5, True]),
    Kind.REFERENCE: ([1, 28_000_000], ["7", 0, 1.5]),
    Kind.DECIMAL: (["12.50", "0.00"], [12.5, "12.5", "12.505", "1e3", "abc"]),
    Kind.BOOLEAN: ([True, False], ["true", 0]),
    Kind.DATETIME: (
        ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456Z"],
        ["2024-01-02", "2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05.1Z", 5],
    ),
    Kind.UUID: ([UUID], ["not-a-uuid", 5]),
    Kind.ENUM: ([], ["NOPE", 5]),
    Kind.EMAILS: ([["a@example.com"], []], ["a@example.com", [5]]),
    Kind.OBJECT: ([{"12": "abc"}, {}], [["x"], {"12": 5}]),
}


def response_values(attribute: Attribute) -> tuple[list[Any], list[Any]]:
    valid, invalid = (list(values) for values in RESPONSE_VALUES[attribute.kind])
    if attribute.kind is Kind.DECIMAL:
        digits = attribute.integer_digits or 17
        widest = "9" * digits + ".99"
        (invalid if attribute.minimum == 0 else valid).append("-3.10")
        if attribute.maximum is not None:
            valid, widest = ["12.50", "0.00", "100.00"], "99.99"
            invalid.append("100.01")
        valid.append(widest)
        invalid.append("1" + "0" * digits + ".00")
    if attribute.choices:
        valid = list(attribute.choices)
        invalid.append(attribute.choices[0].upper())
    length = attribute.exact_length or attribute.max_length
    if length is not None:
        valid = ["x" * length]
        invalid.append("x" * (length + 1))
    if attribute.exact_length is not None:
        invalid.append("x" * (attribute.exact_length - 1))
    if attribute.kind is Kind.INTEGER and attribute.minimum is not None:
        valid = [attribute.minimum]
        invalid.append(attribute.minimum - 1)
    if attribute.kind is Kind.INTEGER and attribute.maximum is not None:
        valid.append(attribute.maximum)
        invalid.append(attribute.maximum + 1)
    if attribute.kind is Kind.INTEGER and attribute.minimum is None:
        valid += [INT64_MIN, INT64_MAX]
        invalid += [INT64_MIN - 1, INT64_MAX + 1]
    if attribute.kind is Kind.STRING and attribute.access is not Access.READ_ONLY:
        invalid.append("a\x00b")  # refused on input, so never stored
        (invalid if attribute.required else valid).append(" " * (attribute.exact_length or 2))
    (valid if attribute.nullable else invalid).append(None)
    return valid, invalid


@pytest.mark.parametrize("spec", specs())
def test_response_attributes_are_exactly_the_readable_ones(spec: ResourceSpec) -> None:
    schema = SCHEMAS[f"{spec.label}Attributes"]
    expected = [a.name for a in spec.readable]
    assert list(schema["properties"]) == expected
    assert schema["required"] == expected  # nullable attributes are rendered as null


@pytest.mark.parametrize(
    ("spec", "attribute"), attributes(lambda a: a.readable and a.kind != Kind.ID)
)
def test_response_attribute_schema(spec: ResourceSpec, attribute: Attribute) -> None:
    schema = SCHEMAS[f"{spec.label}Attributes"]["properties"][attribute.name]
    assert types_of(schema) - {"null"} == {RESPONSE_TYPES[attribute.kind]}
    assert ("null" in types_of(schema)) is attribute.nullable
    assert schema.get("readOnly", False) is (attribute.access is Access.READ_ONLY)
    valid, invalid = response_values(attribute)
    check = validator(schema)
    for value in valid:
        assert check.is_valid(value), value
    for value in invalid:
        assert not check.is_valid(value), value


@pytest.mark.parametrize(
    ("spec", "attribute"), attributes(lambda a: a.kind is Kind.DECIMAL and a.readable)
)
def test_decimal_description_gives_the_digit_limit(
    spec: ResourceSpec, attribute: Attribute
) -> None:
    schema = SCHEMAS[f"{spec.label}Attributes"]["properties"][attribute.name]
    assert schema["pattern"].endswith(r"\.[0-9]{2}$") or schema["pattern"].endswith(r"\.00)$")
    assert f"{attribute.integer_digits or 17} digits" in schema["description"]
    request = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"].get(attribute.name)
    if request is not None:
        assert f"{attribute.integer_digits or 17} digits" in request["description"]


WRITE_ONLY = attributes(lambda a: a.access is Access.WRITE_ONLY or a.kind is Kind.LINES)


def test_write_only_table_covers_remote_id_and_order_lines() -> None:
    names = {(p.values[0].type, p.values[1].name) for p in WRITE_ONLY}
    assert {("products", "remoteId"), ("buyOrders", "orderLines")} <= names
    assert ("sellOrders", "orderLines") in names


@pytest.mark.parametrize(("spec", "attribute"), WRITE_ONLY)
def test_write_only_attributes_are_never_rendered(spec: ResourceSpec, attribute: Attribute) -> None:
    assert attribute.name not in SCHEMAS[f"{spec.label}Attributes"]["properties"]
    assert creatable(spec)
    assert attribute.name in SCHEMAS[f"{spec.label}CreateAttributes"]["properties"]


@pytest.mark.parametrize(("spec", "attribute"), attributes(lambda a: a.access is Access.HIDDEN))
def test_hidden_attributes_are_neither_rendered_nor_written(
    spec: ResourceSpec, attribute: Attribute
) -> None:
    for suffix in ("Attributes", "CreateAttributes", "UpdateAttributes"):
        assert attribute.name not in SCHEMAS.get(f"{spec.label}{suffix}", {}).get("properties", {})


# --- request attributes --------------------------------------------------------------------------

# Kind -> (loose input values accepted, values rejected), before attribute rules.
# (Documented forms are a subset of what the server reads: " -7 " and "1e3" are read, not listed.)
REQUEST_VALUES: dict[Kind, tuple[list[Any], list[Any]]] = {
    Kind.STRING: (["x", " x "], [True, ["x"], "a\x00b"]),
    Kind.INTEGER: ([7, "7", "-7", "+7", "007", "7.0", "7."], ["7.5", "nan", 7.5, True, "", "1e3"]),
    Kind.REFERENCE: ([7, "7", "+007"], [0, "0", "-7", "abc", 7.5, True]),
    Kind.DECIMAL: ([12.349, "12.349", 12, "0.5", ".5", "+1"], ["abc", "nan", True, [1], "1e3"]),
    Kind.BOOLEAN: ([True, False, "true", "FALSE", "True"], ["maybe", 1, "yes"]),
    Kind.DATETIME: (["2024-01-02T03:04:05+01:00", "2024-01-02T03:04:05Z"], [5]),
    Kind.ENUM: ([], ["NOPE", 5, ""]),
    Kind.EMAILS: ([["a@example.com"], "a@example.com; b@example.com"], [5, [5]]),
}


def request_values(attribute: Attribute) -> tuple[list[Any], list[Any]]:
    valid, invalid = (list(values) for values in REQUEST_VALUES[attribute.kind])
    if attribute.choices:
        words = [*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)]
        valid = [*words, *(w.upper() for w in words), *(w.title() for w in words)]
        invalid.append(attribute.choices[0] + "x")
    if attribute.max_length is not None:
        valid = ["x" * attribute.max_length]
        invalid.append("x" * (attribute.max_length + 1))
    if attribute.exact_length is not None:
        valid = ["x" * attribute.exact_length]
        invalid.append("x" * (attribute.exact_length + 1))
    if attribute.kind is Kind.STRING and attribute.required:
        invalid += ["", "   ", "\t\n"]
    if attribute.kind in (Kind.INTEGER, Kind.REFERENCE):
        low = attribute.minimum if attribute.minimum is not None else None
        if attribute.kind is Kind.REFERENCE:
            low = 1
        if low is not None:
            valid = [low, str(low)]
            invalid += [low - 1, str(low - 1)]
        else:
            valid += [INT64_MIN, "-" + "9" * 18]
            invalid.append(INT64_MIN - 1)
        if attribute.maximum is not None:
            valid += [attribute.maximum, str(attribute.maximum)]
            invalid += [attribute.maximum + 1, str(attribute.maximum + 1)]
        else:
            valid += [INT64_MAX, "9" * 18]
            invalid.append(INT64_MAX + 1)
    if attribute.kind is Kind.DECIMAL:
        digits = attribute.integer_digits or 17
        if attribute.maximum is None:
            valid += ["9" * digits + ".999", 10**digits - 1]
            invalid += ["1" + "0" * digits, 10**digits]
        else:
            valid += ["100", "100.00", "100.009", 100, "99.999"]
            invalid += ["100.01", 100.01, "101", 101]
        if attribute.minimum is not None:
            invalid += [float(attribute.minimum) - 1, "-1"]
        else:
            valid += ["-12.5", -12.5]
    if attribute.kind is Kind.DATETIME and attribute.ignore_booleans:
        valid.append(True)
    (valid if attribute.nullable else invalid).append(None)
    return valid, invalid


@pytest.mark.parametrize("spec", specs(creatable))
def test_create_attributes_and_required(spec: ResourceSpec) -> None:
    schema = SCHEMAS[f"{spec.label}CreateAttributes"]
    writable = [a.name for a in spec.attributes if a.writable_on_create]
    aliases = [alias for a in spec.attributes if a.writable_on_create for alias in a.input_aliases]
    assert sorted(schema["properties"]) == sorted(writable + aliases)
    assert schema["required"] == [a.name for a in spec.attributes if a.required]


@pytest.mark.parametrize("spec", specs(updatable))
def test_update_attributes_require_nothing(spec: ResourceSpec) -> None:
    schema = SCHEMAS[f"{spec.label}UpdateAttributes"]
    writable = [a.name for a in spec.attributes if a.writable_on_update]
    aliases = {alias for a in spec.attributes for alias in a.input_aliases}
    assert [name for name in schema["properties"] if name not in aliases] == writable
    assert "required" not in schema


@pytest.mark.parametrize(
    ("spec", "attribute"),
    attributes(lambda a: a.writable_on_create and a.kind is not Kind.LINES, spec_filter=creatable),
)
def test_create_attribute_accepts_loose_input(spec: ResourceSpec, attribute: Attribute) -> None:
    schema = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"][attribute.name]
    valid, invalid = request_values(attribute)
    check = validator(schema)
    for value in valid:
        assert check.is_valid(value), value
    for value in invalid:
        assert not check.is_valid(value), value


def test_input_alias_is_documented_as_deprecated() -> None:
    schema = SCHEMAS["SupplierProductCreateAttributes"]["properties"]
    assert schema["availability_date"]["deprecated"] is True
    assert "availability_date" not in SCHEMAS["SupplierProductAttributes"]["properties"]


@pytest.mark.parametrize("spec", specs(lambda s: s.embedded is not None))
def test_embedded_lines_are_the_child_create_attributes_minus_the_parent(
    spec: ResourceSpec,
) -> None:
    assert spec.embedded is not None
    target = get(spec.embedded.target)
    parent = spec.embedded.parent_attribute
    lines = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"][spec.embedded.attribute]
    line = resolve(lines["items"])
    expected = [a.name for a in target.attributes if a.writable_on_create and a.name != parent]
    assert list(line["properties"]) == expected
    assert line["required"] == [
        a.name for a in target.attributes if a.required and a.name != parent
    ]
    assert parent not in line["properties"]


# --- documents -----------------------------------------------------------------------------------


def sample_resource(spec: ResourceSpec) -> dict[str, Any]:
    """A rendered resource object with a valid value for every readable attribute."""
    base = f"https://api.example.com/v1/{spec.type}/5"
    resource: dict[str, Any] = {
        "id": "5",
        "type": spec.type,
        "attributes": {a.name: response_values(a)[0][0] for a in spec.readable},
        "links": {"self": base},
    }
    if spec.relationships:
        resource["relationships"] = {
            r.name: {"links": {"self": f"{base}/relationships/{r.name}", "related": f"{base}/x"}}
            for r in spec.relationships
        }
    return resource


@pytest.mark.parametrize("spec", specs())
def test_rendered_documents_validate(spec: ResourceSpec) -> None:
    resource = sample_resource(spec)
    assert validator({"$ref": f"#/components/schemas/{spec.label}Document"}).is_valid(
        {"data": resource}
    )
    listing = {
        "data": [resource],
        "links": {"first": "https://h/v1/x", "last": "https://h/v1/x", "prev": None, "next": None},
        "meta": {"totalResourceCount": 1},
    }
    check = validator({"$ref": f"#/components/schemas/{spec.label}ListDocument"})
    assert check.is_valid(listing)
    assert not check.is_valid({**listing, "meta": {}})
    wrong_type = {**resource, "type": "nope"}
    assert not check.is_valid({**listing, "data": [wrong_type]})
    numeric_id = {**resource, "id": 5}
    assert not check.is_valid({**listing, "data": [numeric_id]})


def test_products_create_request_example() -> None:
    check = validator({"$ref": "#/components/schemas/ProductCreateRequest"})
    attributes = {"name": "Blue mug", "stockLevel": "12", "price": 12.349, "remoteId": "r-1"}
    assert check.is_valid({"data": {"type": "products", "attributes": attributes}})
    assert not check.is_valid({"data": {"type": "suppliers", "attributes": attributes}})
    assert not check.is_valid({"data": {"type": "products", "attributes": {"name": "x"}}})
    assert not check.is_valid({"data": {"type": "products"}})


def test_buy_order_create_request_with_order_lines() -> None:
    check = validator({"$ref": "#/components/schemas/BuyOrderCreateRequest"})
    line = {"productId": "9", "quantity": 2, "subtotalValue": "76.0"}
    attributes = {"placed": "2024-01-01T00:00:00Z", "totalValue": 76, "supplierId": 3}
    body: dict[str, Any] = {
        "data": {"type": "buyOrders", "attributes": {**attributes, "orderLines": [line]}}
    }
    assert check.is_valid(body)
    body["data"]["attributes"]["orderLines"] = [{"quantity": 2, "subtotalValue": "1.00"}]
    assert not check.is_valid(body)


@pytest.mark.parametrize("spec", specs(updatable))
def test_update_request_id_is_optional(spec: ResourceSpec) -> None:
    check = validator({"$ref": f"#/components/schemas/{spec.label}UpdateRequest"})
    assert check.is_valid({"data": {"type": spec.type, "attributes": {}}})
    assert check.is_valid({"data": {"type": spec.type, "id": "5", "attributes": {}}})
    assert not check.is_valid({"data": {"type": spec.type, "id": 5, "attributes": {}}})


@pytest.mark.parametrize("spec", specs(lambda s: s.embedded is not None))
def test_create_of_orders_answers_order_line_ids(spec: ResourceSpec) -> None:
    response = PATHS[f"/v1/{spec.type}"]["post"]["responses"]["201"]
    schema = resolve(response["content"]["application/vnd.api+json"]["schema"])
    check = validator(schema)
    data = sample_resource(spec)
    assert check.is_valid({"data": data, "meta": {"orderLineIds": ["7", "8"]}})
    assert not check.is_valid({"data": data, "meta": {"orderLineIds": [{}]}})


def test_error_document_schema() -> None:
    check = validator({"$ref": "#/components/schemas/ErrorDocument"})
    error = {
        "status": "400",
        "code": "VALIDATION_ERROR",
        "title": "Bad Request",
        "detail": "Supplier email 'foo@' is not a valid address",
        "source": {"pointer": "/data/attributes/emails"},
        "meta": {"message": "Supplier email 'foo@' is not a valid address"},
    }
    assert check.is_valid({"errors": [error]})
    assert check.is_valid({"errors": [{**error, "source": {"parameter": "page[limit]"}}]})
    assert not check.is_valid({"errors": [{**error, "status": 400}]})
    assert not check.is_valid({"errors": []})


# --- paths and operations ------------------------------------------------------------------------


def expected_operations(spec: ResourceSpec) -> set[tuple[str, str]]:
    collection, item = f"/v1/{spec.type}", f"/v1/{spec.type}/{{id}}"
    expected = {(collection, "get"), (item, "get")}
    expected |= {(collection, "post")} if "POST" in spec.methods else set()
    expected |= {(item, m.lower()) for m in ("PATCH", "DELETE") if m in spec.methods}
    expected |= {(f"{item}/{r.name}", "get") for r in spec.relationships}
    expected |= {(f"{item}/relationships/{r.name}", "get") for r in spec.relationships}
    return expected


SANDBOX_OPERATIONS = {
    ("/sandbox/requests", "get"),
    ("/sandbox/requests/count", "get"),
    ("/sandbox/requests/{id}", "get"),
    ("/sandbox/stats", "get"),
    ("/sandbox/faults", "get"),
    ("/sandbox/faults", "post"),
    ("/sandbox/faults", "delete"),
    ("/sandbox/faults/{id}", "delete"),
    ("/sandbox/settings", "get"),
    ("/sandbox/settings", "patch"),
    ("/sandbox/timeline", "get"),
    ("/sandbox/rows", "get"),
    ("/sandbox/reset", "post"),
    ("/sandbox/snapshot", "get"),
    ("/sandbox/snapshot", "put"),
    ("/sandbox/shift-dates", "post"),
}
DATA_PATHS = ("/sandbox/reset", "/sandbox/snapshot", "/sandbox/shift-dates")  # test_data_http.py
JOURNAL_PATHS = (
    "/sandbox/requests",
    "/sandbox/requests/count",
    "/sandbox/requests/{id}",
    "/sandbox/stats",
)
CONTROL_OPERATIONS = sorted(
    op for op in SANDBOX_OPERATIONS if op[0] not in JOURNAL_PATHS + DATA_PATHS
)


def test_paths_are_exactly_the_registry_plus_token_health_and_sandbox() -> None:
    expected = {op for spec in REGISTRY for op in expected_operations(spec)}
    expected |= {("/api/auth/oauth/token", "post"), ("/health", "get"), ("/v1", "get")}
    expected |= {(OPERATIONS_PATH, "post")}
    expected |= SANDBOX_OPERATIONS
    assert {(path, method) for path, method, _ in operations()} == expected


# Routes that are pages, not API: the index, this document, its viewer, the sandbox page.
PAGES = {"/", "/openapi.json", "/docs", "/docs/static", "/sandbox", "/sandbox/static/{name}"}
# The relationship routes of a type without relationships: every name answers 404.
NO_RELATIONSHIPS = {
    f"/v1/{spec.type}/{{id}}/{tail}"
    for spec in REGISTRY
    if not spec.relationships
    for tail in ("{name}", "relationships/{name}")
}


def test_every_route_of_the_app_is_documented_and_every_documented_operation_routed(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    app.state.engine.dispose()
    # The /v1/{type} routes sit in one ByType route (found by type): each counts.
    routes = [
        inner
        for route in app.routes
        for inner in (route.routes if isinstance(route, ByType) else [route])
    ]
    routed = [
        (route, method.lower())
        for route in routes
        if getattr(route, "path", None) not in PAGES | NO_RELATIONSHIPS
        for method in sorted(getattr(route, "methods", None) or {"?"})
        if method != "HEAD"
    ]
    assert {getattr(route, "path", None) for route in routes} >= PAGES  # still pages

    def concrete(path: str) -> str:  # a documented path as a request would spell it
        return re.sub(r"\{[^}]+\}", "1", path)

    documented = {(path, method) for path, method, _ in operations()}
    for route, method in routed:
        assert any(
            m == method and route.path_regex.match(concrete(path)) for path, m in documented
        ), f"{method.upper()} {route.path} is not documented"
    for path, method in documented:
        assert any(m == method and route.path_regex.match(concrete(path)) for route, m in routed), (
            f"{method.upper()} {path} is documented but not routed"
        )


@pytest.mark.parametrize("spec", specs())
def test_methods_match_the_spec(spec: ResourceSpec) -> None:
    prefix = f"/v1/{spec.type}"
    found = {
        (path, method)
        for path, method, _ in operations()
        if path == prefix or path.startswith(prefix + "/")
    }
    assert found == expected_operations(spec)


def test_accounts_allow_only_get_and_patch() -> None:
    assert set(PATHS["/v1/accounts"]) == {"get"}
    assert set(PATHS["/v1/accounts/{id}"]) - {"parameters"} == {"get", "patch"}
    assert "AccountCreateAttributes" not in SCHEMAS
    assert "AccountUpdateAttributes" in SCHEMAS


@pytest.mark.parametrize(
    ("path", "method", "operation_id"),
    [
        ("/v1/products", "get", "listProducts"),
        ("/v1/products", "post", "createProduct"),
        ("/v1/products/{id}", "get", "getProduct"),
        ("/v1/products/{id}", "patch", "updateProduct"),
        ("/v1/products/{id}", "delete", "deleteProduct"),
        ("/v1/products/{id}/supplierProducts", "get", "getProductSupplierProducts"),
        ("/v1/buyOrderLines/{id}/product", "get", "getBuyOrderLineProduct"),
    ],
)
def test_operation_ids(path: str, method: str, operation_id: str) -> None:
    assert PATHS[path][method]["operationId"] == operation_id


def test_operation_ids_are_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in operations()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("spec", "relationship"),
    [
        pytest.param(spec, r, id=f"{spec.type}.{r.name}")
        for spec in REGISTRY
        for r in spec.relationships
    ],
)
def test_related_paths(spec: ResourceSpec, relationship: Any) -> None:
    target = get(relationship.target)
    path = f"/v1/{spec.type}/{{id}}/{relationship.name}"
    operation = PATHS[path]["get"]
    schema = operation["responses"]["200"]["content"]["application/vnd.api+json"]["schema"]
    suffix = "ListDocument" if relationship.to_many else "NullableDocument"
    assert schema == {"$ref": f"#/components/schemas/{target.label}{suffix}"}
    assert ("filter" in parameter_names(path, operation)) is relationship.to_many
    link = SCHEMAS[spec.label]["properties"]["relationships"]["properties"][relationship.name]
    assert link["$ref"] == "#/components/schemas/Relationship"
    check = validator(schema)
    if not relationship.to_many:  # data: null when the reference is unset or deleted
        assert check.is_valid({"data": None})
        assert check.is_valid({"data": sample_resource(target)})
        assert not check.is_valid({"data": sample_resource(spec)}) or spec is target
        assert not check.is_valid({})


@pytest.mark.parametrize(
    ("spec", "relationship"),
    [
        pytest.param(spec, r, id=f"{spec.type}.{r.name}")
        for spec in REGISTRY
        for r in spec.relationships
    ],
)
def test_relationship_identifier_paths(spec: ResourceSpec, relationship: Any) -> None:
    target = get(relationship.target)
    path = f"/v1/{spec.type}/{{id}}/relationships/{relationship.name}"
    operation = PATHS[path]["get"]
    schema = operation["responses"]["200"]["content"]["application/vnd.api+json"]["schema"]
    check = validator(schema)
    identifier = {"type": target.type, "id": "7"}
    if relationship.to_many:
        assert check.is_valid({"data": [identifier]}) and check.is_valid({"data": []})
        assert not check.is_valid({"data": None})
        assert "filter" in parameter_names(path, operation)
    else:
        assert check.is_valid({"data": identifier}) and check.is_valid({"data": None})
        assert not check.is_valid({"data": [identifier]})
    assert not check.is_valid({"data": [{"type": "nope", "id": "7"}]})
    assert not check.is_valid({"data": {**identifier, "id": 7}})
    assert operation["operationId"].endswith("Relationship")


@pytest.mark.parametrize(("path", "method", "operation"), v1_operations())
def test_scope_and_account_parameters(path: str, method: str, operation: dict[str, Any]) -> None:
    scope = {"get": "read", "post": "write", "patch": "write", "delete": "delete"}[method]
    assert operation["security"] == [{"oauth2": [scope]}]
    names = parameter_names(path, operation)
    assert {"accountId", "couplingId"} <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("path", "method", "operation"), v1_operations())
def test_error_responses(path: str, method: str, operation: dict[str, Any]) -> None:
    spec = get(path.split("/")[2])
    responses = operation["responses"]
    assert {"400", "401", "403", "429", "503"} <= set(responses)
    writes = method in ("post", "patch")
    assert ("415" in responses) is writes
    assert ("413" in responses) is writes
    # Every write may meet an Idempotency-Key in use (409) or reused (422): an extension.
    assert ("409" in responses) is (method != "get")
    assert ("422" in responses) is (method != "get")
    if writes and spec.unique:
        assert responses["409"]["$ref"].endswith("/ConflictOrIdempotencyKeyInUse")
    if "{id}" in path:
        assert "404" in responses
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            assert response["$ref"].startswith("#/components/responses/")


def test_unauthorized_uses_the_oauth_body() -> None:
    response = DOCUMENT["components"]["responses"]["Unauthorized"]
    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/OAuthError")
    assert set(SCHEMAS["OAuthError"]["properties"]) == {"error", "error_description", "hint"}
    assert SCHEMAS["OAuthError"]["required"] == ["error"]
    assert response["headers"]["WWW-Authenticate"]["required"] is True


@pytest.mark.parametrize(
    ("status", "name"),
    [
        ("400", "BadRequest"),
        ("403", "Forbidden"),
        ("404", "NotFound"),
        ("405", "MethodNotAllowed"),
        ("409", "Conflict"),
        ("413", "PayloadTooLarge"),
        ("415", "UnsupportedMediaType"),
        ("429", "TooManyRequests"),
        ("503", "ServiceUnavailable"),
    ],
)
def test_error_responses_carry_the_error_document(status: str, name: str) -> None:
    content = DOCUMENT["components"]["responses"][name]["content"]
    assert content["application/vnd.api+json"]["schema"]["$ref"].endswith("/ErrorDocument")


@pytest.mark.parametrize("name", ["ServiceUnavailable", "TooManyRequests"])
def test_busy_and_limited_answers_carry_retry_after(name: str) -> None:
    response = DOCUMENT["components"]["responses"][name]
    headers = response["headers"]
    assert headers["Retry-After"]["required"] is True
    assert validator(headers["Retry-After"]["schema"]).is_valid("1")
    assert not validator(headers["Retry-After"]["schema"]).is_valid("1.5")
    assert "SANDBOX_FAULT" in response["description"]  # a status rule answers 429/503 so too


@pytest.mark.parametrize(("path", "method", "operation"), v1_operations())
def test_bodies_are_accepted_as_json_api_and_as_json(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    if method in ("post", "patch"):
        content = operation["requestBody"]["content"]
        assert set(content) == {"application/vnd.api+json", "application/json"}
        assert (
            content["application/json"]["schema"] == content["application/vnd.api+json"]["schema"]
        )
    else:
        assert "requestBody" not in operation


@pytest.mark.parametrize("spec", specs())
def test_list_parameters(spec: ResourceSpec) -> None:
    path = f"/v1/{spec.type}"
    operation = PATHS[path]["get"]
    names = parameter_names(path, operation)
    assert {
        "sort",
        "page[limit]",
        "page[offset]",
        "page[after]",
        "filter",
        "accountId",
        "couplingId",
    } <= set(names)
    by_name = {resolve(p)["name"]: resolve(p) for p in operation["parameters"]}
    assert by_name["page[limit]"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 50,
    }
    filters = by_name["filter"]
    assert filters["style"] == "deepObject"
    filterable = [a.name for a in spec.attributes if a.filterable]
    for name in filterable:
        assert name in filters["description"]
    for name in (a.name for a in spec.attributes if a.sortable):
        assert name in by_name["sort"]["description"]
    remote_id = ["remoteId"] if spec.has_remote_ids else []  # an extension
    deleted_at = ["deletedAt"] if spec.deletable else []  # an extension
    assert set(resolve(filters["schema"])["properties"]) == {
        *filterable,
        spec.type,
        *remote_id,
        *deleted_at,
    }


def test_filter_schema_accepts_the_grammar() -> None:
    check = validator({"$ref": "#/components/schemas/ProductFilter"})
    assert check.is_valid({"name": "mug", "updatedAt": {"GT": "2024-01-01T00:00:00Z"}})
    assert check.is_valid({"id": "1,2", "products": {"status": "ENABLED"}})
    assert check.is_valid({"products": {"price": {"LT": "9.99"}}, "skuCode": {"LIKE": "mug"}})
    assert check.is_valid({"minimumStock": "null", "eanCode": {"NEQ": "NULL"}})
    assert not check.is_valid({"nope": "1"})
    assert check.is_valid({"remoteId": "1,2"})  # an extension: EQ only, never split
    assert check.is_valid({"products": {"remoteId": {"EQ": "A"}}, "remoteId": "B"})
    assert not check.is_valid({"remoteId": {"NEQ": "1"}})
    assert not check.is_valid({"remoteId": "NULL"})
    assert not check.is_valid({"remoteId": "x" * 256})
    assert not check.is_valid({"status": "sold"})  # enum values
    assert not check.is_valid({"price": {"LIKE": "null"}})  # null only with EQ and NEQ
    assert not check.is_valid({"unlimitedStock": {"GT": "true"}})  # no order on booleans
    assert not check.is_valid({"stockLevel": {"BETWEEN": "1"}})
    # A repeated key (IN) has no deepObject form: arrays would be sent as filter[a][0]=...
    assert not check.is_valid({"id": ["1", "2"]})
    assert "repeated key means IN" in " ".join(DOCUMENT["info"]["description"].split())


# --- token and health ----------------------------------------------------------------------------


def test_token_endpoint() -> None:
    operation = PATHS["/api/auth/oauth/token"]["post"]
    assert operation["security"] == [{"clientBasic": []}]
    assert DOCUMENT["components"]["securitySchemes"]["clientBasic"]["scheme"] == "basic"
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["grant_type"]["enum"] == ["password", "refresh_token"]
    assert {"username", "password", "refresh_token"} <= set(form["properties"])
    ok = resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    check = validator(ok)
    token = {
        "access_token": "a",
        "token_type": "bearer",
        "refresh_token": "r",
        "expires_in": 86400,
        "scope": "read write delete",
    }
    assert check.is_valid(token)
    assert not check.is_valid({**token, "token_type": "mac"})
    assert not check.is_valid({k: v for k, v in token.items() if k != "refresh_token"})
    for status in ("400", "401"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/OAuthError"}
    assert "invalid_grant" in operation["responses"]["400"]["description"]


def test_health_needs_no_auth() -> None:
    operation = PATHS["/health"]["get"]
    assert operation["security"] == []
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert validator(ok).is_valid({"status": "ok"})
    assert not validator(ok).is_valid({"status": "down"})
    assert "503" in operation["responses"]


# --- the document promises nothing the server refuses ----------------------------------------------
# A client (or a fuzzer) sending what a schema allows must get past the server's readers: every
# string a request pattern matches is read by types.coerce, every filter value by query.parse.

EXAMPLES = settings(max_examples=20, derandomize=True, database=None, deadline=None)
PATTERNED = (Kind.INTEGER, Kind.REFERENCE, Kind.DECIMAL, Kind.BOOLEAN, Kind.ENUM, Kind.STRING)


def distinct_request_schemas(kinds: tuple[Kind, ...]) -> list[Any]:
    """One (spec, attribute) per distinct request schema of an attribute of ``kinds``."""
    cases: dict[str, Any] = {}
    for case in attributes(
        lambda a: a.writable_on_create and a.kind in kinds, spec_filter=creatable
    ):
        spec, attribute = case.values
        schema = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"][attribute.name]
        rules = {k: v for k, v in schema.items() if k not in ("description", "default")}
        cases.setdefault(json.dumps(rules, sort_keys=True), case)
    return list(cases.values())


@pytest.mark.parametrize(("spec", "attribute"), distinct_request_schemas(PATTERNED))
def test_every_text_a_request_pattern_allows_is_read(spec: ResourceSpec, attribute: Attribute):
    schema = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"][attribute.name]
    check = validator(schema)

    texts = st.from_regex(schema["pattern"], fullmatch=True)
    if "minLength" in schema:  # exact lengths: sized text, kept when the pattern allows it
        size = st.text(min_size=schema["minLength"], max_size=schema["maxLength"])
        texts = size.filter(lambda text: re.search(schema["pattern"], text) is not None)

    @EXAMPLES
    @given(text=texts)
    def read(text: str) -> None:
        assume(check.is_valid(text))  # maxLength and friends
        coerce(attribute, text)  # raises InvalidValue when refused

    read()


@pytest.mark.parametrize(
    ("spec", "attribute"), distinct_request_schemas((Kind.INTEGER, Kind.DECIMAL))
)
def test_every_number_a_request_schema_allows_is_read(spec: ResourceSpec, attribute: Attribute):
    schema = SCHEMAS[f"{spec.label}CreateAttributes"]["properties"][attribute.name]
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    numbers = st.integers(low, high) if attribute.kind is Kind.INTEGER else st.floats(low, high)

    @EXAMPLES
    @given(number=numbers)
    def read(number: float) -> None:
        assume(validator(schema).is_valid(number))
        coerce(attribute, number)

    read()


def filterable() -> list[Any]:
    return attributes(lambda a: a.filterable)


@pytest.mark.parametrize(("spec", "attribute"), filterable())
def test_filter_schema_lists_exactly_the_operators_the_parser_takes(
    spec: ResourceSpec, attribute: Attribute
) -> None:
    forms = resolve(SCHEMAS[f"{spec.label}Filter"]["properties"][attribute.name])["anyOf"]
    documented = set(resolve(forms[-1])["properties"])
    for operator in Operator:
        try:
            parse([(f"filter[{attribute.name}][{operator.value.lower()}]", "x")], spec)
        except QueryError as error:
            refused = any("cannot be used" in p.detail for p in error.problems)
        else:
            refused = False
        assert (operator.value in documented) is not refused, operator
    prefixed = resolve(SCHEMAS[f"{spec.label}Filter"]["properties"][spec.type])["properties"]
    assert set(prefixed) == set(resolve(SCHEMAS[f"{spec.label}Filter"])["properties"]) - {spec.type}


def filter_values() -> list[Any]:
    """One case per shared filter schema and operator, with an attribute that uses it."""
    cases: dict[tuple[str, str], Any] = {}
    for spec in REGISTRY:
        for attribute in spec.attributes:
            if not attribute.filterable:
                continue
            ref = SCHEMAS[f"{spec.label}Filter"]["properties"][attribute.name]["$ref"]
            operators = resolve(resolve({"$ref": ref})["anyOf"][-1])["properties"]
            for operator in operators:
                key = (ref, operator)
                cases.setdefault(
                    key,
                    pytest.param(
                        spec, attribute, operator, id=f"{ref.rsplit('/', 1)[1]}.{operator}"
                    ),
                )
    return list(cases.values())


@pytest.mark.parametrize(("spec", "attribute", "operator"), filter_values())
def test_every_filter_value_the_schema_allows_is_read(
    spec: ResourceSpec, attribute: Attribute, operator: str
) -> None:
    ref = SCHEMAS[f"{spec.label}Filter"]["properties"][attribute.name]
    schema = resolve(resolve(ref)["anyOf"][-1])["properties"][operator]
    check = validator(schema)
    key = f"filter[{attribute.name}][{operator}]"

    @EXAMPLES
    @given(text=st.from_regex(schema["pattern"], fullmatch=True))
    def read(text: str) -> None:
        assume(check.is_valid(text))  # LIKE: not the word null
        parse([(key, text)], spec)
        if operator == "EQ":
            parse([(f"filter[{spec.type}][{attribute.name}]", text)], spec)

    read()


@pytest.mark.parametrize("spec", specs())
def test_sort_pattern_admits_the_sortable_keys(spec: ResourceSpec) -> None:
    operation = PATHS[f"/v1/{spec.type}"]["get"]
    sort = next(p for p in operation["parameters"] if p.get("name") == "sort")
    check = validator(sort["schema"])
    keys = [a.name for a in spec.attributes if a.sortable]
    for key in keys:
        assert check.is_valid(key) and check.is_valid(f"-{key}")
        parse([("sort", f"-{key}")], spec)
    assert check.is_valid(",".join(keys)) and check.is_valid("")
    assert not check.is_valid("nope") and not check.is_valid("id,")


def test_path_ids_are_positive_64_bit_integers() -> None:
    parameter = DOCUMENT["components"]["parameters"]["ResourceId"]
    check = validator(parameter["schema"])
    assert check.is_valid(1) and check.is_valid(INT64_MAX)
    assert not check.is_valid(0) and not check.is_valid(INT64_MAX + 1)
    assert "INVALID_ID" in parameter["description"]


def test_paging_parameters() -> None:
    parameters = DOCUMENT["components"]["parameters"]
    offset = parameters["PageOffset"]
    assert offset["schema"] == {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0}
    assert "multiple of page[limit]" in offset["description"]


LINK = "http://127.0.0.1:8000/v1/products?sort=id&page[limit]=10&page[offset]=20&page[after]=x"


@pytest.mark.parametrize("name", ["ResourceLinks", "PaginationLinks", "Relationship"])
def test_links_with_brackets_validate_even_under_strict_format_checks(name: str) -> None:
    # `[` and `]` make a link no RFC 3986 URI: a "uri" format would fail a strict checker.
    check = jsonschema_rs.validator_for(
        {**validator({"$ref": f"#/components/schemas/{name}"}).schema}, validate_formats=True
    )
    links = {"self": LINK, "related": LINK, "first": LINK, "last": LINK, "prev": None, "next": LINK}
    if name == "Relationship":
        assert check.is_valid({"links": {"self": LINK, "related": LINK}})
    elif name == "ResourceLinks":
        assert check.is_valid({"self": LINK})
    else:
        assert check.is_valid({k: links[k] for k in ("first", "last", "prev", "next")})
    assert not jsonschema_rs.validator_for(
        {"type": "string", "format": "uri"}, validate_formats=True
    ).is_valid(LINK)


def test_rules_a_schema_cannot_state_are_described() -> None:
    update = SCHEMAS["ProductUpdateRequest"]["properties"]["data"]["properties"]["id"]
    assert "must equal the id in the URL" in update["description"]
    for suffix in ("Attributes", "CreateAttributes", "UpdateAttributes"):
        end = SCHEMAS[f"Promotion{suffix}"]["properties"]["endDate"]
        assert "Not before startDate" in end["description"]
    description = " ".join(DOCUMENT["info"]["description"].split())
    for needle in (
        "INVALID_ID",
        "9223372036854775807",
        "application/json",
        "16 MiB",
        "503",
        "Retry-After",
        "blank",
        "`[` and `]` unescaped",
    ):
        assert needle in description


def test_token_endpoint_documents_its_throttle() -> None:
    responses = PATHS["/api/auth/oauth/token"]["post"]["responses"]
    assert responses["429"]["content"]["application/json"]["schema"]["$ref"].endswith("OAuthError")
    assert "Retry-After" in responses["429"]["headers"]


def test_a_bounded_integer_pattern_is_exactly_its_range() -> None:
    schema = SCHEMAS["SupplierCreateAttributes"]["properties"]["deliveryTime"]
    pattern = re.compile(schema["pattern"])
    for number in range(-400, 400):
        assert bool(pattern.match(str(number))) is (1 <= number <= 365), number
        assert bool(pattern.match(f"+00{number}.0")) is (1 <= number <= 365), number


# --- the sandbox ----------------------------------------------------------------------------------
# Its controls' input schemas say exactly what sandbox.rules.checked_rule and
# sandbox.limits.checked_settings accept (tests/server/sandbox/test_faults_fuzz.py checks the same
# with Hypothesis, and against the live server), its answers are what the server renders.


def strict_validator(schema: dict[str, Any]) -> Any:
    """As ``validator``, but ``$`` ends the text (as in ECMA-262), never before a newline."""
    return jsonschema_rs.validator_for({**schema, "components": DOCUMENT["components"]})


RULE_REQUEST = strict_validator({"$ref": "#/components/schemas/FaultRuleRequest"})
SETTINGS_REQUEST = strict_validator({"$ref": "#/components/schemas/SandboxSettingsRequest"})
MINIMAL_RULES = {  # the least each action needs
    action: {"action": action.value, **extra}
    for action, extra in [
        (Action.STATUS, {"status": 503}),
        (Action.LATENCY, {"latencyMs": 1}),
        (Action.HANG, {}),
        (Action.DROP, {}),
        (Action.BROKEN, {}),
        (Action.COMMIT_THEN_FAIL, {}),
        (Action.EXPIRED_TOKEN, {}),
    ]
}
EDGES: dict[str, list[Any]] = {  # per member: values at, past and beside its bounds
    "action": [*(a.value.upper() for a in Action), "Status", "nope", "", 5, None, "drop\n"],
    "method": [*METHODS, "get", "Patch", "BREW", "", "GET\n", 5, None],
    "path": ["*", "/", "/v1/products*", "/" * 2000, "/" * 2001, "", "v1", "/\x00", "*\n", 5, None],
    "status": [399, 400, 429, 599, 600, "503", True, 503.5, None],
    "retryAfter": [-1, 0, 86_400, 86_401, "1", 1.5, None],
    "latencyMs": [0, 1, MAX_MS, MAX_MS + 1, "1", None],
    "jitterMs": [-1, 0, MAX_MS, MAX_MS + 1, None],
    "hangS": [0, -0.0, 1e-300, 0.5, 3600, 3600.0, 3600.000001, 3601, True, "30", None],
    "dropAfterCommit": [True, False, 0, "true", None],
    "times": [0, 1, 10**9, 10**9 + 1, True, None],
    "every": [0, 1, 10**9, 10**9 + 1, None],
    "probability": [0, 0.0, 1e-300, 0.5, 1, 1.0, 1.0000001, True, "0.5", None],
    "seed": [-(2**63) - 1, -(2**63), 0, 2**63 - 1, 2**63, "0", 1.5, None],
    "colour": ["red", None],
}


def rule_cases() -> list[Any]:
    cases = []
    for action, base in MINIMAL_RULES.items():
        for member, values in EDGES.items():
            for value in values:
                body = {**base, member: value}
                cases.append(pytest.param(body, id=f"{action.value}-{member}={value!r:.20}"))
    counters = [{"times": 2}, {"every": 3}, {"probability": 0.5}, {"times": None}]
    for first in counters:
        for second in counters:
            cases.append(pytest.param({"action": "drop", **first, **second}, id=f"{first}{second}"))
    cases += [pytest.param({}, id="empty"), pytest.param({"status": 503}, id="no-action")]
    return cases


def accepted(check: Any, body: dict[str, Any]) -> bool:
    try:
        check(body)
    except InputError:
        return False
    return True


@pytest.mark.parametrize("body", rule_cases())
def test_the_rule_request_schema_allows_exactly_what_the_server_accepts(
    body: dict[str, Any],
) -> None:
    assert RULE_REQUEST.is_valid(body) is accepted(checked_rule, body)


SETTINGS_EDGES: dict[str, list[Any]] = {
    "rateLimit": [-1, -0.0, 0, 0.0, 1e-300, 0.5, 100_000, 100_000.0, 100_000.5, 100_001, True],
    "burst": [0, 1, 100_000, 100_001, True, "5", None],
    "compat": ["strict", "production", "STRICT", "", None, 5],
}


def settings_cases() -> list[Any]:
    cases = [pytest.param({}, id="empty"), pytest.param({"colour": "red"}, id="unknown")]
    rates = [*SETTINGS_EDGES["rateLimit"], None, "absent"]
    for rate in rates:
        for burst in [*SETTINGS_EDGES["burst"], "absent"]:
            body = {k: v for k, v in (("rateLimit", rate), ("burst", burst)) if v != "absent"}
            cases.append(pytest.param(body, id=f"rateLimit={rate!r}-burst={burst!r}"))
    cases += [
        pytest.param({"compat": value}, id=f"compat={value!r}")
        for value in SETTINGS_EDGES["compat"]
    ]
    return cases


@pytest.mark.parametrize("body", settings_cases())
def test_the_settings_request_schema_allows_exactly_what_the_server_accepts(
    body: dict[str, Any],
) -> None:
    assert SETTINGS_REQUEST.is_valid(body) is accepted(checked_settings, body)


@pytest.mark.parametrize(
    "body",
    [
        {"action": "status", "status": 503.0},
        {"action": "latency", "latencyMs": 5.0},
        {"action": "drop", "times": 1.0},
        {"action": "drop", "seed": -0.0},
    ],
)
def test_integral_floats_are_what_a_schema_cannot_refuse(body: dict[str, Any]) -> None:
    # 5.0 is an integer to JSON Schema; the server wants a JSON integer, and says so.
    assert RULE_REQUEST.is_valid(body) and not accepted(checked_rule, body)
    assert "5.0 is refused" in SCHEMAS["FaultRuleRequest"]["description"]


def test_the_rule_request_has_one_branch_per_action_with_its_members() -> None:
    schema = SCHEMAS["FaultRuleRequest"]
    branches = {branch["title"]: branch for branch in schema["oneOf"]}
    assert list(branches) == [action.value for action in Action]
    for branch in branches.values():
        assert set(branch["properties"]) == set(MEMBERS)
        assert branch["additionalProperties"] is False
    assert branches["status"]["required"] == ["action", "status"]
    assert branches["latency"]["required"] == ["action", "latencyMs"]
    described = " ".join(schema["description"].split())
    for needle in ("/v1", "every", "times", "probability", "seed", "oldest"):
        assert needle in described


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_says_what_it_does_to_the_connection(action: Action) -> None:
    branch = next(b for b in SCHEMAS["FaultRuleRequest"]["oneOf"] if b["title"] == action.value)
    description = branch["properties"]["action"]["description"]
    words = {
        Action.STATUS: "Retry-After",
        Action.LATENCY: "unchanged",
        Action.HANG: "closes the connection",
        Action.DROP: "without an answer",
        Action.BROKEN: "closes the connection",
        Action.COMMIT_THEN_FAIL: "500",
        Action.EXPIRED_TOKEN: "401",
    }
    assert words[action] in description
    assert (
        "429 and 503"
        in SCHEMAS["FaultRuleRequest"]["oneOf"][0]["properties"]["action"]["description"]
    )


@pytest.mark.parametrize(
    "body",
    [
        *MINIMAL_RULES.values(),
        {"action": "STATUS", "status": 429, "method": "post", "path": "/v1/x*", "times": 2},
        {"action": "status", "status": 418, "retryAfter": 0, "every": 3, "times": 1},
        {"action": "latency", "latencyMs": MAX_MS, "jitterMs": MAX_MS, "probability": 1},
        {"action": "hang", "hangS": MAX_HANG_S, "seed": -(2**63)},
        {"action": "commit-then-fail", "dropAfterCommit": True, "probability": 1e-300},
    ],
    ids=repr,
)
def test_a_stored_rule_is_rendered_as_documented(body: dict[str, Any]) -> None:
    row = {**checked_rule(body), "id": 7, "account_id": 3, "matched": 12}
    rendered = fault_json({**row, "created_at": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)})
    check = strict_validator({"$ref": "#/components/schemas/FaultRule"})
    assert check.is_valid(rendered), rendered
    assert not check.is_valid({**rendered, "action": "explode"})
    assert not check.is_valid({k: v for k, v in rendered.items() if k != "fired"})


@pytest.mark.parametrize(
    ("rate", "burst", "compat"),
    [(None, None, "strict"), (0.5, None, "production"), (100_000.0, 100_000, "strict")],
)
def test_settings_are_rendered_as_documented(
    rate: float | None, burst: int | None, compat: str
) -> None:
    rendered = AccountSettings(5, rate, burst, compat).to_json()
    assert strict_validator({"$ref": "#/components/schemas/SandboxSettings"}).is_valid(rendered)


def test_the_sandbox_bounds_are_the_servers() -> None:
    settings_request = SCHEMAS["SandboxSettingsRequest"]["properties"]
    (_, _, bounded) = settings_request["rateLimit"]["anyOf"]
    assert (bounded["minimum"], bounded["maximum"]) == (MIN_RATE, MAX_RATE)
    assert settings_request["burst"]["maximum"] == MAX_BURST
    assert settings_request["compat"]["enum"] == list(COMPAT_MODES)
    timeline = {p["name"]: p for p in PATHS["/sandbox/timeline"]["get"]["parameters"]}
    assert timeline["minutes"]["schema"]["maximum"] == MAX_MINUTES
    rows = PATHS["/sandbox/rows"]["get"]["responses"]["200"]["content"]["application/json"]
    assert rows["schema"]["properties"]["rows"]["required"] == list(RESOURCE_TABLES)


@pytest.mark.parametrize(("path", "method"), CONTROL_OPERATIONS, ids=lambda op: str(op))
def test_sandbox_controls_take_an_account_and_answer_their_errors(path: str, method: str) -> None:
    operation = PATHS[path][method]
    assert operation["tags"] == ["sandbox"]
    assert operation["security"] == [{"oauth2": ["read" if method == "get" else "write"]}]
    assert "accountId" in parameter_names(path, operation)
    responses = operation["responses"]
    assert {"400", "401", "403"} <= set(responses)
    assert "ACCOUNT_REQUIRED" in responses["400"]["description"]
    assert ("503" in responses) is (method != "get")  # a busy database, on writes
    body = "requestBody" in operation
    assert ("413" in responses) is body and ("415" in responses) is body
    if body:
        assert "source.pointer" in responses["400"]["description"]
        assert set(operation["requestBody"]["content"]) == {"application/json"}
    (ok,) = (code for code in responses if code.startswith("2"))
    assert set(responses[ok].get("content", {})) <= {"application/json"}
