"""the extensions: idempotency keys, and the remote-id index with its triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00.000000

``idempotency_keys`` (the stored answers of writes sent with an ``Idempotency-Key``) and
``remote_ids`` (one row per ``remoteIdMap`` entry, behind ``filter[remoteId]``), kept in step by
triggers on every table with ``remote_id_map`` (``storage/remote_id_triggers.py``), and filled
from the rows already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import optiply.server.storage.columns
from optiply.server.storage import remote_id_triggers

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False
        ),
        sa.Column(
            "expires_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "remote_ids",
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("coupling", sa.String(length=255), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("resource", "row_id", "coupling", name=op.f("pk_remote_ids")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("remote_ids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remote_ids_resource_account_id_coupling_remote_id_row_id"),
            ["resource", "account_id", "coupling", "remote_id", "row_id"],
            unique=False,
        )
    # Triggers first: creating one locks its table against writes until this transaction ends,
    # so the fill below sees every row, and no row is both filled and triggered.
    dialect = op.get_bind().dialect.name
    for statement in remote_id_triggers.create_statements(dialect):
        op.execute(statement)
    for statement in remote_id_triggers.backfill_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in remote_id_triggers.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("remote_ids", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_remote_ids_resource_account_id_coupling_remote_id_row_id")
        )
    op.drop_table("remote_ids")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
