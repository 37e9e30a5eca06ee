"""Response documents exactly as §4.1-§4.4 and §4.6 describe them."""

from __future__ import annotations

import re

import pytest

from optiply.resources import REGISTRY, Kind
from support import create


def test_single_resource_document_shape(api, login):
    product = create(api, "products", price="10", skuCode=None)

    assert product["id"].isdigit()
    attributes = product["attributes"]
    assert attributes["price"] == "10.00"  # decimals: strings with two places
    assert attributes["skuCode"] is None  # explicit nulls
    assert attributes["accountId"] == login.account_id  # integer foreign keys
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", attributes["createdAt"])
    assert product["links"]["self"] == f"{login.url}/v1/products/{product['id']}"


def test_datetimes_are_utc_with_z_and_fractions_only_when_stored(api):
    whole = create(api, "sellOrders", placed="2024-03-05T12:00:00+02:00")
    fraction = create(api, "sellOrders", placed="2024-03-05T10:00:00.25Z")
    naive = create(api, "sellOrders", placed="2024-03-05T10:00:00")
    date_only = create(api, "sellOrders", placed="2024-03-05")

    assert whole["attributes"]["placed"] == "2024-03-05T10:00:00Z"
    assert fraction["attributes"]["placed"] == "2024-03-05T10:00:00.250000Z"
    assert naive["attributes"]["placed"] == "2024-03-05T10:00:00Z"
    assert date_only["attributes"]["placed"] == "2024-03-05T00:00:00Z"


def test_reference_attributes_are_integers_with_uuid_twins(api):
    line = create(api, "buyOrderLines")
    attributes = line["attributes"]

    for name in ("buyOrderId", "productId"):
        assert isinstance(attributes[name], int)
        target = "buyOrders" if name == "buyOrderId" else "products"
        referenced = api.get(f"/{target}/{attributes[name]}").json()["data"]
        assert attributes[name.replace("Id", "Uuid")] == referenced["attributes"]["uuid"]


def test_relationship_links_are_absolute_and_work(api, login):
    line = create(api, "buyOrderLines")
    relationships = line["relationships"]
    assert set(relationships) == {"buyOrder", "product", "receiptLines"}

    base = f"{login.url}/v1/buyOrderLines/{line['id']}"
    product = relationships["product"]["links"]
    assert product == {"self": f"{base}/relationships/product", "related": f"{base}/product"}
    related = api.get(product["related"]).json()["data"]
    assert related["id"] == str(line["attributes"]["productId"])
    assert related["type"] == "products"
    identifiers = api.get(product["self"]).json()["data"]
    assert identifiers == {"type": "products", "id": related["id"]}

    receipt = create(api, "receiptLines", buyOrderLineId=int(line["id"]))
    receipts = api.get(relationships["receiptLines"]["links"]["related"]).json()
    assert [row["id"] for row in receipts["data"]] == [receipt["id"]]
    assert receipts["meta"]["totalResourceCount"] == 1
    listed = api.get(relationships["receiptLines"]["links"]["self"]).json()["data"]
    assert listed == [{"type": "receiptLines", "id": receipt["id"]}]


def test_every_declared_relationship_has_a_working_related_endpoint(api):
    line = create(api, "buyOrderLines")
    order_id = line["attributes"]["buyOrderId"]
    order = api.get(f"/buyOrders/{order_id}").json()["data"]
    for resource in (line, order):
        for name, relationship in resource["relationships"].items():
            response = api.get(relationship["links"]["related"])
            assert response.status_code == 200, (resource["type"], name, response.text)


def test_unknown_relationship_is_404(api):
    product = create(api, "products")

    response = api.get(f"/products/{product['id']}/nothing")

    assert response.status_code == 404
    assert response.json()["errors"][0]["status"] == "404"


def test_list_links_are_absolute_keep_parameters_and_count(api, login):
    for _ in range(5):
        create(api, "products", name="Mug")

    response = api.get(
        "/products",
        params={
            "filter[name]": "Mug",
            "sort": "-id",
            "page[limit]": "2",
            "page[offset]": "2",
            "couplingId": "7",
        },
    )

    document = response.json()
    assert document["meta"] == {"totalResourceCount": 5}
    links = document["links"]
    base = f"{login.url}/v1/products?filter[name]=Mug&sort=-id&couplingId=7&page[limit]=2"
    next_link = links.pop("next")
    assert links == {
        "first": f"{base}&page[offset]=0",
        "last": f"{base}&page[offset]=4",
        "prev": f"{base}&page[offset]=0",
    }
    assert next_link.startswith(f"{base}&page[offset]=4&page[after]=")
    followed = api.get(next_link).json()
    assert len(followed["data"]) == 1 and followed["links"]["next"] is None


