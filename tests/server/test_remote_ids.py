"""filter[remoteId] over HTTP (an extension; docs/extensions.md), on every type with
remoteIdMap and each backend: EQ and IN per coupling (the request's couplingId, else
publicApi), kept in step with every write, within the account, refused where it can't apply."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from live import LiveServer, make_login
from optiply.resources import REGISTRY, ResourceSpec, get
from support import create, required_attributes

PRODUCTS = get("products")
TYPES = [pytest.param(spec, id=spec.type) for spec in REGISTRY if spec.has_remote_ids]


def make(api: httpx.Client, spec: ResourceSpec, remote_id: str | None, **params: str) -> str:
    """A new row of ``spec`` with ``remote_id`` written under ``params``' couplingId."""
    attributes = {**required_attributes(api, spec), "remoteId": remote_id}
    response = api.post(
        f"/{spec.type}", json={"data": {"type": spec.type, "attributes": attributes}}, params=params
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def found(api: httpx.Client, path: str, *remote_ids: str, **params: str) -> list[str]:
    """The ids ``filter[remoteId]`` finds (each value a repeated key: IN)."""
    query: list[tuple[str, str]] = [("filter[remoteId]", value) for value in remote_ids]
    query += list(params.items())
    response = api.get(path, params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["totalResourceCount"] == len(body["data"])
    return sorted(row["id"] for row in body["data"])


@pytest.mark.parametrize("spec", TYPES)
def test_remote_ids_are_found_per_coupling(api: httpx.Client, spec: ResourceSpec) -> None:
    path = f"/{spec.type}"
    seven = make(api, spec, "A", couplingId="7")
    public = make(api, spec, "A")  # no coupling: the publicApi entry
    comma = make(api, spec, "B,C", couplingId="7")
    assert found(api, path, "A", couplingId="7") == [seven]
    assert found(api, path, "A") == [public]
    assert found(api, path, "A", couplingId="") == [public]  # empty is none
    assert found(api, path, "A", "B,C", couplingId="7") == sorted([seven, comma])  # IN
    assert found(api, path, "B,C", couplingId="7") == [comma]  # never split on commas
    assert found(api, path, "B", couplingId="7") == []
    assert found(api, path, "A", couplingId="8") == []
    with_eq = api.get(path, params={"filter[remoteId][eq]": "A", "couplingId": "7"})
    assert [row["id"] for row in with_eq.json()["data"]] == [seven]
    prefixed = api.get(path, params={f"filter[{spec.type}][remoteId]": "A"})
    assert [row["id"] for row in prefixed.json()["data"]] == [public]


def test_every_write_keeps_the_lookup_in_step(api: httpx.Client) -> None:
    row = make(api, PRODUCTS, "old", couplingId="3")

    def patch(remote_id: str | None, **params: str) -> None:
        body = {"data": {"type": "products", "attributes": {"remoteId": remote_id}}}
        assert api.patch(f"/products/{row}", json=body, params=params).status_code == 200

    patch("new", couplingId="3")
    assert found(api, "/products", "old", couplingId="3") == []
    assert found(api, "/products", "new", couplingId="3") == [row]
    patch("also", couplingId="4")  # another coupling's entry, beside the first
    assert found(api, "/products", "new", couplingId="3") == [row]
    assert found(api, "/products", "also", couplingId="4") == [row]
    patch(None, couplingId="3")  # null removes the coupling's entry
    assert found(api, "/products", "new", couplingId="3") == []
    rename = {"data": {"type": "products", "attributes": {"name": "renamed"}}}
    assert api.patch(f"/products/{row}", json=rename).status_code == 200
    assert found(api, "/products", "also", couplingId="4") == [row]  # untouched
    assert api.delete(f"/products/{row}").status_code == 204
    assert found(api, "/products", "also", couplingId="4") == []  # deleted rows are gone


def test_only_the_accounts_rows_are_found(server: LiveServer, api: httpx.Client) -> None:
    other = make_login(server)
    with other.client() as theirs:
        make(theirs, PRODUCTS, "same", couplingId="1")
    mine = make(api, PRODUCTS, "same", couplingId="1")
    assert found(api, "/products", "same", couplingId="1") == [mine]


def test_it_combines_with_other_filters_and_related_lists(api: httpx.Client) -> None:
    product = create(api, "products", name="lookup parent")["id"]
    attributes: dict[str, Any] = {"productId": int(product), "remoteId": "SP-1"}
    line = create(api, "supplierProducts", **attributes)["id"]
    create(api, "supplierProducts", productId=int(product), remoteId="SP-2")
    related = f"/products/{product}/supplierProducts"
    assert found(api, related, "SP-1") == [line]
    assert found(api, "/supplierProducts", "SP-1", **{"filter[productId]": product}) == [line]
    assert found(api, "/supplierProducts", "SP-1", **{"filter[productId]": "1"}) == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        pytest.param({"filter[remoteId][NEQ]": "A"}, "filter[remoteId][NEQ]", id="NEQ"),
        pytest.param({"filter[remoteId][LIKE]": "A"}, "filter[remoteId][LIKE]", id="LIKE"),
        pytest.param({"filter[remoteId]": "null"}, "filter[remoteId]", id="null"),
        pytest.param({"filter[remoteId]": "x" * 256}, "filter[remoteId]", id="256 characters"),
        pytest.param(
            {"filter[remoteId]": "A", "couplingId": "9" * 256}, "couplingId", id="long couplingId"
        ),
    ],
)
def test_forms_it_cannot_take_are_refused_400(
    api: httpx.Client, params: dict[str, str], parameter: str
) -> None:
    response = api.get("/products", params=params)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert (error["code"], error["source"]) == ("INVALID_QUERY", {"parameter": parameter})


def test_types_without_remote_id_map_have_no_such_filter(api: httpx.Client) -> None:
    response = api.get("/accounts", params={"filter[remoteId]": "A"})
    assert response.status_code == 400
    assert "unknown attribute 'remoteId'" in response.json()["errors"][0]["detail"]
