"""The OpenAPI 3.1 document of the whole API, generated from the resource registry.

Nothing here lists fields by hand: every path, schema and parameter of ``/v1`` is derived from
``REGISTRY``. Every rule a schema can state is stated where the server enforces it (ranges,
digit limits, lengths, non-blank names, case-insensitive enums, nullability, filter operators
per attribute), so a client or a fuzzer driven by the document sends what the server accepts
and reads what it answers; rules a schema cannot state (an offset that is a multiple of the
limit, ``data.id`` equal to the URL's, ``endDate`` not before ``startDate``) are described. The
sandbox's endpoints are written out at the end, their input rules stated as ``sandbox.rules``
and ``sandbox.limits`` enforce them. The module is pure (stdlib, ``optiply.resources``, the
filter operators and ``sandbox.rules``); the HTTP layer serves the dictionary that
``openapi_document`` returns.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT
from optiply.query.operators import EQUALITY, ORDERING, Operator
from optiply.resources import REGISTRY, Access, Attribute, Kind, Relationship, ResourceSpec, get
from optiply.resources.types import INT64_MAX, INT64_MIN
from optiply.server.auth.principal import METHOD_SCOPES, TOKEN_PATH, Scope
from optiply.server.sandbox.rules import (
    DEFAULT_HANG_S,
    DEFAULT_RETRY_AFTER,
    MAX_HANG_S,
    MAX_MS,
    METHODS,
    NEEDED,
    OWN_MEMBERS,
    Action,
)

Schema = dict[str, Any]

_SCOPES = {  # "GET requests.", "POST and PATCH requests.", ...: HEAD is not documented
    scope.value: " and ".join(m for m, s in METHOD_SCOPES.items() if s is scope and m != "HEAD")
    + " requests."
    for scope in Scope
}
_OPERATOR_NOTES = {
    Operator.EQ: " (the default)",
    Operator.LIKE: " (contains, case-insensitive; `%` and `_` are wildcards)",
}
_OPERATORS = tuple(op.value for op in Operator)
_DEFAULT_DIGITS = 17  # integer digits of a decimal without a limit of its own (types._decimal)
_TEXT_DIGITS = 18  # numeric strings are documented up to 18 digits, always within 64 bits

# --- patterns -----------------------------------------------------------------------------------
# ECMA-262 regular expressions that Python's re reads the same way. They describe the spellings
# the server reads; it also reads a few they leave out (spaces around numbers, exponents, numeric
# strings of 19 digits), as the descriptions say.


def _digit_range(low: str, high: str) -> str:
    """A pattern for the digit strings of one length from ``low`` to ``high``."""
    rest = len(low) - 1
    if low == "0" * len(low) and high == "9" * len(high):
        return _any_digits(len(low))
    if low[0] == high[0]:
        return low[0] + _digit_range(low[1:], high[1:])
    parts = [low[0] + _digit_range(low[1:], "9" * rest)]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(_digit_class(int(low[0]) + 1, int(high[0]) - 1) + _any_digits(rest))
    parts.append(high[0] + _digit_range("0" * rest, high[1:]))
    return "(?:" + "|".join(parts) + ")"


def _digit_class(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


def _any_digits(count: int) -> str:
    return {0: "", 1: "[0-9]"}.get(count, f"[0-9]{{{count}}}")


def _natural_range(low: int, high: int) -> str:
    """A pattern for the numbers ``low`` to ``high`` (0 <= low <= high), no leading zeros.

    >>> _natural_range(1, 365)
    '(?:[1-9][0-9]{0,1}|(?:1[0-9]{2}|2[0-9]{2}|3(?:0[0-9]|[1-5][0-9]|6(?:0|[1-4]|5))))'
    >>> _natural_range(0, 1), _natural_range(1, 10**18 - 1)
    ('(?:0|1)', '[1-9][0-9]{0,17}')
    """
    parts = ["0"] if low == 0 else []
    low = max(low, 1)
    full, partial = [], []  # full: widths whose every number is in range
    for width in range(len(str(low)), len(str(high)) + 1):
        start, end = max(low, 10 ** (width - 1)), min(high, 10**width - 1)
        if start == 10 ** (width - 1) and end == 10**width - 1:
            full.append(width)
        elif start <= end:
            partial.append(_digit_range(str(start), str(end)))
    if full:  # one [1-9][0-9]{a,b} for them all
        fewest, most = full[0] - 1, full[-1] - 1
        tail = _any_digits(most) if fewest == most else f"[0-9]{{{fewest},{most}}}"
        parts.append("[1-9]" + tail)
    parts += partial
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _integer_text(low: int, high: int) -> str:
    r"""Integers from ``low`` to ``high`` as text (sign, leading zeros and ``.0`` allowed), at
    most ``_TEXT_DIGITS`` digits; unanchored.

    >>> print(_integer_text(0, 1))
    (?:\+?0*(?:0|1))(?:\.0*)?
    """
    widest = 10**_TEXT_DIGITS - 1
    low, high = max(low, -widest), min(high, widest)
    parts = []
    if high >= 0:
        parts.append(r"\+?0*" + _natural_range(max(low, 0), high))
    if low < 0:
        parts.append("-0*" + _natural_range(max(1, -high), -low))
    return "(?:" + "|".join(parts) + r")(?:\.0*)?"


def _decimal_text(attribute: Attribute, *, bounded: bool) -> str:
    """Plain decimal notation within the digit limit (and, when ``bounded``, the attribute's
    bounds, as they apply after rounding toward zero to two places); unanchored."""
    digits = attribute.integer_digits or _DEFAULT_DIGITS
    low, high = (attribute.minimum, attribute.maximum) if bounded else (None, None)
    sign = "[+-]?" if low is None or low < 0 else r"\+?"
    numbers = [rf"[0-9]{{1,{digits}}}(?:\.[0-9]*)?", r"\.[0-9]+"]
    if high is not None:  # below 10^k: at most k digits; 10^k itself if it rounds to .00
        top = _power_of_ten(high)
        numbers[0] = rf"[0-9]{{1,{top}}}(?:\.[0-9]*)?"
        numbers.append(f"{high:f}" + r"(?:\.(?:0{0,2}|00[0-9]*))?")
    return f"{sign}0*(?:{'|'.join(numbers)})"


def _rendered_decimal(attribute: Attribute) -> str:
    """What a response holds: exactly two decimals, within the digit limit and bounds."""
    digits = attribute.integer_digits or _DEFAULT_DIGITS
    if attribute.maximum is not None:
        top = _power_of_ten(attribute.maximum)
        return rf"^(?:[0-9]{{1,{top}}}\.[0-9]{{2}}|{attribute.maximum:f}\.00)$"
    sign = "-?" if attribute.minimum is None or attribute.minimum < 0 else ""
    return rf"^{sign}[0-9]{{1,{digits}}}\.[0-9]{{2}}$"


def _power_of_ten(value: int | Decimal) -> int:
    exponent = len(str(int(value))) - 1
    if value != 10**exponent:
        raise NotImplementedError(f"a decimal maximum must be a power of ten, got {value}")
    return exponent


def _any_case(words: list[str]) -> str:
    """``words`` in any case; unanchored.

    >>> _any_case(["on", "close_out"])
    '(?:[oO][nN]|[cC][lL][oO][sS][eE]_[oO][uU][tT])'
    """
    spelled = ["".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in words]
    return "(?:" + "|".join(spelled) + ")"


def _anchored(text: str) -> str:
    return f"^{text}$"


_NO_NUL = r"^[^\x00]*$"  # no string value may contain a NUL character
_NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"  # required strings: some character not a space
_ID_TEXT = r"^[1-9][0-9]{0,18}$"  # ids: positive 64-bit integers, as strings
_NULL = _any_case(["null"])
_BOOLEAN_TEXT = _any_case(["true", "false"])
# Date-times a filter reads (fromisoformat): the years 1000-8999 keep every offset in range.
_DATETIME_TEXT = (
    r"[1-8][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])?)?"
)
_RENDERED_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$"
_EMAIL: Schema = {"type": "string", "format": "email"}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
_INT64: Schema = {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}
_LINK_NOTE = (
    "An absolute URL. Its query keeps `[` and `]` unescaped (`page[offset]=50`), as clients "
    "send them, so it is no strict RFC 3986 URI (hence no `format`): follow it verbatim."
)

_INPUT_NOTES = {
    Kind.INTEGER: "A JSON integer, or a numeric string (documented up to 18 digits; any 64-bit "
    "integer is read, spaces around it too).",
    Kind.REFERENCE: "A JSON integer, or a numeric string.",
    Kind.DECIMAL: "A JSON number, or a numeric string (exponents and spaces around it are read "
    "too).",
    Kind.BOOLEAN: "A JSON boolean, or the string true or false in any case.",
    Kind.DATETIME: "ISO-8601 with Z, an offset or no zone (UTC); a date alone means midnight.",
    Kind.ENUM: "Any case.",
    Kind.EMAILS: "Also one string of addresses separated by commas or semicolons.",
}

_DESCRIPTION = """\
A self-hosted, open re-implementation of the Optiply Public API v1. It loosely follows JSON:API.

