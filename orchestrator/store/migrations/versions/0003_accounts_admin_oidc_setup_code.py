"""accounts: admins, OpenID Connect identity (issuer + subject), one-time setup codes;
sandbox passwords as (longer) encrypted text

Revision ID: 0003
Revises: 0002

An existing installation's oldest local account becomes its admin (it was the account
created on first start).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_admin", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint("uq_users_oidc_identity",
                                          ["oidc_issuer", "oidc_subject"])
    op.create_table(
        "setup_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("is_admin", sa.Boolean()),
                     sa.column("password_hash", sa.String()),
                     sa.column("created_at", sa.DateTime()))
    first = sa.select(users.c.id).where(users.c.password_hash.is_not(None)).order_by(
        users.c.created_at, users.c.id).limit(1).scalar_subquery()
    op.execute(users.update().where(users.c.id == first).values(is_admin=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column("sandboxes", "password", type_=sa.Text(),
                        existing_type=sa.String(length=100))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("sandboxes", "password", type_=sa.String(length=100),
                        existing_type=sa.Text())
    op.drop_table("setup_codes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_oidc_identity", type_="unique")
        batch_op.drop_column("display_name")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
        batch_op.drop_column("is_admin")
