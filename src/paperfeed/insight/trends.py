"""Trends: papers per topic per week, and which topics are rising.

A paper counts in the week of its publication day (its listing day when the publication day is
unknown); weeks start on Monday. "Now" is the week of the newest paper, so a store that stopped
syncing still shows its last trends rather than an empty present.

Rising topics compare the last `RECENT_WEEKS` weeks with the `BASELINE_WEEKS` before them. With
R_c and B_c a topic's papers in those two windows, R and B the totals over all K topics:

    expected E_c = R · (B_c + 1) / (B + K)
    score_c      = (R_c − E_c) / sqrt(E_c + 1)

E_c is what the topic would have now if it kept its own share of the baseline; measuring
against the share (not the raw count) discounts growth the whole store shares (a new source
being followed). The one pseudo-paper per topic keeps a topic with an empty baseline from having
an expected count of zero, and dividing by sqrt(E_c + 1), the Poisson deviation, keeps a small
topic going from 0 to 2 papers from outranking a large one going from 40 to 80. A topic is
rising when its score is at least `RISING_SCORE` and it has at least `RISING_MIN_PAPERS` recent
papers; its growth (R_c + 1) / (E_c + 1) is what pages show.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from paperfeed.store import Store
from paperfeed.store.topics import Topic

RECENT_WEEKS = 4
BASELINE_WEEKS = 12
WEEKS_SHOWN = 26
RISING_SCORE = 2.0
RISING_MIN_PAPERS = 3


def week_of(day: dt.date) -> dt.date:
    """The Monday of the day's week."""
    return day - dt.timedelta(days=day.weekday())


@dataclass(slots=True)
class Series:
    topic_id: int
    weeks: list[dt.date]
    counts: list[int]


@dataclass(slots=True)
class Rising:
    topic: Topic
    recent: int  # R_c
    expected: float  # E_c
    score: float

    @property
    def growth(self) -> float:
        return (self.recent + 1) / (self.expected + 1)


@dataclass(slots=True)
class Trends:
    weeks: list[dt.date]  # the weeks shown, oldest first
    series: dict[int, Series] = field(default_factory=dict)
    scores: list[Rising] = field(default_factory=list)  # every topic, highest score first

    @property
    def rising(self) -> list[Rising]:
        return [r for r in self.scores if r.score >= RISING_SCORE and r.recent >= RISING_MIN_PAPERS]


def rising_scores(
    recent: dict[int, int], baseline: dict[int, int], topic_ids: list[int]
) -> dict[int, tuple[float, float]]:
    """(expected, score) of each topic, by the formula in this module's docstring."""
    total_recent = sum(recent.get(t, 0) for t in topic_ids)
    total_baseline = sum(baseline.get(t, 0) for t in topic_ids)
    k = len(topic_ids)
    scores = {}
    for topic_id in topic_ids:
        expected = total_recent * (baseline.get(topic_id, 0) + 1) / (total_baseline + k) if k else 0.0
        scores[topic_id] = (expected, (recent.get(topic_id, 0) - expected) / math.sqrt(expected + 1))
    return scores


def _weekly(store: Store, first: dt.date, topic_id: int | None = None) -> dict[tuple[int, dt.date], int]:
    counts: dict[tuple[int, dt.date], int] = {}
    for topic, day, n in store.topics.weekly_counts(since=first, topic_id=topic_id):
        if isinstance(day, str):  # SQLite hands back COALESCE of dates as text
            day = dt.date.fromisoformat(day)
        key = (topic, week_of(day))
        counts[key] = counts.get(key, 0) + n
    return counts


def series_of(store: Store, topic_id: int, *, weeks: int = WEEKS_SHOWN) -> Series:
    """One topic's papers per week, up to the newest paper's week (what a topic page charts)."""
    latest = store.topics.latest_day()
    if latest is None:
        return Series(topic_id, [], [])
    now = week_of(latest)
    shown = [now - dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    counts = _weekly(store, shown[0], topic_id)
    return Series(topic_id, shown, [counts.get((topic_id, w), 0) for w in shown])


def compute(store: Store, *, weeks: int = WEEKS_SHOWN) -> Trends:
    topics = store.topics.all()
    latest = store.topics.latest_day()
    if not topics or latest is None:
        return Trends(weeks=[])
    now = week_of(latest)
    span = max(weeks, RECENT_WEEKS + BASELINE_WEEKS)
    first = now - dt.timedelta(weeks=span - 1)
    counts = _weekly(store, first)
    shown = [now - dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    recent_weeks = {now - dt.timedelta(weeks=i) for i in range(RECENT_WEEKS)}
    baseline_weeks = {now - dt.timedelta(weeks=i) for i in range(RECENT_WEEKS, RECENT_WEEKS + BASELINE_WEEKS)}
    recent: dict[int, int] = {}
    baseline: dict[int, int] = {}
    for (topic_id, week), n in counts.items():
        if week in recent_weeks:
            recent[topic_id] = recent.get(topic_id, 0) + n
        elif week in baseline_weeks:
            baseline[topic_id] = baseline.get(topic_id, 0) + n
    scored = rising_scores(recent, baseline, [t.id for t in topics])
    result = Trends(weeks=shown)
    for topic in topics:
        result.series[topic.id] = Series(topic.id, shown, [counts.get((topic.id, w), 0) for w in shown])
        expected, score = scored[topic.id]
        result.scores.append(Rising(topic, recent.get(topic.id, 0), expected, score))
    result.scores.sort(key=lambda r: (-r.score, r.topic.id))
    return result
