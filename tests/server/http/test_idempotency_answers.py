"""What a replay sends: the stored status, Content-Type, Location and body, marked replayed,
with the headers of every /v1 answer (pure functions of http/idempotency.py)."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from optiply.server.http.errors import ApiError
from optiply.server.http.idempotency import answer_of, parse_key, replay


def test_a_replay_carries_what_matters() -> None:
    made = Response(
        b'{"data":{}}',
        201,
        {"Location": "http://h/v1/products/7"},
        media_type="application/vnd.api+json",
    )
    answer = answer_of(made)
    again = replay(answer)
    assert (again.status_code, again.body) == (201, b'{"data":{}}')
    assert again.headers["content-type"] == "application/vnd.api+json"
    assert again.headers["location"] == "http://h/v1/products/7"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert again.headers["x-content-type-options"] == "nosniff"


def test_a_replayed_204_has_no_body_and_no_type() -> None:
    again = replay(answer_of(Response(status_code=204)))
    assert (again.status_code, again.body) == (204, b"")
    assert "content-type" not in again.headers and "location" not in again.headers


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("abc", "abc"),
        ('"abc"', "abc"),
        ('"a\\"b\\\\c"', 'a"b\\c'),
        ("  padded  ", "padded"),
        ('"', '"'),
        ('"a', '"a'),
    ],
)
def test_keys_as_sent_or_as_a_quoted_string(sent: str, key: str) -> None:
    assert parse_key(sent) == key


@pytest.mark.parametrize(
    "sent", ["", '""', '"a\\b"', '"a\\"', "\x7f", "x" * 256, '"' + "x" * 256 + '"']
)
def test_keys_that_are_refused(sent: str) -> None:
    with pytest.raises(ApiError, match="1 to 255 printable ASCII"):
        parse_key(sent)
