"""Dismissals: papers a user marked "not interested". They never show in that user's
recommendations again and teach the recommender what the user does not want."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.store.schema import UTCDateTime, metadata

paper_dismissals = sa.Table(
    "paper_dismissals",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


class DismissalStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user_id: int, paper_id: int, now: dt.datetime) -> bool:
        """Record the dismissal; False when the paper was dismissed already."""
        from paperfeed.store import insert_ignoring_conflicts

        row = {"user_id": user_id, "paper_id": paper_id, "created_at": now}
        with self.engine.begin() as conn:
            # the row comes back only if inserted: rowcount is not told reliably by every driver
            insert = insert_ignoring_conflicts(conn, paper_dismissals).values(**row)
            return conn.execute(insert.returning(paper_dismissals.c.paper_id)).first() is not None

    def remove(self, user_id: int, paper_id: int) -> bool:
        """Take the dismissal back; False when there was none."""
        query = sa.delete(paper_dismissals).where(
            paper_dismissals.c.user_id == user_id, paper_dismissals.c.paper_id == paper_id
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

    def paper_ids(self, user_ids: Sequence[int], *, per_user: int = 500) -> dict[int, list[int]]:
        """For each user, the papers they dismissed, most recent first."""
        dismissed: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
        ids = list(dismissed)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 2_000):
                query = (
                    sa.select(paper_dismissals.c.user_id, paper_dismissals.c.paper_id)
                    .where(paper_dismissals.c.user_id.in_(ids[start : start + 2_000]))
                    .order_by(paper_dismissals.c.created_at.desc(), paper_dismissals.c.paper_id.desc())
                )
                for user_id, paper_id in conn.execute(query):
                    if len(dismissed[user_id]) < per_user:
                        dismissed[user_id].append(paper_id)
        return dismissed
