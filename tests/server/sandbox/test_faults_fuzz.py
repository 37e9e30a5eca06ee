"""Property: whatever JSON body arrives at ``POST /sandbox/faults`` or ``PATCH /sandbox/settings``,
the server answers 201 (200) or a 400 JSON:API error whose ``source.pointer`` names the member at
fault, never 5xx; it accepts exactly what ``checked_rule`` (``checked_settings``) accepts, which
is exactly what the OpenAPI document's request schema allows, and answers as its response schema
says. A refused rule stores nothing.

Schemathesis leaves these operations out (tests/server/http/test_schemathesis.py): a rule or a
setting changes how the server answers every later request of the account. Here each example
is undone at once (the account's rules cleared, its settings reset).

Bodies are objects of the known members, each a value that fits it or one of any JSON type, plus
now and then a stray key, or no object at all. Their numbers stay within what a double holds (a
larger one is no JSON the server reads: 400 with no pointer) and their text has no lone
surrogates (likewise). One thing a JSON schema cannot say: ``5.0`` is an integer to it, while the
server wants a JSON integer; an example that differs from the schema only so is told apart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import web
from live import JSONAPI, Login
from optiply import __version__
from optiply.server.http.openapi import openapi_document
from optiply.server.sandbox.limits import checked_settings
from optiply.server.sandbox.rules import (
    MAX_HANG_S,
    MAX_MS,
    MEMBERS,
    METHODS,
    NEEDED,
    OWN_MEMBERS,
    Action,
    InputError,
    checked_rule,
)
from optiply.server.storage.sandbox import AccountSettings

EXAMPLES = int(os.environ.get("OPTIPLY_SANDBOX_FUZZ_EXAMPLES", "150"))
LIVE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a CI failure reproduces locally
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = settings(max_examples=500, deadline=None, derandomize=True, database=None)

DOCUMENT = openapi_document(version=__version__)
PATHS = DOCUMENT["paths"]


def schema_of(schema: dict[str, Any]) -> Any:
    """A validator for ``schema``, its refs resolved in the document (ECMA-like ``$``)."""
    return jsonschema_rs.validator_for({**schema, "components": DOCUMENT["components"]})


def body_schema(path: str, method: str) -> Any:
    return schema_of(PATHS[path][method]["requestBody"]["content"]["application/json"]["schema"])


def answer_schema(path: str, method: str, status: str) -> Any:
    return schema_of(
        PATHS[path][method]["responses"][status]["content"]["application/json"]["schema"]
    )


RULE_BODY = body_schema("/sandbox/faults", "post")
RULE_ANSWER = answer_schema("/sandbox/faults", "post", "201")
SETTINGS_BODY = body_schema("/sandbox/settings", "patch")
SETTINGS_ANSWER = answer_schema("/sandbox/settings", "patch", "200")
ERRORS = schema_of({"$ref": "#/components/schemas/ErrorDocument"})
INTEGER_MEMBERS = {
    "status",
    "retryAfter",
    "latencyMs",
    "jitterMs",
    "times",
    "every",
    "seed",
    "burst",
}

# --- bodies ---------------------------------------------------------------------------------------

edges = st.sampled_from(
    [
        *(-1, 0, 1, 2, 5.0, -0.0, 0.5, 1.0, 1.5, 1e-300, 399, 400, 429, 503, 599, 600),
        *(3600, 3600.0, 3600.5, 86_400, 86_401, 100_000, 100_000.5, 100_001, 10**9, 10**9 + 1),
        *(MAX_MS, MAX_MS + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 1e300),
    ]
)
long_paths = ["/" + "a" * 1999, "/" + "a" * 2000]
words = st.sampled_from(
    [
        *("", "*", "/", "/v1/products*", "v1/products", "/\x00", *long_paths, "null", "true"),
        *("GET", "post", "Patch", "BREW", "strict", "production", "STRICT", "5"),
        *(action.value for action in Action),
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    edges,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    words,
    st.text(max_size=12),  # no lone surrogates: st.text leaves them out
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def spellings(words: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(lambda w: st.sampled_from([w, w.upper(), w.title()]))


def around(low: float, high: float, *, integral: bool = True) -> st.SearchStrategy[Any]:
    """Mostly a number from ``low`` to ``high``; now and then a bound or just past one."""
    inside = st.integers(int(low), int(high)) if integral else st.floats(low, high)
    past = [low - 1, low, high, high + 1] if integral else [low, high, high + 0.5, -0.5]
    return st.one_of(inside, inside, st.sampled_from(past))


FITTING = {  # a value the member takes (when it goes with the action), or nearly
    "action": spellings([action.value for action in Action]),
    "method": spellings(list(METHODS)),
    "path": st.one_of(
        st.sampled_from(["*", "/v1/products*", "/v1/*/[0-9]*", "/" * 2000, "/" * 2001]),
        st.text().map(lambda t: "/" + t),
    ),
    "status": around(400, 599),
    "retryAfter": around(0, 86_400),
    "latencyMs": around(1, MAX_MS),
    "jitterMs": around(0, MAX_MS),
    "hangS": st.one_of(around(0, MAX_HANG_S, integral=False), around(0, int(MAX_HANG_S))),
    "dropAfterCommit": st.booleans(),
    "times": around(1, 10**9),
    "every": around(1, 10**9),
    "probability": st.one_of(around(0, 1, integral=False), st.sampled_from([0, 1])),
    "seed": around(-(2**63), 2**63 - 1),
    "rateLimit": st.one_of(
        around(0, 100_000, integral=False), around(0, 100_000), st.sampled_from([-0.0, 1e-300])
    ),
    "burst": around(1, 100_000),
    "compat": st.sampled_from(["strict", "production"]),
}


def chance(n: int) -> st.SearchStrategy[bool]:
    """True one time in ``n`` (Hypothesis leans towards the first choice: False)."""
    return st.sampled_from([False] * (n - 1) + [True])


def value(draw: st.DrawFn, member: str) -> Any:
    """Mostly a value that fits the member, else one of any JSON type."""
    return draw(values if draw(chance(5)) else FITTING[member])


def stray(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """Now and then a key that is no member (or a member again, wild)."""
    if draw(chance(10)):
        body[draw(st.text(max_size=8))] = draw(values)
    return body


@st.composite
def rule_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly an action with members of its own and shared ones; now and then one missing
    or one of another action."""
    body: dict[str, Any] = {}
    if not draw(chance(10)):
        body["action"] = value(draw, "action")
    spelled = body.get("action")
    action = next((a for a in Action if isinstance(spelled, str) and a == spelled.lower()), None)
    usual = [m for m in MEMBERS if m != "action" and OWN_MEMBERS.get(m, action) is action]
    chosen = draw(st.lists(st.sampled_from(usual), unique=True, max_size=4))
    needed = NEEDED.get(action) if action is not None else None
    if needed is not None and needed not in chosen and not draw(chance(10)):
        chosen.append(needed)
    if draw(chance(8)):
        chosen.append(draw(st.sampled_from(list(OWN_MEMBERS))))
    body.update({member: value(draw, member) for member in chosen})
    return stray(draw, body)


