"""Property: whatever JSON document or query string arrives, the server never answers 5xx and
never writes part of a request.

Hypothesis builds documents shaped like JSON:API (right and wrong types, every attribute of the
resource and stray ones, values of every JSON kind including huge numbers, NUL, lone
surrogates and deep nesting) and query strings of filters, sorts and pages, for every resource.
A write either succeeds whole or leaves the account exactly as it was: the account's data
version (which every write raises once, inside its transaction) says which.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from live import LiveServer, Login
from optiply.query.operators import Operator
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.storage.tables import RESOURCE_TABLES
from support import create

EXAMPLES = int(os.environ.get("OPTIPLY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a CI failure reproduces locally
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WRITABLE = [spec for spec in REGISTRY if "POST" in spec.methods]
TYPES = [spec.type for spec in REGISTRY]

edgy_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\ud800",
            "nan",
            "NaN",
            "1e1000000",
            "-0",
            "2024-02-30",
            "null",
            "9" * 30,
            "ENABLED",
            "a@b",
            "[]",
            "{}",
            "true",
        ]
    ),
)
edgy_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0.5, 1e308, 1e-308]),
)
scalars = st.one_of(st.none(), st.booleans(), edgy_numbers, edgy_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def documents(spec: ResourceSpec) -> st.SearchStrategy[Any]:
    """JSON:API-ish documents for ``spec``: mostly well-formed around wild attribute values."""
    names = [attribute.name for attribute in spec.attributes]
    attributes = st.dictionaries(
        st.one_of(st.sampled_from(names), st.text(max_size=12)), json_values, max_size=8
    )
    resource = st.fixed_dictionaries(
        {"type": st.one_of(st.just(spec.type), st.sampled_from(TYPES), json_values)},
        optional={"attributes": st.one_of(attributes, json_values), "id": json_values},
    )
    return st.one_of(
        st.fixed_dictionaries({"data": resource}),
        st.fixed_dictionaries({"data": json_values}),
        json_values,
    )


def queries(spec: ResourceSpec) -> st.SearchStrategy[list[tuple[str, str]]]:
    names = [attribute.name for attribute in spec.attributes] + ["nope", ""]
    operators = [operator.value for operator in Operator] + ["eq", "BETWEEN", ""]
    value = st.one_of(edgy_text, edgy_numbers.map(str))
    key = st.one_of(
        st.builds(
            lambda a, o: f"filter[{a}][{o}]", st.sampled_from(names), st.sampled_from(operators)
        ),
        st.builds(lambda a: f"filter[{a}]", st.sampled_from(names)),
        st.sampled_from(
            [
                "sort",
                "page[limit]",
                "page[offset]",
                "page[after]",
                "accountId",
                "couplingId",
                "filter",
                "page",
                "include",
                "fields[products]",
            ]
        ),
        st.text(max_size=12),
    )
    return st.lists(st.tuples(key, value), max_size=5)


def data_version(server: LiveServer, account_id: int) -> int:
    accounts = RESOURCE_TABLES["accounts"]
    with server.engine.connect() as connection:
        statement = select(accounts.c.data_version).where(accounts.c.id == account_id)
        return int(connection.execute(statement).scalar_one())


def send(api: httpx.Client, method: str, url: str, document: Any) -> httpx.Response:
    try:
        body = json.dumps(document, allow_nan=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        body = b'{"data": '
    return api.request(method, url, content=body)


@pytest.mark.parametrize("spec", WRITABLE, ids=lambda spec: spec.type)
def test_any_post_or_patch_document_is_whole_or_nothing_and_never_5xx(
    api: httpx.Client, server: LiveServer, login: Login, spec: ResourceSpec
):
    existing = create(api, spec.type)["id"]

    @FUZZ
    @given(document=documents(spec), patch=st.booleans())
    def write(document: Any, patch: bool) -> None:
        before = data_version(server, login.account_id)
        method, url = ("PATCH", f"/{spec.type}/{existing}") if patch else ("POST", f"/{spec.type}")

        response = send(api, method, url, document)

        assert response.status_code < 500, (method, document, response.text)
        changed = data_version(server, login.account_id) - before
        assert changed == (1 if response.status_code < 300 else 0), (document, response.text)
        if response.status_code >= 400:
            assert response.json()["errors"], response.text

    write()


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.type)
def test_any_list_query_is_answered_without_5xx(api: httpx.Client, spec: ResourceSpec):
    create(api, "products")

    @FUZZ
    @given(params=queries(spec))
    def list_(params: list[tuple[str, str]]) -> None:
        query = urlencode(params, encoding="utf-8", errors="surrogatepass")  # raw bytes too
        response = api.get(f"/{spec.type}?{query}")

        assert response.status_code in (200, 400, 403), (params, response.text)
        document = response.json()
        assert ("data" in document) == (response.status_code == 200), document

    list_()
