"""Unique pairs (§8.3): 409 on POST and on a PATCH that would duplicate; deleted rows don't count."""

from __future__ import annotations

from support import create


def _post(api, resource_type, **attributes):
    return api.post(
        f"/{resource_type}", json={"data": {"type": resource_type, "attributes": attributes}}
    )


def test_duplicate_supplier_product_is_409_naming_the_pair(api):
    product, supplier = create(api, "products"), create(api, "suppliers")
    pair = {"productId": int(product["id"]), "supplierId": supplier["id"]}
    assert _post(api, "supplierProducts", name="A", **pair).status_code == 201

    response = _post(api, "supplierProducts", name="B", **pair)

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["status"] == "409" and error["code"] == "CONFLICT"
    assert error["detail"] == (
        f"SupplierProduct with supplierId {supplier['id']} and productId {product['id']} "
        "already exists"
    )
    listed = api.get(
        "/supplierProducts",
        params={"filter[supplierId]": supplier["id"], "filter[productId]": product["id"]},
    )
    assert len(listed.json()["data"]) == 1


def test_duplicate_product_composition_is_409(api):
    composed, part = create(api, "products"), create(api, "products")
    pair = {"composedProductId": composed["id"], "partProductId": part["id"], "partQuantity": 2}
    assert _post(api, "productCompositions", **pair).status_code == 201

    response = _post(api, "productCompositions", **pair)

    assert response.status_code == 409
    assert response.json()["errors"][0]["detail"] == (
        f"ProductComposition with composedProductId {composed['id']} and partProductId "
        f"{part['id']} already exists"
    )


def test_patch_into_an_existing_pair_is_409_and_changes_nothing(api):
    product = create(api, "products")
    first, second = create(api, "suppliers"), create(api, "suppliers")
    create(api, "supplierProducts", productId=int(product["id"]), supplierId=int(first["id"]))
    other = create(
        api, "supplierProducts", productId=int(product["id"]), supplierId=int(second["id"])
    )

    response = api.patch(
        f"/supplierProducts/{other['id']}",
        json={
            "data": {
                "type": "supplierProducts",
                "attributes": {"supplierId": int(first["id"]), "name": "renamed"},
            }
        },
    )

    assert response.status_code == 409
    assert api.get(f"/supplierProducts/{other['id']}").json()["data"] == other


def test_patch_keeping_its_own_pair_is_fine(api):
    sp = create(api, "supplierProducts")

    response = api.patch(
        f"/supplierProducts/{sp['id']}",
        json={
            "data": {
                "type": "supplierProducts",
                "attributes": {"productId": sp["attributes"]["productId"], "price": "3"},
            }
        },
    )

    assert response.status_code == 200


def test_recreating_after_delete_is_201(api):
    sp = create(api, "supplierProducts")
    pair = {k: sp["attributes"][k] for k in ("productId", "supplierId")}
    assert api.delete(f"/supplierProducts/{sp['id']}").status_code == 204

    response = _post(api, "supplierProducts", name="again", **pair)

    assert response.status_code == 201
    assert response.json()["data"]["id"] != sp["id"]


def test_the_same_pair_in_another_account_is_independent(api, server, new_login):
    with new_login(server).client() as other:
        theirs = create(other, "supplierProducts")
    mine = create(api, "supplierProducts")
    assert mine["attributes"]["productId"] != theirs["attributes"]["productId"]
