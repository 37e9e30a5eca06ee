"""Unique pairs (§8.3): 409 on POST and on a PATCH that would duplicate; deleted rows don't count."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
from sqlalchemy import insert, select

from optiply.resources import get as get_spec
from optiply.server.storage.repository import table_of
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


def test_a_pair_of_another_account_is_a_404_not_a_409(api, server, new_login):
    """The conflict check must not reveal another account's rows: their ids are not found."""
    with new_login(server).client() as other:
        theirs = create(other, "supplierProducts")
    pair = {k: theirs["attributes"][k] for k in ("productId", "supplierId")}

    response = _post(api, "supplierProducts", name="mine", **pair)

    assert response.status_code == 404, response.text
    assert {e["code"] for e in response.json()["errors"]} == {"REFERENCE_NOT_FOUND"}


def test_a_duplicate_that_slips_past_the_check_is_a_409(api, server, login):
    """Another writer's uncommitted row (e.g. a bulk load that bypasses the API) is invisible
    to the application's check; the unique index catches it when that writer commits, and the
    answer is still 409, never 500 (PostgreSQL waits on the index; SQLite on the write lock)."""
    sp = create(api, "supplierProducts")
    pair = {k: sp["attributes"][k] for k in ("productId", "supplierId")}
    assert api.delete(f"/supplierProducts/{sp['id']}").status_code == 204
    table = table_of(get_spec("supplierProducts"))
    with server.engine.connect() as writer:
        transaction = writer.begin()
        row = {
            column: value
            for column, value in writer.execute(select(table).where(table.c.id == int(sp["id"])))
            .mappings()
            .one()
            .items()
            if column != "id"
        }
        writer.execute(insert(table).values({**row, "deleted_at": None, "uuid": str(uuid.uuid4())}))
        answer: list[httpx.Response] = []
        poster = threading.Thread(
            target=lambda: answer.append(_post(api, "supplierProducts", name="twin", **pair))
        )
        poster.start()
        time.sleep(0.5)  # the POST is waiting (index or write lock), or has checked already
        transaction.commit()
        poster.join(30)

    assert answer and answer[0].status_code == 409, answer and answer[0].text
    listed = api.get("/supplierProducts", params={"filter[productId]": pair["productId"]}).json()
    assert listed["meta"]["totalResourceCount"] == 1
