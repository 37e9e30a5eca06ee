"""The query grammar of list requests: parse once into a typed ``ListQuery``, build it back."""

from optiply.jsonapi.errors import Problem
from optiply.query.ast import (
    DEFAULT_LIMIT,
    DELETED_AT,
    MAX_LIMIT,
    Filter,
    ListQuery,
    Page,
    QueryError,
    SortKey,
)
from optiply.query.build import build, format_value
from optiply.query.operators import Operator
from optiply.query.parse import parse

__all__ = [
    "DEFAULT_LIMIT",
    "DELETED_AT",
    "MAX_LIMIT",
    "Filter",
    "ListQuery",
    "Operator",
    "Page",
    "Problem",
    "QueryError",
    "SortKey",
    "build",
    "format_value",
    "parse",
]
