"""Media types (§3.1, Q22): bodies must be JSON:API or JSON; reads are lenient."""

from __future__ import annotations

import pytest

BODY = b'{"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1}}}'


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/vnd.api+json", 201),
        ("application/vnd.api+json; charset=UTF-8", 201),
        ("application/json", 201),
        ("Application/JSON; charset=utf-8", 201),
        (None, 415),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
    ],
)
def test_post_media_types(login, content_type, status):
    with login.client() as api:
        headers = {"Content-Type": content_type} if content_type else {}
        if content_type is None:
            del api.headers["Content-Type"]
        response = api.post("/products", content=BODY, headers=headers)

    assert response.status_code == status, response.text
    if status == 415:
        error = response.json()["errors"][0]
        assert error["status"] == "415"
        assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_patch_without_json_media_type_is_415(login):
    with login.client() as api:
        created = api.post("/products", content=BODY).json()["data"]
        response = api.patch(
            f"/products/{created['id']}", content=BODY, headers={"Content-Type": "text/plain"}
        )

    assert response.status_code == 415


def test_get_and_delete_need_no_content_type(login):
    with login.client() as api:
        created = api.post("/products", content=BODY).json()["data"]
        del api.headers["Content-Type"]
        del api.headers["Accept"]
        assert api.get("/products").status_code == 200
        assert api.delete(f"/products/{created['id']}").status_code == 204
