"""``optiply serve --no-extensions`` and ``--idempotency-ttl`` reach the server processes (the
options travel to uvicorn's workers through the environment). Both servers start at once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import web
from live import JSONAPI, OPTIPLY, serving, tmp_sqlite_url
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

PRODUCT = {"data": {"type": "products", "attributes": {"name": "cli", "stockLevel": 1}}}


def token(base: str, database_url: str) -> str:
    engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    account = admin.create_account(engine, name=f"cli {tag}").id
    admin.create_user(engine, username=f"u-{tag}", password="pw", account_ids=[account])
    client = admin.create_client(engine, name=f"c-{tag}")
    engine.dispose()
    answer = web.post(
        f"{base}/api/auth/oauth/token",
        data={"grant_type": "password", "username": f"u-{tag}", "password": "pw"},
        auth=(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_serve_options_switch_the_extensions_and_set_the_ttl(tmp_path: Path) -> None:
    database_url = tmp_sqlite_url(tmp_path)
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    servers = {
        name: serving(
            [*OPTIPLY, "serve"],
            *("--database-url", database_url, *options),
            log=tmp_path / f"{name}.log",
            env={"OPTIPLY_PASSWORD_HASH_PROFILE": "test"},
        )
        for name, options in (("plain", ["--no-extensions"]), ("short", ["--idempotency-ttl", "1"]))
    }
    try:
        for process in servers.values():
            process.wait_for_health()
        plain, short = (process.url for process in servers.values())
        assert web.get(f"{plain}/v1").status_code == 404
        assert web.get(f"{short}/v1").status_code == 200
        for base in (plain, short):
            headers = {
                "Authorization": f"Bearer {token(base, database_url)}",
                "Content-Type": JSONAPI,
            }
            with web.Client(base_url=f"{base}/v1", headers=headers) as api:
                first = api.post("/products", json=PRODUCT, headers={"Idempotency-Key": "k"})
                replay = api.post("/products", json=PRODUCT, headers={"Idempotency-Key": "k"})
                assert ("idempotent-replayed" in replay.headers) is (base == short)
                time.sleep(1.2 if base == short else 0)
                other = {"data": {"type": "products", "attributes": {"name": "x", "stockLevel": 1}}}
                after = api.post("/products", json=other, headers={"Idempotency-Key": "k"})
                # plain: the key means nothing; short: it expired after 1 s, so no 422
                assert [first.status_code, replay.status_code, after.status_code] == [201, 201, 201]
    finally:
        for process in servers.values():
            assert "Traceback" not in process.stop()
