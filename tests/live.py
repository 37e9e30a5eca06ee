"""A live server on a real socket, and fresh logins on it (used by conftest.py and tests)."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine

from optiply.server.app import create_app
from optiply.server.auth import admin
from optiply.server.settings import Settings
from optiply.server.storage.engine import make_engine

JSONAPI = "application/vnd.api+json"
POSTGRES_URL = os.environ.get("OPTIPLY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def fresh_postgres_database(base_url: str) -> tuple[str, Engine]:
    """Create an empty database on the server of ``base_url``; returns its URL."""
    name = f"optiply_t_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(
        make_engine(base_url).url.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin_engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin_engine.dispose()
    url = make_engine(base_url).url.set(database=name).render_as_string(hide_password=False)
    return url, admin_engine


def drop_postgres_database(url: str, admin_engine: Engine) -> None:
    name = make_engine(url).url.database
    with admin_engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_engine.dispose()


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.engine: Engine = self.app.state.engine
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class Login:
    """A fresh account with a user and an OAuth client on a live server, plus an API client."""

    server: LiveServer
    account_id: int
    username: str
    password: str
    client_id: str
    client_secret: str
    access_token: str = ""
    refresh_token: str = ""
    extra_account_ids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, **params: str) -> httpx.Response:
        """POST the password grant (or ``params``) to the token endpoint."""
        data = params or {
            "grant_type": "password",
            "username": self.username,
            "password": self.password,
        }
        return httpx.post(
            f"{self.url}/api/auth/oauth/token",
            data=data,
            auth=(self.client_id, self.client_secret),
        )

    def client(self, token: str | None = None) -> httpx.Client:
        """An httpx client for /v1 carrying the bearer token and the JSON:API media type."""
        return httpx.Client(
            base_url=f"{self.url}/v1",
            headers={
                "Authorization": f"Bearer {token or self.access_token}",
                "Content-Type": JSONAPI,
                "Accept": JSONAPI,
            },
        )


def make_login(
    server: LiveServer, *, accounts: int = 1, scopes: tuple[str, ...] = ("read", "write", "delete")
) -> Login:
    """Create ``accounts`` accounts, a user reaching all of them and a client; fetch a token."""
    tag = uuid.uuid4().hex[:10]
    account_ids = [
        admin.create_account(server.engine, name=f"Shop {tag}-{i}").id for i in range(accounts)
    ]
    password = f"pw-{tag}"
    admin.create_user(
        server.engine,
        username=f"user-{tag}",
        password=password,
        account_ids=account_ids,
        scopes=scopes,
    )
    client = admin.create_client(server.engine, name=f"client-{tag}")
    login = Login(
        server=server,
        account_id=account_ids[0],
        username=f"user-{tag}",
        password=password,
        client_id=client.client_id,
        client_secret=client.client_secret,
        extra_account_ids=account_ids[1:],
    )
    response = login.token()
    assert response.status_code == 200, response.text
    login.access_token = response.json()["access_token"]
    login.refresh_token = response.json()["refresh_token"]
    return login


def tmp_sqlite_url(directory: Path) -> str:
    """A SQLite URL in ``directory``."""
    return f"sqlite:///{directory / 'optiply.db'}"
