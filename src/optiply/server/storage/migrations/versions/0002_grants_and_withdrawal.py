"""grants, disabled users, deleted clients, token-endpoint throttle

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

Tokens now belong to a grant (``oauth_grants``): the access and refresh tokens of one password
grant and the access tokens of its refresh grants. Revocation moves from each token to its
grant. Existing tokens are grouped per (user, client) into one live grant, and the revoked ones
per (user, client) into one revoked grant: revoking any token issued before this migration
revokes every token of that user and client issued before it (more than needed, never less).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import optiply.server.storage.columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "oauth_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("full_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_oauth_throttle")),
    )
    with op.batch_alter_table("oauth_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_throttle_full_at"), ["full_at"], unique=False)

    op.create_table(
        "oauth_grants",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("client_pk", _ID, nullable=False),
        sa.Column(
            "created_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=False
        ),
        sa.Column(
            "revoked_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_grants_client_pk_oauth_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oauth_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_grants")),
    )
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_grants_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_grants_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "deleted_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=True
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "disabled_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=True
            )
        )

    # Existing tokens: one grant per (user, client) for the live ones, one for the revoked ones.
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_id", _ID, nullable=True))
    op.execute(
        "INSERT INTO oauth_grants (user_id, client_pk, created_at, revoked_at) "
        "SELECT user_id, client_pk, MIN(created_at), MAX(revoked_at) FROM oauth_tokens "
        "GROUP BY user_id, client_pk, (revoked_at IS NULL)"
    )
    op.execute(
        "UPDATE oauth_tokens SET grant_id = (SELECT g.id FROM oauth_grants g "
        "WHERE g.user_id = oauth_tokens.user_id AND g.client_pk = oauth_tokens.client_pk "
        "AND (g.revoked_at IS NULL) = (oauth_tokens.revoked_at IS NULL))"
    )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.alter_column("grant_id", existing_type=_ID, nullable=False)
        batch_op.create_index(batch_op.f("ix_oauth_tokens_grant_id"), ["grant_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_oauth_tokens_grant_id_oauth_grants"),
            "oauth_grants",
            ["grant_id"],
            ["id"],
        )
        batch_op.drop_column("revoked_at")


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "revoked_at", optiply.server.storage.columns.UtcDateTime(length=27), nullable=True
            )
        )
    op.execute(
        "UPDATE oauth_tokens SET revoked_at = "
        "(SELECT g.revoked_at FROM oauth_grants g WHERE g.id = oauth_tokens.grant_id)"
    )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_oauth_tokens_grant_id_oauth_grants"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_oauth_tokens_grant_id"))
        batch_op.drop_column("grant_id")

    # Not in batch mode: on SQLite that recreates the table, which the foreign keys of other
    # tables forbid; SQLite has DROP COLUMN since 3.35.
    op.execute("ALTER TABLE users DROP COLUMN disabled_at")
    op.execute("ALTER TABLE oauth_clients DROP COLUMN deleted_at")

    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_grants_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_grants_client_pk"))
    op.drop_table("oauth_grants")

    with op.batch_alter_table("oauth_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_throttle_full_at"))
    op.drop_table("oauth_throttle")
