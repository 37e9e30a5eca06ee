"""Finding the route of a ``/v1/{type}/...`` request by its type, not by trying every pattern.

Starlette tries each route's regular expression in turn; with four routes for each of a dozen
types (and atomic operations) that took about a tenth of a list page's time. ``ByType`` is
one route standing for all of them: a dict lookup on the path's type segment, then the (at
most four) routes of that type, in order, with Starlette's own matching, so paths, methods
(405 for a known path), path parameters and slash redirects behave exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

_CHOSEN = "optiply.route"  # the scope key of the matched route, for ``handle``


class ByType(BaseRoute):
    """The routes under ``prefix`` (e.g. ``/v1/``), grouped by the path segment after it."""

    def __init__(self, prefix: str, routes: Sequence[Route]) -> None:
        self.prefix = prefix
        self.groups: dict[str, list[Route]] = {}
        for route in routes:
            assert route.path.startswith(prefix), route.path
            name = route.path[len(prefix) :].split("/", 1)[0]
            self.groups.setdefault(name, []).append(route)

    @property
    def routes(self) -> list[Route]:
        """Every route, in the order given."""
        return [route for group in self.groups.values() for route in group]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = _route_path(scope)
        if not path.startswith(self.prefix):
            return Match.NONE, {}
        group = self.groups.get(path[len(self.prefix) :].split("/", 1)[0])
        if group is None:
            return Match.NONE, {}
        partial: tuple[Route, Scope] | None = None
        for route in group:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, _CHOSEN: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], _CHOSEN: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_CHOSEN].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _route_path(scope: Scope) -> str:
    """The path without the app's ``root_path``, as Starlette's routes match it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
