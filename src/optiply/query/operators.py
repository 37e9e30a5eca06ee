"""The filter operators of ``filter[attribute][OPERATOR]`` (§5.2): the only list of them."""

from __future__ import annotations

from enum import StrEnum


class Operator(StrEnum):
    """A filter operator; the value is its canonical (upper-case) spelling on the wire."""

    EQ = "EQ"
    NEQ = "NEQ"
    LIKE = "LIKE"
    LT = "LT"
    LE = "LE"
    GT = "GT"
    GE = "GE"

    @classmethod
    def lookup(cls, text: str) -> Operator | None:
        """The operator spelled ``text`` in any case, or None.

        >>> Operator.lookup("gt")
        <Operator.GT: 'GT'>
        >>> Operator.lookup("BETWEEN") is None
        True
        """
        return cls.__members__.get(text.upper())


EQUALITY = frozenset({Operator.EQ, Operator.NEQ})
"""Operators that take several values (IN / NOT IN) and the ``null`` literal."""

ORDERING = frozenset({Operator.LT, Operator.LE, Operator.GT, Operator.GE})
"""Operators that compare by order."""
