"""an index on paper_embeddings (model, updated_at): which models have vectors, without reading them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_paper_embeddings_model_updated_at"), "paper_embeddings", ["model", "updated_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_paper_embeddings_model_updated_at"), table_name="paper_embeddings")
