"""The vocabulary of the resource registry: attributes, relationships and resource specs.

Everything else (tables, validation, rendering, query parsing, OpenAPI, the client and the
target) is derived from these declarations; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any


class Kind(Enum):
    """The wire type of an attribute; each maps to one column type and one JSON form."""

    ID = "id"  # the document-level id: a bigint, rendered as a JSON string
    STRING = "string"
    INTEGER = "integer"  # JSON number, signed 64-bit
    REFERENCE = "reference"  # an integer foreign key such as productId
    DECIMAL = "decimal"  # rendered as a string with exactly two decimals
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # UTC, rendered as YYYY-MM-DDTHH:MM:SS[.ffffff]Z
    UUID = "uuid"
    ENUM = "enum"  # a closed set of lowercase strings, case-insensitive on input
    EMAILS = "emails"  # an array of e-mail addresses
    OBJECT = "object"  # a JSON object (remoteIdMap)
    LINES = "lines"  # write-only embedded child rows (orderLines)


class Access(Enum):
    """Who may set an attribute."""

    WRITABLE = "writable"
    READ_ONLY = "read-only"  # server-set; silently ignored on input
    WRITE_ONLY = "write-only"  # accepted on input, never rendered (remoteId, orderLines)
    CREATE_ONLY = "create-only"  # accepted on POST only (accountId)
    HIDDEN = "hidden"  # stored and filterable, never rendered nor written (accountId of children)


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """Column name for a wire name.

    >>> snake("remoteDataSyncedToDate")
    'remote_data_synced_to_date'
    """
    return _CAMEL.sub("_", name).lower()


@dataclass(frozen=True, eq=False)  # registry singletons: identity equality, cheap hashing
class Attribute:
    """One attribute of a resource as it appears in ``data.attributes``."""

    name: str
    kind: Kind
    nullable: bool = True
    required: bool = False  # must be present (and non-null) on POST
    access: Access = Access.WRITABLE
    default: Any = None  # applied on POST when the attribute is absent
    max_length: int | None = None
    exact_length: int | None = None
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    integer_digits: int | None = None  # DECIMAL: digits before the point
    choices: tuple[str, ...] = ()  # ENUM: the stored (canonical) values
    choice_aliases: tuple[tuple[str, str], ...] = ()  # ENUM: input alias -> canonical value
    input_aliases: tuple[str, ...] = ()  # other accepted input names (availability_date)
    references: str | None = None  # REFERENCE: the JSON:API type it points at
    stored: bool = True  # False for write-only inputs handled by a service rule
    ignore_booleans: bool = False  # DATETIME: some clients send booleans; drop them (Q21)
    description: str = ""

    @cached_property
    def column(self) -> str:
        """The storage column name."""
        return "id" if self.kind is Kind.ID else snake(self.name)

    @property
    def readable(self) -> bool:
        """Whether the attribute is rendered in responses."""
        return self.access not in (Access.WRITE_ONLY, Access.HIDDEN) and self.kind is not Kind.LINES

    @property
    def writable_on_create(self) -> bool:
        """Whether a POST may set it."""
        return self.access in (Access.WRITABLE, Access.WRITE_ONLY, Access.CREATE_ONLY)

    @property
    def writable_on_update(self) -> bool:
        """Whether a PATCH may set it."""
        return self.access in (Access.WRITABLE, Access.WRITE_ONLY)

    @property
    def filterable(self) -> bool:
        """Whether ``filter[name]`` is accepted."""
        return self.stored and (self.readable or self.access is Access.HIDDEN)

    @property
    def sortable(self) -> bool:
        """Whether ``sort=name`` is accepted."""
        return self.filterable and self.kind not in (Kind.EMAILS, Kind.OBJECT)


@dataclass(frozen=True)
class Relationship:
    """A named link between resources, rendered under ``relationships`` with self/related links.

    A to-one relationship follows this resource's ``attribute`` (e.g. ``productId``); a to-many
    relationship lists the ``target`` rows whose ``attribute`` points back at this one.
    """

    name: str
    target: str
    attribute: str
    to_many: bool = False
    cascade: bool = False  # to-many only: deleting this row soft-deletes the targets


@dataclass(frozen=True)
class Unique:
    """A pair of attributes that must be unique among the non-deleted rows (409 otherwise)."""

    attributes: tuple[str, str]
    label: str  # e.g. "SupplierProduct", used in the 409 detail


@dataclass(frozen=True)
class EmbeddedLines:
    """Write-only ``orderLines`` on POST: child rows created with the parent."""

    attribute: str  # "orderLines"
    target: str  # "buyOrderLines"
    parent_attribute: str  # "buyOrderId"


@dataclass(frozen=True, eq=False)  # registry singletons: identity equality, cheap hashing
class ResourceSpec:
    """Everything the project knows about one JSON:API resource type."""

    type: str
    table: str
    label: str  # singular, for messages: "SupplierProduct"
    attributes: tuple[Attribute, ...]
    relationships: tuple[Relationship, ...] = ()
    unique: tuple[Unique, ...] = ()
    embedded: EmbeddedLines | None = None
    parent: str | None = None  # REFERENCE attribute whose target's account this row belongs to
    methods: frozenset[str] = frozenset({"GET", "POST", "PATCH", "DELETE"})
    description: str = ""
    _by_name: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_name = self._by_name
        for attribute in self.attributes:
            by_name[attribute.name] = attribute
        for attribute in self.attributes:
            for alias in attribute.input_aliases:
                by_name.setdefault(alias, attribute)

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name`` (or accepting it as an input alias)."""
        return self._by_name.get(name)

    @cached_property
    def has_account(self) -> bool:
        """Whether ``accountId`` is a visible attribute (top-level types)."""
        account = self._by_name.get("accountId")
        return account is not None and account.readable

    @cached_property
    def has_remote_ids(self) -> bool:
        """Whether rows carry ``remoteIdMap`` (so ``filter[remoteId]`` can find them, on a
        server that offers that extension)."""
        return "remoteIdMap" in self._by_name

    @cached_property
    def deletable(self) -> bool:
        """Whether rows can be deleted (DELETE; the server keeps them, marked deleted), so a
        server that offers the deleted-rows extension lists them with ``filter[deletedAt]``."""
        return "DELETE" in self.methods

    @cached_property
    def readable(self) -> tuple[Attribute, ...]:
        """Attributes rendered in responses, in declaration order."""
        return tuple(a for a in self.attributes if a.readable and a.kind is not Kind.ID)

    @cached_property
    def stored(self) -> tuple[Attribute, ...]:
        """Attributes with a column."""
        return tuple(a for a in self.attributes if a.stored)

    @cached_property
    def references(self) -> tuple[Attribute, ...]:
        """The foreign-key attributes."""
        return tuple(a for a in self.attributes if a.kind is Kind.REFERENCE)

    def relationship(self, name: str) -> Relationship | None:
        """The relationship called ``name``."""
        return next((r for r in self.relationships if r.name == name), None)
