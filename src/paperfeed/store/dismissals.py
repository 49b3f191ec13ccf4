"""Dismissals: papers a user marked "not interested"."""

from __future__ import annotations

import sqlalchemy as sa

from paperfeed.store.schema import UTCDateTime, metadata

paper_dismissals = sa.Table(
    "paper_dismissals",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
