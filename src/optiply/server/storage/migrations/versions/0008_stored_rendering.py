"""each resource row's attributes as JSON text, kept by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:00:00.000000

Every resource table gets ``rendered``, its row's attributes JSON, made by triggers on every
write (``storage/rendered_triggers.py``) and read by lists and single reads instead of building
the JSON in each query; the rows already stored are rendered here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from optiply.server.storage import rendered_triggers
from optiply.server.storage.render import RENDERED

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for spec in rendered_triggers.SPECS:
        op.add_column(spec.table, sa.Column(RENDERED, sa.Text(), nullable=True))
    # Triggers first: creating one locks its table against writes until this transaction ends,
    # so the fill below sees every row.
    dialect = op.get_bind().dialect.name
    for statement in rendered_triggers.create_statements(dialect):
        op.execute(statement)
    for statement in rendered_triggers.backfill_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in rendered_triggers.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    for spec in rendered_triggers.SPECS:
        # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+): a batch rebuild would lose the
        # table's other triggers.
        op.execute(f'ALTER TABLE "{spec.table}" DROP COLUMN {RENDERED}')
