"""The registry is internally consistent: every name resolves, every rule fits its type."""

from __future__ import annotations

import pytest

from optiply.resources import REGISTRY, Access, Kind, find

IDS = [spec.type for spec in REGISTRY]
TYPES = {
    "accounts",
    "products",
    "suppliers",
    "supplierProducts",
    "sellOrders",
    "sellOrderLines",
    "buyOrders",
    "buyOrderLines",
    "receiptLines",
    "productCompositions",
    "promotions",
    "promotionProducts",
}


def test_the_twelve_resources_of_the_public_api():
    assert {spec.type for spec in REGISTRY} == TYPES
    assert len({spec.table for spec in REGISTRY}) == 12


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_every_resource_has_the_common_attributes(spec):
    for name in ("id", "uuid", "createdAt", "updatedAt"):
        assert spec.attribute(name) is not None
    if "POST" in spec.methods:
        for name in ("remoteId", "remoteIdMap", "remoteDataSyncedToDate", "createdFromPublicApi"):
            assert spec.attribute(name) is not None, name
        assert spec.attribute("accountId") is not None


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_references_resolve_and_have_uuid_twins(spec):
    for attribute in spec.references:
        assert find(attribute.references or "") is not None, attribute.name
        if attribute.access is not Access.HIDDEN:
            twin = spec.attribute(attribute.name.removesuffix("Id") + "Uuid")
            assert twin is not None and twin.kind is Kind.UUID and twin.access is Access.READ_ONLY


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_relationships_resolve(spec):
    for relationship in spec.relationships:
        target = find(relationship.target)
        assert target is not None
        holder = target if relationship.to_many else spec
        attribute = holder.attribute(relationship.attribute)
        assert attribute is not None and attribute.kind is Kind.REFERENCE
        assert attribute.references == (spec.type if relationship.to_many else target.type)
        assert not relationship.cascade or relationship.to_many


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_parents_unique_pairs_and_embedded_lines_resolve(spec):
    if spec.parent:
        parent = spec.attribute(spec.parent)
        assert parent is not None and parent.kind is Kind.REFERENCE and parent.required
    for unique in spec.unique:
        assert all(spec.attribute(name) for name in unique.attributes)
    if spec.embedded:
        line = find(spec.embedded.target)
        assert line is not None and line.parent == spec.embedded.parent_attribute


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_attribute_rules_fit_their_kind(spec):
    for attribute in spec.attributes:
        if attribute.choices:
            assert attribute.kind is Kind.ENUM
            assert attribute.default is None or attribute.default in attribute.choices
        if attribute.integer_digits:
            assert attribute.kind is Kind.DECIMAL
        if attribute.required:
            assert not attribute.nullable and attribute.access is Access.WRITABLE
        if not attribute.nullable and attribute.access is Access.WRITABLE:
            assert attribute.required or attribute.default is not None, attribute.name


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_attributes_fit_in_one_json_object_call(spec):
    # SQLite allows 127 function arguments, PostgreSQL 100: one name and one value each.
    assert 2 * len(spec.readable) <= 100
