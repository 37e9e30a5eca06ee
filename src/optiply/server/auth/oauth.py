"""``POST /api/auth/oauth/token``: the ``password`` and ``refresh_token`` grants (§2.1–§2.4).

Parameters come from the query string and the form body, merged as a servlet container does
for Spring: both are read, and when a key appears in both the query string's first value wins
(no error). The client authenticates with HTTP Basic; ``client_id``/``client_secret`` form
fields are the fallback when there is no Basic header. Everything slow (Argon2, the database)
runs in a worker thread. Nothing here logs a password, a secret or a token.

Errors keep Spring's ``error`` and ``error_description`` verbatim (integrators match on them) and
add a ``hint`` member in plain words (RFC 6749 §5.2 allows extension parameters): the
``*_HINT`` texts below, fixed, never anything from the request.

Failed requests are throttled per client id and per remote address (``throttle``): the check
is one indexed read on the event loop, before any Argon2 work, and a throttled request is
answered 429 with ``Retry-After`` in well under a millisecond of server time. An optional
``scope`` parameter narrows a grant (RFC 6749 §3.3).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from optiply.server.auth import passwords, throttle, tokens
from optiply.server.auth.tokens import DISABLED_HINT, AuthError, IssuedTokens
from optiply.server.sandbox.journal import note_of
from optiply.server.settings import Settings
from optiply.server.storage.tables import oauth_clients, users

logger = logging.getLogger(__name__)


CLIENT_REJECTED = "UserDetailsService returned null, which is an interface contract violation"
"""What Spring answers for bad client credentials; integrators match on this sentence (§2.4)."""

NO_CLIENT_HINT = (
    "no client credentials: send the client id and secret as HTTP Basic auth "
    "(or as client_id and client_secret form fields)"
)
WRONG_CLIENT_HINT = "unknown client id or wrong client secret"
WRONG_USER_HINT = "unknown username or wrong password"
THROTTLED_HINT = (
    "too many failed token requests for this client id or from this address: "
    "wait the Retry-After seconds, and check the credentials"
)

_NO_STORE = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}
_CLIENT_CHALLENGE = 'Basic realm="oauth2/client"'


class GrantType(StrEnum):
    """The supported ``grant_type`` values."""

    PASSWORD = "password"  # noqa: S105 - grant names, not secrets
    REFRESH_TOKEN = "refresh_token"  # noqa: S105


async def token_endpoint(request: Request) -> Response:
    """Answer a token request with a token pair, or with a Spring-style OAuth2 error.

    Success is 200 ``{"access_token", "token_type": "bearer", "refresh_token", "expires_in",
    "scope"}``. Bad client credentials give 401 ``unauthorized``; a wrong username or password
    400 ``invalid_grant`` (both with a ``hint``); an unknown grant 400
    ``unsupported_grant_type``; a missing parameter 400 ``invalid_request``; an unknown or
    ungranted scope 400 ``invalid_scope``; too many failures 429 ``too_many_requests``.
    """
    parameters = await _parameters(request)
    client = _client_credentials(request.headers.get("authorization"), parameters)
    note = note_of(request.scope)
    if note is not None:  # the journal is on: who asked (never the secret or the password)
        note.client_id = None if client is None else client[0]
        note.username = parameters.get("username")
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    address = request.client.host if request.client is not None else None
    bucket_keys = throttle.keys(None if client is None else client[0], address)
    try:
        # On the event loop, before any thread or Argon2 work: a flood is answered cheaply.
        with request.app.state.reader.connect() as connection:
            throttle.check(connection, bucket_keys, throttle.now_ms())
        issued = await run_in_threadpool(_grant, engine, settings, client, parameters, bucket_keys)
    except throttle.Throttled as refused:
        logger.info("token request throttled: retry after %d s", refused.retry_after)
        body = {
            "error": "too_many_requests",
            "error_description": "Too many failed token requests",
            "hint": THROTTLED_HINT,
        }
        headers = {**_NO_STORE, "Retry-After": str(refused.retry_after)}
        return JSONResponse(body, status_code=429, headers=headers)
    except AuthError as error:
        logger.info("token request refused: %s (%s)", error.error, error.description)
        headers = dict(_NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = _CLIENT_CHALLENGE
        return JSONResponse(error.body(), status_code=error.status, headers=headers)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers=_NO_STORE,
    )


async def _parameters(request: Request) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        merged.setdefault(key, value)
    async with request.form() as form:
        for key, field in form.multi_items():
            if isinstance(field, str):
                merged.setdefault(key, field)
    return merged


def _client_credentials(
    authorization: str | None, parameters: dict[str, str]
) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from the Basic header, else from the form; None if absent.

    >>> _client_credentials("basic " + base64.b64encode(b"id:s:cret").decode(), {})
    ('id', 's:cret')
    """
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, colon, secret = decoded.partition(":")
        return (client_id, secret) if colon else None
    if "client_id" in parameters and "client_secret" in parameters:
        return parameters["client_id"], parameters["client_secret"]
    return None


