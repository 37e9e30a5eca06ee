"""Schemathesis against the server's own OpenAPI document: every documented operation, driven
by nothing but /openapi.json, answers without 5xx and as the document says (a documented
status, its media type, a body matching its schema, its required headers).

One test per operation and backend, through Schemathesis' Python API (its pytest plugin stays
off, ``-p no:schemathesis``, so the rest of the suite never loads it). Hypothesis draws
schema-valid requests (positive) and invalid ones (negative; fewer on list operations, whose
filter schemas make invalid requests slow to build, ~0.1 s each), derandomized and without
shrinking: a run is bounded, the same requests every time, and a CI failure reproduces locally.
Generated ids, bodies and accounts alone would mostly meet 404, 403 and 400, so each case is
partly "landed" by further Hypothesis draws: path ids, references in bodies, ``data.id`` on
PATCH and ``accountId`` swapped for those of a graph of one row of every type (seeded per
module, and afresh for each DELETE operation, whose generated ids never name the module's
rows); now and then the bearer token is invalid (401) or read-only (403 on writes).

The token endpoint is left out (Argon2 per request and a throttle; tests/server/auth covers it),
and so are the sandbox's changes (``SANDBOX_CHANGES``).
``OPTIPLY_SCHEMATHESIS_EXAMPLES`` scales the examples (default 1); ``OPTIPLY_SCHEMATHESIS_STATS``
names a file that receives, per module run, one JSON line of request counts by operation,
status and error code (docs/behaviour.md, "Reliability suite", has the figures).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import web
from live import LiveServer, Login, make_login
from optiply import __version__
from optiply.resources import get as get_spec
from optiply.server.http.openapi import openapi_document
from support import create

SCALE = float(os.environ.get("OPTIPLY_SCHEMATHESIS_EXAMPLES", "1"))
# Examples per operation (positive, negative): collections; related and relationship lists
# (the same query machinery, once per relationship); every other operation. Invalid list
# queries are the slowest to build (about 0.1 s each, against 15 ms for a valid one).
EXAMPLES = {"collection": (12, 2), "related list": (6, 1), "other": (12, 4)}
STATS = os.environ.get("OPTIPLY_SCHEMATHESIS_STATS")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
TOKEN_PATH = "/api/auth/oauth/token"

schema = schemathesis.openapi.from_dict(
    openapi_document(version=__version__),
    config=schemathesis.Config.from_dict(
        {"generation": {"with-security-parameters": False}}  # the bearer token is the test's
    ),
)
# A fault rule or a setting changes how the server answers every later request of the account (a
# rule "503 on *" would fail every operation fuzzed after it): these are fuzzed one example at a
# time, each undone at once, in tests/server/sandbox/test_faults_fuzz.py (which also holds their
# bodies and answers to this document), and tested in test_faults.py and test_limits.py there.
SANDBOX_CHANGES = {
    "POST /sandbox/faults",
    "DELETE /sandbox/faults",
    "DELETE /sandbox/faults/{id}",
    "PATCH /sandbox/settings",
    # these empty or replace the account's data, the graph every case lands on
    # (tests/server/sandbox/test_data_http.py holds their answers to this document)
    "POST /sandbox/reset",
    "PUT /sandbox/snapshot",
    "POST /sandbox/shift-dates",
}
# A batch of random operations is refused as a whole at its first random reference or lid
# (nothing would land): atomic operations are fuzzed with batches that mostly run, and held to
# this document, in test_operations_fuzz.py.
ATOMIC_OPERATIONS = {"POST /v1/operations"}
OPERATIONS = [
    result.ok()
    for result in schema.get_all_operations()
    if result.ok().path != TOKEN_PATH
    and result.ok().label not in SANDBOX_CHANGES | ATOMIC_OPERATIONS
]

# The graph the running test lands ids on (type -> ids), and the module's graph, which DELETE
# operations spare. Read while Hypothesis draws, inside the test, after the fixtures filled them.
LIVE: dict[str, list[int]] = {}
KEEP: dict[str, list[int]] = {}
TOKENS: dict[bool, str] = {}  # read-only? -> access token
_PATH_TYPE = re.compile(r"^/v1/([^/]+)")


@st.composite
def landed(draw: st.DrawFn, case: schemathesis.Case) -> schemathesis.Case:
    """``case`` with some of its ids swapped for live ones (each swap a Hypothesis draw)."""
    # Draws put the usual outcome first: Hypothesis leans towards the first choice.
    token = draw(st.sampled_from(["full"] * 30 + ["read-only", "invalid"]))
    bearer = "Bearer " + ("not-a-token" if token == "invalid" else TOKENS[token == "read-only"])
    case.headers = {**(case.headers or {}), "Authorization": bearer}
    matched = _PATH_TYPE.match(case.operation.path)
    if not matched:
        return case
    spec = get_spec(matched.group(1))
    path = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    if "id" in path and draw(st.sampled_from([True, True, True, False])):
        path["id"] = draw(st.sampled_from(LIVE[spec.type]))
    elif case.method.upper() == "DELETE" and path.get("id") in KEEP.get(spec.type, ()):
        path["id"] += 10**12  # a generated id naming a row of the module's graph: spare it
    query = case.query if isinstance(case.query, dict) else {}
    if "page[after]" in query and draw(st.sampled_from([True, True, True, False])):
        del query["page[after]"]  # a generated cursor is garbage: 400
    limit = query.get("page[limit]", 50)
    if "page[offset]" in query and isinstance(limit, int) and limit > 0:
        if draw(st.sampled_from([True, True, True, False])):  # False: likely no multiple, 400
            query["page[offset]"] = limit * draw(st.integers(0, 3))
    if isinstance(case.query, dict) and "accountId" in case.query:
        choice = draw(st.sampled_from(["own", "none", "own", "generated"]))  # generated: 403
        if choice == "own":
            case.query["accountId"] = LIVE["accounts"][0]
        elif choice == "none":
            del case.query["accountId"]
    data = case.body.get("data") if isinstance(case.body, dict) else None
    if isinstance(data, dict):
        if "id" in data and draw(st.sampled_from([True, True, False])):  # False: 400
            data.pop("id")
            if draw(st.booleans()) and "id" in path:
                data["id"] = str(path["id"])
        attributes = data.get("attributes")
        if isinstance(attributes, dict):
            _land_references(draw, spec.type, attributes)
            lines = attributes.get("orderLines")
            if spec.embedded is not None and isinstance(lines, list):
                for line in lines:
                    if isinstance(line, dict):
                        _land_references(draw, spec.embedded.target, line)
    return case


def _land_references(draw: st.DrawFn, resource_type: str, attributes: dict[str, Any]) -> None:
    for attribute in get_spec(resource_type).references:
        assert attribute.references is not None
        if attribute.name in attributes and draw(st.sampled_from([True, True, True, False])):
            attributes[attribute.name] = draw(st.sampled_from(LIVE[attribute.references]))


def seed(login: Login) -> dict[str, list[int]]:
    """One row of every type (two products, for a composition) in the login's account, and a
    sell order line, a buy order and its line whose product and supplier are deleted."""
    with login.client() as api:
        ids: dict[str, list[int]] = {"accounts": [login.account_id]}

        def add(resource_type: str, **attributes: Any) -> int:
            row_id = int(create(api, resource_type, **attributes)["id"])
            ids.setdefault(resource_type, []).append(row_id)
            return row_id

        products = [add("products"), add("products")]
        supplier = add("suppliers")
        add("supplierProducts", productId=products[0], supplierId=supplier)
        add("productCompositions", composedProductId=products[0], partProductId=products[1])
        order = add("sellOrders")
        add("sellOrderLines", sellOrderId=order, productId=products[0])
        buy_order = add("buyOrders", supplierId=supplier)
        line = add("buyOrderLines", buyOrderId=buy_order, productId=products[0])
        add("receiptLines", buyOrderLineId=line)
        promotion = add("promotions")
        add("promotionProducts", promotionId=promotion, productId=products[1])
        # Rows whose to-one targets are deleted (history is kept): related answers data: null.
        gone_product, gone_supplier = add("products"), add("suppliers")
        add("sellOrderLines", sellOrderId=order, productId=gone_product)
        orphan = add("buyOrders", supplierId=gone_supplier)
        add("buyOrderLines", buyOrderId=orphan, productId=gone_product)
        for resource_type, row_id in (("products", gone_product), ("suppliers", gone_supplier)):
            assert api.delete(f"/{resource_type}/{row_id}").status_code == 204
            ids[resource_type].remove(row_id)
    return ids


@dataclass
class Fuzzer:
    login: Login
    read_only_token: str
    graph: dict[str, list[int]]
    session: requests.Session


@pytest.fixture(scope="module")
def fuzzer(server: LiveServer) -> Iterator[Fuzzer]:
    """The module's login, a read-only token, the login's graph and one keep-alive session."""
    login = make_login(server)
    read_only = make_login(server, scopes=("read",)).access_token
    with requests.Session() as session:
        yield Fuzzer(login, read_only, seed(login), session)


@pytest.fixture(scope="module")
def tally(server: LiveServer) -> Iterator[Counter[tuple[str, int, str]]]:
    """Requests per (operation, status, error code), written to ``OPTIPLY_SCHEMATHESIS_STATS``."""
    counts: Counter[tuple[str, int, str]] = Counter()
    started = time.monotonic()
    yield counts
    if STATS:
        record = {
            "backend": server.settings.database_url.split(":", 1)[0],
            "seconds": round(time.monotonic() - started, 1),
            "requests": [[*key, n] for key, n in sorted(counts.items())],
        }
        with open(STATS, "a") as stats:
            stats.write(json.dumps(record) + "\n")


def error_code(response: requests.Response) -> str:
    """The error's code (JSON:API) or error (OAuth2); empty for a success."""
    if response.status_code < 400:
        return ""
    try:
        body = response.json()
    except ValueError:
        return "?"
    if "errors" in body:
        return str(body["errors"][0].get("code"))
    return str(body.get("error"))


