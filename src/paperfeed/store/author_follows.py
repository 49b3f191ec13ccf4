"""Authors followed by users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.store.papers import chunked
from paperfeed.store.schema import UTCDateTime, metadata

# `author_key` identifies the author as paperfeed's name matching does (see library/authors.py);
# `name` is the name as shown when the user followed.
author_follows = sa.Table(
    "author_follows",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("author_key", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


@dataclass(slots=True, frozen=True)
class AuthorFollow:
    author_key: str
    name: str
    created_at: dt.datetime


class AuthorFollowStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def follow(self, user_id: int, author_key: str, name: str, now: dt.datetime) -> None:
        from paperfeed.store import insert_ignoring_conflicts

        with self.engine.begin() as conn:
            conn.execute(
                insert_ignoring_conflicts(conn, author_follows).values(
                    user_id=user_id, author_key=author_key, name=name, created_at=now
                )
            )

    def unfollow(self, user_id: int, author_key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(author_follows).where(
                    author_follows.c.user_id == user_id, author_follows.c.author_key == author_key
                )
            )

    def followed_by(self, user_id: int) -> list[AuthorFollow]:
        """The authors a user follows, by name."""
        return self.followed_by_many([user_id])[user_id]

    def followed_by_many(self, user_ids: Sequence[int]) -> dict[int, list[AuthorFollow]]:
        """The authors each user follows, by name (an empty list for a user who follows none)."""
        c = author_follows.c
        followed: dict[int, list[AuthorFollow]] = {user_id: [] for user_id in user_ids}
        with self.engine.connect() as conn:
            for chunk in chunked(list(followed)):
                query = (
                    sa.select(c.user_id, c.author_key, c.name, c.created_at)
                    .where(c.user_id.in_(chunk))
                    .order_by(c.name, c.author_key)
                )
                for user_id, key, name, created in conn.execute(query):
                    followed[user_id].append(AuthorFollow(key, name, created))
        return followed

    def is_following(self, user_id: int, author_key: str) -> bool:
        query = sa.select(sa.literal(1)).where(
            author_follows.c.user_id == user_id, author_follows.c.author_key == author_key
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None
