"""The base of absolute URLs in responses: the configured public URL, else scheme and Host."""

from __future__ import annotations

from starlette.requests import Request


def configured_base(public_url: str | None) -> str | None:
    """``OPTIPLY_PUBLIC_URL`` without a trailing slash, or None when it is not set.

    >>> configured_base("https://api.example.com/")
    'https://api.example.com'
    """
    return public_url.rstrip("/") if public_url else None


def base_url(request: Request, configured: str | None) -> str:
    """``configured`` (see ``configured_base``) if set, else the request's scheme and ``Host``."""
    if configured:
        return configured
    host = request.headers.get("host")
    if host is None:
        return str(request.base_url).rstrip("/")
    return f"{request.scope['scheme']}://{host}{request.scope.get('root_path', '')}"