**Media type.** Responses are `{media_type}` (OAuth2 errors, 401 and a missing \
scope's 403, are `{json}`). POST and PATCH bodies must be sent as \
`{media_type}` or `{json}` (parameters such as `charset` are fine); any \
other media type answers 415, a body over 16 MiB 413.

**Ids.** Ids are positive 64-bit integers (1 to 9223372036854775807): a path id that is not one \
answers 400 `INVALID_ID`. Ids are strings at the document level; foreign keys (`productId`, \
...) are integer attributes with read-only `*Uuid` twins. On PATCH, `data.id` may be left out; \
when sent it must equal the id in the URL (400 at `/data/id`).

**Values.** Decimals are rendered as strings with exactly two decimals (`"12.50"`); input \
decimals (numbers or numeric strings) are rounded toward zero to two decimals, and each has a \
limit of digits before the point (17 unless the attribute says otherwise). Date-times are UTC, \
rendered as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. Nullable attributes are rendered as an explicit \
`null`. Enumerations are read in any case and rendered in lowercase. Required strings must not \
be blank; no string may contain a NUL character.

**Filters.** `filter[attr]=v` or `filter[attr][OP]=v`, with OP one of {operators} \
(case-insensitive). The value `null` means IS NULL (with NEQ: IS NOT NULL). A repeated key \
means IN. Filters on different keys are combined with AND. Each collection's filter schema \
lists the operators every attribute takes and the values they read.

**Sorting.** `sort=a,-b`: comma-separated attributes, `-` for descending, each at most once; by \
default `id` ascending.

**Paging.** `page[limit]` (default {default_limit}, at most {max_limit}) and `page[offset]` \
(default 0, a multiple of the limit: a schema cannot say so, the server answers 400). Lists carry \
`links.first/last/prev/next` and `meta.totalResourceCount`; `next` resumes by key with an extra \
`page[after]` cursor, so follow it verbatim. Links are absolute URLs whose query keeps `[` and \
`]` unescaped.

**Accounts.** Every `/v1` operation accepts the query parameters `accountId` (the account to \
work in; 403 when the token cannot reach it) and `couplingId` (the integration instance; it \
keys `remoteIdMap`, default key `publicApi`).

**Embedded lines.** POST of {embedding} accepts `attributes.orderLines`: flat line objects \
created with the order and never rendered. As an extension, the 201 response lists the ids of \
the created lines in `meta.orderLineIds`.

**Busy database.** Any operation may answer 503 with `Retry-After` when the database is busy \
(a lock timeout, deadlock or serialization failure): nothing was written, send it again.

**Sandbox.** An account's sandbox controls (`/sandbox/faults`, `/sandbox/settings`) act on \
every `/v1` operation, beyond what each one lists: a fault rule may answer any status from 400 \
to 599 (JSON:API error `SANDBOX_FAULT`, with `Retry-After` on 429 and 503), answer 401 as an \
expired token, answer late, hang, close the connection without an answer or halfway through \
one, or commit a write and then answer 500; a rate limit answers 429 `RATE_LIMITED` with \
`Retry-After`; the `production` compat mode answers 500 where the hosted API answers so. \
Without rules and settings none of this happens.

**Methods.** A method a path does not list answers 405.
"""


def openapi_document(*, version: str) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the whole API from the registry.

    Args:
        version: The API implementation version, written to ``info.version``.

    Returns:
        A JSON-serialisable dictionary; a fresh one on every call.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Optiply Public API v1 (self-hosted)",
            "version": version,
            "description": _DESCRIPTION.format(
                embedding=_embedding_types(),
                media_type=MEDIA_TYPE,
                json=JSON,
                operators=", ".join(op.value + _OPERATOR_NOTES.get(op, "") for op in Operator),
                default_limit=DEFAULT_LIMIT,
                max_limit=MAX_LIMIT,
            ),
        },
        "servers": [{"url": "/"}],
        "tags": _tags(),
        "paths": _paths(),
        "components": {
            "securitySchemes": _security_schemes(),
            "parameters": _shared_parameters(),
            "schemas": _schemas(),
            "responses": _error_responses(),
        },
    }


def _embedding_types() -> str:
    return " and ".join(f"`{spec.type}`" for spec in REGISTRY if spec.embedded is not None)


# --- attributes ---------------------------------------------------------------------------------


def _attribute_schema(attribute: Attribute, *, request: bool) -> Schema:
    schema = _request_form(attribute) if request else _response_form(attribute)
    if attribute.nullable:
        _allow_null(schema)
    if not request and attribute.access is Access.READ_ONLY:
        schema["readOnly"] = True
    if request and attribute.access is Access.WRITE_ONLY:
        schema["writeOnly"] = True
    if request and attribute.default is not None:
        schema["default"] = attribute.default
    description = " ".join(filter(None, [attribute.description, *_notes(attribute, request)]))
    if description:
        schema["description"] = description
    return schema


def _bounds(attribute: Attribute) -> tuple[int, int]:
    """The integer range of an INTEGER or REFERENCE attribute."""
    low = 1 if attribute.kind is Kind.REFERENCE else INT64_MIN
    if attribute.minimum is not None:
        low = int(attribute.minimum)
    high = INT64_MAX if attribute.maximum is None else int(attribute.maximum)
    return low, high


def _string_form(attribute: Attribute, *, checked: bool) -> Schema:
    """A STRING; ``checked`` when the API writes it, so its input rules hold for stored values."""
    schema: Schema = {"type": "string"}
    if attribute.max_length is not None:
        schema["maxLength"] = attribute.max_length
    if attribute.exact_length is not None:
        schema["minLength"] = schema["maxLength"] = attribute.exact_length
    if checked:
        schema["pattern"] = _NOT_BLANK if attribute.required else _NO_NUL
    return schema


def _response_form(attribute: Attribute) -> Schema:
    kind = attribute.kind
    if kind is Kind.ID:
        return {"type": "string", "pattern": _ID_TEXT}
    if kind is Kind.STRING:
        return _string_form(attribute, checked=attribute.access is not Access.READ_ONLY)
    if kind in (Kind.INTEGER, Kind.REFERENCE):
        low, high = _bounds(attribute)
        return {**_INT64, "minimum": low, "maximum": high}
    if kind is Kind.DECIMAL:
        return {"type": "string", "pattern": _rendered_decimal(attribute)}
    if kind is Kind.BOOLEAN:
        return {"type": "boolean"}
    if kind is Kind.DATETIME:
        return {"type": "string", "format": "date-time", "pattern": _RENDERED_DATETIME}
    if kind is Kind.UUID:
        return {"type": "string", "format": "uuid"}
    if kind is Kind.ENUM:
        return {"type": "string", "enum": list(attribute.choices)}
    if kind is Kind.EMAILS:
        return {"type": "array", "items": copy.deepcopy(_EMAIL)}
    if kind is Kind.OBJECT:
        return copy.deepcopy(_STRING_MAP)
    return {"type": "array"}  # LINES: never rendered


def _request_form(attribute: Attribute) -> Schema:
    kind = attribute.kind
    if kind in (Kind.INTEGER, Kind.REFERENCE):
        low, high = _bounds(attribute)
        return {
            "type": ["integer", "string"],
            "format": "int64",
            "minimum": low,
            "maximum": high,
            "pattern": _anchored(_integer_text(low, high)),
        }
    if kind is Kind.DECIMAL:
        schema: Schema = {"type": ["number", "string"]}
        digits = attribute.integer_digits or _DEFAULT_DIGITS
        if attribute.minimum is None:
            schema["exclusiveMinimum"] = -(10**digits)
        else:
            schema["minimum"] = _number(attribute.minimum)
        if attribute.maximum is None:
            schema["exclusiveMaximum"] = 10**digits
        else:
            schema["maximum"] = _number(attribute.maximum)
        schema["pattern"] = _anchored(_decimal_text(attribute, bounded=True))
        return schema
    if kind is Kind.BOOLEAN:
        return {"type": ["boolean", "string"], "pattern": _anchored(_BOOLEAN_TEXT)}
    if kind is Kind.DATETIME:
        kinds = ["string", "boolean"] if attribute.ignore_booleans else "string"
        return {"type": kinds, "format": "date-time"}
    if kind is Kind.ENUM:
        words = [*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)]
        return {
            "type": "string",
            "pattern": _anchored(_any_case(words)),
            "examples": list(attribute.choices),
        }
    if kind is Kind.EMAILS:
        return {"type": ["array", "string"], "items": copy.deepcopy(_EMAIL)}
    if kind is Kind.STRING:
        return _string_form(attribute, checked=True)
    return _response_form(attribute)


def _notes(attribute: Attribute, request: bool) -> list[str]:
    notes: list[str] = []
    if attribute.kind is Kind.DECIMAL:
        digits = attribute.integer_digits or _DEFAULT_DIGITS
        notes.append(
            f"At most {digits} digits before the point; two decimals, rounded toward zero."
        )
        bounds = [f"at least {attribute.minimum}"] if attribute.minimum is not None else []
        bounds += [f"at most {attribute.maximum}"] if attribute.maximum is not None else []
        if bounds:
            notes.append(f"Value {' and '.join(bounds)}.")
    if request and attribute.kind in _INPUT_NOTES:
        notes.append(_INPUT_NOTES[attribute.kind])
    if request and attribute.kind is Kind.STRING and attribute.required:
        notes.append("Must not be blank.")
    if request and attribute.ignore_booleans:
        notes.append("Booleans are ignored.")
    if request and attribute.choice_aliases:
        aliases = ", ".join(f"{alias} for {value}" for alias, value in attribute.choice_aliases)
        notes.append(f"Also accepts {aliases}.")
    if attribute.references:
        notes.append(f"The id of a {get(attribute.references).label}.")
    return notes


def _number(value: int | Decimal) -> int | float:
    return int(value) if value == int(value) else float(value)


def _allow_null(schema: Schema) -> None:
    kinds = schema["type"]
    schema["type"] = [*(kinds if isinstance(kinds, list) else [kinds]), "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]


def _attributes_object(
    spec: ResourceSpec, attributes: tuple[Attribute, ...], *, request: bool, required: list[str]
) -> Schema:
    properties: Schema = {}
    for attribute in attributes:
        schema = _attribute_schema(attribute, request=request)
        if attribute.kind is Kind.LINES:
            schema["items"] = _schema_ref(_embedded_name(spec))
        properties[attribute.name] = schema
        if request:
            for alias in attribute.input_aliases:
                properties[alias] = {
                    **schema,
                    "deprecated": True,
                    "description": f"Input alias of {attribute.name}.",
                }
    result: Schema = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


def _creatable(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_create)


def _updatable(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_update)


def _required(attributes: tuple[Attribute, ...]) -> list[str]:
    return [a.name for a in attributes if a.required]


def _embedded_name(spec: ResourceSpec) -> str:
    assert spec.embedded is not None
    return f"Embedded{get(spec.embedded.target).label}"


def _embedded_line_schema(spec: ResourceSpec) -> Schema:
    assert spec.embedded is not None
    target = get(spec.embedded.target)
    parent = spec.embedded.parent_attribute
    attributes = tuple(a for a in _creatable(target) if a.name != parent)
    schema = _attributes_object(target, attributes, request=True, required=_required(attributes))
    schema["description"] = f"A flat {target.label}; {parent} is set from the created order."
    return schema


# --- schemas ------------------------------------------------------------------------------------


def _schemas() -> dict[str, Schema]:
    schemas = {**_shared_schemas(), **_filter_components(), **_sandbox_schemas()}
    for spec in REGISTRY:
        schemas.update(_resource_schemas(spec))
    return schemas


def _resource_schemas(spec: ResourceSpec) -> dict[str, Schema]:
    label = spec.label
    readable = spec.readable
    schemas = {
        f"{label}Attributes": _attributes_object(
            spec, readable, request=False, required=[a.name for a in readable]
        ),
        label: _resource_object(spec),
        f"{label}Document": _single_document(label),
        f"{label}NullableDocument": _nullable_document(label),
        f"{label}ListDocument": _list_document(label),
        f"{label}Identifier": _identifier(spec),
        f"{label}IdentifierDocument": _nullable_document(f"{label}Identifier"),
        f"{label}IdentifiersDocument": _object(
            {"data": {"type": "array", "items": _schema_ref(f"{label}Identifier")}},
            required=["data"],
        ),
        f"{label}Filter": _filter_schema(spec),
    }
    if "POST" in spec.methods:
        creatable = _creatable(spec)
        schemas[f"{label}CreateAttributes"] = _attributes_object(
            spec, creatable, request=True, required=_required(creatable)
        )
        schemas[f"{label}CreateRequest"] = _request_document(spec, update=False)
        if spec.embedded is not None:
            schemas[_embedded_name(spec)] = _embedded_line_schema(spec)
            schemas[f"{label}CreatedDocument"] = _created_document(label)
    if "PATCH" in spec.methods:
        schemas[f"{label}UpdateAttributes"] = _attributes_object(
            spec, _updatable(spec), request=True, required=[]
        )
        schemas[f"{label}UpdateRequest"] = _request_document(spec, update=True)
    return schemas


def _resource_object(spec: ResourceSpec) -> Schema:
    properties: Schema = {
        "id": {"type": "string", "pattern": _ID_TEXT, "description": "The numeric id."},
        "type": {"type": "string", "const": spec.type},
        "attributes": _schema_ref(f"{spec.label}Attributes"),
        "links": _schema_ref("ResourceLinks"),
    }
    required = ["id", "type", "attributes", "links"]
    if spec.relationships:
        properties["relationships"] = {
            "type": "object",
            "properties": {r.name: _relationship_schema(r) for r in spec.relationships},
            "required": [r.name for r in spec.relationships],
        }
        required.append("relationships")
    return {
        "type": "object",
        "description": spec.description,
        "properties": properties,
        "required": required,
    }


def _identifier(spec: ResourceSpec) -> Schema:
    return _object(
        {
            "type": {"type": "string", "const": spec.type},
            "id": {"type": "string", "pattern": _ID_TEXT},
        },
        required=["type", "id"],
    )


def _relationship_schema(relationship: Relationship) -> Schema:
    label = get(relationship.target).label
    target = f"the {label} rows" if relationship.to_many else f"the {label}"
    return {**_schema_ref("Relationship"), "description": f"Links to {target}."}


def _single_document(label: str) -> Schema:
    return {"type": "object", "properties": {"data": _schema_ref(label)}, "required": ["data"]}


def _nullable_document(label: str) -> Schema:
    """``data`` is the ``label`` schema or null (a to-one relationship that points nowhere)."""
    data = {"anyOf": [_schema_ref(label), {"type": "null"}]}
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


def _created_document(label: str) -> Schema:
    line_ids = {"type": "array", "items": {"type": "string", "pattern": _ID_TEXT}}
    meta = {
        "type": "object",
        "properties": {"orderLineIds": {**line_ids, "description": "Ids of the created lines."}},
    }
    document = _single_document(label)
    document["properties"]["meta"] = meta
    return document


def _list_document(label: str) -> Schema:
    return {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _schema_ref(label)},
            "links": _schema_ref("PaginationLinks"),
            "meta": _schema_ref("ListMeta"),
        },
        "required": ["data", "links", "meta"],
    }


def _request_document(spec: ResourceSpec, *, update: bool) -> Schema:
    kind = "Update" if update else "Create"
    data: Schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "const": spec.type},
            "attributes": _schema_ref(f"{spec.label}{kind}Attributes"),
        },
        "required": ["type"] if update else ["type", "attributes"],
    }
    if update:
        data["properties"]["id"] = {
            "type": "string",
            "pattern": _ID_TEXT,
            "description": "Optional; when present it must equal the id in the URL (400 at "
            "/data/id otherwise).",
        }
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


# --- filters ------------------------------------------------------------------------------------

# Which operators an attribute takes (query/parse.py): no order on booleans, e-mails and objects;
# e-mails and objects only LIKE.
_UNORDERED = (Kind.BOOLEAN, Kind.EMAILS, Kind.OBJECT)
_LIKE_ONLY = (Kind.EMAILS, Kind.OBJECT)
_COMMA_LISTS = (Kind.ID, Kind.REFERENCE)  # EQ/NEQ values split on commas (Q27)


def filter_operators(attribute: Attribute) -> tuple[Operator, ...]:
    """The operators ``filter[attribute][OP]`` accepts, in canonical order."""
    return tuple(
        op
        for op in Operator
        if not (op in ORDERING and attribute.kind in _UNORDERED)
        and not (op in EQUALITY and attribute.kind in _LIKE_ONLY)
    )


def _filter_text(attribute: Attribute) -> str:
    """A value of ``attribute`` as a filter reads it (no range rules apply); unanchored."""
    kind = attribute.kind
    if kind in (Kind.ID, Kind.INTEGER, Kind.REFERENCE):
        return _integer_text(INT64_MIN, INT64_MAX)
    if kind is Kind.DECIMAL:
        return _decimal_text(attribute, bounded=False)
    if kind is Kind.BOOLEAN:
        return f"(?:{_BOOLEAN_TEXT}|0|1)"
    if kind is Kind.DATETIME:
        return f"(?:{_DATETIME_TEXT})"
    if kind is Kind.ENUM:
        return _any_case([*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)])
    return "[^\\x00]*"


def _filter_value(attribute: Attribute, operator: Operator) -> Schema:
    if operator is Operator.LIKE:
        return {"type": "string", "pattern": _NO_NUL, "not": {"pattern": _anchored(_NULL)}}
    value = _filter_text(attribute)
    if operator in ORDERING:
        return {"type": "string", "pattern": _anchored(value)}
    one = f"(?:{_NULL}|{value})"
    if attribute.kind in _COMMA_LISTS:
        return {"type": "string", "pattern": _anchored(f"{one}(?:,{one})*")}
    return {"type": "string", "pattern": _anchored(one)}


def _filter_name(attribute: Attribute) -> str:
    """The name of the shared filter schemas of ``attribute``'s kind of value."""
    kind = attribute.kind
    if kind is Kind.DECIMAL:
        return f"Decimal{attribute.integer_digits or _DEFAULT_DIGITS}"
    if kind is Kind.ENUM:
        return "Enum" + "".join(_title(w) for c in attribute.choices for w in c.split("_"))
    names = {Kind.ID: "Id", Kind.REFERENCE: "Id", Kind.INTEGER: "Integer", Kind.BOOLEAN: "Boolean"}
    names |= {Kind.DATETIME: "DateTime", Kind.EMAILS: "Contains", Kind.OBJECT: "Contains"}
    return names.get(kind, "Text")


def _filter_components() -> dict[str, Schema]:
    """Per kind of value: ``<Name>FilterValue`` (the EQ value), ``<Name>FilterOperators`` and
    ``<Name>Filter``, the forms a key takes. A repeated key (IN) has no deepObject form: arrays
    there are serialized with indices, so it is described, not listed."""
    schemas: dict[str, Schema] = {}
    for spec in REGISTRY:
        for attribute in spec.attributes:
            name = _filter_name(attribute)
            if not attribute.filterable or f"{name}Filter" in schemas:
                continue
            operators = filter_operators(attribute)
            by_operator = {op.value: _filter_value(attribute, op) for op in operators}
            schemas[f"{name}FilterOperators"] = {
                "type": "object",
                "properties": by_operator,
                "additionalProperties": False,
                "minProperties": 1,
                "description": "Operators (any case) with their values.",
            }
            forms = [_schema_ref(f"{name}FilterOperators")]
            if Operator.EQ in operators:
                schemas[f"{name}FilterValue"] = by_operator[Operator.EQ.value]
                forms.insert(0, _schema_ref(f"{name}FilterValue"))
            schemas[f"{name}Filter"] = {"anyOf": forms}
    return schemas


def _filter_schema(spec: ResourceSpec) -> Schema:
    filterable = [a for a in spec.attributes if a.filterable]
    properties: Schema = {a.name: _schema_ref(f"{_filter_name(a)}Filter") for a in filterable}
    properties[spec.type] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
        "minProperties": 1,
        "description": f"The optional type prefix: filter[{spec.type}][attr].",
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _sort_schema(spec: ResourceSpec) -> Schema:
    names = [a.name for a in spec.attributes if a.sortable or a.kind is Kind.ID]
    key = f"-?(?:{'|'.join(names)})"
    return {"type": "string", "pattern": f"^(?:{key}(?:,{key})*)?$", "examples": ["-updatedAt,id"]}


def _shared_schemas() -> dict[str, Schema]:
    link = {"type": "string", "pattern": "^https?://", "description": _LINK_NOTE}
    nullable_link = {**link, "type": ["string", "null"]}
    return {
        "ResourceLinks": _object({"self": link}, required=["self"]),
        "Relationship": _object(
            {"links": _object({"self": link, "related": link}, required=["self", "related"])},
            required=["links"],
        ),
        "PaginationLinks": _object(
            {name: copy.deepcopy(nullable_link) for name in ("first", "last", "prev", "next")},
            required=["first", "last", "prev", "next"],
        ),
        "ListMeta": _object(
            {"totalResourceCount": {"type": "integer", "minimum": 0}},
            required=["totalResourceCount"],
        ),
        "ErrorDocument": _object(
            {"errors": {"type": "array", "minItems": 1, "items": _schema_ref("Error")}},
            required=["errors"],
        ),
        "Error": _error_schema(),
        "OAuthError": _object(
            {
                "error": {"type": "string"},
                "error_description": {"type": "string"},
                "hint": {
                    "type": "string",
                    "description": "Our own plain-words explanation, where the hosted API's "
                    "sentence says little (an extension member, RFC 6749 §5.2).",
                },
            },
            required=["error"],
        ),
        "TokenResponse": _object(
            {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "const": "bearer"},
                "refresh_token": {"type": "string"},
                "expires_in": {"type": "integer", "minimum": 0, "description": "Seconds."},
                "scope": {"type": "string", "examples": ["read write delete"]},
            },
            required=["access_token", "token_type", "refresh_token", "expires_in", "scope"],
        ),
    }