def _grant(
    engine: Engine,
    settings: Settings,
    client: tuple[str, str] | None,
    parameters: dict[str, str],
    bucket_keys: tuple[str, ...],
) -> IssuedTokens:
    """The grant's tokens; a refusal takes one failure from the request's throttle buckets."""
    try:
        return _issue(engine, settings, client, parameters)
    except AuthError:
        throttle.record_failure(engine, bucket_keys, throttle.now_ms())
        raise


def _issue(
    engine: Engine, settings: Settings, client: tuple[str, str] | None, parameters: dict[str, str]
) -> IssuedTokens:
    client_pk, secret_hash, client_ttl = _authenticate_client(engine, client)
    access_ttl = client_ttl or settings.access_token_ttl  # a client's own lifetime wins
    grant_type = parameters.get("grant_type")
    if grant_type is None:
        raise AuthError(400, "invalid_request", "Missing grant type")
    if grant_type == GrantType.PASSWORD:
        username, password = _required(parameters, "username"), _required(parameters, "password")
        requested = tokens.requested_scopes(parameters.get("scope"))
        user = _authenticate_user(engine, username, password)
        if user.disabled_at is not None:
            raise AuthError(400, "invalid_grant", "User is disabled", hint=DISABLED_HINT)
        with engine.begin() as connection:
            held = _confirm(connection, user, client_pk, secret_hash)
            issued = tokens.issue(
                connection,
                user_id=user.id,
                client_pk=client_pk,
                scopes=tokens.granted_scopes(requested, tokens.parse_scopes(held)).split(),
                access_ttl=access_ttl,
                refresh_ttl=settings.refresh_token_ttl,
                now=datetime.now(UTC),
            )
        logger.info("password grant: user %d, client %d", user.id, client_pk)
        return issued
    if grant_type == GrantType.REFRESH_TOKEN:
        refresh_token = _required(parameters, "refresh_token")
        try:
            with engine.begin() as connection:
                issued = tokens.refresh(
                    connection,
                    refresh_token=refresh_token,
                    client_pk=client_pk,
                    access_ttl=access_ttl,
                    now=datetime.now(UTC),
                    scope=parameters.get("scope"),
                )
        except IntegrityError as error:  # its grant was deleted (expired) meanwhile
            raise AuthError(400, "invalid_grant", "Invalid refresh token") from error
        logger.info("refresh grant: client %d", client_pk)
        return issued
    raise AuthError(400, "unsupported_grant_type", "Unsupported grant type")


