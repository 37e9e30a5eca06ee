"""A typed client for the Optiply Public API v1 (and this project's server).

>>> from optiply.client import OptiplyAuth, OptiplyClient
>>> auth = OptiplyAuth(client_id="id", client_secret="secret", username="me", password="pw")
>>> with OptiplyClient(auth=auth, account_id=1380) as client:  # doctest: +SKIP
...     for product in client.iterate("products", status="enabled"):
...         print(product.id, product.attributes["name"])
"""

from optiply.client.async_client import AsyncOptiplyClient
from optiply.client.auth import BearerAuth, OptiplyAuth, Token
from optiply.client.client import OptiplyClient
from optiply.client.documents import Resource, ResourcePage
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
from optiply.client.operations import Operation, Operations, ref
from optiply.client.paging import condition, filters, updated_since
from optiply.client.retries import Backoff
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
    "Operation",
    "Operations",
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
    "ref",
    "updated_since",
]
