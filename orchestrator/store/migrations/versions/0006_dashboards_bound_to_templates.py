"""dashboards bound to templates: items keep a template, a chart request, a grid size and
their last chart output; dashboards gain filters and an optional refresh cron

An existing item whose saved query names a sandbox is bound to that sandbox's template
(when the sandbox row still says which).

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTERs, not a batch copy: on SQLite a batch drops and re-creates the table,
    # and dropping ``dashboards`` would cascade to every dashboard item
    op.add_column("dashboards", sa.Column("filters", sa.JSON(), nullable=False,
                                          server_default=sa.text("'[]'")))
    op.add_column("dashboards", sa.Column("refresh_cron", sa.String(length=100), nullable=True))
    op.add_column("dashboards", sa.Column("next_refresh_at", sa.DateTime(), nullable=True))
    op.add_column("dashboards", sa.Column("last_refresh_at", sa.DateTime(), nullable=True))
    op.create_index(op.f("ix_dashboards_next_refresh_at"), "dashboards", ["next_refresh_at"],
                    unique=False)
    # nothing refers to dashboard items, so copying their table (to add a foreign key) is safe
    with op.batch_alter_table("dashboard_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("template", sa.String(length=200), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("chart", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=False, server_default="6"))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=False,
                                      server_default="300"))
        batch_op.add_column(sa.Column("output", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("refreshed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.create_foreign_key("fk_dashboard_items_template_id", "templates",
                                    ["template_id"], ["id"], ondelete="SET NULL")
    # bind each existing item to the template of its saved query's sandbox
    op.execute(sa.text(
        "UPDATE dashboard_items SET "
        "template_id = (SELECT s.template_id FROM saved_queries q JOIN sandboxes s "
        "ON s.id = q.sandbox_id WHERE q.id = dashboard_items.query_id), "
        "template = COALESCE((SELECT s.template FROM saved_queries q JOIN sandboxes s "
        "ON s.id = q.sandbox_id WHERE q.id = dashboard_items.query_id), '')"))


def downgrade() -> None:
    with op.batch_alter_table("dashboard_items", schema=None) as batch_op:
        batch_op.drop_constraint("fk_dashboard_items_template_id", type_="foreignkey")
        for column in ("error", "refreshed_at", "output", "height", "width", "chart",
                       "template", "template_id"):
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_dashboards_next_refresh_at"), table_name="dashboards")
    for column in ("last_refresh_at", "next_refresh_at", "refresh_cron", "filters"):
        op.drop_column("dashboards", column)
