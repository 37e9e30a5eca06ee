"""The database schema: one table per resource, derived from the registry, plus the auth tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from optiply.resources import REGISTRY, Attribute, Kind, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.storage import remote_id_triggers
from optiply.server.storage.columns import BigId, Json, Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _column_type(attribute: Attribute) -> TypeEngine[Any]:
    kind = attribute.kind
    if kind in (Kind.INTEGER, Kind.REFERENCE):
        return BigInteger()
    if kind is Kind.DECIMAL:
        return Money()
    if kind is Kind.BOOLEAN:
        return Boolean()
    if kind is Kind.DATETIME:
        return UtcDateTime()
    if kind is Kind.UUID:
        return String(36)
    if kind in (Kind.EMAILS, Kind.OBJECT):
        return Json
    if kind is Kind.ENUM:
        return String(max(len(c) for c in attribute.choices))
    length = attribute.max_length or attribute.exact_length
    return String(length) if length else Text()


def _resource_table(spec: ResourceSpec) -> Table:
    columns: list[Column[Any]] = [Column("id", BigId, primary_key=True, autoincrement=True)]
    for attribute in spec.stored:
        if attribute.kind is Kind.ID:
            continue
        args: list[Any] = []
        if attribute.kind is Kind.REFERENCE and attribute.references:
            args.append(ForeignKey(f"{get_spec(attribute.references).table}.id"))
        columns.append(
            Column(
                attribute.column,
                _column_type(attribute),
                *args,
                nullable=attribute.nullable,
            )
        )
    columns.append(Column("deleted_at", UtcDateTime(), nullable=True))
    if spec.type == "accounts":
        # Bumped by every write in the account: the key of the cached list counts.
        columns.append(Column("data_version", BigInteger(), nullable=False, server_default="0"))
    table = Table(spec.table, metadata, *columns)
    Index(None, table.c.uuid, unique=True)
    if "account_id" in table.c:
        # Every API read is of live rows in some accounts: partial indexes serve it index-only.
        live = text("deleted_at IS NULL")
        Index(
            None,
            table.c.account_id,
            table.c.id,
            sqlite_where=live,
            postgresql_where=live,
        )
        Index(
            None,
            table.c.account_id,
            table.c.updated_at,
            sqlite_where=live,
            postgresql_where=live,
        )
    if "account_id" in table.c and spec.deletable:
        # The lists of deleted rows (the deleted-rows extension, filter[deletedAt]) read only
        # the deleted rows of an account, in deletedAt order: a partial index of just those.
        gone = text("deleted_at IS NOT NULL")
        Index(
            None, table.c.account_id, table.c.deleted_at, sqlite_where=gone, postgresql_where=gone
        )
    for attribute in spec.references:
        if attribute.name != "accountId":
            Index(None, table.c[attribute.column])
    for unique in spec.unique:
        first, second = (spec.attribute(name) for name in unique.attributes)
        assert first and second
        Index(
            None,
            table.c[first.column],
            table.c[second.column],
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        )
    return table


RESOURCE_TABLES: dict[str, Table] = {spec.type: _resource_table(spec) for spec in REGISTRY}

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Set by ``optiply users update --disabled``: no token of the user works, no grant succeeds.
    Column("disabled_at", UtcDateTime(), nullable=True),
    UniqueConstraint("username"),
)

user_accounts = Table(
    "user_accounts",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("account_id", BigId, ForeignKey("accounts.id"), primary_key=True),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Set by ``optiply clients delete``: the client is unknown to the token endpoint from then on.
    Column("deleted_at", UtcDateTime(), nullable=True),
    # The lifetime of the access tokens issued through this client (s); null: the server's.
    Column("access_token_ttl", Integer(), nullable=True),
    UniqueConstraint("client_id"),
)

# One password grant: its refresh token and every access token issued from it (by the grant
# itself and by refresh grants). Revocation is a property of the grant, checked with every
# token, so a token minted while its grant is being revoked is dead all the same.
oauth_grants = Table(
    "oauth_grants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("client_pk", BigId, ForeignKey("oauth_clients.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
Index(None, oauth_grants.c.user_id)
Index(None, oauth_grants.c.client_pk)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the token
    Column("kind", String(8), nullable=False),  # "access" or "refresh"
    Column("grant_id", BigId, ForeignKey("oauth_grants.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("client_pk", BigId, ForeignKey("oauth_clients.id"), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index(None, oauth_tokens.c.user_id)
Index(None, oauth_tokens.c.grant_id)

# Failed token requests per client id and per remote address (``auth/throttle.py``): a token
# bucket kept as the instant it is full again, in milliseconds since the epoch. Rows whose
# instant has passed carry no information and are deleted.
oauth_throttle = Table(
    "oauth_throttle",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 hex of "client:<id>" or "address:<ip>"
    Column("full_at", BigInteger(), nullable=False),
)
Index(None, oauth_throttle.c.full_at)

# The sandbox's request journal (``storage/journal.py``): one row per request to /v1 and
# /api/auth, from every worker, with secrets hidden before they get here. ``account_id`` is the
# one account a request worked in (null when it had none, or several: those are in
# ``account_ids`` as ",1,2,"); the newest rows per account are kept.
sandbox_requests = Table(
    "sandbox_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("account_id", BigInteger(), nullable=True),
    Column("account_ids", String(255), nullable=True),
    Column("method", String(16), nullable=False),
    Column("path", Text(), nullable=False),
    Column("resource", String(64), nullable=False),
    Column("query", Text(), nullable=False),
    Column("status", Integer(), nullable=False),
    Column("duration_ms", Float(), nullable=False),
    Column("client_id", String(255), nullable=True),
    Column("username", String(255), nullable=True),
    Column("request_headers", Text(), nullable=False),  # a JSON object, as text
    Column("request_body", LargeBinary(), nullable=False),  # storage/journal.py: encode_body
    Column("request_truncated", Boolean(), nullable=False),
    Column("response_body", LargeBinary(), nullable=False),
    Column("response_truncated", Boolean(), nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("fault", BigInteger(), nullable=True),
    # Set when the response body is in ``sandbox_bodies`` (then ``response_body`` is empty).
    Column("response_digest", LargeBinary(16), nullable=True),
)
Index(None, sandbox_requests.c.account_id, sandbox_requests.c.id)
Index(None, sandbox_requests.c.at)
_SHARED = text("response_digest IS NOT NULL")
Index(
    None,
    sandbox_requests.c.response_digest,
    sqlite_where=_SHARED,
    postgresql_where=_SHARED,
)

# Response bodies that many journal rows share, stored once (``storage/journal_writes.py``):
# a page answered from the page cache, which a polling client asks for again and again.
# ``digest`` is a hash of the stored body and its account; ``used_at`` the newest ``at`` of the
# rows written with it; a body no row refers to any more goes with the pruning.
sandbox_bodies = Table(
    "sandbox_bodies",
    metadata,
    Column("digest", LargeBinary(16), primary_key=True),
    Column("account_id", BigInteger(), nullable=True),
    Column("body", LargeBinary(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=False),
)
Index(None, sandbox_bodies.c.account_id, sandbox_bodies.c.used_at)

# The sandbox's controls (``storage/sandbox.py``), per account: fault rules, counted per match
# across every worker (``matched``), and the account's settings (rate limit, compat mode).
# ``sandbox_state`` holds one row whose ``version`` every change bumps: a worker polls it to
# know when to reload its copy of the rules. ``sandbox_rate_buckets`` keeps one GCRA cell per
# (account, token): the theoretical arrival time, in seconds since the epoch.
sandbox_faults = Table(
    "sandbox_faults",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("account_id", BigId, ForeignKey("accounts.id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("method", String(16), nullable=True),
    Column("path", String(2000), nullable=False),
    Column("status", Integer(), nullable=True),
    Column("retry_after", Integer(), nullable=True),
    Column("latency_ms", Integer(), nullable=False),
    Column("jitter_ms", Integer(), nullable=False),
    Column("hang_s", Float(), nullable=False),
    Column("drop_after_commit", Boolean(), nullable=False),
    Column("times", Integer(), nullable=True),
    Column("every", Integer(), nullable=True),
    Column("probability", Float(), nullable=True),
    Column("seed", BigInteger(), nullable=False),
    Column("matched", BigInteger(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index(None, sandbox_faults.c.account_id)

sandbox_settings = Table(
    "sandbox_settings",
    metadata,
    Column("account_id", BigId, ForeignKey("accounts.id"), primary_key=True),
    Column("rate_limit", Float(), nullable=True),  # requests per second per token; null: off
    Column("burst", Integer(), nullable=True),
    Column("compat", String(16), nullable=False),  # "strict" or "production"
    Column("updated_at", UtcDateTime(), nullable=False),
)

sandbox_state = Table(
    "sandbox_state",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("version", BigInteger(), nullable=False),
)

sandbox_rate_buckets = Table(
    "sandbox_rate_buckets",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 hex of "<account>:<token hash>"
    Column("tat", Float(), nullable=False),
)
Index(None, sandbox_rate_buckets.c.tat)

# The index behind filter[remoteId] (an extension, docs/extensions.md): one row per entry of a
# row's remoteIdMap, written by triggers in the row's own transaction (``remote_id_triggers``,
# which says why). ``resource`` is the table name; ``account_id`` is the row's.
remote_ids = Table(
    "remote_ids",
    metadata,
    Column("resource", String(64), nullable=False),
    Column("row_id", BigInteger(), nullable=False),
    Column("coupling", String(255), nullable=False),  # the remoteIdMap key
    Column("remote_id", String(255), nullable=False),
    Column("account_id", BigInteger(), nullable=False),
    PrimaryKeyConstraint("resource", "row_id", "coupling"),
    sqlite_with_rowid=False,
)
Index(
    None,
    remote_ids.c.resource,
    remote_ids.c.account_id,
    remote_ids.c.coupling,
    remote_ids.c.remote_id,
    remote_ids.c.row_id,
)
remote_id_triggers.install(metadata)

# Idempotency-Key (an extension, docs/extensions.md; ``storage/idempotency.py``): one row per
# key of a user in an account scope, holding the answer to replay. A row is inserted while its
# request runs and completed in that request's transaction, so no other transaction ever sees
# it without its answer (``status`` null); it counts until ``expires_at``, then is purged.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of user, accounts and key
    Column("user_id", BigInteger(), nullable=False),
    Column("account_id", BigInteger(), nullable=True),  # the request's account, when one
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # sha256 hex of the request
    Column("status", Integer(), nullable=True),
    Column("content_type", String(255), nullable=True),
    Column("location", Text(), nullable=True),
    Column("body", LargeBinary(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
Index(None, idempotency_keys.c.expires_at)
