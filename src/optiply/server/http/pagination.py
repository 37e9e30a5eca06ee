"""Paging links (§4.3): absolute, keeping every query parameter the client sent."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus, urlencode

from optiply.query import Page


def page_links(
    url: str,
    params: Sequence[tuple[str, str]],
    page: Page,
    total: int,
    *,
    more: bool | None = None,
    cursor: str | None = None,
) -> dict[str, str | None]:
    """``first``, ``last``, ``prev`` and ``next`` for ``page`` of ``total`` rows.

    ``next`` resumes by key when a ``cursor`` is given (``page[after]``, next to the nominal
    ``page[offset]`` that clients computing offsets themselves keep using); ``more`` says
    whether rows follow this page (by default: whether ``total`` reaches past it).

    >>> links = page_links("http://h/v1/products", [("sort", "id")], Page(10, 10), 25)
    >>> links["next"]
    'http://h/v1/products?sort=id&page[limit]=10&page[offset]=20'
    >>> links["prev"], links["last"][-15:]
    ('http://h/v1/products?sort=id&page[limit]=10&page[offset]=0', 'page[offset]=20')
    """
    kept = [(k, v) for k, v in params if k not in ("page[limit]", "page[offset]", "page[after]")]
    # The kept parameters are encoded once; the paging ones need no escaping (digits, and a
    # cursor in URL-safe base64).
    start = f"{url}?{urlencode(kept, safe='[]')}&" if kept else f"{url}?"
    limit = f"page[limit]={page.limit}&page[offset]="

    def link(offset: int, after: str | None = None) -> str:
        tail = "" if after is None else f"&page[after]={quote_plus(after)}"
        return f"{start}{limit}{offset}{tail}"

    if more is None:  # whether rows follow, when the caller doesn't know better
        more = page.offset + page.limit < total

    last = max(0, (total - 1) // page.limit * page.limit)
    return {
        "first": link(0),
        "last": link(last),
        "prev": link(max(0, min(page.offset, last + page.limit) - page.limit))
        if page.offset > 0
        else None,
        "next": link(page.offset + page.limit, cursor) if more else None,
    }
