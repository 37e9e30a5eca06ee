"""Which streams the target writes, in what order, and what is special about each.

One row per writable type of the registry (``optiply.resources.REGISTRY``, the types that take a
POST). A row carries the Singer stream name, the dependency level (a level's records need ids
from earlier levels only), and every rule the writer applies to that type alone:

========================  ==============================================================
rule                      meaning
========================  ==============================================================
``soft_delete``           the PATCH body a delete sends (``delete_mode: soft``, the
                          default); ``None``: a delete is a DELETE
``recreate_on_404``       a PATCH answered 404 re-creates the row (POST) instead of failing
                          (``on_patch_not_found`` overrides per stream)
``create_defaults``       attributes a POST sends when the record lacks them (never a PATCH)
``total_from_lines``      an order total summed from its lines' ``subtotalValue`` when absent
``adopt_on_409``          the unique pair a 409 is resolved by: GET by the pair, adopt
``read_back_key``         the attributes an ambiguous POST is read back by (required and
                          filterable)
``read_back_by_source_id`` a read-back row is the record's when its ``remoteIdMap`` holds
                          the record's ``externalId`` (when remoteId was sent); else only
                          a unique key (``adopt_on_409``) tells, and without one the
                          POST is sent again
========================  ==============================================================

Everything but the explicit rules in ``_RULES`` is derived from the registry.

>>> STREAMS["Suppliers"].soft_delete
{'ignored': True}
>>> [stream.name for stream in LEVELS[0]]
['Products', 'Suppliers', 'Promotions']
>>> match_stream("supplier_products").name
'SupplierProducts'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optiply.resources import REGISTRY, Kind, ResourceSpec, get


@dataclass(frozen=True)
class Rules:
    """The rules one type has that others do not (the explicit part of a row)."""

    soft_delete: Mapping[str, Any] | None = None
    recreate_on_404: bool = False
    create_defaults: Mapping[str, Any] = field(default_factory=dict)


# integrator-needs §2.2 step 5 (re-create on 404) and §2.5 (soft deletes). Create defaults are
# sent on POST when the record lacks them, never on PATCH: the hosted API treats
# unlimitedStock as required on create, and sending a default on PATCH would reset what a user
# set in Optiply (integrator-needs §2.6, TGT-M 7f408c3).
_RULES: dict[str, Rules] = {
    "products": Rules(
        soft_delete={"status": "disabled"}, create_defaults={"unlimitedStock": False}
    ),
    "suppliers": Rules(soft_delete={"ignored": True}),
    "supplierProducts": Rules(soft_delete={"status": "disabled"}, recreate_on_404=True),
}


@dataclass(frozen=True)
class Stream:
    """One writable type as a Singer stream, with its rules."""

    spec: ResourceSpec
    name: str  # PascalCase: Products, SupplierProducts
    level: int
    soft_delete: Mapping[str, Any] | None
    recreate_on_404: bool
    create_defaults: Mapping[str, Any]
    total_from_lines: str | None
    adopt_on_409: tuple[str, ...] | None
    read_back_key: tuple[str, ...]
    read_back_by_source_id: bool

    @property
    def type(self) -> str:
        """The JSON:API type (``supplierProducts``)."""
        return self.spec.type


def stream_name(spec: ResourceSpec) -> str:
    """The PascalCase Singer stream name of a type.

    >>> stream_name(get("supplierProducts"))
    'SupplierProducts'
    """
    return spec.type[0].upper() + spec.type[1:]


WRITABLE: tuple[ResourceSpec, ...] = tuple(spec for spec in REGISTRY if "POST" in spec.methods)


def _parents(spec: ResourceSpec) -> set[str]:
    """The writable types whose ids ``spec``'s records need: referenced types, the lines an
    order embeds (their products), and the order whose POST creates a referenced line."""
    creators = {s.embedded.target: s.type for s in WRITABLE if s.embedded is not None}
    targets = {a.references for a in spec.references if a.references is not None}
    if spec.embedded is not None:
        line = get(spec.embedded.target)
        targets |= {a.references for a in line.references if a.references is not None}
        targets.discard(spec.type)
    targets |= {creators[t] for t in targets if t in creators}
    return {t for t in targets if t in {s.type for s in WRITABLE} and t != spec.type}


def _depths() -> dict[str, int]:
    depth: dict[str, int] = {}

    def level(spec: ResourceSpec) -> int:
        if spec.type not in depth:
            depth[spec.type] = 1 + max((level(get(p)) for p in _parents(spec)), default=-1)
        return depth[spec.type]

    for spec in WRITABLE:
        level(spec)
    return depth


def _row(spec: ResourceSpec, level: int) -> Stream:
    rules = _RULES.get(spec.type, Rules())
    return Stream(
        spec=spec,
        name=stream_name(spec),
        level=level,
        soft_delete=rules.soft_delete,
        recreate_on_404=rules.recreate_on_404,
        create_defaults=rules.create_defaults,
        total_from_lines=(
            "totalValue"
            if spec.embedded is not None and spec.attribute("totalValue") is not None
            else None
        ),
        adopt_on_409=spec.unique[0].attributes if spec.unique else None,
        read_back_key=tuple(
            attribute.name
            for attribute in spec.attributes
            if attribute.required and attribute.filterable and attribute.kind is not Kind.LINES
        ),
        read_back_by_source_id=spec.attribute("remoteIdMap") is not None,
    )


_DEPTHS = _depths()
# Stream name -> row, in registry order.
STREAMS: dict[str, Stream] = {stream_name(s): _row(s, _DEPTHS[s.type]) for s in WRITABLE}
BY_TYPE: dict[str, Stream] = {stream.type: stream for stream in STREAMS.values()}
# Streams by dependency level: the streams of one level are written at the same time.
LEVELS: tuple[tuple[Stream, ...], ...] = tuple(
    tuple(stream for stream in STREAMS.values() if stream.level == n)
    for n in range(1 + max(_DEPTHS.values()))
)
assert set(_RULES) <= set(BY_TYPE), "a rule for a type that is not writable"


def match_stream(name: str) -> Stream | None:
    """The row of a stream name, case-insensitively, ignoring ``_`` and ``-``.

    >>> match_stream("Countries") is None
    True
    """
    key = name.replace("_", "").replace("-", "").lower()
    return next((s for s in STREAMS.values() if s.type.lower() == key), None)


def of(spec: ResourceSpec) -> Stream:
    """The row of a writable type."""
    return BY_TYPE[spec.type]
