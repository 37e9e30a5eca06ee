"""The public surface of ``optiply.client`` is pinned: a change here is an API change."""

import optiply.client

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert optiply.client.__all__ == EXPECTED


def test_exported_members_exist_and_belong_to_the_client() -> None:
    for name in optiply.client.__all__:
        member = getattr(optiply.client, name)
        assert member.__module__.startswith("optiply.client."), name


def test_no_public_name_is_left_unexported() -> None:
    public = {
        name
        for name, value in vars(optiply.client).items()
        if not name.startswith("_") and not isinstance(value, type(optiply))
    }
    assert public == set(EXPECTED)
