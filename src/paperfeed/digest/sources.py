"""What digests read from the rest of paperfeed besides search and recommendations: trending
papers, rising topics, and followed topics and authors.

Each is one small function, so the digest depends on those features through these seams only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

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


def followed_topics(core: PaperFeed, user_ids: Sequence[int]) -> dict[int, list[Topic]]:
    """The topics each user follows, read for all of them at once."""
    return core.insight.followed_by_many(user_ids)


def new_in_topic(
    core: PaperFeed, topic_id: int, *, since: dt.date, first_seen_after: dt.datetime | None, limit: int
) -> list[RankedPaper]:
    papers = core.insight.new_in_topic(topic_id, first_seen_after=first_seen_after, since=since, limit=limit)
    return [RankedPaper(paper=p, score=0.0) for p in papers]


def followed_authors(core: PaperFeed, user_ids: Sequence[int]) -> dict[int, list[AuthorFollow]]:
    """The authors each user follows, read for all of them at once."""
    return core.authors.followed_by_many(user_ids)


def new_by_author(
    core: PaperFeed, name: str, *, since: dt.date, first_seen_after: dt.datetime | None, limit: int
) -> list[RankedPaper]:
    """The author's new papers, newest first, as their author page counts them (joined name
    variants included)."""
    ids = core.authors.new_papers(name, since=since, first_seen_after=first_seen_after, limit=limit)
    return [RankedPaper(paper=p, score=0.0) for p in core.store.papers.get_many(ids)]
