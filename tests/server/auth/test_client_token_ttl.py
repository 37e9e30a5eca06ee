"""A client made with ``optiply clients create --access-token-ttl N`` gets access tokens that
live N seconds: the token endpoint says so (``expires_in``), and the token answers 401 "Access
token expired" once they have passed; its refresh token still works and gets another N."""

from __future__ import annotations

import time
import uuid

import web
from live import JSONAPI, LiveServer, cli_json
from optiply.server.auth import admin
from optiply.server.auth.principal import TOKEN_PATH

TTL = 2


def test_a_clients_own_token_lifetime_holds(server: LiveServer) -> None:
    command = ["clients", "create", "--name", "short-lived", "--access-token-ttl", str(TTL)]
    client = cli_json(server.settings.database_url, *command)
    assert client["access_token_ttl"] == TTL
    tag = uuid.uuid4().hex[:10]
    account = admin.create_account(server.engine, name=f"Shop {tag}")
    admin.create_user(server.engine, username=f"ttl-{tag}", password="pw", account_ids=[account.id])
    auth = (client["client_id"], client["client_secret"])
    token_url = f"{server.url}{TOKEN_PATH}"

    granted = web.post(
        token_url,
        data={"grant_type": "password", "username": f"ttl-{tag}", "password": "pw"},
        auth=auth,
    )
    issued = time.monotonic()

    assert granted.status_code == 200, granted.text
    assert granted.json()["expires_in"] == TTL
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}", "Accept": JSONAPI}
    assert web.get(f"{server.url}/v1/products", headers=headers).status_code == 200
    time.sleep(max(0.0, issued + TTL + 0.1 - time.monotonic()))
    expired = web.get(f"{server.url}/v1/products", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"
    assert expired.json()["error_description"] == "Access token expired"
    refresh_token = granted.json()["refresh_token"]
    refreshed = web.post(
        token_url, data={"grant_type": "refresh_token", "refresh_token": refresh_token}, auth=auth
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["expires_in"] == TTL
    headers["Authorization"] = f"Bearer {refreshed.json()['access_token']}"
    assert web.get(f"{server.url}/v1/products", headers=headers).status_code == 200
