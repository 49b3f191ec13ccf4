"""Rankings by upvotes: trending today, this week and this month, and the most upvoted of a day.

Trending uses exponential time decay: an upvote counts fully when it is cast and half as much
each half-life later, and only upvotes cast inside the period's window count at all:

    score(paper) = sum over its upvotes v cast within the window of  2 ** (-age_hours(v) / half_life_hours)

    period   window     half-life
    day      24 hours   6 hours
    week     7 days     36 hours
    month    30 days    7 days

Votes are read from the store grouped by the hour they were cast in, and each hour's votes are
aged from the middle of that hour (never less than zero): the score is exact to within half an
hour of age, and the work grows with papers x hours, not with votes. Ties go to the paper with
more upvotes in the window, then to the newer paper.

"Most upvoted of a day" lists the papers of that day's daily page by all their upvotes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal, get_args

from paperfeed.errors import InvalidInput
from paperfeed.models import RankedPaper, ResultPage
from paperfeed.store import Store

TrendingPeriod = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = get_args(TrendingPeriod)


@dataclass(frozen=True, slots=True)
class Decay:
    window: dt.timedelta
    half_life: dt.timedelta
    label: str  # finishes "12 upvotes ..."


DECAY: dict[str, Decay] = {
    "day": Decay(dt.timedelta(hours=24), dt.timedelta(hours=6), "today"),
    "week": Decay(dt.timedelta(days=7), dt.timedelta(hours=36), "this week"),
    "month": Decay(dt.timedelta(days=30), dt.timedelta(days=7), "this month"),
}


def upvotes(count: int) -> str:
    return f"{count} upvote{'' if count == 1 else 's'}"


def decayed_score(vote_hours: list[tuple[int, int]], now: dt.datetime, half_life: dt.timedelta) -> float:
    """The score of (hour since 1970, upvotes in that hour) pairs at `now`."""
    now_hours = now.timestamp() / 3600
    half_life_hours = half_life.total_seconds() / 3600
    return sum(
        count * 2 ** (-max(0.0, now_hours - (hour + 0.5)) / half_life_hours) for hour, count in vote_hours
    )


def trending(store: Store, period: str, *, page: int, per_page: int, now: dt.datetime) -> ResultPage:
    if period not in DECAY:
        raise InvalidInput(f"unknown trending period {period!r}; use one of: {', '.join(PERIODS)}")
    started = time.perf_counter()
    decay = DECAY[period]
    by_paper: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for paper_id, hour, count in store.community.hourly_votes(now - decay.window, now):
        by_paper[paper_id].append((hour, count))
    ranked = sorted(
        (
            (decayed_score(hours, now, decay.half_life), sum(count for _, count in hours), paper_id)
            for paper_id, hours in by_paper.items()
        ),
        reverse=True,
    )
    chosen = ranked[(page - 1) * per_page : page * per_page]
    papers = {paper.id: paper for paper in store.papers.get_many([paper_id for _, _, paper_id in chosen])}
    items = [
        RankedPaper(paper=papers[paper_id], score=score, reason=f"{upvotes(count)} {decay.label}")
        for score, count, paper_id in chosen
        if paper_id in papers
    ]
    return ResultPage(
        items=items,
        total=len(ranked),
        page=page,
        per_page=per_page,
        ranking=f"trending:{period}",
        took_ms=(time.perf_counter() - started) * 1000,
    )


def top_of_day(store: Store, day: dt.date, *, page: int, per_page: int) -> ResultPage:
    started = time.perf_counter()
    rows, total = store.community.top_on_day(day, limit=per_page, offset=(page - 1) * per_page)
    papers = {paper.id: paper for paper in store.papers.get_many([paper_id for paper_id, _ in rows])}
    items = [
        RankedPaper(paper=papers[paper_id], score=float(count), reason=upvotes(count))
        for paper_id, count in rows
        if paper_id in papers
    ]
    return ResultPage(
        items=items,
        total=total,
        page=page,
        per_page=per_page,
        ranking=f"top:{day.isoformat()}",
        took_ms=(time.perf_counter() - started) * 1000,
    )