def _error_schema() -> Schema:
    text = {"type": "string"}
    source = _object({"pointer": text, "parameter": text})
    source.update(minProperties=1, maxProperties=1, additionalProperties=False)
    source["description"] = "The culprit: a JSON pointer into the body, or a query parameter."
    return _object(
        {
            "status": {"type": "string", "pattern": "^[45][0-9]{2}$"},
            "code": {**text, "description": "A stable machine-readable code."},
            "title": text,
            "detail": text,
            "source": source,
            "meta": _object({"message": {**text, "description": "Same as detail."}}),
        },
        required=["status", "code", "title", "detail"],
    )


def _object(properties: Schema, *, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _schema_ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# --- paths --------------------------------------------------------------------------------------


def _paths() -> dict[str, Schema]:
    paths = {TOKEN_PATH: _token_path(), "/health": _health_path()}
    for spec in REGISTRY:
        paths.update(_resource_paths(spec))
    paths.update(_sandbox_paths())
    return paths


def _resource_paths(spec: ResourceSpec) -> dict[str, Schema]:
    label, plural = spec.label, _title(spec.type)
    collection: Schema = {
        "get": _operation(
            spec,
            "get",
            f"list{plural}",
            f"List {spec.type}",
            responses={"200": _ok(f"{label}ListDocument")},
            parameters=_list_parameters(spec),
            not_found=False,
        )
    }
    if "POST" in spec.methods:
        created = f"{label}CreatedDocument" if spec.embedded else f"{label}Document"
        collection["post"] = _operation(
            spec,
            "post",
            f"create{label}",
            f"Create a {label}",
            responses={"201": _ok(created, "Created.")},
            body=f"{label}CreateRequest",
            not_found=_has_parents(spec),
        )
    item: Schema = {
        "parameters": [_parameter_ref("ResourceId")],
        "get": _operation(
            spec, "get", f"get{label}", f"Get a {label}", responses={"200": _ok(f"{label}Document")}
        ),
    }
    if "PATCH" in spec.methods:
        item["patch"] = _operation(
            spec,
            "patch",
            f"update{label}",
            f"Update a {label}",
            responses={"200": _ok(f"{label}Document")},
            body=f"{label}UpdateRequest",
        )
    if "DELETE" in spec.methods:
        item["delete"] = _operation(
            spec,
            "delete",
            f"delete{label}",
            f"Delete a {label}",
            responses={"204": {"description": "Deleted."}},
            description=_cascade_note(spec),
        )
    paths = {f"/v1/{spec.type}": collection, f"/v1/{spec.type}/{{id}}": item}
    for relationship in spec.relationships:
        base = f"/v1/{spec.type}/{{id}}"
        paths[f"{base}/{relationship.name}"] = _related_path(spec, relationship)
        paths[f"{base}/relationships/{relationship.name}"] = _identifiers_path(spec, relationship)
    return paths


def _related_path(spec: ResourceSpec, relationship: Relationship) -> Schema:
    target = get(relationship.target)
    if relationship.to_many:
        document, note = f"{target.label}ListDocument", ""
    else:
        document = f"{target.label}NullableDocument"
        note = f"`data` is null when the {relationship.name} is unset or deleted."
    operation = _operation(
        spec,
        "get",
        f"get{spec.label}{_title(relationship.name)}",
        f"Get the {relationship.name} of a {spec.label}",
        responses={"200": _ok(document)},
        parameters=_list_parameters(target) if relationship.to_many else [],
        description=note,
    )
    return {"parameters": [_parameter_ref("ResourceId")], "get": operation}


def _identifiers_path(spec: ResourceSpec, relationship: Relationship) -> Schema:
    target = get(relationship.target)
    if relationship.to_many:
        document = f"{target.label}IdentifiersDocument"
        note = (
            f"The identifiers of one page (page[limit], default {DEFAULT_LIMIT}; the list "
            "parameters apply as on the related endpoint), without links: page through the "
            "related endpoint."
        )
    else:
        document = f"{target.label}IdentifierDocument"
        note = f"`data` is null when the {relationship.name} is unset or deleted."
    operation = _operation(
        spec,
        "get",
        f"get{spec.label}{_title(relationship.name)}Relationship",
        f"Get the {relationship.name} identifiers of a {spec.label}",
        responses={"200": _ok(document)},
        parameters=_list_parameters(target) if relationship.to_many else [],
        description=note,
    )
    return {"parameters": [_parameter_ref("ResourceId")], "get": operation}


def _operation(
    spec: ResourceSpec,
    method: str,
    operation_id: str,
    summary: str,
    *,
    responses: Schema,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    description: str = "",
    not_found: bool = True,
) -> Schema:
    operation: Schema = {
        "tags": [spec.type],
        "operationId": operation_id,
        "summary": summary,
        "description": " ".join(filter(None, [spec.description, description])),
        "security": [{"oauth2": [METHOD_SCOPES[method.upper()].value]}],
        "parameters": [
            *(parameters or []),
            _parameter_ref("AccountId"),
            _parameter_ref("CouplingId"),
        ],
        "responses": {**responses, **_errors_for(spec, method, not_found=not_found)},
    }
    if body is not None:
        schema = _schema_ref(body)
        operation["requestBody"] = {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": schema}, JSON: {"schema": dict(schema)}},
        }
    return operation


def _errors_for(spec: ResourceSpec, method: str, *, not_found: bool) -> Schema:
    codes = ["400", "401", "403"]
    if not_found:
        codes.append("404")
    if method in ("post", "patch"):
        codes += ["409", "413", "415"] if spec.unique else ["413", "415"]
    codes += ["429", "503"]  # a sandbox rate limit; a busy database
    return {code: {"$ref": f"#/components/responses/{_RESPONSE_NAMES[code]}"} for code in codes}


def _has_parents(spec: ResourceSpec) -> bool:
    """Whether a POST names rows that may not exist (404): references besides the account."""
    creatable = _creatable(spec)
    return spec.embedded is not None or any(
        a.kind is Kind.REFERENCE and a.name != "accountId" for a in creatable
    )


def _cascade_note(spec: ResourceSpec) -> str:
    cascades = [r.name for r in spec.relationships if r.cascade]
    return f"Also deletes its {', '.join(cascades)}." if cascades else ""


def _ok(schema: str, description: str = "OK.") -> Schema:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _schema_ref(schema)}}}


