"""Attribute builders shared by the resource declarations (§7.0 of the API reference)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from optiply.resources.spec import Access, Attribute, Kind

STATUSES = ("enabled", "disabled")
UPLIFT_TYPES = ("absolute", "relative", "close_out")
UPLIFT_ALIASES = (("percentage", "relative"),)

ID = Attribute("id", Kind.ID, nullable=False, access=Access.READ_ONLY, description="The id.")
UUID = Attribute("uuid", Kind.UUID, nullable=False, access=Access.READ_ONLY)


def string(name: str, *, required: bool = False, max_length: int = 255, **kw: Any) -> Attribute:
    """A string attribute, at most ``max_length`` characters."""
    return Attribute(
        name, Kind.STRING, nullable=not required, required=required, max_length=max_length, **kw
    )


def integer(name: str, *, required: bool = False, **kw: Any) -> Attribute:
    """A signed 64-bit integer attribute."""
    return Attribute(name, Kind.INTEGER, nullable=not required, required=required, **kw)


def decimal(
    name: str,
    *,
    required: bool = False,
    digits: int = 17,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Attribute:
    """A decimal attribute, rounded toward zero to two places, ``digits`` integer digits."""
    return Attribute(
        name,
        Kind.DECIMAL,
        nullable=not required,
        required=required,
        integer_digits=digits,
        minimum=minimum,
        maximum=maximum,
    )


def boolean(name: str, default: bool | None = False, **kw: Any) -> Attribute:
    """A boolean attribute; non-nullable with a default unless ``default`` is None."""
    return Attribute(name, Kind.BOOLEAN, nullable=default is None, default=default, **kw)


def datetime(name: str, *, required: bool = False, **kw: Any) -> Attribute:
    """A UTC date-time attribute."""
    return Attribute(name, Kind.DATETIME, nullable=not required, required=required, **kw)


def status() -> Attribute:
    """``status``: enabled or disabled, case-insensitive on input (Q6)."""
    return Attribute("status", Kind.ENUM, nullable=False, default="enabled", choices=STATUSES)


def uplift(name: str) -> Attribute:
    """``upliftType``-like enums (docs/behaviour.md, Requests: uplift types)."""
    return Attribute(name, Kind.ENUM, choices=UPLIFT_TYPES, choice_aliases=UPLIFT_ALIASES)


def reference(name: str, target: str, *, required: bool = True) -> tuple[Attribute, Attribute]:
    """A foreign-key attribute (``productId``) and its read-only ``productUuid`` twin."""
    base = name.removesuffix("Id")
    return (
        Attribute(
            name, Kind.REFERENCE, nullable=not required, required=required, references=target
        ),
        Attribute(f"{base}Uuid", Kind.UUID, access=Access.READ_ONLY),
    )


def account() -> tuple[Attribute, Attribute]:
    """``accountId`` (settable on POST only, §3.2) and ``accountUuid``."""
    return (
        Attribute(
            "accountId",
            Kind.REFERENCE,
            nullable=False,
            access=Access.CREATE_ONLY,
            references="accounts",
            description="The owning account; chosen by the §3.2 order when absent on POST.",
        ),
        Attribute("accountUuid", Kind.UUID, access=Access.READ_ONLY),
    )


def hidden_account() -> Attribute:
    """The owning account of a child type: filterable (``filter[accountId]``), never rendered."""
    return Attribute(
        "accountId", Kind.REFERENCE, nullable=False, access=Access.HIDDEN, references="accounts"
    )


def provenance() -> tuple[Attribute, ...]:
    """Provenance attributes of every writable type (Q9, Q13)."""
    return (
        Attribute("remoteIdMap", Kind.OBJECT, access=Access.READ_ONLY),
        datetime("remoteDataSyncedToDate"),
        Attribute(
            "remoteId",
            Kind.STRING,
            access=Access.WRITE_ONLY,
            max_length=255,
            stored=False,
            description="Stored in remoteIdMap under the request's couplingId (or 'publicApi').",
        ),
        Attribute("createdFromPublicApi", Kind.BOOLEAN, nullable=False, access=Access.READ_ONLY),
    )


def timestamps() -> tuple[Attribute, ...]:
    """``createdAt`` and ``updatedAt``, set by the server."""
    return (
        Attribute("createdAt", Kind.DATETIME, nullable=False, access=Access.READ_ONLY),
        Attribute("updatedAt", Kind.DATETIME, nullable=False, access=Access.READ_ONLY),
    )


def order_lines() -> Attribute:
    """Write-only embedded ``orderLines`` (§3.5)."""
    return Attribute(
        "orderLines",
        Kind.LINES,
        access=Access.CREATE_ONLY,
        stored=False,
        description="Flat line objects created with the order (POST only, never rendered).",
    )
