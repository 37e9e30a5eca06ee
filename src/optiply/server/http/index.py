"""``GET /``: where everything is, as JSON, or as a small HTML page for a browser.

The links are absolute, built like every link the server sends (``OPTIPLY_PUBLIC_URL``, else
the request's scheme and ``Host``). HTML is sent when the ``Accept`` header ranks ``text/html``
above ``application/json`` (a browser's does); anything else, ``*/*`` included, gets JSON.
"""

from __future__ import annotations

from html import escape
from typing import NamedTuple

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.http.docs import DOCS_PATH
from optiply.server.http.urls import base_url


class Link(NamedTuple):
    """One entry of the index."""

    key: str
    path: str
    label: str


LINKS = (
    Link("docs", DOCS_PATH, "Interactive API docs (Swagger UI)"),
    Link("openapi", "/openapi.json", "OpenAPI 3.1 document"),
    Link("health", "/health", "Health check (no token needed)"),
    Link("api", "/v1", "API base URL (optiply_base_url)"),
    Link("dashboard", "/api", "Dashboard URL (optiply_dashboard_url)"),
    Link("token", TOKEN_PATH, "Token endpoint (POST; password and refresh grants)"),
    Link("sandbox", "/sandbox", "Sandbox: live request journal, fault rules (a page)"),
)

_VARY = {"Vary": "Accept", "X-Content-Type-Options": "nosniff"}


def index_route(*, title: str, version: str, public_url: str | None) -> Route:
    """The ``GET /`` route; ``public_url`` as ``urls.configured_base`` returns it."""

    async def index(request: Request) -> Response:
        base = base_url(request, public_url)
        links = {link.key: base + link.path for link in LINKS}
        if prefers_html(request.headers.get("accept")):
            return HTMLResponse(_html(title, version, links), headers=_VARY)
        body = {"name": title, "version": version, "links": links}
        return Response(orjson.dumps(body), media_type="application/json", headers=_VARY)

    return Route("/", index, methods=["GET"])


def prefers_html(accept: str | None) -> bool:
    """Whether ``accept`` gives ``text/html`` a higher quality than ``application/json``.

    Each type takes the quality of the most specific range that matches it (RFC 9110 §12.5.1).

    >>> prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    True
    >>> prefers_html("*/*"), prefers_html(None), prefers_html("application/json, text/html")
    (False, False, False)
    """
    if not accept:
        return False
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    return _quality(ranges, "text", "html") > _quality(ranges, "application", "json")


def _media_range(text: str) -> tuple[str, str, float]:
    media, *parameters = text.split(";")
    kind, _, subtype = media.strip().lower().partition("/")
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                quality = 0.0
    return kind, subtype.strip() or "*", quality


def _quality(ranges: list[tuple[str, str, float]], kind: str, subtype: str) -> float:
    best, specificity = 0.0, -1
    for range_kind, range_subtype, quality in ranges:
        if (range_kind, range_subtype) == (kind, subtype):
            rank = 2
        elif (range_kind, range_subtype) == (kind, "*"):
            rank = 1
        elif (range_kind, range_subtype) == ("*", "*"):
            rank = 0
        else:
            continue
        if rank > specificity:
            best, specificity = quality, rank
    return best


def _html(title: str, version: str, links: dict[str, str]) -> str:
    items = "\n".join(
        f'<li>{escape(link.label)}: <a href="{escape(links[link.key])}">'
        f"{escape(links[link.key])}</a></li>"
        for link in LINKS
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body>
<h1>{escape(title)}</h1>
<p>Version {escape(version)}.</p>
<ul>
{items}
</ul>
<p>A login to try it: <code>scripts/optiply demo login</code> (or <code>optiply demo login</code>)
prints a user, an OAuth client, a token and ready-to-paste <code>curl</code> commands.</p>
</body>
</html>
"""
