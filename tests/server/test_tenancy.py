"""Multi-account tenancy (§3.2, Q13, Q28): users see their accounts only, accountId narrows."""

from __future__ import annotations

import pytest

from support import create


@pytest.fixture
def other(server, new_login):
    """A second, unrelated user with its own account."""
    login = new_login(server)
    with login.client() as client:
        yield client


def test_another_accounts_rows_are_invisible(api, other):
    mine = create(api, "products", name="Mine")
    theirs = create(other, "products", name="Theirs")

    assert api.get(f"/products/{theirs['id']}").status_code == 404
    assert (
        api.patch(
            f"/products/{theirs['id']}",
            json={"data": {"type": "products", "attributes": {"name": "x"}}},
        ).status_code
        == 404
    )
    assert api.delete(f"/products/{theirs['id']}").status_code == 404
    assert [r["id"] for r in api.get("/products").json()["data"]] == [mine["id"]]
    assert api.get("/products", params={"filter[id]": theirs["id"]}).json()["data"] == []
    assert api.get("/products", params={"filter[name]": "Theirs"}).json()["data"] == []
    assert other.get(f"/products/{theirs['id']}").json()["data"]["attributes"]["name"] == "Theirs"


def test_another_accounts_rows_cannot_be_referenced(api, other):
    theirs = create(other, "products")
    supplier = create(api, "suppliers")

    response = api.post(
        "/supplierProducts",
        json={
            "data": {
                "type": "supplierProducts",
                "attributes": {
                    "name": "SP",
                    "productId": int(theirs["id"]),
                    "supplierId": int(supplier["id"]),
                },
            }
        },
    )

    assert response.status_code == 404
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/attributes/productId"


def test_related_links_do_not_cross_accounts(api, other):
    order = create(other, "buyOrders")

    assert api.get(f"/buyOrders/{order['id']}/buyOrderLines").status_code == 404
    assert api.get(f"/buyOrders/{order['id']}/supplier").status_code == 404


def test_accounts_list_only_reachable_accounts(server, new_login, api, login):
    multi = new_login(server, accounts=3)
    with multi.client() as client:
        ids = [row["id"] for row in client.get("/accounts").json()["data"]]
    assert ids == [str(i) for i in sorted([multi.account_id, *multi.extra_account_ids])]
    assert api.get(f"/accounts/{multi.account_id}").status_code == 404


@pytest.fixture
def multi(server, new_login):
    return new_login(server, accounts=2)


