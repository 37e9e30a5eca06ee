"""The resource registry: the single source of truth for every resource of the API."""

from optiply.resources.registry import REGISTRY, find, get
from optiply.resources.spec import (
    Access,
    Attribute,
    EmbeddedLines,
    Kind,
    Relationship,
    ResourceSpec,
    Unique,
)

__all__ = [
    "REGISTRY",
    "Access",
    "Attribute",
    "EmbeddedLines",
    "Kind",
    "Relationship",
    "ResourceSpec",
    "Unique",
    "find",
    "get",
]