def examples(operation: schemathesis.APIOperation) -> list[tuple[GenerationMode, int]]:
    if any(p.name == "filter" for p in operation.query):
        kind = "related list" if "{id}" in operation.path else "collection"
    else:
        kind = "other"
    positive, negative = (max(1, round(n * SCALE)) for n in EXAMPLES[kind])
    modes = [(GenerationMode.POSITIVE, positive)]
    if len(operation.path_parameters) or len(operation.query) or operation.body:
        modes.append((GenerationMode.NEGATIVE, negative))  # else nothing to get wrong
    return modes


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_every_operation_answers_as_documented(
    operation: schemathesis.APIOperation,
    fuzzer: Fuzzer,
    server: LiveServer,
    tally: Counter[tuple[str, int, str]],
) -> None:
    deleting = operation.method.upper() == "DELETE"
    LIVE.clear()
    LIVE.update(seed(fuzzer.login) if deleting else fuzzer.graph)
    KEEP.clear()
    KEEP.update(fuzzer.graph)
    TOKENS.update({False: fuzzer.login.access_token, True: fuzzer.read_only_token})

    for mode, count in examples(operation):

        @settings(
            max_examples=count,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],  # no shrinking: a failure shows the example that failed
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode).flatmap(landed))
        def answers_as_documented(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.url, session=fuzzer.session, timeout=30)
            tally[(operation.label, response.status_code, error_code(response))] += 1
            case.validate_response(response, checks=CHECKS)

        answers_as_documented()


def test_the_fuzzed_document_is_the_served_one(server: LiveServer) -> None:
    served = web.get(f"{server.url}/openapi.json").json()
    assert served == json.loads(json.dumps(openapi_document(version=__version__)))


def test_every_operation_but_the_token_endpoint_and_the_sandbox_changes_is_fuzzed() -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in openapi_document(version=__version__)["paths"].items()
        for method in item
        if method != "parameters"
    }
    left_out = {f"POST {TOKEN_PATH}", *SANDBOX_CHANGES, *ATOMIC_OPERATIONS}
    assert left_out <= documented
    assert {operation.label for operation in OPERATIONS} == documented - left_out
