"""Fault rules over HTTP (docs/sandbox.md): each action as a client meets it, counts exact,
marked in the journal, one account's rules never touching another's, on each backend."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

import web
from live import JSONAPI, Login, make_login


def faults(login: Login) -> list[dict[str, Any]]:
    response = web.get(
        f"{login.url}/sandbox/faults", headers={"Authorization": f"Bearer {login.access_token}"}
    )
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["faults"]
    return listed


def supplier(name: str) -> dict[str, Any]:
    return {"data": {"type": "suppliers", "attributes": {"name": name}}}


def post_supplier(api: httpx.Client, name: str) -> httpx.Response:
    return api.post("/suppliers", json=supplier(name))


def names(login: Login) -> list[str]:
    with login.client() as api:
        body = api.get("/suppliers", params={"page[limit]": 100}).json()
    return sorted(row["attributes"]["name"] for row in body["data"])


def journal(login: Login, at_least: int = 0, **params: Any) -> list[dict[str, Any]]:
    """The journal rows matching ``params``; waits (≤ 5 s) for ``at_least`` of them, since a
    server may still be closing a connection the client saw dropped."""
    deadline = time.monotonic() + 5
    while True:
        rows = login.journal(**params)
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def test_a_status_rule_with_times_fails_exactly_the_next_matches(login: Login) -> None:
    rule = login.add_fault(
        action="status", status=503, method="POST", path="/v1/suppliers*", times=2
    )
    assert rule["retryAfter"] == 1  # the default for 429 and 503
    with login.client() as api:
        answers = [post_supplier(api, f"s{n}") for n in range(4)]
        assert api.get("/suppliers").status_code == 200  # GET does not match
    assert [a.status_code for a in answers] == [503, 503, 201, 201]
    failed = answers[0]
    assert failed.headers["retry-after"] == "1"
    assert failed.headers["content-type"] == JSONAPI
    error = failed.json()["errors"][0]
    assert (error["status"], error["code"]) == ("503", "SANDBOX_FAULT")
    assert f"rule {rule['id']}" in error["detail"]
    assert names(login) == ["s2", "s3"]  # nothing was written by the failed ones
    (listed,) = faults(login)
    assert (listed["matched"], listed["fired"]) == (4, 2)
    marked = [row["fault"] for row in journal(login, method="POST", path="/v1/")]
    assert marked == [rule["id"], rule["id"], None, None]


def test_every_nth_match_fires(login: Login) -> None:
    login.add_fault(action="status", status=500, method="POST", path="/v1/suppliers", every=3)
    with login.client() as api:
        statuses = [post_supplier(api, f"e{n}").status_code for n in range(7)]
    assert statuses == [201, 201, 500, 201, 201, 500, 201]


def test_every_with_times_fires_only_the_first_nth_matches(login: Login) -> None:
    login.add_fault(action="status", status=503, method="POST", every=3, times=1)
    with login.client() as api:
        statuses = [post_supplier(api, f"t{n}").status_code for n in range(7)]
    assert statuses == [201, 201, 503, 201, 201, 201, 201]
    assert (faults(login)[0]["matched"], faults(login)[0]["fired"]) == (7, 1)


def test_a_seeded_probability_gives_the_same_sequence_for_the_same_seed(login: Login) -> None:
    sequences = []
    for _ in range(2):
        login.add_fault(action="status", status=502, path="/v1/products", probability=0.5, seed=7)
        with login.client() as api:
            sequences.append([api.get("/products").status_code for _ in range(12)])
        web.delete(
            f"{login.url}/sandbox/faults",
            headers={"Authorization": f"Bearer {login.access_token}"},
        )
    assert sequences[0] == sequences[1]
    assert set(sequences[0]) == {200, 502}


def test_expired_token_answers_401_as_a_real_expiry_does(login: Login) -> None:
    login.add_fault(action="expired-token", times=1)
    with login.client() as api:
        first, second = api.get("/products"), api.get("/products")
    assert first.status_code == 401
    assert first.json()["error"] == "invalid_token"
    assert first.json()["error_description"] == "Access token expired"
    assert "invalid_token" in first.headers["www-authenticate"]
    assert second.status_code == 200


def test_commit_then_fail_writes_and_then_answers_500(login: Login) -> None:
    rule = login.add_fault(action="commit-then-fail", method="POST", times=1)
    with login.client() as api:
        answer = post_supplier(api, "ambiguous")
    assert answer.status_code == 500
    assert answer.json()["errors"][0]["code"] == "INTERNAL_ERROR"
    assert names(login) == ["ambiguous"]  # committed all the same
    (row,) = journal(login, method="POST", path="/v1/")
    assert (row["status"], row["fault"]) == (500, rule["id"])
    assert '"ambiguous"' in row["responseBody"]  # what the server wrote, for the post-mortem


def test_commit_then_fail_can_drop_the_connection_instead(login: Login) -> None:
    login.add_fault(action="commit-then-fail", dropAfterCommit=True, method="POST", times=1)
    with login.client() as api, pytest.raises(httpx.RemoteProtocolError):
        post_supplier(api, "dropped after commit")
    assert names(login) == ["dropped after commit"]
    (row,) = journal(login, 1, method="POST", path="/v1/")
    assert row["status"] == 0  # no answer at all


def test_drop_closes_the_connection_without_an_answer_and_writes_nothing(login: Login) -> None:
    login.add_fault(action="drop", method="POST", times=1)
    with login.client() as api:
        with pytest.raises(httpx.RemoteProtocolError):
            post_supplier(api, "never")
        assert post_supplier(api, "later").status_code == 201  # a new connection works
    assert names(login) == ["later"]


def test_broken_sends_a_status_line_and_part_of_a_body(login: Login) -> None:
    login.add_fault(action="broken", path="/v1/products", times=1)
    with login.client() as api, pytest.raises(httpx.RemoteProtocolError):
        api.get("/products")
    (row,) = journal(login, 1, path="/v1/products")
    assert row["status"] == 200  # the status line the client got


def test_hang_holds_the_request_until_the_client_gives_up(login: Login) -> None:
    login.add_fault(action="hang", hangS=30, path="/v1/products", times=1)
    started = time.monotonic()
    with login.client() as api, pytest.raises(httpx.ReadTimeout):
        api.get("/products", timeout=0.5)
    assert time.monotonic() - started < 5


def test_hang_ends_by_closing_after_hang_s(login: Login) -> None:
    login.add_fault(action="hang", hangS=0.3, path="/v1/products", times=1)
    with login.client() as api, pytest.raises(httpx.RemoteProtocolError):
        api.get("/products", timeout=5)


def test_latency_answers_late_and_unchanged(login: Login) -> None:
    login.add_fault(action="latency", latencyMs=300, path="/v1/products", times=1)
    with login.client() as api:
        started = time.monotonic()
        slow = api.get("/products")
        late = time.monotonic() - started
        started = time.monotonic()
        api.get("/products")
        fast = time.monotonic() - started
    assert slow.status_code == 200 and late >= 0.3 > fast


def test_rules_are_per_account(login: Login) -> None:
    login.add_fault(action="status", status=503)
    other = make_login(login.server)
    with other.client() as api:
        assert api.get("/products").status_code == 200
    with login.client() as api:
        assert api.get("/products").status_code == 503


def test_a_cleared_rule_stops_at_once(login: Login) -> None:
    rule = login.add_fault(action="status", status=503)
    headers = {"Authorization": f"Bearer {login.access_token}"}
    other = login.add_fault(action="status", status=500, method="DELETE")
    gone = web.delete(f"{login.url}/sandbox/faults/{rule['id']}", headers=headers)
    assert gone.status_code == 204
    assert [f["id"] for f in faults(login)] == [other["id"]]
    with login.client() as api:
        assert api.get("/products").status_code == 200
    again = web.delete(f"{login.url}/sandbox/faults/{rule['id']}", headers=headers)
    assert again.status_code == 404
    cleared = web.delete(f"{login.url}/sandbox/faults", headers=headers)
    assert cleared.json() == {"cleared": 1}


def test_faults_need_the_write_scope_to_change_and_an_account_the_user_reaches(
    login: Login,
) -> None:
    reader = make_login(login.server, scopes=("read",))
    headers = {"Authorization": f"Bearer {reader.access_token}"}
    refused = web.post(f"{reader.url}/sandbox/faults", json={"action": "drop"}, headers=headers)
    assert refused.status_code == 403
    assert web.get(f"{reader.url}/sandbox/faults", headers=headers).status_code == 200
    foreign = web.get(
        f"{login.url}/sandbox/faults",
        params={"accountId": reader.account_id},
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert foreign.status_code == 403
    assert web.get(f"{login.url}/sandbox/faults").status_code == 401


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({}, "/action"),
        ({"action": "explode"}, "/action"),
        ({"action": "status"}, "/status"),
        ({"action": "status", "status": 200}, "/status"),
        ({"action": "status", "status": "503"}, "/status"),
        ({"action": "drop", "status": 503}, "/status"),
        ({"action": "latency"}, "/latencyMs"),
        ({"action": "latency", "latencyMs": -1}, "/latencyMs"),
        ({"action": "hang", "hangS": 0}, "/hangS"),
        ({"action": "drop", "method": "BREW"}, "/method"),
        ({"action": "drop", "method": "po\u017ft"}, "/method"),  # ſ upper-cases to S
        ({"action": "bro\u212aen"}, "/action"),  # the Kelvin sign lower-cases to k
        ({"action": "drop", "path": "v1/products"}, "/path"),
        ({"action": "drop", "times": 0}, "/times"),
        ({"action": "drop", "probability": 0.5, "every": 2}, "/every"),
        ({"action": "drop", "probability": 0.5, "times": 2}, "/times"),
        ({"action": "drop", "probability": 1.5}, "/probability"),
        ({"action": "drop", "probability": True}, "/probability"),
        ({"action": "drop", "colour": "red"}, "/colour"),
    ],
)
def test_bad_rules_are_refused_with_a_pointer(
    login: Login, rule: dict[str, Any], pointer: str
) -> None:
    response = web.post(
        f"{login.url}/sandbox/faults",
        json=rule,
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["source"] == {"pointer": pointer}
    assert faults(login) == []


def test_a_body_that_is_no_json_object_is_refused(login: Login) -> None:
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": "application/json"}
    for body in (b"[1]", b"{", b""):
        response = web.post(f"{login.url}/sandbox/faults", content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["code"] == "INVALID_DOCUMENT"


def test_a_rule_id_must_be_a_number(login: Login) -> None:
    response = web.delete(
        f"{login.url}/sandbox/faults/abc",
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert response.status_code == 400
