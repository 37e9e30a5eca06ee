"""the sandbox's request journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:00:00.000000

One table, ``sandbox_requests``: a row per request to /v1 and /api/auth, written by every
worker, secrets hidden (``server/sandbox/journal.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import optiply.server.storage.columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sandbox_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("account_ids", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("request_headers", sa.Text(), nullable=False),
        sa.Column("request_body", sa.LargeBinary(), nullable=False),
        sa.Column("request_truncated", sa.Boolean(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("response_truncated", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("fault", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_requests")),
    )
    with op.batch_alter_table("sandbox_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_requests_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sandbox_requests_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_requests_at"))
        batch_op.drop_index(batch_op.f("ix_sandbox_requests_account_id_id"))
    op.drop_table("sandbox_requests")
