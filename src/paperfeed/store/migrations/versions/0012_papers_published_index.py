"""an index on papers.published: digests pick the papers of their window by it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_papers_published"), "papers", ["published"])


def downgrade() -> None:
    op.drop_index(op.f("ix_papers_published"), table_name="papers")
