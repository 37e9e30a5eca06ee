"""Domain errors raised by the service layer; the HTTP layer alone turns them into statuses."""

from __future__ import annotations

from dataclasses import dataclass

from optiply.jsonapi.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request, pointing at the attribute or parameter at fault."""

    code: ErrorCode
    detail: str
    pointer: str | None = None
    parameter: str | None = None
    # Input the hosted API answers 500 to (a non-numeric id, a float for an integer, a date it
    # cannot parse; reference §3.3): an account in production compat answers so too.
    fails_hosted: bool = False


class DomainError(Exception):
    """A request the business rules refuse; carries every problem found."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(problems[0].detail if problems else "")
        self.problems = problems


def attribute_pointer(name: str) -> str:
    """The JSON pointer of a request attribute."""
    return f"/data/attributes/{name}"
