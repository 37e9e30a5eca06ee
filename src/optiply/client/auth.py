"""Authentication for the Optiply API: the rule every request follows, and its ``httpx.Auth`` flows.

``OptiplyAuth.attempts`` is the rule, written once: attach ``Authorization: Bearer <token>``,
fetching a token with the password grant on first use and refreshing it with the
refresh_token grant shortly before it expires (falling back to the password grant when the
refresh is refused); on a 401 from the API refresh once and resend; a second 401 is handed back
to the caller, which raises. Its drivers: the ``httpx.Auth`` flows below (``AsyncOptiplyClient``
and any ``httpx`` client) and ``OptiplyClient``'s send path (``optiply.client.send``).

Token requests go through the same ``httpx`` client as the API requests (connection pool,
transport, timeout), the way ``httpx.DigestAuth`` sends its challenge round trip. One token is
shared by every request of the auth object: a lock makes concurrent requests wait for a single
grant instead of each fetching its own.

Secrets (password, client secret, tokens) are held as ``Secret``: they never appear in a
``repr``, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from optiply.client.errors import (
    AuthenticationError,
    ConfigurationError,
    FatalError,
    RetriableError,
    error_class,
    from_response,
    safe_url,
)
from optiply.client.secrets import Secret, secret

logger = logging.getLogger("optiply.client")

DEFAULT_DASHBOARD_URL = "https://dashboard.optiply.nl/api"
TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a path, not a secret
DEFAULT_REFRESH_MARGIN = 120.0

_Flow = Generator[httpx.Request, httpx.Response, "Token"]


@dataclass(frozen=True, slots=True)
class Token:
    """An access token with what is needed to renew it; ``repr`` shows no secret.

    Attributes:
        access_token: The bearer token (a ``str`` given is kept as a ``Secret``).
        refresh_token: The refresh token, when the server gave one.
        expires_at: When the access token expires, in epoch seconds; None when unknown.

    >>> Token(access_token="abc", expires_at=1.0)
    Token(access_token=Secret('**********'), refresh_token=None, expires_at=1.0)
    """

    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: float | None = None

    def __post_init__(self) -> None:
        access = secret(self.access_token)
        if access is None:
            raise ConfigurationError("a token needs an access_token")
        object.__setattr__(self, "access_token", access)
        object.__setattr__(self, "refresh_token", secret(self.refresh_token))
        if self.expires_at is not None:
            object.__setattr__(self, "expires_at", float(self.expires_at))


@dataclass(frozen=True, slots=True)
class Renew:
    """A step of ``attempts``: obtain a usable token before sending.

    Attributes:
        seen: The token found stale or refused (another request may have replaced it).
        after_401: The API refused ``seen`` just now.
    """

    seen: Token | None
    after_401: bool


Attempts = Generator[Renew | Token, Token | int, None]
"""Yields ``Renew`` (send back the token) or the ``Token`` to send with (send back the status)."""


class OptiplyAuth(httpx.Auth):
    """OAuth2 password grant plus refresh, for ``OptiplyClient`` or any ``httpx`` client.

    Args:
        client_id: The OAuth client id.
        client_secret: The OAuth client secret (sent with HTTP Basic).
        username: The Optiply user.
        password: The user's password.
        dashboard_url: The auth server's base; the token endpoint is this plus
            ``/auth/oauth/token``.
        token: A token from an earlier run (e.g. read from a config file) to start with.
        refresh_margin: Refresh when the token expires within this many seconds.
        on_token: Called with every new token, under the lock, so once per grant (for
            example to persist it); exceptions it raises propagate to the request.
        clock: Returns the current time in epoch seconds; for tests.

    Raises:
        ConfigurationError: Neither full password credentials nor a token were given.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        username: str | None = None,
        password: str | Secret | None = None,
        dashboard_url: str = DEFAULT_DASHBOARD_URL,
        token: Token | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        on_token: Callable[[Token], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self.username = username
        self.token_url = dashboard_url.rstrip("/") + TOKEN_PATH
        self.refresh_margin = refresh_margin
        self._client_secret = secret(client_secret)
        self._password = secret(password)
        self._token = token
        self._refused: Token | None = None
        self._on_token = on_token
        self._clock = clock
        self._thread_lock = threading.Lock()
        self._async_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        if client_id is None or self._client_secret is None:
            if token is None:
                raise ConfigurationError("OptiplyAuth needs client_id and client_secret")
        elif token is None and not self._can_use_password:
            raise ConfigurationError("OptiplyAuth needs username and password, or a token")
        if refresh_margin < 0:
            raise ConfigurationError("refresh_margin must not be negative")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"username={self.username!r}, refresh_margin={self.refresh_margin!r})"
        )

    @property
    def token(self) -> Token | None:
        """The current token, if one was obtained or given."""
        return self._token

    def attempts(self) -> Attempts:
        """The rule every request sent with this auth follows, written once for every driver.

        httpx's auth flows below and ``OptiplyClient``'s send path (``optiply.client.send``)
        drive it: a ``Renew`` step asks for a usable token first (send back what ``renew``
        gives), a ``Token`` step asks to send the request with it (send back the status). A
        401 is answered by one renewal and one resend; a second 401 ends the attempts.
        """
        token = self._token
        for after_401 in (False, True):
            if after_401 or self._is_stale(token):
                renewed = yield Renew(token, after_401)
                assert isinstance(renewed, Token)
                token = renewed
            assert token is not None  # not stale: there is one
            status = yield token
            if status != 401 or after_401:
                return

    def renew(self, request: httpx.Request, step: Renew) -> Generator[httpx.Request, Any, Token]:
        """The token a ``Renew`` step asks for, under the lock (sync drivers): yields token
        requests to send, each to be answered with its (read) response."""
        with self._thread_lock:
            return (yield from _read_bodies(self._obtain(request, step.seen, step.after_401)))

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize ``request`` for a sync ``httpx`` client, following ``attempts``."""
        rule = self.attempts()
        step = next(rule)
        while True:
            if isinstance(step, Renew):
                step = rule.send((yield from self.renew(request, step)))
                continue
            request.headers["Authorization"] = bearer(step)
            response = yield request
            try:
                step = rule.send(response.status_code)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorize ``request`` for an async ``httpx`` client, following ``attempts``."""
        rule = self.attempts()
        step = next(rule)
        while True:
            if isinstance(step, Renew):
                # An async generator cannot delegate: token requests are yielded one by one.
                flow = self._obtain(request, step.seen, step.after_401)
                async with self._loop_lock():
                    try:
                        token_request = next(flow)
                        while True:
                            response = yield token_request
                            await response.aread()
                            token_request = flow.send(response)
                    except StopIteration as done:
                        step = rule.send(done.value)
                continue
            request.headers["Authorization"] = bearer(step)
            response = yield request
            try:
                step = rule.send(response.status_code)
            except StopIteration:
                return

    def _loop_lock(self) -> asyncio.Lock:
        """The async lock of the running event loop (an asyncio lock serves one loop only)."""
        loop = asyncio.get_running_loop()
        with self._thread_lock:
            if self._async_lock is None or self._async_lock[0] is not loop:
                self._async_lock = (loop, asyncio.Lock())
            return self._async_lock[1]

    @property
    def _can_use_password(self) -> bool:
        return (
            self.client_id is not None
            and self._client_secret is not None
            and self.username is not None
            and self._password is not None
        )

    def _is_stale(self, token: Token | None) -> bool:
        if token is None or token is self._refused:
            return True
        if token.expires_at is None:
            return False
        return token.expires_at - self.refresh_margin <= self._clock()

    def _obtain(self, request: httpx.Request, seen: Token | None, after_401: bool) -> _Flow:
        """A usable token: another flow's new one, a refreshed one, or a new password grant.

        Runs under the lock. ``seen`` is the token this flow found stale or saw refused; if
        another flow replaced it meanwhile, that replacement is used without a new grant.
        """
        current = self._token
        if current is not None and current is not seen:
            return current
        if current is not None and current.refresh_token is not None and self._can_refresh:
            response = yield self._token_request(
                request, grant_type="refresh_token", refresh_token=current.refresh_token
            )
            if response.is_success:
                return self._store(response, "refresh", current)
            if error_class(response.status_code, idempotent=True) is RetriableError:
                raise from_response(response, idempotent=True)
            logger.info(
                "token refresh refused (%d); %s",
                response.status_code,
                "using the password grant" if self._can_use_password else "no password to use",
            )
        elif after_401:
            logger.info("access token refused (401); requesting a new one")
        if not self._can_use_password:
            if current is not None and not after_401:
                return current  # expiring, and nothing to renew it with: let the server judge
            raise AuthenticationError(
                "the access token was refused and cannot be renewed without client credentials "
                "and a username and password",
                status=401,
                method=request.method,
                url=safe_url(request.url),
            )
        assert self._password is not None
        response = yield self._token_request(
            request, grant_type="password", username=self.username or "", password=self._password
        )
        if response.is_success:
            return self._store(response, "password", None)
        if error_class(response.status_code, idempotent=True) is RetriableError:
            raise from_response(response, idempotent=True)
        raise AuthenticationError.parse(response)

    @property
    def _can_refresh(self) -> bool:
        return self.client_id is not None and self._client_secret is not None

    def _token_request(self, api_request: httpx.Request, **form: str | Secret) -> httpx.Request:
        assert self.client_id is not None and self._client_secret is not None
        credentials = f"{self.client_id}:{self._client_secret.get_secret_value()}"
        data = {
            key: value.get_secret_value() if isinstance(value, Secret) else value
            for key, value in form.items()
        }
        extensions = {}
        if "timeout" in api_request.extensions:  # without it httpcore would wait forever
            extensions["timeout"] = api_request.extensions["timeout"]
        return httpx.Request(
            "POST",
            self.token_url,
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                "Accept": "application/json",
            },
            data=data,
            extensions=extensions,
        )

    def _store(self, response: httpx.Response, grant: str, previous: Token | None) -> Token:
        """Parse a successful token response, keep the token and announce it."""
        try:
            body: Any = orjson.loads(response.content)
            access = body["access_token"]
            if not isinstance(access, str) or not access:
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            # The body is never quoted: it may hold a token.
            raise FatalError(
                "the token endpoint answered without an access_token",
                status=response.status_code,
                method="POST",
                url=safe_url(response.request.url),
            ) from None
        refresh = body.get("refresh_token")
        expires_in = body.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at = self._clock() + float(expires_in)
        token = Token(
            access_token=Secret(access),
            refresh_token=Secret(refresh)
            if isinstance(refresh, str) and refresh
            else (previous.refresh_token if previous else None),
            expires_at=expires_at,
        )
        self._token = token
        logger.debug(
            "token obtained with the %s grant (expires in %s s)",
            grant,
            "?" if expires_in is None else expires_in,
        )
        if self._on_token is not None:
            self._on_token(token)
        return token