def _title(name: str) -> str:
    return name[0].upper() + name[1:]


# --- parameters ---------------------------------------------------------------------------------


def _list_parameters(spec: ResourceSpec) -> list[Schema]:
    sortable = [a.name for a in spec.attributes if a.sortable]
    filterable = [a.name for a in spec.attributes if a.filterable]
    sort = {
        "name": "sort",
        "in": "query",
        "description": "Comma-separated attributes, `-` for descending, each at most once "
        f"(default `id`). Sortable: {', '.join(sortable)}.",
        "schema": _sort_schema(spec),
    }
    filters = {
        "name": "filter",
        "in": "query",
        "style": "deepObject",
        "explode": True,
        "description": "`filter[attr]=v` or `filter[attr][OP]=v`, OP one of "
        f"{', '.join(_OPERATORS)} (EQ by default, case-insensitive); `null` means IS NULL; a "
        "repeated key means IN; keys are combined with AND. An optional type prefix "
        f"`filter[{spec.type}][attr]` is accepted. Filterable: {', '.join(filterable)}.",
        "schema": _schema_ref(f"{spec.label}Filter"),
    }
    return [
        sort,
        _parameter_ref("PageLimit"),
        _parameter_ref("PageOffset"),
        _parameter_ref("PageAfter"),
        filters,
    ]


