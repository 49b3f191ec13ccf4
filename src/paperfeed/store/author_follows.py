"""Authors followed by users."""

from __future__ import annotations

import sqlalchemy as sa

from paperfeed.store.schema import UTCDateTime, metadata

# `author_key` identifies the author as paperfeed's name matching does (see library/names.py);
# `name` is the name as shown when the user followed.
author_follows = sa.Table(
    "author_follows",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("author_key", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