def test_following_next_visits_every_row_once(api):
    created = {create(api, "suppliers")["id"] for _ in range(7)}

    seen: list[str] = []
    url: str | None = "/suppliers?page[limit]=3"
    while url:
        document = api.get(url).json()
        seen.extend(row["id"] for row in document["data"])
        url = document["links"]["next"]

    assert sorted(seen, key=int) == sorted(created, key=int)


def test_offset_past_the_end_gives_an_empty_page(api):
    create(api, "products")

    response = api.get("/products", params={"page[limit]": "10", "page[offset]": "50"})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["totalResourceCount"] == 1


def test_default_page_size_is_50(api):
    for _ in range(51):
        api.post(
            "/products",
            json={"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1}}},
        )

    document = api.get("/products").json()

    assert len(document["data"]) == 50
    assert document["meta"]["totalResourceCount"] == 51
    assert "page[limit]=50&page[offset]=50&page[after]=" in document["links"]["next"]


def test_write_only_attributes_are_never_rendered(api):
    order = create(
        api,
        "sellOrders",
        remoteId="R1",
        orderLines=[
            {"productId": int(create(api, "products")["id"]), "quantity": 1, "subtotalValue": 1}
        ],
    )

    assert "orderLines" not in order["attributes"]
    assert "remoteId" not in order["attributes"]
    assert order["attributes"]["remoteIdMap"] == {"publicApi": "R1"}


def test_json_types_follow_the_registry(api):
    """Every readable attribute of every type renders with the JSON type its kind prescribes."""
    line = create(api, "buyOrderLines")
    product = api.get(f"/products/{line['attributes']['productId']}").json()["data"]
    expected = {
        Kind.STRING: (str, type(None)),
        Kind.INTEGER: (int, type(None)),
        Kind.REFERENCE: (int, type(None)),
        Kind.DECIMAL: (str, type(None)),
        Kind.BOOLEAN: (bool, type(None)),
        Kind.DATETIME: (str, type(None)),
        Kind.UUID: (str, type(None)),
        Kind.ENUM: (str, type(None)),
        Kind.EMAILS: (list, type(None)),
        Kind.OBJECT: (dict, type(None)),
    }
    specs = {spec.type: spec for spec in REGISTRY}
    for resource in (line, product):
        for attribute in specs[resource["type"]].readable:
            value = resource["attributes"][attribute.name]
            assert isinstance(value, expected[attribute.kind]), attribute.name
            if not attribute.nullable:
                assert value is not None, attribute.name


def test_responses_use_the_json_api_media_type(api):
    assert api.get("/products").headers["content-type"] == "application/vnd.api+json"
    assert api.get("/products/999999999").headers["content-type"] == "application/vnd.api+json"


def test_links_use_the_configured_public_url(start_server, new_login):
    live = start_server(public_url="https://api.example.com")
    login = new_login(live)
    with login.client() as api:
        product = create(api, "products")
    assert product["links"]["self"].startswith("https://api.example.com/v1/products/")


TO_MANY = [
    pytest.param(spec.type, relationship, id=f"{spec.type}.{relationship.name}")
    for spec in REGISTRY
    for relationship in spec.relationships
    if relationship.to_many
]


@pytest.mark.parametrize(("parent_type", "relationship"), TO_MANY)
def test_a_to_many_related_endpoint_lists_exactly_the_parents_children(
    api, parent_type, relationship
):
    """Two parents with two children each (and a stray row): each related endpoint lists its
    own two, the relationship endpoint their identifiers, nothing of the other parent's."""
    parents = [create(api, parent_type)["id"] for _ in range(2)]
    children = {
        parent: sorted(
            int(create(api, relationship.target, **{relationship.attribute: int(parent)})["id"])
            for _ in range(2)
        )
        for parent in parents
    }
    create(api, relationship.target)  # a child of neither

    for parent, expected in children.items():
        base = f"/{parent_type}/{parent}"
        related = api.get(f"{base}/{relationship.name}").json()
        identifiers = api.get(f"{base}/relationships/{relationship.name}").json()

        assert sorted(int(row["id"]) for row in related["data"]) == expected
        assert {row["type"] for row in related["data"]} == {relationship.target}
        assert related["meta"]["totalResourceCount"] == 2
        assert sorted(int(row["id"]) for row in identifiers["data"]) == expected
