"""Insight into the field: topics of papers, the topic map, trends per topic, one-line TL;DRs.

`Insight` is what the core exposes (`PaperFeed.insight`); the pieces live in their modules:
`topics` (clustering), `labels` (distinctive terms), `projection` (the map's layout), `trends`
(papers per topic per week, rising topics) and `tldr` (the sentence that states a paper's
contribution).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paperfeed.errors import NotFound
from paperfeed.insight import topics as topic_building
from paperfeed.insight import trends
from paperfeed.insight.tldr import tldr
from paperfeed.models import Paper, SearchFilters
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.query import parse_user_query
from paperfeed.search.vectors import VectorIndex
from paperfeed.store import Store
from paperfeed.store.topics import Topic

__all__ = ["Insight", "MapData", "TopicPage", "tldr"]

MAP_SEARCH_LIMIT = 20_000  # papers lit up by one map search
TRENDS_FOR_SECONDS = 60.0


@dataclass(slots=True)
class TopicPage:
    topic: Topic
    papers: list[Paper]
    total: int
    page: int
    per_page: int
    sort: str
    series: trends.Series
    representative: Paper | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(slots=True)
class MapData:
    """The topic map's points as parallel columns (compact as JSON), and its topic labels."""

    ids: list[int]
    url_ids: list[str]
    titles: list[str]
    topic_index: list[int]  # index into `topics`
    xs: list[float]
    ys: list[float]
    topics: list[Topic]


class Insight:
    def __init__(self, store: Store, keyword: KeywordIndex, vectors: VectorIndex) -> None:
        self.store = store
        self.keyword = keyword
        self.vectors = vectors
        self._trends: dict[int, tuple[float, trends.Trends]] = {}

    # --- topics -------------------------------------------------------------------------------

    def rebuild(
        self, *, topics: int | None = None, progress: Callable[[int], None] | None = None
    ) -> topic_building.BuildReport:
        self._trends.clear()
        return topic_building.build(self.store, topics=topics, progress=progress)

    def assign_new(self) -> int:
        """Papers new since the last build join their nearest topic (nothing before a build)."""
        assigned = topic_building.assign_new(self.store, self._neighbours)
        if assigned:
            self._trends.clear()
        return assigned

    def _neighbours(self, vector: np.ndarray, k: int) -> list[int]:
        return self.vectors.search(vector, k)[0]

    def topics(self) -> list[Topic]:
        return self.store.topics.all()

    def topic(self, topic_id: int) -> Topic:
        topic = self.store.topics.get(topic_id)
        if topic is None:
            raise NotFound(f"no topic {topic_id}")
        return topic

    def topic_of(self, paper: Paper) -> Topic | None:
        topic_id = self.store.topics.topic_of([paper.id]).get(paper.id)
        return self.store.topics.get(topic_id) if topic_id is not None else None

    def topic_page(
        self, topic_id: int, *, sort: str = "newest", page: int = 1, per_page: int = 20
    ) -> TopicPage:
        topic = self.topic(topic_id)
        sort = sort if sort in ("newest", "upvoted") else "newest"
        found, total = self.store.topics.papers_of(
            topic.id, sort=sort, limit=per_page, offset=(page - 1) * per_page
        )
        representative = None
        if topic.representative_id is not None:
            representative = next(iter(self.store.papers.get_many([topic.representative_id])), None)
        return TopicPage(
            topic=topic,
            papers=found,
            total=total,
            page=page,
            per_page=per_page,
            sort=sort,
            series=trends.series_of(self.store, topic.id),
            representative=representative,
        )

    def new_in_topic(
        self, topic_id: int, *, first_seen_after: dt.datetime | None, since: dt.date, limit: int
    ) -> list[Paper]:
        return self.store.topics.papers_of(
            topic_id, sort="newest", limit=limit, first_seen_after=first_seen_after, since=since
        )[0]

    def follow(self, user_id: int, topic_id: int, follow: bool, now: dt.datetime) -> Topic:
        topic = self.topic(topic_id)
        if follow:
            self.store.topics.follow(user_id, topic.id, now)
        else:
            self.store.topics.unfollow(user_id, topic.id)
        return topic

    def followed(self, user_id: int) -> list[Topic]:
        return self.store.topics.followed_by(user_id)

    def followed_by_many(self, user_ids: Sequence[int]) -> dict[int, list[Topic]]:
        return self.store.topics.followed_by_many(user_ids)

    # --- trends -------------------------------------------------------------------------------

    def trends(self, *, weeks: int = trends.WEEKS_SHOWN) -> trends.Trends:
        """Papers per topic per week and rising topics; computed at most once a minute per
        number of weeks (one scan of every topic's papers, shared by pages and digests)."""
        now = time.monotonic()
        cached = self._trends.get(weeks)
        if cached is None or now - cached[0] > TRENDS_FOR_SECONDS:
            cached = (now, trends.compute(self.store, weeks=weeks))
            self._trends[weeks] = cached
        return cached[1]

    # --- the map ------------------------------------------------------------------------------

    def map_data(self) -> MapData:
        all_topics = self.store.topics.all()
        index = {topic.id: i for i, topic in enumerate(all_topics)}
        ids, url_ids, titles, topic_ids, xs, ys = self.store.topics.map_points()
        return MapData(
            ids=ids,
            url_ids=url_ids,
            titles=titles,
            topic_index=[index.get(t, -1) for t in topic_ids],
            xs=[round(x, 5) for x in xs],
            ys=[round(y, 5) for y in ys],
            topics=all_topics,
        )

    def map_matches(self, query: str) -> list[int]:
        """Ids of the papers a keyword search matches (best first), for the map to light up."""
        if not query.strip():
            return []
        found = self.keyword.search(
            parse_user_query(query), SearchFilters(), limit=MAP_SEARCH_LIMIT, counted=False
        )
        return list(found.ids)
