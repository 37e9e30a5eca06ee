"""Request documents to validated input (§3.3-§3.6, Q10), every error with its pointer.

The result maps attribute names to canonical values and holds only what the client sent, so a
PATCH can tell an absent attribute from an explicit null. Unknown and read-only attributes are
ignored; every problem of a document is reported in one response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.resources import Access, Attribute, Kind, ResourceSpec
from optiply.resources import get as get_spec
from optiply.resources.types import IGNORED, InvalidValue, accept
from optiply.server.service.errors import DomainError

ATTRIBUTES = "/data/attributes"
# Kinds Jackson parses from text or numbers and fails on with a 500 (reference §3.3).
_HOSTED_PARSES = frozenset({Kind.INTEGER, Kind.REFERENCE, Kind.DECIMAL, Kind.DATETIME})


@dataclass(slots=True)
class Input:
    """Validated attributes of a request and, for orders, their embedded lines."""

    values: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)


def parse_document(body: bytes, spec: ResourceSpec, *, row_id: int | None = None) -> Input:
    """Validate a POST (``row_id`` None) or PATCH document for ``spec``."""
    return parse_data(_data(load(body)), spec, creating=row_id is None, row_id=row_id)


def parse_data(
    data: dict[str, Any], spec: ResourceSpec, *, creating: bool, row_id: int | None = None
) -> Input:
    """Validate the resource object ``data`` of a POST (``creating``) or PATCH for ``spec``;
    ``data.id``, when sent, must be ``row_id`` (when given). Pointers start at ``/data``."""
    problems: list[Problem] = []
    sent_type = data.get("type")
    if sent_type != spec.type:
        problems.append(
            _invalid(
                "/data/type",
                f"data.type must be {spec.type!r}, got {sent_type!r}",
                ErrorCode.INVALID_DOCUMENT,
            )
        )
    if row_id is not None and "id" in data and str(data["id"]) != str(row_id):
        problems.append(
            _invalid(
                "/data/id",
                f"data.id {data['id']!r} does not match the id {row_id} in the URL",
                ErrorCode.INVALID_DOCUMENT,
            )
        )
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        problems.append(
            _invalid(ATTRIBUTES, "data.attributes must be an object", ErrorCode.INVALID_DOCUMENT)
        )
        attributes = {}
    parsed = Input()
    problems.extend(_attributes(spec, attributes, creating, ATTRIBUTES, parsed.values))
    if creating and spec.embedded is not None:
        lines = attributes.get(spec.embedded.attribute)
        problems.extend(_lines(spec, lines, parsed.lines))
    if problems:
        raise DomainError(*problems)
    return parsed


def load(body: bytes) -> Any:
    """The JSON value of a request body (integers beyond 64 bits included).

    Raises:
        DomainError: 400 ``INVALID_DOCUMENT`` when it is not JSON.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:  # orjson refuses integers beyond 64 bits; the stdlib parses them, so rules can say why
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise DomainError(
            _invalid("", "the request body is not valid JSON", ErrorCode.INVALID_DOCUMENT)
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _data(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise DomainError(
            _invalid("", "the request body must be a JSON object", ErrorCode.INVALID_DOCUMENT)
        )
    data = document.get("data")
    if not isinstance(data, dict):
        raise DomainError(
            _invalid("/data", "data must be a resource object", ErrorCode.INVALID_DOCUMENT)
        )
    return data


def _settable(attribute: Attribute, creating: bool) -> bool:
    if attribute.kind is Kind.LINES or attribute.access is Access.HIDDEN:
        return False
    return attribute.writable_on_create if creating else attribute.writable_on_update


def _attributes(
    spec: ResourceSpec,
    attributes: dict[str, Any],
    creating: bool,
    pointer: str,
    out: dict[str, Any],
    skip: str | None = None,
) -> list[Problem]:
    problems = []
    failed = set()
    for key, value in attributes.items():
        attribute = spec.attribute(key)
        if attribute is None or attribute.name == skip or not _settable(attribute, creating):
            continue  # Q10: unknown and read-only attributes are ignored
        if key != attribute.name and attribute.name in attributes:
            continue  # the canonical name wins over an alias
        try:
            parsed = accept(attribute, value)
        except InvalidValue as error:
            failed.add(attribute.name)
            problem = _invalid(f"{pointer}/{key}", str(error))
            if attribute.kind in _HOSTED_PARSES and isinstance(value, str | float):
                problem = replace(problem, fails_hosted=True)
            problems.append(problem)
            continue
        if parsed is not IGNORED:
            out[attribute.name] = parsed
    if creating:
        for attribute in spec.attributes:
            missing = attribute.name not in out and attribute.name not in failed
            if attribute.required and missing and attribute.name != skip:
                problems.append(
                    _invalid(
                        f"{pointer}/{attribute.name}",
                        f"{attribute.name} is required",
                        ErrorCode.REQUIRED,
                    )
                )
    return problems


def _lines(spec: ResourceSpec, lines: Any, out: list[dict[str, Any]]) -> list[Problem]:
    assert spec.embedded is not None
    pointer = f"{ATTRIBUTES}/{spec.embedded.attribute}"
    if lines is None:
        return []
    if not isinstance(lines, list):
        return [_invalid(pointer, f"{spec.embedded.attribute} must be an array of line objects")]
    line_spec = get_spec(spec.embedded.target)
    problems = []
    for index, line in enumerate(lines):
        if isinstance(line, dict) and isinstance(line.get("attributes"), dict):
            line = line["attributes"]  # the older wrapped {type, attributes} form
        if not isinstance(line, dict):
            problems.append(_invalid(f"{pointer}/{index}", "a line must be an object"))
            continue
        values: dict[str, Any] = {}
        problems.extend(
            _attributes(
                line_spec,
                line,
                True,
                f"{pointer}/{index}",
                values,
                skip=spec.embedded.parent_attribute,
            )
        )
        out.append(values)
    return problems


def _invalid(pointer: str, detail: str, code: ErrorCode = ErrorCode.INVALID_VALUE) -> Problem:
    return Problem(code, detail, pointer=pointer)
