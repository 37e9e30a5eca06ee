"""Each worker's copy of the sandbox controls, and what they decide for one /v1 request.

A worker keeps every account's fault rules and settings in memory (a ``Snapshot``) and checks
the database's version of them at most every ``POLL_SECONDS``: a rule added or cleared by any
worker or by the CLI applies everywhere within a second, without a restart. While no rule could
match a request and no account is rate limited, a request costs one clock read here.

When one could, ``Controls.enter`` (called by the route layer before its transaction) reads the
caller's token and accounts on an autocommit connection, takes a rate-limit cell, and counts
the request against each matching rule (``storage.sandbox.count_match``: exact across
workers). The first rule whose ordinal fires decides: an answer now (a status, an expired
token), or a ``FaultFired`` left in the request's state for ``faults.FaultMiddleware``, which
owns the connection (latency, hang, drop, broken answer, commit then fail).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from optiply.server.auth.tokens import AuthError, authenticate, bearer_token, digest
from optiply.server.sandbox.journal import note_of
from optiply.server.sandbox.limits import RateLimited
from optiply.server.sandbox.rules import Action, Rule
from optiply.server.service.errors import DomainError
from optiply.server.service.tenancy import request_scope
from optiply.server.storage import sandbox as storage
from optiply.server.storage.sandbox import AccountSettings, Compat

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
FAULT_KEY = "sandbox_fault"
"""Where a fired rule waits for ``FaultMiddleware`` in ``scope["state"]``."""
ACCOUNTS_KEY = "sandbox_accounts"
"""Where the accounts of a request are kept for the compat mode's error handler."""


class FaultFired(Exception):
    """A rule fired on a request: the rule and the ordinal of the match that fired."""

    def __init__(self, rule: Rule, ordinal: int) -> None:
        super().__init__(f"sandbox fault rule {rule.id} fired on match {ordinal}")
        self.rule = rule
        self.ordinal = ordinal


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A worker's copy of every account's rules and settings at one version."""

    version: int = -1
    rules: tuple[Rule, ...] = ()
    settings: dict[int, AccountSettings] = field(default_factory=dict)

    @property
    def limited(self) -> bool:
        """Whether any account has a rate limit."""
        return any(s.rate_limit is not None for s in self.settings.values())

    def production(self, account_ids: Iterable[int]) -> bool:
        """Whether one of these accounts answers in the hosted API's way (compat production)."""
        settings = self.settings
        return any(a in settings and settings[a].compat == Compat.PRODUCTION for a in account_ids)

    def may_apply(self, method: str, path: str) -> bool:
        """Whether anything could act on this request (before knowing its account)."""
        return self.limited or any(rule.matches(method, path) for rule in self.rules)


class Controls:
    """The sandbox controls of one worker process."""

    def __init__(self, engine: Engine) -> None:
        # Autocommit on every database: the counts of matching rules and the rate cells are
        # written statement by statement, each committed at once (no transaction to end).
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._snapshot = Snapshot()
        self._checked = float("-inf")

    def snapshot(self) -> Snapshot:
        """The current controls, re-read when the database's version moved (polled ≤ 2/s)."""
        now = time.monotonic()
        if now - self._checked >= POLL_SECONDS:
            self._checked = now
            try:
                with self.reader.connect() as connection:
                    if storage.version(connection) != self._snapshot.version:
                        current, rules, settings = storage.load(connection)
                        self._snapshot = Snapshot(
                            current, tuple(rules), {s.account_id: s for s in settings}
                        )
            except SQLAlchemyError:  # the database is down: the request will say so itself
                logger.warning("sandbox: the controls could not be read; keeping the last ones")
        return self._snapshot

    def changed(self) -> None:
        """This worker changed the controls: read them again on the next request."""
        self._checked = float("-inf")

    def enter(self, request: Request, now: datetime) -> None:
        """Apply the controls to a /v1 request before it is handled.

        Raises:
            RateLimited: over the account's rate limit.
            FaultFired: a status or expired-token rule fired (answered by the error handlers).
        """
        snapshot = self.snapshot()
        method, path = request.method, request.scope["path"]  # request.url costs a parse
        if not snapshot.may_apply(method, path):
            return
        header = request.headers.get("authorization")
        try:
            with self.reader.connect() as connection:
                principal = authenticate(connection, header, now=now)
                account_ids = request_scope(
                    principal, request.query_params.get("accountId")
                ).account_ids
                token_hash = digest(bearer_token(header))
                note = note_of(request.scope)
                if note is not None:  # the journal is on: the request may end here
                    note.account_ids = account_ids
                    note.username, note.client_id = principal.username, principal.client_id
                self._limit(connection, snapshot, account_ids, token_hash)
                fired = self._count(connection, snapshot, account_ids, method, path)
        except (AuthError, DomainError):
            return  # the request itself is refused for this reason, with the same answer
        if fired is None:
            return
        if note is not None:
            note.fault_id = fired.rule.id
        if fired.rule.action is Action.EXPIRED_TOKEN:
            raise AuthError(401, "invalid_token", "Access token expired")
        if fired.rule.action is Action.STATUS:
            raise fired
        request.scope.setdefault("state", {})[FAULT_KEY] = fired
        if fired.rule.action in (Action.HANG, Action.DROP, Action.BROKEN):
            raise fired  # nothing is handled; the middleware owns the connection

    def remember(self, request: Request, account_ids: tuple[int, ...]) -> None:
        """Keep a request's accounts when one account may answer in production compat."""
        snapshot = self._snapshot
        if snapshot.settings and _any_production(snapshot):
            request.scope.setdefault("state", {})[ACCOUNTS_KEY] = account_ids

    def production(self, request: Request) -> bool:
        """Whether a request (whose accounts ``remember`` kept) answers as the hosted API."""
        state: dict[str, Any] = request.scope.get("state") or {}
        accounts: tuple[int, ...] | None = state.get(ACCOUNTS_KEY)
        return accounts is not None and self._snapshot.production(accounts)

    def _limit(
        self,
        connection: Any,
        snapshot: Snapshot,
        account_ids: tuple[int, ...],
        token_hash: str,
    ) -> None:
        for account_id in account_ids:
            settings = snapshot.settings.get(account_id)
            if settings is None or settings.rate_limit is None:
                continue
            wait = storage.take(
                connection,
                storage.bucket_key(account_id, token_hash),
                now=time.time(),
                interval=1 / settings.rate_limit,
                burst=settings.allowed_at_once,
            )
            if wait > 0:
                raise RateLimited(wait, settings.rate_limit)

    def _count(
        self,
        connection: Any,
        snapshot: Snapshot,
        account_ids: tuple[int, ...],
        method: str,
        path: str,
    ) -> FaultFired | None:
        """Count the request against every matching rule of its accounts; the first that fires."""
        fired = None
        accounts = set(account_ids)
        for rule in snapshot.rules:
            if rule.account_id in accounts and rule.matches(method, path):
                ordinal = storage.count_match(connection, rule.id)
                if ordinal is not None and fired is None and rule.fires(ordinal):
                    fired = FaultFired(rule, ordinal)
        return fired


def _any_production(snapshot: Snapshot) -> bool:
    return any(s.compat == Compat.PRODUCTION for s in snapshot.settings.values())
