"""What digests read from the rest of paperfeed besides search: trending papers, rising topics,
followed topics and authors, the papers a user liked (upvoted or saved) and the papers' embedding vectors.

Each is one small function, so the digest depends on those features through these seams only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from paperfeed.models import RankedPaper

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed
    from paperfeed.insight.trends import Rising
    from paperfeed.store.author_follows import AuthorFollow
    from paperfeed.store.topics import Topic


def trending(core: PaperFeed, period: str, top_n: int, *, now: dt.datetime) -> list[RankedPaper]:
    """The top trending papers of a period ("day", "week"), each with its reason ("12 upvotes today")."""
    return core.trending(period, per_page=top_n, now=now).items


def rising_topics(core: PaperFeed, topics: int) -> list[Rising]:
    """The `topics` most rising topics (see paperfeed.insight.trends)."""
    return core.insight.trends().rising[:topics]


def followed_topics(core: PaperFeed, user_id: int) -> list[Topic]:
    return core.insight.followed(user_id)


def new_in_topic(
    core: PaperFeed, topic_id: int, *, since: dt.date, first_seen_after: dt.datetime | None, limit: int
) -> list[RankedPaper]:
    papers = core.insight.new_in_topic(topic_id, first_seen_after=first_seen_after, since=since, limit=limit)
    return [RankedPaper(paper=p, score=0.0) for p in papers]


def followed_authors(core: PaperFeed, user_id: int) -> list[AuthorFollow]:
    return core.authors.followed(user_id)


def new_by_author(
    core: PaperFeed, name: str, *, since: dt.date, first_seen_after: dt.datetime | None, limit: int
) -> list[RankedPaper]:
    """The author's new papers, newest first, as their author page counts them (joined name
    variants included)."""
    ids = core.authors.new_papers(name, since=since, first_seen_after=first_seen_after, limit=limit)
    return [RankedPaper(paper=p, score=0.0) for p in core.store.papers.get_many(ids)]


def liked_paper_ids(core: PaperFeed, user_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each user, the papers they upvoted or saved, most recent first."""
    return core.store.subscriptions.liked_paper_ids(user_ids)


def embedding_model(core: PaperFeed) -> str | None:
    """The model whose stored vectors recommendations use: the one most papers have vectors
    of and, among equals, the one written last (the embedder in use keeps writing)."""
    models = core.store.subscriptions.embedding_models()
    return max(models, key=lambda m: (m[1], str(m[2])))[0] if models else None


def paper_vectors(
    core: PaperFeed, paper_ids: Sequence[int], model: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The stored embedding vectors of those papers that have one: (ids, float32 rows), in order."""
    if model is None or not len(paper_ids):
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    found = core.store.embeddings.get_many(list(paper_ids), model)
    ids = [paper_id for paper_id in paper_ids if paper_id in found]
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.vstack([found[paper_id][1] for paper_id in ids])
