"""the deleted-rows extension: an index of each account's deleted rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:00:00.000000

``filter[deletedAt]`` (docs/extensions.md, "Deleted rows") lists the rows of an account deleted
after an instant, in ``deletedAt`` order. The live-row indexes are partial (``deleted_at IS
NULL``) and cannot serve it, so every table of rows that can be deleted gets a partial index of
its deleted rows: ``(account_id, deleted_at) WHERE deleted_at IS NOT NULL``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The tables of the types with DELETE (every resource but accounts), as of this revision.
_TABLES = (
    "products",
    "suppliers",
    "supplier_products",
    "product_compositions",
    "sell_orders",
    "sell_order_lines",
    "buy_orders",
    "buy_order_lines",
    "receipt_lines",
    "promotions",
    "promotion_products",
)
_DELETED = "deleted_at IS NOT NULL"


def upgrade() -> None:
    for table in _TABLES:
        op.create_index(
            op.f(f"ix_{table}_account_id_deleted_at"),
            table,
            ["account_id", "deleted_at"],
            unique=False,
            sqlite_where=sa.text(_DELETED),
            postgresql_where=sa.text(_DELETED),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(op.f(f"ix_{table}_account_id_deleted_at"), table_name=table)
