"""Domain errors raised by the service layer; the HTTP layer alone turns them into statuses."""

from __future__ import annotations

from optiply.jsonapi.errors import Problem


class DomainError(Exception):
    """A request the business rules refuse; carries every problem found."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(problems[0].detail if problems else "")
        self.problems = problems


def attribute_pointer(name: str) -> str:
    """The JSON pointer of a request attribute."""
    return f"/data/attributes/{name}"