def _shared_parameters() -> dict[str, Schema]:
    positive = {**_INT64, "minimum": 1}
    return {
        "ResourceId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "A positive 64-bit integer; anything else answers 400 INVALID_ID.",
            "schema": dict(positive),
        },
        "AccountId": {
            "name": "accountId",
            "in": "query",
            "description": "The account to work in: narrows lists, chooses the account of a "
            "POST (after attributes.accountId). 403 when the token cannot reach it.",
            "schema": dict(positive),
        },
        "CouplingId": {
            "name": "couplingId",
            "in": "query",
            "description": "The integration instance writing the data; keys remoteIdMap.",
            "schema": dict(positive),
        },
        "PageLimit": {
            "name": "page[limit]",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        "PageOffset": {
            "name": "page[offset]",
            "in": "query",
            "description": "A multiple of page[limit] (400 otherwise); past the end gives an "
            "empty page.",
            "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0},
        },
        "PageAfter": {
            "name": "page[after]",
            "in": "query",
            "description": "An opaque keyset cursor, as found in links.next: the page starts "
            "after the row it names and meta.totalResourceCount is the walk's first count. "
            "Needs sort keys that are never null.",
            "schema": {"type": "string"},
        },
    }


def _parameter_ref(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


# --- responses, security, auth and health --------------------------------------------------------

_RESPONSE_NAMES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "405": "MethodNotAllowed",
    "409": "Conflict",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "429": "TooManyRequests",
    "503": "ServiceUnavailable",
}


def _error_responses() -> dict[str, Schema]:
    errors = {MEDIA_TYPE: {"schema": _schema_ref("ErrorDocument")}}
    oauth = {JSON: {"schema": _schema_ref("OAuthError")}}
    text = {"schema": {"type": "string"}}
    return {
        "BadRequest": {"description": "Invalid body, value or query parameter.", "content": errors},
        "Unauthorized": {
            "description": "Missing, invalid or expired access token (OAuth2 body).",
            "headers": {"WWW-Authenticate": {**text, "required": True}},
            "content": oauth,
        },
        "Forbidden": {
            "description": "The token lacks the scope (OAuth2 body, insufficient_scope) or "
            "cannot reach the account (JSON:API body, ACCOUNT_FORBIDDEN).",
            "content": {**oauth, **errors},
        },
        "NotFound": {"description": "Unknown or deleted id (or referenced id).", "content": errors},
        "MethodNotAllowed": {
            "description": "The method is not supported on this path.",
            "headers": {"Allow": text},
            "content": errors,
        },
        "Conflict": {"description": "The unique pair already exists.", "content": errors},
        "PayloadTooLarge": {"description": "The body is over 16 MiB.", "content": errors},
        "UnsupportedMediaType": {
            "description": f"The body is sent neither as {MEDIA_TYPE} nor as {JSON}.",
            "content": errors,
        },
        "TooManyRequests": {
            "description": "Over the account's sandbox rate limit (RATE_LIMITED, per access "
            "token: /sandbox/settings); nothing was done: send the request again after "
            "Retry-After seconds. A sandbox fault rule of status 429 answers so too "
            "(SANDBOX_FAULT).",
            "headers": {"Retry-After": _retry_after()},
            "content": errors,
        },
        "ServiceUnavailable": {
            "description": "The database is busy (a lock timeout, deadlock or serialization "
            "failure); nothing was written: send the request again after Retry-After seconds. "
            "A sandbox fault rule of status 503 answers so too (SANDBOX_FAULT).",
            "headers": {"Retry-After": _retry_after()},
            "content": errors,
        },
    }


