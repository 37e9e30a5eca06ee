"""Request media types: POST and PATCH need a JSON:API or JSON body; atomic operations need the
JSON:API media type with the extension's ``ext`` parameter, and an ``Accept`` that takes it.

§3.1; docs/behaviour.md, Requests; docs/extensions.md, Atomic operations.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from optiply.jsonapi.errors import ErrorCode
from optiply.jsonapi.extensions import ATOMIC, ATOMIC_MEDIA_TYPE, SERVER_EXTENSIONS
from optiply.jsonapi.media import MEDIA_TYPE, is_json_body
from optiply.server.http.errors import ApiError

MAX_BODY = 16 * 1024 * 1024
_KNOWN_URIS = frozenset(extension.uri for extension in SERVER_EXTENSIONS)
# Parameters a JSON:API media type may carry (JSON:API 1.1: ext and profile; charset is what
# HTTP libraries add on their own, tolerated as on every other endpoint).
_PARAMETERS = frozenset({"ext", "profile", "charset"})

MediaRange = tuple[str, dict[str, str]]


async def read_json_body(request: Request) -> bytes:
    """The raw body of a POST/PATCH, after checking its media type and size."""
    content_type = request.headers.get("content-type")
    return await _read(request, is_json_body(content_type), MEDIA_TYPE)


async def read_atomic_body(request: Request) -> bytes:
    """The raw body of an atomic operations request, after checking its ``Content-Type`` (415
    unless JSON:API with the extension in ``ext``), its ``Accept`` (406 when every JSON:API
    range in it refuses the answer's media type) and its size."""
    ranges = media_ranges(request.headers.get("content-type") or "")
    sent = ranges[0] if len(ranges) == 1 else ("", {})
    atomic = ATOMIC.uri in sent[1].get("ext", "").split()
    return await _read(request, atomic and _acceptable(sent), ATOMIC_MEDIA_TYPE, _check_accept)


def media_ranges(header: str) -> list[MediaRange]:
    """The media types of a ``Content-Type`` or ``Accept`` value, lowercased, with their
    parameters (quotes taken off; commas and semicolons inside quotes kept).

    >>> media_ranges('application/vnd.api+json;ext="a b", */*;q=0.1')
    [('application/vnd.api+json', {'ext': 'a b'}), ('*/*', {'q': '0.1'})]
    """
    found: list[MediaRange] = []
    for item in _split(header, ","):
        essence, *parameters = _split(item, ";")
        if not essence.strip():
            continue
        named: dict[str, str] = {}
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            named[name.strip().lower()] = value
        found.append((essence.strip().lower(), named))
    return found


def _split(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _acceptable(media: MediaRange) -> bool:
    """Whether a JSON:API media type's parameters are ones this server can honour."""
    essence, parameters = media
    if essence != MEDIA_TYPE or not set(parameters) <= _PARAMETERS:
        return False
    return set(parameters.get("ext", "").split()) <= _KNOWN_URIS


def _check_accept(request: Request) -> None:
    """406 when ``Accept`` lists the JSON:API media type and every instance of it has a
    parameter or an extension this server cannot honour (JSON:API 1.1, content negotiation)."""
    ranges = media_ranges(request.headers.get("accept") or "")
    jsonapi = [media for media in ranges if media[0] == MEDIA_TYPE]
    others = [media for media in ranges if media[0] in ("*/*", "application/*")]
    weighed = [(essence, {k: v for k, v in p.items() if k != "q"}) for essence, p in jsonapi]
    if jsonapi and not others and not any(_acceptable(media) for media in weighed):
        raise ApiError(
            ErrorCode.NOT_ACCEPTABLE,
            f"the answer is {ATOMIC_MEDIA_TYPE}; Accept allows no such media type",
            header="Accept",
        )


async def _read(
    request: Request,
    media_ok: bool,
    expected: str,
    also: Callable[[Request], None] | None = None,
) -> bytes:
    if not media_ok:
        content_type = request.headers.get("content-type")
        raise ApiError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"requests with a body must be sent as {expected}; got {content_type or 'nothing'}",
        )
    if also is not None:
        also(request)
    length = request.headers.get("content-length")
    too_long = length is not None and length.isdigit() and len(length) > len(str(MAX_BODY))
    if too_long or (length is not None and length.isdigit() and int(length) > MAX_BODY):
        raise ApiError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"request bodies are limited to {MAX_BODY} bytes"
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"request bodies are limited to {MAX_BODY} bytes"
        )
    return body
