"""collections (saved papers become the default collection "Saved" of each user) and notes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("visibility", sa.String(length=8), server_default="private", nullable=False),
        sa.Column("default_for", sa.Integer(), nullable=True),
        sa.Column("share_token", sa.String(length=64), nullable=False),
        sa.Column("feed_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_for"], ["users.id"], name=op.f("fk_collections_default_for_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_collections_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("default_for", name=op.f("uq_collections_default_for")),
        sa.UniqueConstraint("feed_token", name=op.f("uq_collections_feed_token")),
        sa.UniqueConstraint("share_token", name=op.f("uq_collections_share_token")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_collections_user_id_name")),
    )
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collections_user_id"), ["user_id"], unique=False)

    # Every user with saved papers gets the default collection, and the saves move into it.
    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    collections = sa.table(
        "collections",
        *(sa.column(name) for name in ("id", "user_id", "name", "description", "visibility", "default_for",
                                       "share_token", "feed_token", "created_at", "updated_at")),
    )  # fmt: skip
    savers = list(conn.execute(sa.text("SELECT DISTINCT user_id FROM saved_papers")).scalars())
    if savers:
        conn.execute(
            collections.insert(),
            [
                {"user_id": user_id, "name": "Saved", "description": "", "visibility": "private",
                 "default_for": user_id, "share_token": secrets.token_urlsafe(24),
                 "feed_token": secrets.token_urlsafe(24), "created_at": now, "updated_at": now}
                for user_id in savers
            ],
        )  # fmt: skip
    with op.batch_alter_table("saved_papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collection_id", sa.Integer(), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE saved_papers SET collection_id = "
            "(SELECT c.id FROM collections c WHERE c.default_for = saved_papers.user_id)"
        )
    )
    with op.batch_alter_table("saved_papers", schema=None, recreate="always") as batch_op:
        batch_op.alter_column("collection_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("pk_saved_papers", type_="primary")
        batch_op.create_primary_key("pk_saved_papers", ["collection_id", "paper_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_saved_papers_collection_id_collections"),
            "collections",
            ["collection_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_saved_papers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "paper_notes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_notes_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_paper_notes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "paper_id", name=op.f("pk_paper_notes")),
    )


def downgrade() -> None:
    op.drop_table("paper_notes")
    # A paper saved into several collections of a user becomes one saved paper again.
    op.execute(
        "DELETE FROM saved_papers WHERE EXISTS (SELECT 1 FROM saved_papers s2 "
        "WHERE s2.user_id = saved_papers.user_id AND s2.paper_id = saved_papers.paper_id "
        "AND s2.collection_id < saved_papers.collection_id)"
    )
    with op.batch_alter_table("saved_papers", schema=None, recreate="always") as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_papers_user_id"))
        batch_op.drop_constraint("fk_saved_papers_collection_id_collections", type_="foreignkey")
        batch_op.drop_constraint("pk_saved_papers", type_="primary")
        batch_op.create_primary_key("pk_saved_papers", ["user_id", "paper_id"])
        batch_op.drop_column("collection_id")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collections_user_id"))
    op.drop_table("collections")
