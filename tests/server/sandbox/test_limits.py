"""Account settings over HTTP (docs/sandbox.md): a rate limit per token answered 429 with
Retry-After, and the production-compat mode answering 500 where the hosted API does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import web
from live import Login, make_login


def settings(login: Login, **changes: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {login.access_token}"}
    if changes:
        return web.patch(f"{login.url}/sandbox/settings", json=changes, headers=headers)
    return web.get(f"{login.url}/sandbox/settings", headers=headers)


def test_settings_default_to_no_limit_and_strict(login: Login) -> None:
    response = settings(login)
    assert response.status_code == 200
    assert response.json() == {
        "settings": {
            "accountId": login.account_id,
            "rateLimit": None,
            "burst": None,
            "compat": "strict",
        }
    }


def test_a_rate_limit_answers_429_with_retry_after_past_the_burst(login: Login) -> None:
    changed = settings(login, rateLimit=0.5, burst=3).json()["settings"]
    assert (changed["rateLimit"], changed["burst"]) == (0.5, 3)
    with login.client() as api:
        statuses = [api.get("/products").status_code for _ in range(3)]
        refused = api.get("/products")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) in (1, 2)  # the next cell frees in 2 s
    error = refused.json()["errors"][0]
    assert (error["status"], error["code"]) == ("429", "RATE_LIMITED")
    journal = login.journal(status=429)
    assert [(row["status"], row["errorCode"]) for row in journal] == [(429, "RATE_LIMITED")]


def test_the_limit_is_per_token(login: Login) -> None:
    settings(login, rateLimit=0.5, burst=1)
    with login.client() as api:
        assert api.get("/products").status_code == 200
        assert api.get("/products").status_code == 429
    second = login.token().json()["access_token"]
    with login.client(second) as api:
        assert api.get("/products").status_code == 200


def test_the_limit_is_per_account(login: Login) -> None:
    settings(login, rateLimit=0.5, burst=1)
    other = make_login(login.server)
    with other.client() as api:
        assert [api.get("/products").status_code for _ in range(3)] == [200, 200, 200]


def test_a_rate_limit_of_zero_turns_it_off(login: Login) -> None:
    settings(login, rateLimit=0.5, burst=1)
    with login.client() as api:
        api.get("/products")
        assert api.get("/products").status_code == 429
        assert settings(login, rateLimit=0).json()["settings"]["rateLimit"] is None
        assert api.get("/products").status_code == 200


PRODUCT = {"name": "compat", "stockLevel": 3}


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("stockLevel", "nan"),  # a non-numeric string for an integer
        ("stockLevel", 7.5),  # a float for an integer
        ("price", "NaN"),
        ("createdAtRemote", "yesterday"),  # an unparsable date
    ],
)
def test_production_compat_answers_500_where_the_hosted_api_does(
    login: Login, attribute: str, value: Any
) -> None:
    document = {"data": {"type": "products", "attributes": {**PRODUCT, attribute: value}}}
    with login.client() as api:
        strict = api.post("/products", json=document)
        assert strict.status_code == 400
        assert strict.json()["errors"][0]["source"] == {"pointer": f"/data/attributes/{attribute}"}
        assert settings(login, compat="production").status_code == 200
        hosted = api.post("/products", json=document)
        assert hosted.status_code == 500
        error = hosted.json()["errors"][0]
        assert error["code"] == "INTERNAL_ERROR"
        assert error["meta"]["compat"] == "production"
        # other mistakes keep their 4xx: only what the hosted API fails on changes
        missing = api.post("/products", json={"data": {"type": "products", "attributes": {}}})
        assert missing.status_code == 400
        assert api.get("/products", params={"filter[bogus]": "1"}).status_code == 400
        assert api.get("/products").json()["data"] == []  # nothing was written


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"rateLimit": -1}, "/rateLimit"),
        ({"rateLimit": 1e-308}, "/rateLimit"),  # once a 500: an infinite Retry-After
        ({"rateLimit": "5"}, "/rateLimit"),
        ({"rateLimit": True}, "/rateLimit"),
        ({"rateLimit": 5, "burst": 0}, "/burst"),
        ({"rateLimit": 5, "burst": 2.5}, "/burst"),
        ({"rateLimit": 0, "burst": 3}, "/burst"),
        ({"compat": "lenient"}, "/compat"),
        ({"burst": 5}, "/burst"),  # the account has no rate limit
        ({"speed": 1}, "/speed"),
    ],
)
def test_bad_settings_are_refused_with_a_pointer(
    login: Login, changes: dict[str, Any], pointer: str
) -> None:
    response = settings(login, **changes)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["source"] == {"pointer": pointer}
    assert settings(login).json()["settings"]["rateLimit"] is None


def test_settings_need_the_write_scope_to_change(login: Login) -> None:
    reader = make_login(login.server, scopes=("read",))
    assert settings(reader, compat="production").status_code == 403
    assert settings(reader).status_code == 200


def test_a_user_of_several_accounts_says_which(login: Login) -> None:
    several = make_login(login.server, accounts=2)
    response = settings(several)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "ACCOUNT_REQUIRED"
    chosen = web.get(
        f"{several.url}/sandbox/settings",
        params={"accountId": several.extra_account_ids[0]},
        headers={"Authorization": f"Bearer {several.access_token}"},
    )
    assert chosen.json()["settings"]["accountId"] == several.extra_account_ids[0]


def test_timeline_and_row_counts(login: Login) -> None:
    headers = {"Authorization": f"Bearer {login.access_token}"}
    with login.client() as api:
        api.post("/suppliers", json={"data": {"type": "suppliers", "attributes": {"name": "a"}}})
        api.get("/nothing-here")
    rows = web.get(f"{login.url}/sandbox/rows", headers=headers).json()["rows"]
    assert rows["suppliers"] == 1 and rows["products"] == 0 and rows["accounts"] == 1
    assert login.server.app.state.journal.flush()
    timeline = web.get(
        f"{login.url}/sandbox/timeline", params={"minutes": 2, "step": 10}, headers=headers
    ).json()
    assert timeline["step"] == 10
    assert 12 <= len(timeline["buckets"]) <= 13
    assert sum(bucket["2xx"] for bucket in timeline["buckets"]) >= 1
    bad = web.get(f"{login.url}/sandbox/timeline", params={"step": 0}, headers=headers)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["source"] == {"parameter": "step"}
    too_many = web.get(
        f"{login.url}/sandbox/timeline", params={"minutes": 1440, "step": 1}, headers=headers
    )
    assert too_many.status_code == 400
    assert "at least 60 s" in too_many.json()["errors"][0]["detail"]
