"""Every resource of the registry answers list, create, read, update and delete (§1.2, §4.5)."""

from __future__ import annotations

import pytest

from optiply.resources import REGISTRY, Kind
from support import create, full_attributes, required_attributes

WRITABLE = [spec for spec in REGISTRY if "POST" in spec.methods]
IDS = [spec.type for spec in WRITABLE]


@pytest.mark.parametrize("spec", WRITABLE, ids=IDS)
def test_create_answers_201_with_the_full_resource(api, spec):
    body = required_attributes(api, spec)
    response = api.post(f"/{spec.type}", json={"data": {"type": spec.type, "attributes": body}})

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/vnd.api+json"
    data = response.json()["data"]
    assert data["type"] == spec.type
    assert isinstance(data["id"], str) and int(data["id"]) > 0
    assert set(data["attributes"]) == {a.name for a in spec.readable}
    assert data["attributes"]["createdFromPublicApi"] is True
    for name, value in body.items():
        attribute = spec.attribute(name)
        assert attribute is not None
        if attribute.kind is Kind.REFERENCE:
            assert data["attributes"][name] == value


@pytest.mark.parametrize("spec", WRITABLE, ids=IDS)
def test_read_returns_what_create_returned(api, spec):
    created = create(api, spec.type)

    response = api.get(f"/{spec.type}/{created['id']}")

    assert response.status_code == 200
    assert response.json()["data"] == created


@pytest.mark.parametrize("spec", WRITABLE, ids=IDS)
def test_list_contains_created_rows_in_id_order(api, spec):
    first, second = create(api, spec.type), create(api, spec.type)

    response = api.get(f"/{spec.type}")

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["data"]]
    assert first["id"] in ids and second["id"] in ids
    assert ids == sorted(ids, key=int)
    assert response.json()["meta"]["totalResourceCount"] == len(ids)


@pytest.mark.parametrize("spec", WRITABLE, ids=IDS)
def test_patch_is_partial_and_round_trips_every_writable_attribute(api, spec):
    created = create(api, spec.type)
    changes = full_attributes(spec)

    response = api.patch(
        f"/{spec.type}/{created['id']}",
        json={"data": {"type": spec.type, "id": created["id"], "attributes": changes}},
    )

    assert response.status_code == 200, response.text
    attributes = response.json()["data"]["attributes"]
    for name, value in changes.items():
        if name == "remoteId":
            assert value in attributes["remoteIdMap"].values()
        else:
            assert attributes[name] == value, name
    untouched = {a.name for a in spec.readable} - set(changes) - {"updatedAt", "remoteIdMap"}
    for name in untouched:
        assert attributes[name] == created["attributes"][name], name
    assert attributes["updatedAt"] >= created["attributes"]["updatedAt"]


@pytest.mark.parametrize("spec", WRITABLE, ids=IDS)
def test_delete_answers_204_then_the_row_is_gone(api, spec):
    created = create(api, spec.type)

    response = api.delete(f"/{spec.type}/{created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/{spec.type}/{created['id']}").status_code == 404
    assert created["id"] not in [row["id"] for row in api.get(f"/{spec.type}").json()["data"]]
    assert api.delete(f"/{spec.type}/{created['id']}").status_code == 404
    patch = {"data": {"type": spec.type, "attributes": {}}}
    assert api.patch(f"/{spec.type}/{created['id']}", json=patch).status_code == 404


def test_accounts_list_the_users_account_and_are_read_only_but_for_gln(api, login):
    listed = api.get("/accounts").json()["data"]
    assert [row["id"] for row in listed] == [str(login.account_id)]

    url = f"/accounts/{login.account_id}"
    assert api.post("/accounts", json={"data": {"type": "accounts"}}).status_code == 405
    assert api.delete(url).status_code == 405
    patched = api.patch(
        url,
        json={
            "data": {
                "type": "accounts",
                "attributes": {"globalLocationNumber": "8712345678906", "name": "ignored"},
            }
        },
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["attributes"]["globalLocationNumber"] == "8712345678906"
    assert patched.json()["data"]["attributes"]["name"] == listed[0]["attributes"]["name"]
    bad = api.patch(
        url, json={"data": {"type": "accounts", "attributes": {"globalLocationNumber": "123"}}}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["source"]["pointer"] == "/data/attributes/globalLocationNumber"


def test_405_is_a_json_api_error_with_allow_header(api, login):
    response = api.delete(f"/accounts/{login.account_id}")

    assert response.status_code == 405
    assert "PATCH" in response.headers["allow"]
    assert response.json()["errors"][0]["code"] == "METHOD_NOT_ALLOWED"