def _authenticate_client(
    engine: Engine, client: tuple[str, str] | None
) -> tuple[int, str, int | None]:
    """The client's primary key, secret hash and access-token lifetime (None: the server's);
    the secret check costs the same whether or not the id exists (a deleted client is an
    unknown one)."""
    if client is None:
        raise AuthError(401, "unauthorized", CLIENT_REJECTED, hint=NO_CLIENT_HINT)
    client_id, secret = client
    row = None
    if "\x00" not in client_id:  # PostgreSQL refuses NUL in text: such an id can't exist
        with engine.connect() as connection:
            row = connection.execute(
                select(
                    oauth_clients.c.id,
                    oauth_clients.c.secret_hash,
                    oauth_clients.c.access_token_ttl,
                ).where(
                    oauth_clients.c.client_id == client_id, oauth_clients.c.deleted_at.is_(None)
                )
            ).one_or_none()
    stored = passwords.dummy_hash() if row is None else row.secret_hash
    if not passwords.verify_secret(stored, secret) or row is None:
        raise AuthError(401, "unauthorized", CLIENT_REJECTED, hint=WRONG_CLIENT_HINT)
    return row.id, row.secret_hash, row.access_token_ttl


@dataclass(frozen=True, slots=True)
class _User:
    """A user whose password was just verified."""

    id: int
    password_hash: str
    disabled_at: datetime | None


def _authenticate_user(engine: Engine, username: str, password: str) -> _User:
    """The user; the password check costs the same whether or not the user exists."""
    row = None
    if "\x00" not in username:  # PostgreSQL refuses NUL in text: such a user can't exist
        with engine.connect() as connection:
            row = connection.execute(
                select(users.c.id, users.c.password_hash, users.c.disabled_at).where(
                    users.c.username == username
                )
            ).one_or_none()
    stored = passwords.dummy_hash() if row is None else row.password_hash
    if not passwords.verify_secret(stored, password) or row is None:
        raise AuthError(400, "invalid_grant", "Bad credentials", hint=WRONG_USER_HINT)
    return _User(row.id, row.password_hash, row.disabled_at)


_CONFIRM_USER = (
    update(users)
    .where(
        users.c.id == bindparam("user_id"),
        users.c.password_hash == bindparam("verified_hash"),
        users.c.disabled_at.is_(None),
    )
    .values(password_hash=users.c.password_hash)
    .returning(users.c.scopes)
)
_CONFIRM_CLIENT = (
    update(oauth_clients)
    .where(
        oauth_clients.c.id == bindparam("client_pk"),
        oauth_clients.c.secret_hash == bindparam("verified_secret_hash"),
        oauth_clients.c.deleted_at.is_(None),
    )
    .values(secret_hash=oauth_clients.c.secret_hash)
    .returning(oauth_clients.c.id)
)


def _confirm(connection: Connection, user: _User, client_pk: int, secret_hash: str) -> str:
    """Lock the user's and the client's rows for the grant's transaction and check that the
    credentials just verified still hold; the user's scopes now.

    A password change, a disabled user, a new client secret or a deleted client committed
    while Argon2 ran refuses the grant; one committed after this waits for the grant's
    transaction and then revokes its tokens. (A no-op UPDATE is the lock: on PostgreSQL it
    locks the row and re-reads it after any concurrent change; on SQLite it makes this
    transaction the database's one writer.)
    """
    held = connection.execute(
        _CONFIRM_USER, {"user_id": user.id, "verified_hash": user.password_hash}
    ).scalar_one_or_none()
    if held is None:
        raise AuthError(400, "invalid_grant", "Bad credentials", hint=WRONG_USER_HINT)
    found = connection.execute(
        _CONFIRM_CLIENT, {"client_pk": client_pk, "verified_secret_hash": secret_hash}
    ).scalar_one_or_none()
    if found is None:
        raise AuthError(401, "unauthorized", CLIENT_REJECTED, hint=WRONG_CLIENT_HINT)
    return str(held)


def _required(parameters: dict[str, str], name: str) -> str:
    value = parameters.get(name)
    if value is None:
        raise AuthError(400, "invalid_request", f"Missing parameter: {name}")
    return value
