"""The JSON:API media type and which request body types are accepted.

§3.1; docs/behaviour.md, Requests.
"""

from __future__ import annotations

MEDIA_TYPE = "application/vnd.api+json"
JSON = "application/json"


def is_json_body(content_type: str | None) -> bool:
    """Whether a request ``Content-Type`` announces a JSON:API or plain JSON body.

    Parameters such as ``charset`` are tolerated: clients' HTTP libraries add them.

    >>> is_json_body("application/vnd.api+json; charset=UTF-8")
    True
    >>> is_json_body("application/x-www-form-urlencoded")
    False
    """
    if not content_type:
        return False
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence in (MEDIA_TYPE, JSON)
