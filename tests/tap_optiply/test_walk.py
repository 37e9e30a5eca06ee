"""The walk against a server whose ``links.next`` pages by offset (as the hosted API does).

Such links are never followed: an update mid-walk moves a row to the end of the
``updatedAt`` order, and the next offset page would skip the row that took its place. The walk
asks again from the last row read instead. The hosted API is not ours, so its paging is
imitated by a transport that drops ``page[after]`` from the live server's links.
"""

from __future__ import annotations

import re

import httpx
import orjson
from tap_support import create, update

from live import Login
from optiply.client import OptiplyClient
from optiply.query import ListQuery
from optiply.resources import get
from tap_optiply.walk import Walk, resumes_by_key


class OffsetOnly(httpx.HTTPTransport):
    """The live server, with ``links.next`` as offset links (no keyset cursor)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        body = response.read()
        if request.method == "GET" and body.startswith(b'{"data":['):
            document = orjson.loads(body)
            nxt = document.get("links", {}).get("next")
            if nxt:
                document["links"]["next"] = re.sub(
                    r"&page%5Bafter%5D=[^&]*|&page\[after\]=[^&]*", "", nxt
                )
            body = orjson.dumps(document)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body)


def _client(login: Login, transport: httpx.BaseTransport | None = None) -> OptiplyClient:
    return OptiplyClient(
        f"{login.url}/v1",
        auth=login.optiply_auth(),
        account_id=login.account_id,
        transport=transport,
    )


def test_an_update_mid_walk_skips_nothing_on_offset_links(login, api):
    ids = [create(api, "products", name=f"p{n}", stockLevel=0)["id"] for n in range(7)]
    with _client(login, OffsetOnly()) as client:
        walk = Walk(client, get("products"), ListQuery(), page_size=2)
        read: list[str] = []
        for batch in walk.changed(None, None):
            if not read:
                update(api, "products", str(batch.rows[0].id), stockLevel=1)  # moves to the end
            read += [str(row.id) for row in batch.rows]
    assert read == [*ids, ids[0]]  # every row once, the updated one again at its new place
    assert walk.requests >= 4  # asked again after every page


def test_keyset_links_are_followed_as_they_are(login, api):
    for n in range(5):
        create(api, "products", name=f"p{n}", stockLevel=0)
    with _client(login) as client:
        walk = Walk(client, get("products"), ListQuery(), page_size=2)
        pages = list(walk.changed(None, None))
    assert [len(batch.rows) for batch in pages] == [2, 2, 1]
    assert walk.requests == 3


def test_offset_and_keyset_links_are_told_apart():
    assert resumes_by_key("http://h/v1/p?page%5Bafter%5D=WzFd")
    assert not resumes_by_key(
        "https://api.optiply.com/v1/products?page[limit]=100&page[offset]=100"
    )
