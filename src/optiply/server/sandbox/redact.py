"""Secrets out of everything the server records: query strings, forms, JSON bodies, headers.

One list of secret names serves the access log and the request journal. A value is replaced
by ``***`` wherever it appears: ``password=…`` in a query or form, ``"client_secret": …`` at
any depth of a JSON body, the ``Authorization`` header (Bearer or Basic) and cookies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

import orjson

HIDDEN = "***"
SECRET_KEYS = frozenset(
    {"password", "client_secret", "refresh_token", "access_token", "token", "code"}
)
"""Parameter and JSON member names whose values are hidden (compared case-insensitively)."""
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

_SECRET_BYTES = tuple(key.encode() for key in SECRET_KEYS)
# A secret member of a JSON text that could not be parsed: "key" : value-up-to-a-delimiter.
_JSON_MEMBER = re.compile(
    rb'("(?:' + b"|".join(_SECRET_BYTES) + rb')"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]*)',
    re.IGNORECASE,
)


def redact_query(query: str) -> str:
    """``query`` (or a form body) with the value of every secret parameter hidden.

    Keys are compared after percent-decoding and case-folding, so ``PASS%57ORD=x`` is hidden too.

    >>> redact_query("grant_type=refresh_token&refresh_token=abc&Token=1&page[limit]=5")
    'grant_type=refresh_token&refresh_token=***&Token=***&page[limit]=5'
    """
    parts = query.split("&")
    for index, part in enumerate(parts):
        key, equals, value = part.partition("=")
        if equals and value and unquote_plus(key).strip().casefold() in SECRET_KEYS:
            parts[index] = f"{key}={HIDDEN}"
    return "&".join(parts)


def redact_json(body: bytes) -> bytes:
    """A JSON body with the value of every secret member hidden, at any depth.

    Bodies naming no secret are returned as they are (no parsing); a body that is not valid
    JSON has its secret members hidden textually.

    >>> redact_json(b'{"data": {"attributes": {"name": "x", "Password": "p"}}}')
    b'{"data":{"attributes":{"name":"x","Password":"***"}}}'
    >>> redact_json(b'{"access_token": "abc", "broken": ')
    b'{"access_token": "***", "broken": '
    """
    lowered = body.lower()
    if not any(key in lowered for key in _SECRET_BYTES):
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _JSON_MEMBER.sub(lambda m: m.group(1) + b'"' + HIDDEN.encode() + b'"', body)
    return orjson.dumps(_hide(document))


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: HIDDEN if str(key).casefold() in SECRET_KEYS else _hide(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hide(item) for item in value]
    return value


def redact_body(body: bytes, content_type: str | None) -> bytes:
    """A request or response body with its secrets hidden, by its media type."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return redact_query(body.decode("latin-1")).encode("latin-1")
    return redact_json(body)


def redact_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as a mapping, with credentials hidden.

    >>> redact_headers([(b"Authorization", b"Basic dXNlcjpwdw=="), (b"Accept", b"*/*")])
    {'authorization': '***', 'accept': '*/*'}
    """
    shown: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = HIDDEN if name in SECRET_HEADERS else raw_value.decode("latin-1")
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown
