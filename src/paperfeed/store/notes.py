"""Notes: one private Markdown note per user and paper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.models import Note
from paperfeed.store.papers import chunked, utcnow
from paperfeed.store.schema import UTCDateTime, metadata

paper_notes = sa.Table(
    "paper_notes",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),  # Markdown as written; rendered and sanitised on display
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


def _note(row: sa.Row) -> Note:
    m = row._mapping
    return Note(m["user_id"], m["paper_id"], m["body"], m["created_at"], m["updated_at"])


def _like_pattern(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class NoteStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of_papers(self, user_id: int, paper_ids: Sequence[int]) -> dict[int, Note]:
        found: dict[int, Note] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(paper_ids))):
                query = sa.select(paper_notes).where(
                    paper_notes.c.user_id == user_id, paper_notes.c.paper_id.in_(chunk)
                )
                found.update((row.paper_id, _note(row)) for row in conn.execute(query))
        return found

    def put(self, user_id: int, paper_id: int, body: str, now: dt.datetime | None = None) -> Note:
        moment = now or utcnow()
        where = (paper_notes.c.user_id == user_id, paper_notes.c.paper_id == paper_id)
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(paper_notes).where(*where).values(body=body, updated_at=moment)
            ).rowcount
            if not changed:
                conn.execute(
                    sa.insert(paper_notes).values(
                        user_id=user_id, paper_id=paper_id, body=body, created_at=moment, updated_at=moment
                    )
                )
            return _note(conn.execute(sa.select(paper_notes).where(*where)).one())

    def delete(self, user_id: int, paper_id: int) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.delete(paper_notes).where(
                        paper_notes.c.user_id == user_id, paper_notes.c.paper_id == paper_id
                    )
                ).rowcount
            )

    def paper_ids(self, user_id: int) -> list[int]:
        query = (
            sa.select(paper_notes.c.paper_id)
            .where(paper_notes.c.user_id == user_id)
            .order_by(paper_notes.c.updated_at.desc())
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def matching(self, user_id: int, words: Sequence[str]) -> list[int]:
        """Papers whose note of this user holds every word (case-insensitive substrings)."""
        if not words:
            return []
        clauses = [sa.func.lower(paper_notes.c.body).like(_like_pattern(w), escape="\\") for w in words]
        query = (
            sa.select(paper_notes.c.paper_id)
            .where(paper_notes.c.user_id == user_id, *clauses)
            .order_by(paper_notes.c.updated_at.desc())
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