def _retry_after() -> Schema:
    return {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}


def _security_schemes() -> dict[str, Schema]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Password grant; send `Authorization: Bearer <access_token>`.",
            "flows": {
                "password": {
                    "tokenUrl": TOKEN_PATH,
                    "refreshUrl": TOKEN_PATH,
                    "scopes": dict(_SCOPES),
                }
            },
        },
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "The OAuth2 client id and secret.",
        },
    }


def _tags() -> list[Schema]:
    tags = [{"name": spec.type, "description": spec.description} for spec in REGISTRY]
    return [
        {"name": "auth", "description": "OAuth2 tokens."},
        {"name": "health", "description": "Liveness."},
        {
            "name": "sandbox",
            "description": "What production cannot give an integrator (docs/sandbox.md): the "
            "request journal (every request to /v1 and /api/auth, secrets hidden), fault rules "
            "and settings (a rate limit, the compat mode) per account, and what the sandbox "
            "page shows (a timeline, row counts).",
        },
        *tags,
    ]


def _token_path() -> Schema:
    string = {"type": "string"}
    secret = {"type": "string", "format": "password"}
    form = _object(
        {
            "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
            "username": string,
            "password": secret,
            "refresh_token": string,
            "client_id": {**string, "description": "Fallback for HTTP Basic client auth."},
            "client_secret": secret,
        }
    )
    query = [
        {"name": name, "in": "query", "schema": form["properties"][name]}
        for name in ("grant_type", "refresh_token")
    ]
    return {
        "post": {
            "tags": ["auth"],
            "operationId": "issueToken",
            "summary": "Issue or refresh an access token",
            "description": "Grants `password` (username, password) and `refresh_token`. "
            "Parameters are read from the query string and the form body alike. The client "
            "authenticates with HTTP Basic.",
            "security": [{"clientBasic": []}],
            "parameters": query,
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": form}}},
            "responses": {
                "200": _json("A token.", _schema_ref("TokenResponse")),
                "400": _json(
                    "Bad grant: invalid_grant (bad credentials or refresh token) or "
                    "unsupported_grant_type.",
                    _schema_ref("OAuthError"),
                ),
                "401": _json(
                    "Unknown client or wrong client secret; see error_description.",
                    _schema_ref("OAuthError"),
                ),
                "429": {
                    **_json(
                        "Too many failed token requests from this client or address: "
                        "too_many_requests; wait Retry-After seconds.",
                        _schema_ref("OAuthError"),
                    ),
                    "headers": {"Retry-After": {"schema": {"type": "string"}}},
                },
            },
        }
    }


def _health_path() -> Schema:
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    ok = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
    return {
        "get": {
            "tags": ["health"],
            "operationId": "getHealth",
            "summary": "Check that the server and its database are up",
            "security": [],
            "responses": {
                "200": _json("The server and its database are up.", ok),
                "503": _json("The database is unreachable.", status),
            },
        }
    }


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


# --- the sandbox ---------------------------------------------------------------------------------

_JOURNAL_FILTERS: list[Schema] = [
    {
        "name": "method",
        "in": "query",
        "description": "Only requests of this HTTP method (case-insensitive).",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{1,16}$"},
    },
    {
        "name": "status",
        "in": "query",
        "description": "Only this status (503) or status class (4xx).",
        "schema": {"type": "string", "pattern": "^([1-5][xX][xX]|[1-5][0-9][0-9])$"},
    },
    {
        "name": "path",
        "in": "query",
        "description": "Only paths with this prefix, or matching this glob (* and ?).",
        "schema": {"type": "string", "pattern": "^/[^\\x00]*$", "maxLength": 2000},
    },
    {
        "name": "after",
        "in": "query",
        "description": "Only requests with a greater id (to poll for new ones).",
        "schema": {**_INT64, "minimum": 0},
    },
    {
        "name": "since",
        "in": "query",
        "description": "Only requests at or after this time: ISO 8601, or an age such as 30s, "
        "5m, 2h, 1d.",
        "schema": {"type": "string"},
    },
    {
        "name": "accountId",
        "in": "query",
        "description": "Only this account's requests (403 when the token cannot reach it); "
        "default: every account of the token's user, and its own token requests.",
        "schema": {**_INT64, "minimum": 1},
    },
]
_LIMIT: Schema = {
    "name": "limit",
    "in": "query",
    "description": "The newest N matching requests (default 100), listed oldest first.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
}
_JOURNAL_ERRORS = {
    code: {"$ref": f"#/components/responses/{_RESPONSE_NAMES[code]}"}
    for code in ("400", "401", "403")
}


def _journal_entry() -> Schema:
    text, flag = {"type": "string"}, {"type": "boolean"}
    nullable_text = {"type": ["string", "null"]}
    properties: Schema = {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "accountId": {"type": ["integer", "null"]},
        "accountIds": {"type": "array", "items": {"type": "integer"}},
        "method": text,
        "path": text,
        "resource": text,
        "query": {**text, "description": "As sent, secret values as ***."},
        "status": {"type": "integer"},
        "durationMs": {"type": "number"},
        "clientId": nullable_text,
        "username": nullable_text,
        "requestHeaders": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Lower-case names; Authorization and Cookie values as ***.",
        },
        "requestBody": {**text, "description": "The first 64 KiB, secrets as ***."},
        "requestTruncated": flag,
        "responseBody": {**text, "description": "The first 64 KiB, secrets as ***."},
        "responseTruncated": flag,
        "errorCode": {
            **nullable_text,
            "description": "JSON:API errors[0].code, or the OAuth error, of a 4xx or 5xx.",
        },
        "fault": {"type": ["integer", "null"], "description": "The fault rule that fired."},
    }
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def _sandbox_get(operation_id: str, summary: str, parameters: list[Schema], ok: Schema) -> Schema:
    return {
        "get": {
            "tags": ["sandbox"],
            "operationId": operation_id,
            "summary": summary,
            "security": [{"oauth2": ["read"]}],
            "parameters": copy.deepcopy(parameters),  # each document its own objects
            "responses": copy.deepcopy({"200": ok, **_JOURNAL_ERRORS}),
        }
    }