@st.composite
def settings_objects(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(["rateLimit", "burst", "compat"]), unique=True))
    return stray(draw, {member: value(draw, member) for member in chosen})


def bodies(objects: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """Mostly objects; one in twenty any JSON value (a list, a number, null)."""
    return chance(20).flatmap(lambda other: values if other else objects)


rule_bodies = bodies(rule_objects())
settings_bodies = bodies(settings_objects())


# --- what the server and the document say of a body ----------------------------------------------


def refusal(check: Any, body: dict[str, Any]) -> InputError | None:
    try:
        check(body)
    except InputError as error:
        return error
    return None


def agrees(documented: bool, error: InputError | None, body: dict[str, Any]) -> bool:
    """Whether the document's verdict is the checker's, but for an integral float (5.0) where
    the server wants a JSON integer, which no JSON schema tells from 5."""
    if documented is (error is None):
        return True
    value = body.get(error.member) if error is not None else None
    return (
        documented
        and error is not None
        and error.member in INTEGER_MEMBERS
        and isinstance(value, float)
        and value.is_integer()
    )


@PURE
@given(body=rule_objects())
def test_the_documented_rule_schema_allows_exactly_what_checked_rule_accepts(
    body: dict[str, Any],
) -> None:
    assert agrees(RULE_BODY.is_valid(body), refusal(checked_rule, body), body)


@PURE
@given(body=settings_objects())
def test_the_documented_settings_schema_allows_exactly_what_checked_settings_accepts(
    body: dict[str, Any],
) -> None:
    assert agrees(SETTINGS_BODY.is_valid(body), refusal(checked_settings, body), body)


# --- against the live server ---------------------------------------------------------------------


@pytest.fixture
def sandbox(login: Login) -> Iterator[httpx.Client]:
    """A keep-alive client for the login's /sandbox endpoints."""
    headers = {"Authorization": f"Bearer {login.access_token}"}
    with web.Client(base_url=f"{login.url}/sandbox", headers=headers, timeout=30) as client:
        yield client


JSON = {"Content-Type": "application/json"}


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()  # null too (httpx sends no body for json=None)


def undo(client: httpx.Client) -> int:
    """Clear the account's rules and reset its settings; how many rules there were."""
    cleared = client.delete("/faults")
    assert cleared.status_code == 200, cleared.text
    reset = client.patch("/settings", json={"rateLimit": 0, "compat": "strict"})
    assert reset.status_code == 200, reset.text
    count: int = cleared.json()["cleared"]
    return count


def assert_refused(response: httpx.Response, body: Any, error: InputError | None) -> None:
    """A 400 JSON:API error: INVALID_VALUE at the checker's member, or INVALID_DOCUMENT."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == JSONAPI
    document = response.json()
    assert ERRORS.is_valid(document), document
    (problem,) = document["errors"]
    if not isinstance(body, dict):
        assert problem["code"] == "INVALID_DOCUMENT"
        return
    assert error is not None
    assert problem["code"] == "INVALID_VALUE"
    assert problem["source"] == {"pointer": f"/{error.member}"}


@LIVE
@given(body=rule_bodies)
def test_any_rule_body_is_stored_as_checked_or_refused_with_a_pointer(
    sandbox: httpx.Client, body: Any
) -> None:
    error = refusal(checked_rule, body) if isinstance(body, dict) else None
    try:
        response = sandbox.post("/faults", content=as_json(body), headers=JSON)
        if isinstance(body, dict) and error is None:
            assert response.status_code == 201, response.text
            assert RULE_ANSWER.is_valid(response.json()), response.text
            stored = response.json()["fault"]
            expected = checked_rule(body)
            assert {member: stored[member] for member in MEMBERS} == {
                member: expected[column] for member, column in MEMBERS.items()
            }
            assert (stored["matched"], stored["fired"]) == (0, 0)
        else:
            assert_refused(response, body, error)
        if isinstance(body, dict):
            assert agrees(RULE_BODY.is_valid(body), error, body), body
    finally:
        cleared = undo(sandbox)
    assert cleared == (1 if isinstance(body, dict) and error is None else 0)  # refused: none


@LIVE
@given(body=settings_bodies)
def test_any_settings_body_is_applied_as_checked_or_refused_with_a_pointer(
    sandbox: httpx.Client, login: Login, body: Any
) -> None:
    error = refusal(checked_settings, body) if isinstance(body, dict) else None
    refused = error
    if isinstance(body, dict) and error is None:
        changes = checked_settings(body)
        if changes.get("burst") is not None and changes.get("rate_limit") is None:
            refused = InputError("burst", "the account has no rate limit to burst over")
    try:
        response = sandbox.patch("/settings", content=as_json(body), headers=JSON)
        if isinstance(body, dict) and refused is None:
            assert response.status_code == 200, response.text
            assert SETTINGS_ANSWER.is_valid(response.json()), response.text
            changes = checked_settings(body)
            rate = changes.get("rate_limit")
            burst = changes.get("burst") if rate is not None else None
            compat = changes.get("compat", "strict")
            expected = AccountSettings(login.account_id, rate, burst, compat).to_json()
            assert response.json() == {"settings": expected}
            assert sandbox.get("/settings").json() == {"settings": expected}
        else:
            assert_refused(response, body, refused)
            assert sandbox.get("/settings").json()["settings"]["rateLimit"] is None
        if isinstance(body, dict):
            assert agrees(SETTINGS_BODY.is_valid(body), error, body), body
    finally:
        undo(sandbox)
