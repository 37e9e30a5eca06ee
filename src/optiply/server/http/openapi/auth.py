"""Authentication: the OAuth2 scopes, the security schemes and the token endpoint."""

from __future__ import annotations

from optiply.server.auth.principal import METHOD_SCOPES, TOKEN_PATH, Scope
from optiply.server.http.openapi.common import Schema, json_response, object_schema, schema_ref

_SCOPES = {  # "GET requests.", "POST and PATCH requests.", ...: HEAD is not documented
    scope.value: " and ".join(m for m, s in METHOD_SCOPES.items() if s is scope and m != "HEAD")
    + " requests."
    for scope in Scope
}


def security_schemes() -> dict[str, Schema]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Password grant; send `Authorization: Bearer <access_token>`.",
            "flows": {
                "password": {
                    "tokenUrl": TOKEN_PATH,
                    "refreshUrl": TOKEN_PATH,
                    "scopes": dict(_SCOPES),
                }
            },
        },
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "The OAuth2 client id and secret.",
        },
    }


def token_path() -> Schema:
    string = {"type": "string"}
    secret = {"type": "string", "format": "password"}
    form = object_schema(
        {
            "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
            "username": string,
            "password": secret,
            "refresh_token": string,
            "client_id": {**string, "description": "Fallback for HTTP Basic client auth."},
            "client_secret": secret,
        }
    )
    query = [
        {"name": name, "in": "query", "schema": form["properties"][name]}
        for name in ("grant_type", "refresh_token")
    ]
    return {
        "post": {
            "tags": ["auth"],
            "operationId": "issueToken",
            "summary": "Issue or refresh an access token",
            "description": "Grants `password` (username, password) and `refresh_token`. "
            "Parameters are read from the query string and the form body alike. The client "
            "authenticates with HTTP Basic.",
            "security": [{"clientBasic": []}],
            "parameters": query,
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": form}}},
            "responses": {
                "200": json_response("A token.", schema_ref("TokenResponse")),
                "400": json_response(
                    "Bad grant: invalid_grant (bad credentials or refresh token) or "
                    "unsupported_grant_type.",
                    schema_ref("OAuthError"),
                ),
                "401": json_response(
                    "Unknown client or wrong client secret; see error_description.",
                    schema_ref("OAuthError"),
                ),
                "429": {
                    **json_response(
                        "Too many failed token requests from this client or address: "
                        "too_many_requests; wait Retry-After seconds.",
                        schema_ref("OAuthError"),
                    ),
                    "headers": {"Retry-After": {"schema": {"type": "string"}}},
                },
            },
        }
    }
