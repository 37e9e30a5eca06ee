"""the request journal's shared response bodies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00.000000

A page answered from the page cache is the same body request after request (a polling client,
a load test): ``sandbox_bodies`` holds it once, and the journal rows that answered it point at
it by ``response_digest`` instead of each storing a copy (``storage/journal_writes.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from optiply.server.storage.columns import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SHARED = "response_digest IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "sandbox_bodies",
        sa.Column("digest", sa.LargeBinary(length=16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("used_at", UtcDateTime(length=27), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_sandbox_bodies")),
    )
    op.create_index(
        op.f("ix_sandbox_bodies_account_id_used_at"),
        "sandbox_bodies",
        ["account_id", "used_at"],
        unique=False,
    )
    with op.batch_alter_table("sandbox_requests") as batch_op:
        batch_op.add_column(sa.Column("response_digest", sa.LargeBinary(length=16), nullable=True))
    op.create_index(
        op.f("ix_sandbox_requests_response_digest"),
        "sandbox_requests",
        ["response_digest"],
        unique=False,
        sqlite_where=sa.text(_SHARED),
        postgresql_where=sa.text(_SHARED),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_requests_response_digest"), table_name="sandbox_requests")
    with op.batch_alter_table("sandbox_requests") as batch_op:
        batch_op.drop_column("response_digest")
    op.drop_index(op.f("ix_sandbox_bodies_account_id_used_at"), table_name="sandbox_bodies")
    op.drop_table("sandbox_bodies")
