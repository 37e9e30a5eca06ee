"""Request media types: POST and PATCH need a JSON:API or JSON body.

§3.1; docs/behaviour.md, Requests.
"""

from __future__ import annotations

from starlette.requests import Request

from optiply.jsonapi.errors import ErrorCode
from optiply.jsonapi.media import MEDIA_TYPE, is_json_body
from optiply.server.http.errors import ApiError

MAX_BODY = 16 * 1024 * 1024


async def read_json_body(request: Request) -> bytes:
    """The raw body of a POST/PATCH, after checking its media type and size."""
    content_type = request.headers.get("content-type")
    if not is_json_body(content_type):
        raise ApiError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"requests with a body must be sent as {MEDIA_TYPE}; got {content_type or 'nothing'}",
        )
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
