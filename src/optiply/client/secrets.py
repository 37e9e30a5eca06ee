"""``Secret``: a string that never shows itself in a ``repr``, a log line or an exception.

A dozen lines instead of ``pydantic.SecretStr``: importing pydantic would add about 90 ms to
the start-up of every ``target-optiply`` run, for this one class. ``get_secret_value`` has the
same name, so code written against pydantic's class keeps working (and such values are
accepted wherever a ``Secret`` is).
"""

from __future__ import annotations

from typing import Any, Protocol


class _HasSecret(Protocol):
    def get_secret_value(self) -> str: ...


class Secret:
    """A secret string: ``Secret('**********')`` in every rendering.

    >>> token = Secret("abc")
    >>> token, str(token), f"{token}", token.get_secret_value()
    (Secret('**********'), '**********', '**********', 'abc')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, not {type(value).__name__}")
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself; only for the moment it is sent."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled")


def secret(value: str | Secret | _HasSecret | None) -> Secret | None:
    """``value`` as a ``Secret`` (None stays None; pydantic's ``SecretStr`` is unwrapped)."""
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    return Secret(value.get_secret_value())
