"""The client's error family: real error documents from the live server, and the parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from live import LiveServer, Login, make_login
from optiply.client import (
    AmbiguousWriteError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    FatalError,
    NotFoundError,
    OptiplyClient,
    OptiplyError,
    RecordError,
    RetriableError,
    ValidationError,
    from_response,
)
from optiply.client.errors import error_class, parse_problems, retry_after, safe_url
from optiply.query import ListQuery, Page


def client_for(login: Login) -> OptiplyClient:
    return login.optiply_client()


def test_a_bad_value_is_a_validation_error_pointing_at_the_attribute(login: Login) -> None:
    with client_for(login) as client, pytest.raises(ValidationError) as raised:
        client.create("products", {"name": "Mug", "stockLevel": "many"})
    error = raised.value
    assert isinstance(error, RecordError)
    assert (error.status, error.code) == (400, "INVALID_VALUE")
    assert error.pointer == "/data/attributes/stockLevel"
    assert "stockLevel" in error.detail
    assert error.method == "POST"
    assert error.url == f"{login.url}/v1/products?accountId={login.account_id}"
    assert str(error).startswith("400 INVALID_VALUE: ")
    assert "(at /data/attributes/stockLevel)" in str(error)


def test_every_problem_of_a_document_is_kept(login: Login) -> None:
    with client_for(login) as client, pytest.raises(ValidationError) as raised:
        client.create("products", {"stockLevel": "many"})
    pointers = {problem.pointer for problem in raised.value.problems}
    assert {"/data/attributes/name", "/data/attributes/stockLevel"} <= pointers
    assert f"(+{len(raised.value.problems) - 1} more)" in str(raised.value)


def test_a_bad_query_parameter_is_named(login: Login) -> None:
    with client_for(login) as client, pytest.raises(ValidationError) as raised:
        client.list("products", ListQuery(page=Page(limit=500)))
    assert raised.value.parameter == "page[limit]"
    assert raised.value.code == "INVALID_QUERY"


def test_an_unknown_id_is_not_found(login: Login) -> None:
    with client_for(login) as client:
        with pytest.raises(NotFoundError) as raised:
            client.get("products", 10**12)
        assert (raised.value.status, raised.value.code) == (404, "NOT_FOUND")
        with pytest.raises(NotFoundError):
            client.update("products", 10**12, {"stockLevel": 1})


def test_a_duplicate_supplier_product_is_a_conflict_that_can_be_adopted(login: Login) -> None:
    with client_for(login) as client:
        product = client.create("products", {"name": "Mug", "stockLevel": 1})
        supplier = client.create("suppliers", {"name": "Acme"})
        pair: dict[str, Any] = {"supplierId": supplier.id, "productId": product.id}
        first = client.create("supplierProducts", {"name": "Mug at Acme", **pair})
        with pytest.raises(ConflictError) as raised:
            client.create("supplierProducts", {"name": "Again", **pair})
        assert (raised.value.status, raised.value.code) == (409, "CONFLICT")
        assert "already exists" in raised.value.detail
        assert [r.id for r in client.list("supplierProducts", **pair)] == [first.id]


def test_a_missing_scope_is_fatal(server: LiveServer) -> None:
    login = make_login(server, scopes=("read",))
    with client_for(login) as client:
        assert client.list("products").total == 0
        with pytest.raises(FatalError) as raised:
            client.create("products", {"name": "Mug", "stockLevel": 1})
    assert not isinstance(raised.value, AuthenticationError)
    assert (raised.value.status, raised.value.code) == (403, "insufficient_scope")


def response(status: int, body: Any = None, method: str = "GET", **headers: str) -> httpx.Response:
    request = httpx.Request(method, "https://api.example.com/v1/products?accountId=1")
    if isinstance(body, (dict, list)):
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, content=body or b"", headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (400, "POST", ValidationError),
        (422, "PATCH", ValidationError),
        (401, "GET", AuthenticationError),
        (403, "GET", FatalError),
        (404, "DELETE", NotFoundError),
        (409, "POST", ConflictError),
        (415, "POST", RecordError),
        (405, "GET", FatalError),
        (429, "GET", RetriableError),
        (429, "POST", RetriableError),
        (408, "GET", RetriableError),
        (502, "GET", RetriableError),
        (503, "PATCH", RetriableError),
        (504, "DELETE", RetriableError),
        (500, "GET", FatalError),
        (500, "POST", AmbiguousWriteError),
        (503, "POST", AmbiguousWriteError),
    ],
)
def test_status_and_method_pick_the_class(
    status: int, method: str, expected: type[OptiplyError]
) -> None:
    assert type(from_response(response(status, method=method))) is expected
    assert error_class(status, idempotent=method != "POST") is expected


def test_the_hierarchy_tells_the_caller_what_to_do() -> None:
    assert issubclass(AmbiguousWriteError, RetriableError)
    assert issubclass(AuthenticationError, FatalError)
    assert issubclass(ConfigurationError, FatalError)
    assert issubclass(ConfigurationError, ValueError)
    for cls in (NotFoundError, ConflictError, ValidationError):
        assert issubclass(cls, RecordError)


def test_jsonapi_detail_falls_back_to_meta_message_then_title() -> None:
    body = {
        "errors": [
            {"status": "400", "code": "A", "meta": {"message": "from meta"}},
            {"status": "400", "title": "from title", "source": {"parameter": "sort"}},
        ]
    }
    first, second = parse_problems(response(400, body))
    assert (first.code, first.detail) == ("A", "from meta")
    assert (second.detail, second.parameter) == ("from title", "sort")


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({"error": "invalid_token", "error_description": "Expired"}, "invalid_token", "Expired"),
        ({"message": "Something broke"}, None, "Something broke"),
        (b"<html>Bad gateway</html>", None, "<html>Bad gateway</html>"),
        (b"", None, "Bad Gateway"),
        (b"x" * 2000, None, "x" * 497 + "..."),
    ],
    ids=["oauth", "message", "text", "empty", "long-text"],
)
def test_other_bodies(body: Any, code: str | None, detail: str) -> None:
    error = from_response(response(502, body))
    assert (error.status, error.code, error.detail) == (502, code, detail)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert from_response(response(429, **{"Retry-After": "7"})).retry_after == 7.0  # type: ignore[attr-defined]
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after(response(503, **{"Retry-After": later})) == pytest.approx(30, abs=2)
    assert retry_after(response(503, **{"Retry-After": "soon"})) is None


def test_secret_query_values_never_reach_a_message() -> None:
    url = "https://h/api/auth/oauth/token?grant_type=refresh_token&refresh_token=abc123"
    assert "abc123" not in safe_url(url)
    request = httpx.Request("POST", url)
    error = from_response(httpx.Response(400, json={"error": "invalid_grant"}, request=request))
    assert "abc123" not in str(error)
    assert error.url == safe_url(url)