def test_a_multi_account_user_must_choose_on_create(multi):
    with multi.client() as api:
        response = api.post(
            "/products",
            json={"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1}}},
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "ACCOUNT_REQUIRED"


def test_the_account_attribute_chooses(multi):
    second = multi.extra_account_ids[0]
    with multi.client() as api:
        product = create(api, "products", accountId=second)
    assert product["attributes"]["accountId"] == second


def test_the_account_query_parameter_chooses_and_narrows(multi):
    first, second = multi.account_id, multi.extra_account_ids[0]
    with multi.client() as api:
        in_second = create_with_param(api, second)
        in_first = create_with_param(api, first)
        assert in_second["attributes"]["accountId"] == second

        everything = [r["id"] for r in api.get("/products").json()["data"]]
        assert sorted(everything) == sorted([in_first["id"], in_second["id"]])
        narrowed = api.get("/products", params={"accountId": second}).json()["data"]
        assert [r["id"] for r in narrowed] == [in_second["id"]]
        filtered = api.get("/products", params={"filter[accountId]": first}).json()["data"]
        assert [r["id"] for r in filtered] == [in_first["id"]]
        assert (
            api.get(f"/products/{in_first['id']}", params={"accountId": second}).status_code == 404
        )
        assert (
            api.delete(f"/products/{in_first['id']}", params={"accountId": second}).status_code
            == 404
        )


def test_an_account_attribute_contradicting_the_account_parameter_is_refused(multi):
    """Both accounts are the user's, but the request says two different things: nothing is
    written, and the error points at the attribute."""
    first, second = multi.account_id, multi.extra_account_ids[0]
    with multi.client() as api:
        response = api.post(
            "/products",
            params={"accountId": first},
            json={
                "data": {
                    "type": "products",
                    "attributes": {"name": "P", "stockLevel": 1, "accountId": second},
                }
            },
        )
        assert response.status_code == 403, response.text
        (error,) = response.json()["errors"]
        assert error["source"]["pointer"] == "/data/attributes/accountId"
        assert api.get("/products").json()["meta"]["totalResourceCount"] == 0
        agreeing = api.post(
            "/products",
            params={"accountId": second},
            json={
                "data": {
                    "type": "products",
                    "attributes": {"name": "P", "stockLevel": 1, "accountId": second},
                }
            },
        )
        assert agreeing.status_code == 201, agreeing.text


def create_with_param(api, account_id):
    response = api.post(
        "/products",
        params={"accountId": account_id, "couplingId": 9},
        json={"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1}}},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_child_rows_take_the_parents_account(multi):
    second = multi.extra_account_ids[0]
    with multi.client() as api:
        product = create(api, "products", accountId=second)
        supplier = create(api, "suppliers", accountId=second)
        response = api.post(
            "/supplierProducts",
            json={
                "data": {
                    "type": "supplierProducts",
                    "attributes": {
                        "name": "SP",
                        "productId": int(product["id"]),
                        "supplierId": int(supplier["id"]),
                    },
                }
            },
        )
        assert response.status_code == 201
        sp_id = response.json()["data"]["id"]
        assert (
            api.get("/supplierProducts", params={"accountId": second}).json()["data"][0]["id"]
            == sp_id
        )
        assert (
            api.get("/supplierProducts", params={"accountId": multi.account_id}).json()["data"]
            == []
        )
        mixed = create(api, "suppliers", accountId=multi.account_id)
        response = api.post(
            "/supplierProducts",
            json={
                "data": {
                    "type": "supplierProducts",
                    "attributes": {
                        "name": "SP",
                        "productId": int(product["id"]),
                        "supplierId": int(mixed["id"]),
                    },
                }
            },
        )
        assert response.status_code == 404  # references must live in the row's account


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_an_unreachable_account_parameter_is_403(api, other, method):
    theirs = other.get("/accounts").json()["data"][0]["id"]
    body = {"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1}}}
    path = "/products" if method in ("GET", "POST") else "/products/1"
    kwargs = {"json": body} if method in ("POST", "PATCH") else {}

    response = api.request(method, path, params={"accountId": theirs}, **kwargs)

    assert response.status_code == 403
    assert response.json()["errors"][0]["source"] == {"parameter": "accountId"}


def test_an_unreachable_account_attribute_is_403(api, other):
    theirs = int(other.get("/accounts").json()["data"][0]["id"])

    response = api.post(
        "/products",
        json={
            "data": {
                "type": "products",
                "attributes": {"name": "P", "stockLevel": 1, "accountId": theirs},
            }
        },
    )

    assert response.status_code == 403
    assert other.get("/products").json()["data"] == []


def test_account_id_cannot_be_changed_by_patch(multi):
    with multi.client() as api:
        product = create(api, "products", accountId=multi.account_id)
        response = api.patch(
            f"/products/{product['id']}",
            json={
                "data": {
                    "type": "products",
                    "attributes": {"accountId": multi.extra_account_ids[0]},
                }
            },
        )
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["accountId"] == multi.account_id


def test_coupling_id_keys_the_remote_id_map(api):
    response = api.post(
        "/products",
        params={"couplingId": "77"},
        json={
            "data": {
                "type": "products",
                "attributes": {"name": "P", "stockLevel": 1, "remoteId": "SRC-1"},
            }
        },
    )
    product = response.json()["data"]
    assert product["attributes"]["remoteIdMap"] == {"77": "SRC-1"}

    patched = api.patch(
        f"/products/{product['id']}",
        json={"data": {"type": "products", "attributes": {"remoteId": "SRC-2"}}},
    ).json()["data"]
    assert patched["attributes"]["remoteIdMap"] == {"77": "SRC-1", "publicApi": "SRC-2"}
