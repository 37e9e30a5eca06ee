"""A demo shop is what the API would hold had its importer POSTed it (issue 12, section 1):
read back through a live server on SQLite and PostgreSQL, every row validates against the
registry, PATCHing a row's own values changes nothing but ``updatedAt``, and POSTing a row's
values makes the same row."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from demo_support import TYPES, Shop, load_small, read_all

from optiply.resources import Access, Kind, get
from optiply.resources.types import accept, format_datetime, format_decimal, parse_datetime
from optiply.server import demo

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")


def wire(attribute: Any, value: Any) -> Any:
    """A canonical value in its JSON form (what the API renders)."""
    if attribute.kind is Kind.DATETIME:
        return format_datetime(value)
    if attribute.kind is Kind.DECIMAL:
        return format_decimal(value)
    return value


@pytest.mark.parametrize("resource_type", TYPES)
def test_every_row_reads_back_valid_against_the_registry(shop: Shop, resource_type: str):
    spec = get(resource_type)
    rows = shop.rows(resource_type)
    account_uuid = shop.rows("products")[0]["attributes"]["accountUuid"]

    assert len(rows) == shop.loaded.counts[resource_type] > 0
    for row in rows:
        attributes = row["attributes"]
        assert set(attributes) == {a.name for a in spec.readable}, row["id"]
        for attribute in spec.readable:
            value = attributes[attribute.name]
            if value is None:
                assert attribute.nullable, (row["id"], attribute.name)
            elif attribute.writable_on_create and attribute.kind is not Kind.REFERENCE:
                read = accept(attribute, value)  # the API takes it as input, unchanged
                assert wire(attribute, read) == value, (row["id"], attribute.name)
            elif attribute.kind is Kind.REFERENCE:
                assert isinstance(value, int) and value > 0
            elif attribute.kind is Kind.UUID:
                assert UUID.fullmatch(value), (row["id"], attribute.name, value)
            elif attribute.kind is Kind.DATETIME:
                assert DATETIME.fullmatch(value), (row["id"], attribute.name, value)
        assert attributes["createdFromPublicApi"] is False
        assert list(attributes["remoteIdMap"]) == [demo.DEMO_COUPLING]
        assert attributes["createdAt"] <= attributes["updatedAt"]
        if spec.has_account:
            assert attributes["accountUuid"] == account_uuid
    remote_ids = [row["attributes"]["remoteIdMap"]["demo"] for row in rows]
    assert len(set(remote_ids)) == len(remote_ids)
    uuids = [row["attributes"]["uuid"] for row in rows]
    assert len(set(uuids)) == len(uuids)


@pytest.mark.parametrize("resource_type", TYPES)
def test_references_and_their_uuids_point_at_rows_of_the_shop(shop: Shop, resource_type: str):
    spec = get(resource_type)
    for reference in spec.references:
        if reference.access is Access.HIDDEN or reference.name == "accountId":
            continue
        assert reference.references is not None
        targets = shop.by_id(reference.references)
        twin = reference.name.removesuffix("Id") + "Uuid"
        for row in shop.rows(resource_type):
            target = targets[str(row["attributes"][reference.name])]
            assert row["attributes"][twin] == target["uuid"]


@pytest.mark.parametrize("resource_type", TYPES)
def test_a_patch_of_a_rows_own_values_answers_200_and_changes_only_updated_at(
    shop: Shop, resource_type: str
):
    spec = get(resource_type)
    rows = shop.rows(resource_type)
    sample = [rows[0], rows[-1], *random.Random(resource_type).sample(rows, min(3, len(rows)))]
    writable = [a.name for a in spec.readable if a.writable_on_update]
    with shop.login.client() as api:
        for row in sample:
            before = api.get(f"/{resource_type}/{row['id']}").json()["data"]["attributes"]
            own = {name: before[name] for name in writable}
            body = {"data": {"type": resource_type, "id": row["id"], "attributes": own}}

            response = api.patch(f"/{resource_type}/{row['id']}", json=body)

            assert response.status_code == 200, response.text
            after = response.json()["data"]["attributes"]
            assert after["updatedAt"] > before["updatedAt"]  # the API bumps it on every PATCH
            assert {**after, "updatedAt": None} == {**before, "updatedAt": None}
            assert api.get(f"/{resource_type}/{row['id']}").json()["data"]["attributes"] == after


def _posted(api: Any, spec_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        f"/{spec_type}?couplingId=demo",
        json={"data": {"type": spec_type, "attributes": attributes}},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


COMPUTED = {"expectedDeliveryDate"}  # what the server computes when a POST leaves it out


def _input(spec_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """What an importer POSTs for a row: its writable values (but those the server computes)
    and its remote id."""
    spec = get(spec_type)
    values = {
        a.name: attributes[a.name]
        for a in spec.readable
        if a.writable_on_create and a.name not in COMPUTED
    }
    values["remoteId"] = attributes["remoteIdMap"]["demo"]
    return values


_SERVER_SET = {"uuid", "createdAt", "updatedAt", "createdFromPublicApi"}


@pytest.fixture(scope="module")
def own_shop(server):
    """A small shop of its own: POSTing rows again changes its stock and counts."""
    return load_small(server, seed=11)


@pytest.mark.parametrize(
    "resource_type",
    ["products", "suppliers", "supplierProducts", "productCompositions", "promotions",
     "promotionProducts", "receiptLines"],
)  # fmt: skip
def test_posting_a_rows_values_makes_the_same_row(own_shop: Shop, resource_type: str):
    demo_row = own_shop.rows(resource_type)[-1]
    spec = get(resource_type)
    with own_shop.login.client() as api:
        if spec.unique:  # a second live pair would be a 409: make room for it
            assert api.delete(f"/{resource_type}/{demo_row['id']}").status_code == 204

        posted = _posted(api, resource_type, _input(resource_type, demo_row["attributes"]))

    expected = dict(demo_row["attributes"])
    made = posted["data"]["attributes"]
    if resource_type == "promotions":  # the new promotion has no products yet
        expected["productCount"] = 0
    assert {k: v for k, v in made.items() if k not in _SERVER_SET} == {
        k: v for k, v in expected.items() if k not in _SERVER_SET
    }


@pytest.mark.parametrize("order_type", ["sellOrders", "buyOrders"])
def test_posting_an_orders_values_with_its_lines_makes_the_same_rows(
    own_shop: Shop, order_type: str
):
    """Orders go in with their lines embedded, as importers send them: the server computes
    ``expectedDeliveryDate`` of the buy order and its lines as the demo rows have it."""
    spec = get(order_type)
    assert spec.embedded is not None
    line_type, parent = spec.embedded.target, spec.embedded.parent_attribute
    with own_shop.login.client() as api:
        newest = api.get(f"/{order_type}?sort=-id&page[limit]=50").json()["data"]
        order = next(row for row in newest if row["attributes"]["completed"])
        lines = read_all(api, line_type, f"filter[{parent}]={order['id']}")
    values = _input(order_type, order["attributes"])
    values["orderLines"] = [
        {k: v for k, v in _input(line_type, line["attributes"]).items() if k != parent}
        for line in lines
    ]
    with own_shop.login.client() as api:
        posted = _posted(api, order_type, values)
        made_lines = [
            api.get(f"/{line_type}/{line_id}").json()["data"]["attributes"]
            for line_id in posted["meta"]["orderLineIds"]
        ]

    def server_set(attributes: dict[str, Any], *more: str) -> dict[str, Any]:
        return {k: v for k, v in attributes.items() if k not in _SERVER_SET | set(more)}

    assert server_set(posted["data"]["attributes"]) == server_set(order["attributes"])
    assert len(made_lines) == len(lines) > 0
    for made, line in zip(made_lines, lines, strict=True):
        assert server_set(made, parent, parent.removesuffix("Id") + "Uuid") == server_set(
            line["attributes"], parent, parent.removesuffix("Id") + "Uuid"
        )


def test_the_datetime_shortcut_of_the_checks_holds():
    """``rows._check_value`` trusts that a UTC datetime's JSON form reads back as itself."""
    rng = random.Random(1)
    for _ in range(5000):
        value = datetime.fromtimestamp(rng.randint(-(10**10), 10**11), UTC)
        value = value.replace(microsecond=rng.choice((0, rng.randint(0, 999_999))))
        assert parse_datetime(format_datetime(value)) == value
