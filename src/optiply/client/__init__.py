"""A typed client for the Optiply Public API v1 (and this project's server).

>>> from optiply.client import OptiplyAuth, OptiplyClient
>>> auth = OptiplyAuth(client_id="id", client_secret="secret", username="me", password="pw")
>>> with OptiplyClient(auth=auth, account_id=1380) as client:  # doctest: +SKIP
...     for product in client.iterate("products", status="enabled"):
...         print(product.id, product.attributes["name"])
"""

# First, for its side effect: httpx's CLI is not imported with httpx (see the module).
from optiply.client import _lazy_httpx_cli  # noqa: F401
from optiply.client.auth import BearerAuth, OptiplyAuth, Token
from optiply.client.client import (
    AsyncOptiplyClient,
    Backoff,
    OptiplyClient,
    Resource,
    ResourcePage,
)
from optiply.client.errors import (
    AmbiguousWriteError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ErrorDetail,
    FatalError,
    NotFoundError,
    OptiplyError,
    RecordError,
    RetriableError,
    ValidationError,
    from_response,
)
from optiply.client.paging import condition, filters, updated_since
from optiply.client.secrets import Secret

__all__ = [
    "AmbiguousWriteError",
    "AsyncOptiplyClient",
    "AuthenticationError",
    "Backoff",
    "BearerAuth",
    "ConfigurationError",
    "ConflictError",
    "ErrorDetail",
    "FatalError",
    "NotFoundError",
    "OptiplyAuth",
    "OptiplyClient",
    "OptiplyError",
    "RecordError",
    "Resource",
    "ResourcePage",
    "RetriableError",
    "Secret",
    "Token",
    "ValidationError",
    "condition",
    "filters",
    "from_response",
    "updated_since",
]
