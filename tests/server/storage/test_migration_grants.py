"""Migration 0002 on a database with tokens: each (user, client) gets one live grant for its
live tokens and one revoked grant for its revoked ones; nothing revoked comes back, nothing
live is lost, and the downgrade gives each token its grant's revocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from live import BACKENDS, empty_database, migrate, token_works
from optiply.server.auth import tokens
from optiply.server.storage.columns import UtcDateTime
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

NOW = datetime.now(UTC).replace(microsecond=0)

_accounts = sa.table(
    "accounts",
    sa.column("id"),
    sa.column("uuid"),
    sa.column("name"),
    sa.column("created_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)
_users = sa.table(
    "users",
    sa.column("id"),
    sa.column("username"),
    sa.column("password_hash"),
    sa.column("scopes"),
    sa.column("created_at", UtcDateTime()),
)
_user_accounts = sa.table("user_accounts", sa.column("user_id"), sa.column("account_id"))
_clients = sa.table(
    "oauth_clients",
    sa.column("id"),
    sa.column("client_id"),
    sa.column("secret_hash"),
    sa.column("name"),
    sa.column("created_at", UtcDateTime()),
)
_tokens = sa.table(
    "oauth_tokens",
    sa.column("token_hash"),
    sa.column("kind"),
    sa.column("user_id"),
    sa.column("client_pk"),
    sa.column("scopes"),
    sa.column("expires_at", UtcDateTime()),
    sa.column("revoked_at", UtcDateTime()),
    sa.column("created_at", UtcDateTime()),
    sa.column("grant_id"),
)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend (not migrated)."""
    with empty_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _token(name: str, kind: str, client_pk: int, revoked: bool = False) -> dict[str, Any]:
    return {
        "token_hash": tokens.digest(name),
        "kind": kind,
        "user_id": 1,
        "client_pk": client_pk,
        "scopes": "read write delete",
        "expires_at": NOW + timedelta(days=1),
        "revoked_at": NOW if revoked else None,
        "created_at": NOW,
    }


def _grant_of(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        found = connection.scalar(
            sa.select(_tokens.c.grant_id).where(_tokens.c.token_hash == tokens.digest(name))
        )
    assert found is not None
    return int(found)


def test_existing_tokens_are_grouped_into_grants(engine: Engine) -> None:
    migrate(engine, command.upgrade, "0001")
    with engine.begin() as connection:
        connection.execute(
            sa.insert(_accounts).values(
                id=1,
                uuid="00000000-0000-0000-0000-000000000001",
                name="Shop",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        connection.execute(
            sa.insert(_users).values(
                id=1, username="u", password_hash="x", scopes="read write delete", created_at=NOW
            )
        )
        connection.execute(sa.insert(_user_accounts).values(user_id=1, account_id=1))
        for pk in (1, 2):
            connection.execute(
                sa.insert(_clients).values(
                    id=pk, client_id=f"c{pk}", secret_hash="x", name="c", created_at=NOW
                )
            )
        legacy = [
            _token("a1", "access", 1),
            _token("r1", "refresh", 1),
            _token("a2", "access", 1),  # minted by a refresh grant
            _token("a3", "access", 1, revoked=True),
            _token("b1", "access", 2),
            _token("br", "refresh", 2),
        ]
        connection.execute(sa.insert(_tokens), legacy)

    upgrade(engine)

    live, revoked, other = _grant_of(engine, "a1"), _grant_of(engine, "a3"), _grant_of(engine, "b1")
    assert _grant_of(engine, "r1") == _grant_of(engine, "a2") == live
    assert _grant_of(engine, "br") == other
    assert len({live, revoked, other}) == 3
    assert [token_works(engine, name) for name in ("a1", "a2", "a3", "b1")] == [
        True,
        True,
        False,
        True,
    ]
    with engine.begin() as connection:
        assert tokens.revoke(connection, token="r1") is True
    assert [token_works(engine, name) for name in ("a1", "a2", "b1")] == [False, False, True]

    migrate(engine, command.downgrade, "0001")

    with engine.connect() as connection:
        rows = connection.execute(sa.select(_tokens.c.token_hash, _tokens.c.revoked_at)).all()
    revoked_names = {
        name
        for name in ("a1", "r1", "a2", "a3", "b1", "br")
        if dict(rows)[tokens.digest(name)] is not None
    }
    assert revoked_names == {"a1", "r1", "a2", "a3"}
    upgrade(engine)
    assert token_works(engine, "b1") and not token_works(engine, "a3")
