"""Secrets never reach what the server records: queries, forms, JSON at any depth, headers."""

from __future__ import annotations

import orjson
import pytest

from optiply.server.sandbox.redact import redact_body, redact_headers, redact_json, redact_query

SECRET = "s3cr3t-VALUE-42"


@pytest.mark.parametrize(
    "query",
    [
        f"grant_type=password&username=u&password={SECRET}",
        f"refresh_token={SECRET}&grant_type=refresh_token",
        f"CLIENT_SECRET={SECRET}",
        f"pass%77ord={SECRET}",
        f"access_token={SECRET}&x=1",
    ],
)
def test_a_query_or_form_keeps_no_secret(query):
    assert SECRET not in redact_query(query)
    assert SECRET not in redact_body(query.encode(), "application/x-www-form-urlencoded").decode()


@pytest.mark.parametrize(
    "document",
    [
        {"password": SECRET},
        {"data": {"attributes": {"name": "x", "client_secret": SECRET}}},
        [{"nested": [{"Refresh_Token": SECRET}]}],
        {"access_token": SECRET, "token_type": "bearer", "refresh_token": SECRET},
    ],
)
def test_a_json_body_keeps_no_secret_at_any_depth(document):
    shown = redact_json(orjson.dumps(document))
    assert SECRET.encode() not in shown
    assert b"***" in shown


@pytest.mark.parametrize(
    "text",
    [
        b'{"password": "' + SECRET.encode() + b'", ',
        b'{"password":"' + SECRET.encode() + b'\\"still"}x',
        b'{"access_token": ' + SECRET.encode(),
    ],
)
def test_a_broken_json_body_keeps_no_secret(text):
    assert SECRET.encode() not in redact_json(text)


def test_a_body_without_secrets_is_kept_byte_for_byte():
    body = b'{"data": {"type": "products", "attributes": {"name": "Mug"}}}'
    assert redact_json(body) is body


def test_credentials_headers_are_hidden():
    shown = redact_headers(
        [
            (b"Authorization", f"Bearer {SECRET}".encode()),
            (b"Proxy-Authorization", SECRET.encode()),
            (b"Cookie", f"session={SECRET}".encode()),
            (b"Accept", b"application/vnd.api+json"),
        ]
    )
    assert SECRET not in str(shown)
    assert shown["accept"] == "application/vnd.api+json"
    assert shown["authorization"] == "***"
