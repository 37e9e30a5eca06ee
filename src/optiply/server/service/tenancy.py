"""Which accounts a request may touch (§3.2, Q13, Q28): applied to every query through the scope.

A user reaches one or more accounts. The ``accountId`` query parameter narrows every method to
that account (403 when the user cannot reach it); ``couplingId`` never changes what is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.server.auth.principal import Principal
from optiply.server.service.errors import DomainError, attribute_pointer


@dataclass(frozen=True, slots=True)
class AccountScope:
    """The accounts one request works in."""

    account_ids: tuple[int, ...]
    explicit: int | None  # the accountId query parameter, when given
    versions: tuple[int, ...] = ()  # the accounts' data versions (keys of cached counts)

    def single(self) -> int | None:
        """The one account of this scope, if there is exactly one."""
        return self.account_ids[0] if len(self.account_ids) == 1 else None


def request_scope(principal: Principal, account_param: str | None) -> AccountScope:
    """The scope of a request from its principal and its ``accountId`` query parameter."""
    if account_param is None or account_param == "":
        return AccountScope(principal.account_ids, None, principal.account_versions)
    try:
        account_id = int(account_param)
    except ValueError:
        raise DomainError(
            Problem(
                ErrorCode.INVALID_QUERY,
                f"accountId must be an integer, got {account_param!r}",
                parameter="accountId",
            )
        ) from None
    if account_id not in principal.account_ids:
        raise DomainError(
            Problem(
                ErrorCode.ACCOUNT_FORBIDDEN,
                f"account {account_id} is not accessible to this user",
                parameter="accountId",
            )
        )
    versions = dict(zip(principal.account_ids, principal.account_versions, strict=False))
    version = versions.get(account_id)
    return AccountScope((account_id,), account_id, () if version is None else (version,))


def account_for_create(principal: Principal, scope: AccountScope, attribute: int | None) -> int:
    """The account a new top-level row goes to: attribute, query parameter, only account, else 400.

    (Child rows take their parent's account; see ``crud``.)
    """
    if attribute is not None:
        if attribute not in principal.account_ids or (
            scope.explicit is not None and attribute != scope.explicit
        ):
            raise DomainError(
                Problem(
                    ErrorCode.ACCOUNT_FORBIDDEN,
                    f"account {attribute} is not accessible to this user",
                    pointer=attribute_pointer("accountId"),
                )
            )
        return attribute
    single = scope.single()
    if single is None:
        raise DomainError(
            Problem(
                ErrorCode.ACCOUNT_REQUIRED,
                "this user can reach several accounts: say which one with the accountId "
                "attribute or the accountId query parameter",
                parameter="accountId",
            )
        )
    return single
