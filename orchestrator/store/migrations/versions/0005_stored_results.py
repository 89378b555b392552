"""stored results: each statement's whole result kept once in an Arrow file

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_results",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("sandbox_id", sa.String(length=32), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stored_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_results_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_stored_results_sandbox_id"), ["sandbox_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_stored_results_created_at"), ["created_at"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("stored_results")