def _sandbox_paths() -> dict[str, Schema]:
    entry = _journal_entry()
    listing = _object({"requests": {"type": "array", "items": entry}}, required=["requests"])
    form = {
        "name": "format",
        "in": "query",
        "description": "jsonl for JSON Lines (as Accept: application/x-ndjson does).",
        "schema": {"type": "string", "enum": ["json", "jsonl"]},
    }
    listed = {
        "description": "The newest matching requests, oldest first.",
        "content": {
            JSON: {"schema": listing},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
    count = _object({"count": {"type": "integer", "minimum": 0}}, required=["count"])
    cell = _object(
        {
            "resource": {"type": "string"},
            "status": {"type": "integer"},
            "count": {"type": "integer"},
        },
        required=["resource", "status", "count"],
    )
    stats = _object({"stats": {"type": "array", "items": cell}}, required=["stats"])
    return {
        "/sandbox/requests": _sandbox_get(
            "listJournalRequests",
            "The request journal: the newest requests, oldest first",
            [*_JOURNAL_FILTERS, _LIMIT, form],
            listed,
        ),
        "/sandbox/requests/count": _sandbox_get(
            "countJournalRequests",
            "How many journal requests match (to assert 'exactly three POSTs')",
            _JOURNAL_FILTERS,
            _json("The number of matching requests.", count),
        ),
        "/sandbox/stats": _sandbox_get(
            "journalStats",
            "Journal requests counted per resource and status",
            _JOURNAL_FILTERS,
            _json("Counts per resource and status, by resource then status.", stats),
        ),
        **_control_paths(),
    }


# --- the sandbox: fault rules, settings, timeline and row counts ----------------------------------
# Input rules as sandbox.rules.checked_rule and sandbox.limits.checked_settings enforce them;
# tests/server/http/test_openapi.py (at every bound) and tests/server/sandbox/test_faults_fuzz.py
# (Hypothesis, and the live server) hold the schemas to those functions. The bounds of
# sandbox.limits and http.sandbox are repeated here (they import SQLAlchemy and Starlette) and
# compared by the tests.

_MIN_RATE = 0.01  # sandbox.limits: requests per second
_MAX_RATE = 100_000  # sandbox.limits: requests per second
_MAX_BURST = 100_000
_COMPAT_MODES = ("strict", "production")
_MAX_MINUTES = 24 * 60  # http.sandbox: the timeline's span
_MAX_STEP = 3600
_MAX_TIMES = 1_000_000_000  # times and every
_MAX_RETRY_AFTER = 86_400
_MAX_PATH = 2000

_ACTIONS = {
    Action.STATUS: "Answers `status` (400 to 599) with a JSON:API error document (code "
    "SANDBOX_FAULT) instead of handling the request: nothing is written. `Retry-After` carries "
    f"`retryAfter` seconds when set, and always on 429 and 503 (default {DEFAULT_RETRY_AFTER}).",
    Action.LATENCY: "Handles the request, then holds its answer `latencyMs` milliseconds plus a "
    "seeded jitter from 0 to `jitterMs`, and sends it unchanged.",
    Action.HANG: "Holds the request unanswered and unhandled until the client gives up or "
    f"`hangS` seconds pass (default {DEFAULT_HANG_S:g}), then closes the connection without an "
    "answer: nothing is written.",
    Action.DROP: "Closes the connection without an answer: nothing is handled or written.",
    Action.BROKEN: "Sends a 200 status line promising a 4096-byte JSON:API body, the first bytes "
    "of it, then closes the connection: nothing is handled or written.",
    Action.COMMIT_THEN_FAIL: "Handles the request and commits what it writes, then answers 500 "
    "INTERNAL_ERROR, or with `dropAfterCommit` closes the connection without an answer: the "
    "ambiguous failure, where a retry may write twice.",
    Action.EXPIRED_TOKEN: "Answers 401 `invalid_token` (Access token expired, with "
    "`WWW-Authenticate`), as a real expiry does: nothing is handled.",
}
_RULE_NOTE = """\
A fault rule of the account: what to do (`action`) to which of its `/v1` requests (`method`, a \
`path` glob) and how often. Every authenticated request a rule matches counts as a match, in the \
database, so the n-th match is the n-th across every worker; whether a match fires depends on \
its ordinal only: `every` fires every n-th match, `times` fires at most n times (with `every`: \
the first n of those), `probability` a draw seeded by `seed` and the ordinal (the same seed gives \
the same sequence in any run), none of them every match. When several rules match, each counts, \
and the oldest that fires decides. Rules act on `/v1` only (not on `/sandbox`, the token \
endpoint or `/health`), after the account's rate limit, and apply on every worker within a \
second. Under a server other than uvicorn, the actions that close the connection answer 500 \
instead.\
"""
_RULE_INPUT_NOTE = """\
A member left out or null takes its default; one that belongs to another action is refused \
unless null, as are unknown members (400 with `source.pointer` at the member). Integers must be \
JSON integers (5.0 is refused). `probability` goes with neither `times` nor `every`.\
"""


def _rule_input_members() -> dict[str, Schema]:
    """The members of a rule as input, each given (not null); ``action`` is per branch."""

    def integer(low: int, high: int, description: str) -> Schema:
        return {"type": "integer", "minimum": low, "maximum": high, "description": description}

    return {
        "method": {
            "type": "string",
            "pattern": _anchored(_any_case(list(METHODS))),
            "description": f"Only requests of this method ({', '.join(METHODS)}, any case); "
            "by default any method.",
        },
        "path": {
            "anyOf": [
                {"const": "*"},
                {"type": "string", "pattern": r"^/[^\x00]*$", "maxLength": _MAX_PATH},
            ],
            "default": "*",
            "description": "A glob (`*`, `?`, `[...]`, case-sensitive) the request path must "
            f"match whole, such as `/v1/products*`; `*` matches every path. At most {_MAX_PATH} "
            "characters, no NUL.",
        },
        "status": integer(400, 599, "The status to answer."),
        "retryAfter": integer(
            0,
            _MAX_RETRY_AFTER,
            "Seconds for `Retry-After`; default "
            f"{DEFAULT_RETRY_AFTER} on 429 and 503, none on other statuses.",
        ),
        "latencyMs": integer(1, MAX_MS, "The fixed delay, in milliseconds."),
        "jitterMs": {
            **integer(0, MAX_MS, "At most this much more, seeded per match (default 0)."),
            "default": 0,
        },
        "hangS": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_HANG_S,
            "default": DEFAULT_HANG_S,
            "description": "Seconds to hold the request before closing the connection.",
        },
        "dropAfterCommit": {
            "type": "boolean",
            "default": False,
            "description": "Close the connection after the commit instead of answering 500.",
        },
        "times": integer(1, _MAX_TIMES, "Fire at most this many times."),
        "every": integer(1, _MAX_TIMES, "Fire on every n-th match only."),
        "probability": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Fire on a match with this probability, drawn from `seed` and the "
            "match's ordinal.",
        },
        "seed": {**_INT64, "default": 0, "description": "Seeds `probability` and the jitter."},
    }


def _or_null(schema: Schema) -> Schema:
    schema = copy.deepcopy(schema)
    if "type" in schema:
        _allow_null(schema)
    else:
        schema["anyOf"].append({"type": "null"})
    return schema


def _rule_branch(action: Action, members: dict[str, Schema]) -> Schema:
    needed = NEEDED.get(action)
    properties: Schema = {
        "action": {
            "type": "string",
            "pattern": _anchored(_any_case([action.value])),
            "description": f"`{action.value}` (any case): {_ACTIONS[action]}",
        }
    }
    for name, schema in members.items():
        owner = OWN_MEMBERS.get(name, action)
        if owner is not action:
            properties[name] = {
                "type": "null",
                "description": f"Goes with the {owner.value} action: only null here.",
            }
        else:
            properties[name] = copy.deepcopy(schema) if name == needed else _or_null(schema)
    return {
        "title": action.value,
        "type": "object",
        "properties": properties,
        "required": ["action"] if needed is None else ["action", needed],
        "additionalProperties": False,
    }


def _rule_request() -> Schema:
    members = _rule_input_members()
    return {
        "type": "object",
        "description": f"{_RULE_NOTE}\n\n{_RULE_INPUT_NOTE}",
        "oneOf": [_rule_branch(action, members) for action in Action],
        "not": {
            "anyOf": [
                {
                    "required": ["probability", other],
                    "properties": {"probability": _given(), other: _given()},
                }
                for other in ("times", "every")
            ]
        },
    }


def _given() -> Schema:
    return {"not": {"type": "null"}}


def _fault_rule() -> Schema:
    nullable_count = {"type": ["integer", "null"], "minimum": 1, "maximum": _MAX_TIMES}
    positive = {**_INT64, "minimum": 1}
    counter = {"type": "integer", "minimum": 0}
    properties: Schema = {
        "id": {**positive, "description": "The rule's id: DELETE /sandbox/faults/{id}."},
        "accountId": positive,
        "action": {"type": "string", "enum": [action.value for action in Action]},
        "method": {"type": ["string", "null"], "enum": [*METHODS, None]},
        "path": {"type": "string", "maxLength": _MAX_PATH},
        "status": {"type": ["integer", "null"], "minimum": 400, "maximum": 599},
        "retryAfter": {"type": ["integer", "null"], "minimum": 0, "maximum": _MAX_RETRY_AFTER},
        "latencyMs": {"type": "integer", "minimum": 0, "maximum": MAX_MS},
        "jitterMs": {"type": "integer", "minimum": 0, "maximum": MAX_MS},
        "hangS": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HANG_S},
        "dropAfterCommit": {"type": "boolean"},
        "times": nullable_count,
        "every": copy.deepcopy(nullable_count),
        "probability": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
        "seed": dict(_INT64),
        "matched": {**counter, "description": "How many requests matched, across workers."},
        "fired": {
            **counter,
            "description": "How many of the matches fired (with a probability: among the "
            "first 100,000).",
        },
        "createdAt": {"type": "string", "format": "date-time", "pattern": _RENDERED_DATETIME},
    }
    return {
        "type": "object",
        "description": "A fault rule as stored, with its counts: every member, defaults "
        "filled in (the members of other actions: status and retryAfter null, latencyMs and "
        f"jitterMs 0, hangS {DEFAULT_HANG_S:g}, dropAfterCommit false).",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _settings() -> Schema:
    properties: Schema = {
        "accountId": {**_INT64, "minimum": 1},
        "rateLimit": {
            "type": ["number", "null"],
            "minimum": _MIN_RATE,
            "maximum": _MAX_RATE,
            "description": "Requests per second per access token; null: no limit.",
        },
        "burst": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": _MAX_BURST,
            "description": "Requests allowed at once: as set, or the rate rounded up; null "
            "exactly when there is no limit.",
        },
        "compat": {
            "type": "string",
            "enum": list(_COMPAT_MODES),
            "description": "strict: input the hosted API fails on answers 400 with a pointer; "
            "production: it answers 500, as the hosted API does.",
        },
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _settings_request() -> Schema:
    return {
        "type": "object",
        "description": "The settings to change; those left out stay as they are. A rate limit "
        "is kept per account and access token (GCRA, shared by every worker); over it, a /v1 "
        "request answers 429 RATE_LIMITED with Retry-After. Unknown members are refused (400 "
        "with `source.pointer` at the member).",
        "properties": {
            "rateLimit": {
                "type": ["number", "null"],
                "anyOf": [
                    {"type": "null"},
                    {"const": 0},
                    {"type": "number", "minimum": _MIN_RATE, "maximum": _MAX_RATE},
                ],
                "description": f"Requests per second per access token, from {_MIN_RATE} to "
                f"{_MAX_RATE}; 0 or null turns the limit off (and the burst with it).",
            },
            "burst": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": _MAX_BURST,
                "description": "Requests allowed at once (default: the rate rounded up). Null "
                "when the limit is turned off in the same body; a burst for an account left "
                "without a limit is refused (400 at /burst).",
            },
            "compat": {"type": "string", "enum": list(_COMPAT_MODES)},
        },
        "additionalProperties": False,
        "if": {"properties": {"rateLimit": {"enum": [0, None]}}, "required": ["rateLimit"]},
        "then": {"properties": {"burst": {"type": "null"}}},
    }


