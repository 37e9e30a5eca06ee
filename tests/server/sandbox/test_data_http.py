"""``POST /sandbox/reset``, ``GET|PUT /sandbox/snapshot`` and ``POST /sandbox/shift-dates`` on
a live server: the caller's account only, the scopes they need, what the API shows afterwards
(no stale cached count or row), and JSON:API errors pointing at what is wrong."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

import web
from live import Login, make_login
from optiply.server.http import sandbox_data
from optiply.server.http.openapi import openapi_document
from optiply.server.http.openapi import sandbox_data as openapi_data
from optiply.server.service.errors import DomainError
from support import create


def call(login: Login, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token or login.access_token}", **kw.pop("headers", {})}
    return web.request(method, f"{login.url}/sandbox/{path}", headers=headers, **kw)


def ids(api: httpx.Client, kind: str) -> list[str]:
    return [row["id"] for row in api.get(f"/{kind}").json()["data"]]


def total(api: httpx.Client, kind: str) -> int:
    count: int = api.get(f"/{kind}").json()["meta"]["totalResourceCount"]
    return count


def error(response: httpx.Response) -> dict[str, Any]:
    found: dict[str, Any] = response.json()["errors"][0]
    return found


def test_a_reset_empties_the_account_and_the_api_shows_it_at_once(
    login: Login, api: httpx.Client
) -> None:
    create(api, "sellOrderLines")
    assert total(api, "products") == 1  # counted, and cached under the data version

    response = call(login, "POST", "reset")

    assert response.status_code == 200, response.text
    shown = response.json()["reset"]
    assert shown["accountId"] == login.account_id
    assert (shown["deleted"]["products"], shown["deleted"]["sellOrderLines"]) == (1, 1)
    assert shown["keptAsDeleted"] == {}
    assert total(api, "products") == 0 and ids(api, "sellOrders") == []


def test_a_reset_of_one_coupling_keeps_the_rest(login: Login, api: httpx.Client) -> None:
    ours = api.post(
        "/products?couplingId=c1",
        json={
            "data": {
                "type": "products",
                "attributes": {"name": "a", "stockLevel": 1, "remoteId": "r1"},
            }
        },
    ).json()["data"]["id"]
    theirs = create(api, "products", remoteId="r2")["id"]  # key publicApi

    response = call(login, "POST", "reset", json={"couplingId": "c1"})

    assert response.status_code == 200, response.text
    assert response.json()["reset"]["deleted"]["products"] == 1
    assert ids(api, "products") == [theirs] and ours != theirs
    public = call(login, "POST", "reset", json={"createdFromPublicApi": True})
    assert public.json()["reset"]["deleted"]["products"] == 1


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"couplingId": 5}, "/couplingId"),
        ({"couplingId": ""}, "/couplingId"),
        ({"createdFromPublicApi": "yes"}, "/createdFromPublicApi"),
        ({"everything": True}, "/everything"),
    ],
)
def test_a_bad_reset_body_is_a_400_pointing_at_the_member(
    login: Login, api: httpx.Client, body: dict[str, Any], pointer: str
) -> None:
    create(api, "products")

    response = call(login, "POST", "reset", json=body)

    assert response.status_code == 400
    assert (error(response)["code"], error(response)["source"]) == (
        "INVALID_VALUE",
        {"pointer": pointer},
    )
    assert total(api, "products") == 1


def test_reset_and_restore_need_the_delete_scope(login: Login) -> None:
    writer = make_login(login.server, scopes=("read", "write"))
    with writer.client() as api:
        create(api, "products")
    snapshot = call(writer, "GET", "snapshot").content

    refused = [
        call(writer, "POST", "reset"),
        call(
            writer,
            "PUT",
            "snapshot",
            content=snapshot,
            headers={"Content-Type": "application/zstd"},
        ),
    ]

    assert [r.status_code for r in refused] == [403, 403]
    assert "delete" in refused[0].text
    with writer.client() as api:
        assert total(api, "products") == 1
    reader = make_login(login.server, scopes=("read",))
    assert call(reader, "POST", "shift-dates", json={"days": 1}).status_code == 403
    assert call(login, "GET", "snapshot", token="nonsense").status_code == 401


def test_a_downloaded_snapshot_restores_the_account(login: Login, api: httpx.Client) -> None:
    line = create(api, "sellOrderLines", remoteId="x")
    before = {kind: api.get(f"/{kind}").json()["data"] for kind in ("products", "sellOrderLines")}
    download = call(login, "GET", "snapshot")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zstd"
    assert download.headers["content-disposition"].startswith(
        f'attachment; filename="optiply-account-{login.account_id}-'
    )
    api.delete(f"/sellOrderLines/{line['id']}")
    create(api, "products")

    response = call(
        login,
        "PUT",
        "snapshot",
        content=download.content,
        headers={"Content-Type": "application/zstd"},
    )

    assert response.status_code == 200, response.text
    restored = response.json()["restored"]
    assert restored["accountId"] == login.account_id
    assert restored["source"]["id"] == login.account_id
    assert restored["rows"]["sellOrderLines"] == 1
    after = {kind: api.get(f"/{kind}").json()["data"] for kind in ("products", "sellOrderLines")}
    assert after == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"id,name\n1,mug\n", "application/zstd", 400, "INVALID_DOCUMENT"),
        (b"", "application/octet-stream", 400, "INVALID_DOCUMENT"),
        (b"\x28\xb5\x2f\xfd\x00\x01", "application/zstd", 400, "INVALID_DOCUMENT"),
        (b"{}", "application/json", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_a_bad_snapshot_is_refused_and_changes_nothing(
    login: Login, api: httpx.Client, body: bytes, content_type: str, status: int, code: str
) -> None:
    create(api, "products")

    response = call(login, "PUT", "snapshot", content=body, headers={"Content-Type": content_type})

    assert response.status_code == status, response.text
    assert error(response)["code"] == code
    if status == 400:
        assert error(response)["source"] == {"pointer": ""}
        assert error(response)["detail"].endswith("nothing was restored")
    assert total(api, "products") == 1


def test_a_snapshot_of_another_account_with_taken_ids_is_a_409(login: Login) -> None:
    other = make_login(login.server)
    with other.client() as api:
        create(api, "products")
    theirs = call(other, "GET", "snapshot").content
    with login.client() as api:
        create(api, "products")

    response = call(
        login, "PUT", "snapshot", content=theirs, headers={"Content-Type": "application/zstd"}
    )

    assert response.status_code == 409
    assert error(response)["code"] == "CONFLICT"
    with login.client() as api:
        assert total(api, "products") == 1


def test_shift_dates_moves_the_account_s_dates(login: Login, api: httpx.Client) -> None:
    order = create(api, "sellOrders", placed="2024-03-05T10:00:00.250000Z")

    response = call(login, "POST", "shift-dates", json={"days": 10})

    assert response.status_code == 200, response.text
    shown = response.json()["shifted"]
    assert (shown["accountId"], shown["days"], shown["rows"]["sellOrders"]) == (
        login.account_id,
        10,
        1,
    )
    placed = api.get(f"/sellOrders/{order['id']}").json()["data"]["attributes"]["placed"]
    assert placed == "2024-03-15T10:00:00.25Z" or placed.startswith("2024-03-15T10:00:00.25")
    today = call(login, "POST", "shift-dates", json={"toToday": True}).json()["shifted"]
    assert today["days"] > 0


@pytest.mark.parametrize(
    ("body", "pointer", "words"),
    [
        ({"days": 1, "toToday": True}, "/days", "not both"),
        ({}, "/days", "give days"),
        ({"days": "3"}, "/days", "whole number"),
        ({"days": 1.5}, "/days", "whole number"),
        ({"days": True}, "/days", "whole number"),
        ({"toToday": "yes"}, "/toToday", "true or false"),
        ({"weeks": 2}, "/weeks", "unknown member"),
        ({"days": 4_000_000}, "/days", "years 1 to 9999"),
        ({"toToday": True}, "/toToday", "no sell orders"),
    ],
)
def test_a_bad_shift_is_a_400_pointing_at_the_member(
    login: Login, body: dict[str, Any], pointer: str, words: str
) -> None:
    response = call(login, "POST", "shift-dates", json=body)

    assert response.status_code == 400, response.text
    assert error(response)["source"] == {"pointer": pointer}
    assert words in error(response)["detail"]


def test_a_user_of_several_accounts_names_one(login: Login) -> None:
    several = make_login(login.server, accounts=2)
    with several.client() as api:
        create(api, "products", accountId=several.extra_account_ids[0])

    unnamed = call(several, "POST", "reset")
    foreign = call(several, "POST", f"reset?accountId={login.account_id}")
    named = call(several, "POST", f"reset?accountId={several.extra_account_ids[0]}")

    assert (unnamed.status_code, error(unnamed)["code"]) == (400, "ACCOUNT_REQUIRED")
    assert error(unnamed)["source"] == {"parameter": "accountId"}
    assert (foreign.status_code, error(foreign)["code"]) == (403, "ACCOUNT_FORBIDDEN")
    assert named.json()["reset"]["deleted"]["products"] == 1


# --- the OpenAPI document ------------------------------------------------------------------------

DOCUMENT = openapi_document(version="1.2.3")
OPERATIONS = {
    ("/sandbox/reset", "post"): "delete",
    ("/sandbox/snapshot", "get"): "read",
    ("/sandbox/snapshot", "put"): "delete",
    ("/sandbox/shift-dates", "post"): "write",
}


def schema(name: str) -> Any:
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    )


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=str)
def test_the_document_says_who_may_call_and_what_goes_wrong(path: str, method: str) -> None:
    operation = DOCUMENT["paths"][path][method]
    responses = operation["responses"]

    assert operation["tags"] == ["sandbox"]
    assert operation["security"] == [{"oauth2": [OPERATIONS[(path, method)]]}]
    assert [p["name"] for p in operation["parameters"]] == ["accountId"]
    assert {"200", "400", "401", "403"} <= set(responses)
    assert "ACCOUNT_REQUIRED" in responses["400"]["description"]
    assert ("503" in responses) is (method != "get")
    body = "requestBody" in operation
    assert ("413" in responses) is body and ("415" in responses) is body
    assert ("409" in responses) is (method == "put")


def test_the_documented_upload_is_the_served_one() -> None:
    put = DOCUMENT["paths"]["/sandbox/snapshot"]["put"]
    assert set(put["requestBody"]["content"]) == set(sandbox_data.UPLOAD_TYPES)
    assert openapi_data.MAX_SNAPSHOT == sandbox_data.MAX_SNAPSHOT
    assert str(sandbox_data.MAX_SNAPSHOT) in put["responses"]["413"]["description"]
    get = DOCUMENT["paths"]["/sandbox/snapshot"]["get"]
    assert set(get["responses"]["200"]["content"]) == {sandbox_data.SNAPSHOT_MEDIA_TYPE}


RESET_BODIES = [
    {},
    {"couplingId": "42"},
    {"couplingId": "publicApi", "createdFromPublicApi": True},
    {"createdFromPublicApi": False},
    {"couplingId": ""},
    {"couplingId": "  "},
    {"couplingId": 42},
    {"couplingId": None},
    {"createdFromPublicApi": "true"},
    {"all": True},
]
SHIFT_BODIES = [
    {"days": 7},
    {"days": -400},
    {"toToday": True},
    {"toToday": False},
    {},
    {"days": 1, "toToday": True},
    {"days": 1, "toToday": False},
    {"days": 1.5},
    {"days": "7"},
    {"days": True},
    {"toToday": "yes"},
    {"weeks": 1},
    {"days": None},
    {"days": None, "toToday": True},
    {"toToday": None},
]


def accepts(check: Any, body: dict[str, Any]) -> bool:
    try:
        check(body)
    except DomainError:
        return False
    return True


@pytest.mark.parametrize("body", RESET_BODIES, ids=str)
def test_the_reset_body_schema_accepts_what_the_server_does(body: dict[str, Any]) -> None:
    assert schema("SandboxResetRequest").is_valid(body) is accepts(sandbox_data.reset_scope, body)


@pytest.mark.parametrize("body", SHIFT_BODIES, ids=str)
def test_the_shift_body_schema_accepts_what_the_server_does(body: dict[str, Any]) -> None:
    assert schema("SandboxShiftRequest").is_valid(body) is accepts(sandbox_data.shift_days, body)


def test_the_answers_are_as_documented(login: Login, api: httpx.Client) -> None:
    create(api, "receiptLines")
    create(api, "sellOrderLines")

    shifted = call(login, "POST", "shift-dates", json={"days": 3}).json()["shifted"]
    download = call(login, "GET", "snapshot")
    headers = {"Content-Type": "application/zstd"}
    restored = call(login, "PUT", "snapshot", content=download.content, headers=headers)
    reset = call(login, "POST", "reset", json={"couplingId": "none"}).json()["reset"]

    assert schema("SandboxShift").is_valid(shifted), shifted
    assert schema("SandboxRestore").is_valid(restored.json()["restored"]), restored.text
    assert schema("SandboxReset").is_valid(reset), reset
    assert download.headers["content-disposition"].startswith("attachment; filename=")