class BearerAuth(httpx.Auth):
    """A fixed access token, with no way to renew it; a 401 is final.

    Args:
        access_token: The bearer token.
    """

    def __init__(self, access_token: str | Secret) -> None:
        value = secret(access_token)
        if value is None or not value.get_secret_value():
            raise ConfigurationError("access_token must not be empty")
        self._token = Token(access_token=value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(access_token={self._token.access_token!r})"

    def attempts(self) -> Attempts:
        """The token, once: nothing renews it (see ``OptiplyAuth.attempts``)."""
        yield self._token

    def renew(self, request: httpx.Request, step: Renew) -> Generator[httpx.Request, Any, Token]:
        """Never asked for: ``attempts`` yields no ``Renew``."""
        raise AssertionError("a BearerAuth token is never renewed")
        yield request  # a generator, like OptiplyAuth.renew

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token."""
        request.headers["Authorization"] = bearer(self._token)
        yield request


def _read_bodies(flow: _Flow) -> Generator[httpx.Request, httpx.Response, Token]:
    """Drive a token flow from a sync auth flow, reading each response body first."""
    try:
        step = next(flow)
        while True:
            response = yield step
            response.read()
            step = flow.send(response)
    except StopIteration as done:
        token: Token = done.value
        return token


def bearer(token: Token) -> str:
    """The ``Authorization`` value for ``token``."""
    return "Bearer " + token.access_token.get_secret_value()
