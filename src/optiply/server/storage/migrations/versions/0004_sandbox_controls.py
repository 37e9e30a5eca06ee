"""the sandbox's controls: fault rules, account settings, rate buckets, client token lifetimes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:40:00.000000

``sandbox_faults`` (rules per account, matches counted across workers), ``sandbox_settings``
(rate limit and compat mode per account), ``sandbox_state`` (one row: the version every change
bumps, which workers poll), ``sandbox_rate_buckets`` (one GCRA cell per account and token) and
``oauth_clients.access_token_ttl`` (``server/sandbox/``, ``storage/sandbox.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import optiply.server.storage.columns

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sandbox_faults",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("retry_after", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("jitter_ms", sa.Integer(), nullable=False),
        sa.Column("hang_s", sa.Float(), nullable=False),
        sa.Column("drop_after_commit", sa.Boolean(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=True),
        sa.Column("every", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sandbox_faults_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_faults")),
    )
    with op.batch_alter_table("sandbox_faults", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_faults_account_id"), ["account_id"], unique=False
        )
    op.create_table(
        "sandbox_settings",
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("rate_limit", sa.Float(), nullable=True),
        sa.Column("burst", sa.Integer(), nullable=True),
        sa.Column("compat", sa.String(length=16), nullable=False),
        sa.Column(
            "updated_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sandbox_settings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sandbox_settings")),
    )
    state = op.create_table(
        "sandbox_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_state")),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    op.create_table(
        "sandbox_rate_buckets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sandbox_rate_buckets")),
    )
    with op.batch_alter_table("sandbox_rate_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sandbox_rate_buckets_tat"), ["tat"], unique=False)
    # A plain ADD COLUMN: a batch would copy oauth_clients on SQLite, which the tokens' and
    # grants' foreign keys refuse once the table has rows.
    op.add_column("oauth_clients", sa.Column("access_token_ttl", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no batch copy of oauth_clients (see upgrade).
    op.execute("ALTER TABLE oauth_clients DROP COLUMN access_token_ttl")
    with op.batch_alter_table("sandbox_rate_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_rate_buckets_tat"))
    op.drop_table("sandbox_rate_buckets")
    op.drop_table("sandbox_state")
    op.drop_table("sandbox_settings")
    with op.batch_alter_table("sandbox_faults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_faults_account_id"))
    op.drop_table("sandbox_faults")
