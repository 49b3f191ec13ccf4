"""Topics: clusters of papers by meaning, each paper's topic and place on the topic map, and the
topics users follow into their digest.

Topics are derived from the papers' embeddings (`paperfeed.insight.topics` builds them), but
kept in the store: pages, feeds and digests read them, and follows must outlive a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.models import Paper
from paperfeed.store.papers import chunked, row_to_paper
from paperfeed.store.schema import UTCDateTime, metadata, papers, votes

_DTYPE = np.dtype("<f4")

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False),  # most distinctive terms, best first
    sa.Column("representative_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="SET NULL")),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("model", sa.String(100), nullable=False),  # the embedding model of the centroid
    sa.Column("centroid", sa.LargeBinary, nullable=False),  # little-endian float32, unit length
    sa.Column("x", sa.Float, nullable=False, server_default="0"),  # the label's place on the map
    sa.Column("y", sa.Float, nullable=False, server_default="0"),
    sa.Column("built_at", UTCDateTime(), nullable=False),
)

paper_topics = sa.Table(
    "paper_topics",
    metadata,
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("similarity", sa.Float, nullable=False),  # cosine similarity to the topic's centroid
    sa.Column("x", sa.Float, nullable=False),  # the paper's place on the topic map
    sa.Column("y", sa.Float, nullable=False),
)

topic_follows = sa.Table(
    "topic_follows",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


@dataclass(slots=True)
class Topic:
    id: int
    label: str
    terms: list[str]
    representative_id: int | None
    size: int
    x: float
    y: float
    built_at: dt.datetime


@dataclass(slots=True)
class NewTopic:
    """A topic as a build makes it; `reuse_id` keeps the id of the old topic it continues."""

    label: str
    terms: list[str]
    representative_id: int | None
    centroid: np.ndarray
    x: float
    y: float
    paper_ids: np.ndarray
    similarities: np.ndarray
    xs: np.ndarray  # each paper's place on the map
    ys: np.ndarray
    reuse_id: int | None = None


def _topic(row: sa.Row) -> Topic:
    return Topic(
        id=row.id,
        label=row.label,
        terms=list(row.terms),
        representative_id=row.representative_id,
        size=row.size,
        x=row.x,
        y=row.y,
        built_at=row.built_at,
    )


def _day_column() -> sa.ColumnElement:
    return sa.func.coalesce(papers.c.published, papers.c.listed_on)


class TopicStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- topics --------------------------------------------------------------------------------

    def all(self) -> list[Topic]:
        """Every topic, largest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(topics).order_by(topics.c.size.desc(), topics.c.id))
            return [_topic(row) for row in rows]

    def get(self, topic_id: int) -> Topic | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(topics).where(topics.c.id == topic_id)).first()
        return _topic(row) if row else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(topics)).scalar_one()

    def centroids(self) -> tuple[str | None, np.ndarray, np.ndarray]:
        """(model, topic ids, unit centroid rows) of the current topics."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(topics.c.id, topics.c.model, topics.c.centroid).order_by(topics.c.id)
            )
            rows = list(rows)
        if not rows:
            return None, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([r.id for r in rows], dtype=np.int64)
        matrix = np.vstack([np.frombuffer(r.centroid, dtype=_DTYPE) for r in rows]).astype(np.float32)
        return rows[0].model, ids, matrix

    def memberships(self) -> dict[int, set[int]]:
        """Each topic's paper ids (what a rebuild compares its new topics with)."""
        found: dict[int, set[int]] = {}
        with self.engine.connect() as conn:
            for paper_id, topic_id in conn.execute(
                sa.select(paper_topics.c.paper_id, paper_topics.c.topic_id)
            ):
                found.setdefault(topic_id, set()).add(paper_id)
        return found

    def replace_all(self, model: str, new_topics: Sequence[NewTopic], *, now: dt.datetime) -> list[int]:
        """Replace every topic and assignment in one transaction; topics with `reuse_id` keep that
        id (and so their followers). Returns the ids of `new_topics`, in order."""
        ids: list[int] = []
        with self.engine.begin() as conn:
            kept = [t.reuse_id for t in new_topics if t.reuse_id is not None]
            conn.execute(sa.delete(paper_topics))
            conn.execute(sa.delete(topics).where(topics.c.id.not_in(kept) if kept else sa.true()))
            for topic in new_topics:
                values = {
                    "label": topic.label,
                    "terms": topic.terms,
                    "representative_id": topic.representative_id,
                    "size": len(topic.paper_ids),
                    "model": model,
                    "centroid": np.ascontiguousarray(topic.centroid, dtype=_DTYPE).tobytes(),
                    "x": float(topic.x),
                    "y": float(topic.y),
                    "built_at": now,
                }
                if topic.reuse_id is not None:
                    conn.execute(sa.update(topics).where(topics.c.id == topic.reuse_id).values(**values))
                    topic_id = topic.reuse_id
                else:
                    topic_id = conn.execute(sa.insert(topics).values(**values)).inserted_primary_key[0]
                ids.append(topic_id)
                rows = [
                    {
                        "paper_id": int(p),
                        "topic_id": topic_id,
                        "similarity": float(s),
                        "x": float(x),
                        "y": float(y),
                    }
                    for p, s, x, y in zip(
                        topic.paper_ids, topic.similarities, topic.xs, topic.ys, strict=True
                    )
                ]
                for chunk in chunked(rows, 900):
                    conn.execute(sa.insert(paper_topics), list(chunk))
            return ids

    def assign(self, rows: Sequence[tuple[int, int, float, float, float]]) -> None:
        """Record (paper id, topic id, similarity, x, y), replacing earlier assignments of those papers."""
        if not rows:
            return
        values = [
            {"paper_id": p, "topic_id": t, "similarity": float(s), "x": float(x), "y": float(y)}
            for p, t, s, x, y in rows
        ]
        with self.engine.begin() as conn:
            for chunk in chunked(values, 900):
                conn.execute(
                    sa.delete(paper_topics).where(paper_topics.c.paper_id.in_([v["paper_id"] for v in chunk]))
                )
                conn.execute(sa.insert(paper_topics), list(chunk))
            self._refresh_sizes(conn)

    @staticmethod
    def _refresh_sizes(conn: sa.Connection) -> None:
        counted = (
            sa.select(sa.func.count())
            .select_from(paper_topics)
            .where(paper_topics.c.topic_id == topics.c.id)
            .scalar_subquery()
        )
        conn.execute(sa.update(topics).values(size=counted))

    def unassigned_paper_ids(self, model: str, limit: int = 10_000) -> list[int]:
        """Visible papers with a stored `model` embedding but no topic yet."""
        from paperfeed.store.schema import paper_embeddings

        query = (
            sa.select(papers.c.id)
            .join(
                paper_embeddings,
                sa.and_(paper_embeddings.c.paper_id == papers.c.id, paper_embeddings.c.model == model),
            )
            .outerjoin(paper_topics, paper_topics.c.paper_id == papers.c.id)
            .where(paper_topics.c.paper_id.is_(None), papers.c.hidden.is_(False))
            .order_by(papers.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def embedded_papers(
        self, model: str, *, chunk: int = 10_000, texts: bool = True
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[str]]]:
        """(paper ids, float32 vectors, texts) of visible papers with a stored `model` vector, in
        chunks of ascending id; texts are title and abstract (for labelling topics), or empty."""
        from paperfeed.store.schema import paper_embeddings as emb

        text_columns = (papers.c.title, papers.c.abstract) if texts else ()
        last_id = 0
        while True:
            query = (
                sa.select(papers.c.id, emb.c.dim, emb.c.vector, *text_columns)
                .join(emb, sa.and_(emb.c.paper_id == papers.c.id, emb.c.model == model))
                .where(papers.c.id > last_id, papers.c.hidden.is_(False))
                .order_by(papers.c.id)
                .limit(chunk)
            )
            with self.engine.connect() as conn:
                rows = [r for r in conn.execute(query)]
            if not rows:
                return
            good = [r for r in rows if len(r.vector) == 4 * r.dim]
            if good:
                ids = np.array([r.id for r in good], dtype=np.int64)
                matrix = np.frombuffer(b"".join(r.vector for r in good), dtype=_DTYPE).reshape(len(good), -1)
                yield (
                    ids,
                    matrix.astype(np.float32),
                    [f"{r.title}. {r.abstract}" for r in good] if texts else [],
                )
            last_id = rows[-1].id

    # --- papers of topics ------------------------------------------------------------------------

    def topic_of(self, paper_ids: Sequence[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(list(paper_ids), 900):
                query = sa.select(paper_topics.c.paper_id, paper_topics.c.topic_id).where(
                    paper_topics.c.paper_id.in_(chunk)
                )
                found.update({p: t for p, t in conn.execute(query)})
        return found

    def papers_of(
        self,
        topic_id: int,
        *,
        sort: str = "newest",
        limit: int = 20,
        offset: int = 0,
        first_seen_after: dt.datetime | None = None,
        since: dt.date | None = None,
    ) -> tuple[list[Paper], int]:
        """A page of a topic's visible papers, newest or most upvoted (local votes, then Hugging
        Face's count, kept apart, then newest) first; and how many there are."""
        where = [paper_topics.c.topic_id == topic_id, papers.c.hidden.is_(False)]
        if first_seen_after is not None:
            where.append(papers.c.first_seen >= first_seen_after)
        if since is not None:
            where.append(_day_column() >= since)
        base = sa.select(papers).join(paper_topics, paper_topics.c.paper_id == papers.c.id).where(*where)
        newest = (_day_column().desc(), papers.c.id.desc())
        if sort == "upvoted":
            upvotes = (
                sa.select(sa.func.count()).select_from(votes).where(votes.c.paper_id == papers.c.id)
            ).scalar_subquery()
            order = (upvotes.desc(), sa.func.coalesce(papers.c.hf_upvotes, 0).desc(), *newest)
        else:
            order = newest
        count = (
            sa.select(sa.func.count())
            .select_from(paper_topics)
            .join(papers, papers.c.id == paper_topics.c.paper_id)
            .where(*where)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(base.order_by(*order).limit(limit).offset(offset))
            found = [row_to_paper(row) for row in rows]
            total = conn.execute(count).scalar_one()
        return found, total

    def weekly_counts(
        self, since: dt.date | None = None, *, topic_id: int | None = None
    ) -> list[tuple[int, dt.date, int]]:
        """(topic id, day, papers) for every day with papers: the caller buckets them into weeks
        (one portable GROUP BY on the day; week arithmetic differs between the two backends)."""
        day = _day_column().label("day")
        query = (
            sa.select(paper_topics.c.topic_id, day, sa.func.count())
            .join(papers, papers.c.id == paper_topics.c.paper_id)
            .where(papers.c.hidden.is_(False))
            .group_by(paper_topics.c.topic_id, day)
        )
        if since is not None:
            query = query.where(_day_column() >= since)
        if topic_id is not None:
            query = query.where(paper_topics.c.topic_id == topic_id)
        with self.engine.connect() as conn:
            return [(t, d, n) for t, d, n in conn.execute(query)]

    def latest_day(self) -> dt.date | None:
        query = sa.select(sa.func.max(_day_column())).join(
            paper_topics, paper_topics.c.paper_id == papers.c.id
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def map_points(self) -> tuple[list[int], list[str], list[str], list[int], list[float], list[float]]:
        """Every visible placed paper: ids, URL ids, titles, topic ids, x, y (in id order)."""
        query = (
            sa.select(
                papers.c.id,
                papers.c.arxiv_id,
                papers.c.key,
                papers.c.title,
                paper_topics.c.topic_id,
                paper_topics.c.x,
                paper_topics.c.y,
            )
            .join(paper_topics, paper_topics.c.paper_id == papers.c.id)
            .where(papers.c.hidden.is_(False))
            .order_by(papers.c.id)
        )
        ids, url_ids, titles, topic_ids, xs, ys = [], [], [], [], [], []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                ids.append(row.id)
                url_ids.append(row.arxiv_id or row.key)
                titles.append(row.title)
                topic_ids.append(row.topic_id)
                xs.append(row.x)
                ys.append(row.y)
        return ids, url_ids, titles, topic_ids, xs, ys

    def positions(self, paper_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
        found: dict[int, tuple[float, float]] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(list(paper_ids), 900):
                query = sa.select(paper_topics.c.paper_id, paper_topics.c.x, paper_topics.c.y).where(
                    paper_topics.c.paper_id.in_(chunk)
                )
                found.update({p: (x, y) for p, x, y in conn.execute(query)})
        return found

    # --- follows ---------------------------------------------------------------------------------

    def follow(self, user_id: int, topic_id: int, now: dt.datetime) -> None:
        from paperfeed.store import insert_ignoring_conflicts

        with self.engine.begin() as conn:
            conn.execute(
                insert_ignoring_conflicts(conn, topic_follows).values(
                    user_id=user_id, topic_id=topic_id, created_at=now
                )
            )

    def unfollow(self, user_id: int, topic_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(topic_follows).where(
                    topic_follows.c.user_id == user_id, topic_follows.c.topic_id == topic_id
                )
            )

    def followed_by(self, user_id: int) -> list[Topic]:
        return self.followed_by_many([user_id])[user_id]

    def followed_by_many(self, user_ids: Sequence[int]) -> dict[int, list[Topic]]:
        """The topics each user follows, by label (an empty list for a user who follows none)."""
        followed: dict[int, list[Topic]] = {user_id: [] for user_id in user_ids}
        with self.engine.connect() as conn:
            for chunk in chunked(list(followed)):
                query = (
                    sa.select(topic_follows.c.user_id, topics)
                    .join(topic_follows, topic_follows.c.topic_id == topics.c.id)
                    .where(topic_follows.c.user_id.in_(chunk))
                    .order_by(topics.c.label, topics.c.id)
                )
                for row in conn.execute(query):
                    followed[row.user_id].append(_topic(row))
        return followed
