"""Races between workers: a child created while its parent is deleted never outlives it, and
concurrent writes under one parent neither deadlock nor answer 5xx.

These run against ``optiply serve --workers 2`` on the database of each backend: one worker's
event loop serialises requests and would hide every race. Threads are released together by a
barrier, one deleting the parent and the others creating children of it; every cascade pair of
the registry is raced. After each round the parent is gone and no live child points at it:
each child was either created first (and cascaded) or answered 404.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live import LiveServer, Login, make_login
from optiply.resources import REGISTRY, Kind, ResourceSpec
from optiply.resources import get as get_spec
from support import SAMPLE, SPECIAL

ROUNDS = 6
THREADS = 8

CASCADES = [
    pytest.param(
        spec.type,
        relationship.target,
        relationship.attribute,
        id=f"{spec.type}-{relationship.target}.{relationship.attribute}",
    )
    for spec in REGISTRY
    for relationship in spec.relationships
    if relationship.cascade
]


@pytest.fixture
def racer(server: LiveServer, two_workers: str) -> Iterator[Login]:
    """A login whose token is used against the two-worker server (same database)."""
    yield make_login(server)


def build(api: httpx.Client, resource_type: str, **given: Any) -> int:
    """Create a row of ``resource_type`` (and whatever it needs) through the API."""
    spec = get_spec(resource_type)
    body = {**required(api, spec, given), **given}
    response = api.post(
        f"/{resource_type}", json={"data": {"type": resource_type, "attributes": body}}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["id"])


def required(api: httpx.Client, spec: ResourceSpec, given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in spec.attributes:
        if not attribute.required or attribute.name in given:
            continue
        if attribute.kind is Kind.REFERENCE:
            assert attribute.references
            values[attribute.name] = build(api, attribute.references)
        else:
            values[attribute.name] = SPECIAL.get(attribute.name, SAMPLE.get(attribute.kind))
    return values


def race(actions: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the actions on one thread each, released together; their responses in order."""
    barrier = threading.Barrier(len(actions))
    responses: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            responses[index] = actions[index]()
        except BaseException as error:  # reported below, with the others
            responses[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failures = [r for r in responses if isinstance(r, BaseException)]
    assert not failures, failures
    return [r for r in responses if isinstance(r, httpx.Response)]


@pytest.mark.parametrize(("parent_type", "child_type", "attribute"), CASCADES)
def test_a_child_created_while_its_parent_is_deleted_never_outlives_it(
    racer: Login,
    two_workers: str,
    tmp_path: Path,
    parent_type: str,
    child_type: str,
    attribute: str,
):
    clients = [racer.client(url=two_workers, timeout=30) for _ in range(THREADS)]
    api = clients[0]
    child_spec = get_spec(child_type)
    outcomes: dict[int, int] = {}
    for _ in range(ROUNDS):
        parent = build(api, parent_type)
        # everything else the child needs exists already: only the parent is raced
        others = required(api, child_spec, {attribute: parent})
        if child_type == "productCompositions":  # a product is not a part of itself
            others = {**others, **{a: build(api, "products") for a in others}}
        bodies = [
            {"data": {"type": child_type, "attributes": {**others, attribute: parent}}}
            for _ in range(THREADS - 1)
        ]
        if child_type in ("supplierProducts", "productCompositions", "promotionProducts"):
            # unique pairs: each creator needs its own partner row
            partner = next(
                a.name for a in child_spec.references if a.name != attribute and a.required
            )
            target = child_spec.attribute(partner).references
            for body in bodies:
                body["data"]["attributes"][partner] = build(api, target)
        actions: list[Callable[[], httpx.Response]] = [
            lambda url=f"/{parent_type}/{parent}": clients[0].delete(url)
        ]
        actions += [
            (lambda c, b: lambda: c.post(f"/{child_type}", json=b))(clients[i + 1], bodies[i])
            for i in range(THREADS - 1)
        ]

        responses = race(actions)

        statuses = [r.status_code for r in responses]
        assert statuses[0] == 204, responses[0].text
        assert all(s in (201, 404) for s in statuses[1:]), [
            r.text for r in responses if r.status_code >= 500
        ]
        for status in statuses[1:]:
            outcomes[status] = outcomes.get(status, 0) + 1
        assert api.get(f"/{parent_type}/{parent}").status_code == 404
        live = api.get(f"/{child_type}", params={f"filter[{attribute}]": parent}).json()
        assert live["data"] == [], f"live {child_type} under deleted {parent_type} {parent}"
    for c in clients:
        c.close()
    assert sum(outcomes.values()) == ROUNDS * (THREADS - 1)


@pytest.mark.parametrize(
    ("parent_type", "child_type", "attribute"),
    [
        ("promotions", "promotionProducts", "promotionId"),
        ("buyOrders", "buyOrderLines", "buyOrderId"),
        ("sellOrders", "sellOrderLines", "sellOrderId"),
    ],
)
def test_concurrent_children_of_one_parent_all_land(
    racer: Login, two_workers: str, parent_type: str, child_type: str, attribute: str
):
    clients = [racer.client(url=two_workers, timeout=30) for _ in range(THREADS)]
    api = clients[0]
    spec = get_spec(child_type)
    for _ in range(ROUNDS):
        parent = build(api, parent_type)
        bodies = []
        for _ in range(THREADS):
            attributes = {**required(api, spec, {attribute: parent}), attribute: parent}
            bodies.append({"data": {"type": child_type, "attributes": attributes}})
        responses = race(
            [
                (lambda c, b: lambda: c.post(f"/{child_type}", json=b))(clients[i], bodies[i])
                for i in range(THREADS)
            ]
        )
        assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses]
        children = api.get(f"/{child_type}", params={f"filter[{attribute}]": parent}).json()
        assert children["meta"]["totalResourceCount"] == THREADS
        if parent_type == "promotions":
            promotion = api.get(f"/promotions/{parent}").json()["data"]["attributes"]
            assert promotion["productCount"] == THREADS
    for c in clients:
        c.close()
