"""``POST /api/auth/oauth/token``: the ``password`` and ``refresh_token`` grants (§2.1–§2.4).

Parameters come from the query string and the form body, merged as a servlet container does
for Spring: both are read, and when a key appears in both the query string's first value wins
(no error). The client authenticates with HTTP Basic; ``client_id``/``client_secret`` form
fields are the fallback when there is no Basic header. Everything slow (Argon2, the database)
runs in a worker thread. Nothing here logs a password, a secret or a token.

Errors keep Spring's ``error`` and ``error_description`` verbatim (integrators match on them) and
add a ``hint`` member in plain words (RFC 6749 §5.2 allows extension parameters): the
``*_HINT`` texts below, fixed, never anything from the request.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from optiply.server.auth import passwords, tokens
from optiply.server.auth.tokens import AuthError, IssuedTokens
from optiply.server.settings import Settings
from optiply.server.storage.tables import oauth_clients, users

logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/auth/oauth/token"  # noqa: S105 - a URL path
"""Where the token endpoint is mounted (the "dashboard URL" is the server's ``/api``)."""

CLIENT_REJECTED = "UserDetailsService returned null, which is an interface contract violation"
"""What Spring answers for bad client credentials; integrators match on this sentence (§2.4)."""

NO_CLIENT_HINT = (
    "no client credentials: send the client id and secret as HTTP Basic auth "
    "(or as client_id and client_secret form fields)"
)
WRONG_CLIENT_HINT = "unknown client id or wrong client secret"
WRONG_USER_HINT = "unknown username or wrong password"

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
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
    ``unsupported_grant_type``; a missing parameter 400 ``invalid_request``.
    """
    parameters = await _parameters(request)
    client = _client_credentials(request.headers.get("authorization"), parameters)
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    try:
        issued = await run_in_threadpool(_grant, engine, settings, client, parameters)
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
    engine: Engine, settings: Settings, client: tuple[str, str] | None, parameters: dict[str, str]
) -> IssuedTokens:
    client_pk = _authenticate_client(engine, client)
    now = datetime.now(UTC)
    grant_type = parameters.get("grant_type")
    if grant_type is None:
        raise AuthError(400, "invalid_request", "Missing grant type")
    if grant_type == GrantType.PASSWORD:
        user_id, scopes = _authenticate_user(
            engine, _required(parameters, "username"), _required(parameters, "password")
        )
        with engine.begin() as connection:
            issued = tokens.issue(
                connection,
                user_id=user_id,
                client_pk=client_pk,
                scopes=scopes.split(),
                access_ttl=settings.access_token_ttl,
                refresh_ttl=settings.refresh_token_ttl,
                now=now,
            )
        logger.info("password grant: user %d, client %d", user_id, client_pk)
        return issued
    if grant_type == GrantType.REFRESH_TOKEN:
        refresh_token = _required(parameters, "refresh_token")
        with engine.begin() as connection:
            issued = tokens.refresh(
                connection,
                refresh_token=refresh_token,
                client_pk=client_pk,
                access_ttl=settings.access_token_ttl,
                now=now,
            )
        logger.info("refresh grant: client %d", client_pk)
        return issued
    raise AuthError(400, "unsupported_grant_type", "Unsupported grant type")


def _authenticate_client(engine: Engine, client: tuple[str, str] | None) -> int:
    """The client's primary key; the secret check costs the same whether or not the id exists."""
    if client is None:
        raise AuthError(401, "unauthorized", CLIENT_REJECTED, hint=NO_CLIENT_HINT)
    client_id, secret = client
    row = None
    if "\x00" not in client_id:  # PostgreSQL refuses NUL in text: such an id can't exist
        with engine.connect() as connection:
            row = connection.execute(
                select(oauth_clients.c.id, oauth_clients.c.secret_hash).where(
                    oauth_clients.c.client_id == client_id
                )
            ).one_or_none()
    stored = passwords.DUMMY_HASH if row is None else row.secret_hash
    if not passwords.verify_secret(stored, secret) or row is None:
        raise AuthError(401, "unauthorized", CLIENT_REJECTED, hint=WRONG_CLIENT_HINT)
    client_pk: int = row.id
    return client_pk


def _authenticate_user(engine: Engine, username: str, password: str) -> tuple[int, str]:
    """The user's id and scopes; the password check costs the same whether or not they exist."""
    row = None
    if "\x00" not in username:  # PostgreSQL refuses NUL in text: such a user can't exist
        with engine.connect() as connection:
            row = connection.execute(
                select(users.c.id, users.c.password_hash, users.c.scopes).where(
                    users.c.username == username
                )
            ).one_or_none()
    stored = passwords.DUMMY_HASH if row is None else row.password_hash
    if not passwords.verify_secret(stored, password) or row is None:
        raise AuthError(400, "invalid_grant", "Bad credentials", hint=WRONG_USER_HINT)
    return row.id, row.scopes


def _required(parameters: dict[str, str], name: str) -> str:
    value = parameters.get(name)
    if value is None:
        raise AuthError(400, "invalid_request", f"Missing parameter: {name}")
    return value