def _sandbox_schemas() -> dict[str, Schema]:
    return {
        "FaultRuleRequest": _rule_request(),
        "FaultRule": _fault_rule(),
        "SandboxSettingsRequest": _settings_request(),
        "SandboxSettings": _settings(),
    }


_CONTROL_PROBLEMS = [
    "ACCOUNT_REQUIRED: the user reaches several accounts and no accountId says which",
    "INVALID_QUERY: a malformed query parameter (source.parameter names it)",
]
_BODY_PROBLEMS = [
    "INVALID_VALUE: a member is unknown or wrong (source.pointer names it, such as /status)",
    "INVALID_DOCUMENT: the body is no JSON object",
]


def _control(
    operation_id: str,
    summary: str,
    *,
    scope: str,
    responses: Schema,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    problems: tuple[str, ...] = (),
    description: str = "",
) -> Schema:
    """An operation on one account's sandbox controls (or what the sandbox page shows)."""
    account = {
        "name": "accountId",
        "in": "query",
        "description": "The account: needed when the user reaches several (400 "
        "ACCOUNT_REQUIRED without it); 403 ACCOUNT_FORBIDDEN for one it cannot reach.",
        "schema": {**_INT64, "minimum": 1},
    }
    errors = {MEDIA_TYPE: {"schema": _schema_ref("ErrorDocument")}}
    bad_request = "; ".join([*problems, *(_BODY_PROBLEMS if body else []), *_CONTROL_PROBLEMS])
    if body is not None:  # 413 and 415 too: the body is read before the token
        bad_request += ". The body is read before the token: a bad one answers so even without"
    codes = ["401", "403", *(["413", "415"] if body is not None else [])]
    codes += ["503"] if scope == "write" else []  # a busy database
    operation: Schema = {
        "tags": ["sandbox"],
        "operationId": operation_id,
        "summary": summary,
        "security": [{"oauth2": [scope]}],
        "parameters": [*(parameters or []), account],
        "responses": {
            **responses,
            "400": {"description": f"Bad input. {bad_request}.", "content": errors},
            **{code: {"$ref": f"#/components/responses/{_RESPONSE_NAMES[code]}"} for code in codes},
        },
    }
    if description:
        operation["description"] = description
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "description": f"As {JSON} (or {MEDIA_TYPE}).",
            "content": {JSON: {"schema": _schema_ref(body)}},
        }
    return operation


def _control_paths() -> dict[str, Schema]:
    rule = _object({"fault": _schema_ref("FaultRule")}, required=["fault"])
    rules = _object(
        {"faults": {"type": "array", "items": _schema_ref("FaultRule")}}, required=["faults"]
    )
    cleared = _object({"cleared": {"type": "integer", "minimum": 0}}, required=["cleared"])
    settings = _object({"settings": _schema_ref("SandboxSettings")}, required=["settings"])
    counts = {name: {"type": "integer", "minimum": 0} for name in ("2xx", "3xx", "4xx", "5xx")}
    counts["other"] = {
        "type": "integer",
        "minimum": 0,
        "description": "Requests with no answer (a dropped connection: status 0) or a 1xx.",
    }
    bucket = _object(
        {
            "at": {"type": "string", "format": "date-time", "pattern": _RENDERED_DATETIME},
            **counts,
        },
        required=["at", *counts],
    )
    timeline = _object(
        {
            "step": {"type": "integer", "minimum": 1, "maximum": _MAX_STEP},
            "buckets": {"type": "array", "items": bucket},
        },
        required=["step", "buckets"],
    )
    types = [spec.type for spec in REGISTRY]
    rows = _object(
        {
            "rows": {
                "type": "object",
                "properties": {name: {"type": "integer", "minimum": 0} for name in types},
                "required": types,
                "additionalProperties": False,
            }
        },
        required=["rows"],
    )

    def bounded(name: str, high: int, default: int, description: str) -> Schema:
        schema = {"type": "integer", "minimum": 1, "maximum": high, "default": default}
        return {"name": name, "in": "query", "description": description, "schema": schema}

    rule_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "A rule id (at most 18 digits); anything else answers 400 INVALID_ID, "
        "an id that is no rule of the account 404.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
    }
    return {
        "/sandbox/faults": {
            "get": _control(
                "listFaultRules",
                "An account's fault rules, oldest first, with their counts",
                scope="read",
                responses={"200": _json("The account's rules.", rules)},
            ),
            "post": _control(
                "addFaultRule",
                "Add a fault rule to an account",
                scope="write",
                body="FaultRuleRequest",
                responses={"201": _json("The rule, as stored.", rule)},
                description=_RULE_NOTE,
            ),
            "delete": _control(
                "clearFaultRules",
                "Delete every fault rule of an account",
                scope="write",
                responses={"200": _json("How many rules were deleted.", cleared)},
            ),
        },
        "/sandbox/faults/{id}": {
            "delete": _control(
                "deleteFaultRule",
                "Delete one fault rule of an account",
                scope="write",
                parameters=[rule_id],
                responses={
                    "204": {"description": "Deleted: it stops at once."},
                    "404": {
                        "description": "No such rule in the account (NOT_FOUND).",
                        "content": {MEDIA_TYPE: {"schema": _schema_ref("ErrorDocument")}},
                    },
                },
                problems=("INVALID_ID: the id is not a number of at most 18 digits",),
            ),
        },
        "/sandbox/settings": {
            "get": _control(
                "getSandboxSettings",
                "An account's sandbox settings: rate limit and compat mode",
                scope="read",
                responses={"200": _json("The account's settings.", settings)},
            ),
            "patch": _control(
                "updateSandboxSettings",
                "Change some of an account's sandbox settings",
                scope="write",
                body="SandboxSettingsRequest",
                responses={"200": _json("The account's settings after the change.", settings)},
            ),
        },
        "/sandbox/timeline": {
            "get": _control(
                "sandboxTimeline",
                "An account's journal counted per step and status class",
                scope="read",
                parameters=[
                    bounded("minutes", _MAX_MINUTES, 15, "How far back, in minutes."),
                    bounded(
                        "step",
                        _MAX_STEP,
                        10,
                        "The width of a bucket, in seconds; at most 1440 buckets "
                        "(minutes × 60 / step), else 400.",
                    ),
                ],
                responses={
                    "200": _json(
                        "Buckets oldest first, from `minutes` ago (floored to a step) to now, "
                        "every step present (empty ones with zeros).",
                        timeline,
                    )
                },
            ),
        },
        "/sandbox/rows": {
            "get": _control(
                "sandboxRows",
                "Live (not deleted) rows per resource type in an account",
                scope="read",
                responses={"200": _json("Row counts per resource type.", rows)},
            ),
        },
    }
