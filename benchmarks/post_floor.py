"""The floor of ``POST /v1/products`` on SQLite in this stack: what a POST costs when the
application does nothing but the database work every create needs.

A bare Starlette app under the same uvicorn settings as ``optiply serve`` that, for each POST,
parses the body, looks the bearer token up (the server's own token query), takes the account's
write lock (the data-version UPDATE), inserts the row with ``INSERT … RETURNING`` its rendered
attributes, commits, and answers the 201 document, all on the raw ``sqlite3`` connection, with
no SQLAlchemy execution, no validation, no sandbox, no journal and no error handling. Our server
can't be faster than this on the same machine; ``scripts/bench`` runs it beside ours and the
bare baseline, so the POST goal can be judged against what is possible at all (issue 15).

Usage: ``python -m benchmarks.post_floor DATABASE_FILE PORT``.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import insert, literal_column
from sqlalchemy.dialects import sqlite as sqlite_dialect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.baseline import serve_like_ours
from optiply.resources import get
from optiply.server.auth.tokens import _AUTHENTICATE, digest  # the server's own token query
from optiply.server.service.crud import new_row
from optiply.server.storage.render import attributes_sql
from optiply.server.storage.tables import RESOURCE_TABLES

JSONAPI = "application/vnd.api+json"
SPEC = get("products")
TABLE = RESOURCE_TABLES["products"]
DIALECT = sqlite_dialect.dialect()


def _compiled(statement: Any, columns: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """SQLite's text of ``statement`` (``?`` parameters) and its parameters' names in order."""
    compiled = statement.compile(dialect=DIALECT, column_keys=list(columns) or None)
    return str(compiled), list(compiled.positiontup or ())


def create_app(database_file: str) -> Starlette:
    """The floor app on the SQLite database ``database_file``."""
    connection = sqlite3.connect(database_file, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=10000")
    authenticate, _ = _compiled(_AUTHENTICATE)
    lock = "UPDATE accounts SET data_version = data_version + 1 WHERE id = ?"
    uuids: dict[int, str] = {}
    inserts: dict[tuple[str, ...], tuple[str, list[str], dict[str, Any]]] = {}
    rendered: Any = literal_column(attributes_sql(SPEC, "sqlite"))

    def insert_for(columns: tuple[str, ...]) -> tuple[str, list[str], dict[str, Any]]:
        """The INSERT of these columns, its parameters in order, and each column's bind
        processor (SQLAlchemy's own: timestamps, money, JSON, booleans as stored)."""
        if columns not in inserts:
            statement = insert(TABLE).returning(TABLE.c.id, rendered)
            text, order = _compiled(statement, columns)
            processors = {name: TABLE.c[name].type.bind_processor(DIALECT) for name in columns}
            inserts[columns] = (text, order, processors)
        return inserts[columns]

    async def products(request: Request) -> Response:
        given = orjson.loads(await request.body())["data"]["attributes"]
        # The one conversion the stored row needs: JSON numbers with a fraction are money.
        values = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in given.items()}
        token = request.headers["authorization"].split(" ", 1)[1]
        account_id = connection.execute(authenticate, (digest(token),)).fetchall()[0][7]
        now = datetime.now(UTC)
        connection.execute("BEGIN")
        try:
            connection.execute(lock, (account_id,))
            if account_id not in uuids:
                found = connection.execute("SELECT uuid FROM accounts WHERE id = ?", (account_id,))
                uuids[account_id] = found.fetchone()[0]
            row = new_row(SPEC, values, now=now, coupling_id=None)
            row.update(account_id=account_id, account_uuid=uuids[account_id])
            text, order, processors = insert_for(tuple(row))
            bound = [
                row[name] if processors[name] is None else processors[name](row[name])
                for name in order
            ]
            row_id, attributes = connection.execute(text, bound).fetchone()
        except BaseException:
            connection.execute("ROLLBACK")  # never keep the database's write lock
            raise
        connection.execute("COMMIT")
        url = f"{request.base_url}v1/products/{row_id}"
        document = (
            f'{{"data":{{"id":"{row_id}","type":"products","attributes":{attributes},'
            f'"links":{{"self":"{url}"}}}}}}'
        )
        return Response(document.encode(), 201, media_type=JSONAPI)

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/products", products, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def main(argv: list[str]) -> None:
    """Serve the floor app like ``optiply serve`` serves ours."""
    database_file, port = argv
    serve_like_ours(create_app(database_file), int(port))


if __name__ == "__main__":
    main(sys.argv[1:])
