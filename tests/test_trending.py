"""Trending (time-decayed upvotes) and the most upvoted papers of a day."""

from __future__ import annotations

import datetime as dt

import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, day, paper
from paperfeed.community.trending import decayed_score
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.models import User

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def feed(core: PaperFeed) -> PaperFeed:
    add_papers(
        core,
        paper("Fresh Favourite", arxiv_id="2603.00001", listed_on=day("2026-03-09")),
        paper("Old Favourite", arxiv_id="2603.00002", listed_on=day("2026-03-09")),
        paper("Monthly Classic", arxiv_id="2603.00003", listed_on=day("2026-02-20")),
        paper("Unloved", arxiv_id="2603.00004", listed_on=day("2026-03-09")),
    )
    return core


@pytest.fixture
def voters(core: PaperFeed) -> list[User]:
    return [make_user(core, f"voter{number}") for number in range(6)]


def vote(core: PaperFeed, users: list[User], ref: str, *, hours_ago: float) -> None:
    """Upvotes by `users`, cast `hours_ago` before NOW."""
    paper_id = core.paper(ref).id
    for user in users:
        core.store.community.toggle_vote(user.id, paper_id, NOW - dt.timedelta(hours=hours_ago))


def ranked(page) -> list[tuple[str, str]]:
    return [(item.paper.arxiv_id, item.reason) for item in page.items]


def test_an_upvote_counts_half_as_much_each_half_life() -> None:
    now = dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC)
    hour = int(now.timestamp() // 3600)  # votes of this hour count as cast at its middle: now
    half_life = dt.timedelta(hours=6)
    assert decayed_score([(hour, 3)], now, half_life) == pytest.approx(3.0)
    assert decayed_score([(hour - 6, 1)], now, half_life) == pytest.approx(0.5)
    assert decayed_score([(hour - 12, 4), (hour, 1)], now, half_life) == pytest.approx(2.0)
    assert decayed_score([(hour + 1, 1)], now, half_life) == pytest.approx(1.0)  # never more than fresh


def test_recent_upvotes_outrank_as_many_older_ones(feed: PaperFeed, voters: list[User]) -> None:
    vote(feed, voters[:3], "2603.00001", hours_ago=1)
    vote(feed, voters[:4], "2603.00002", hours_ago=20)
    page = feed.trending("day", now=NOW)
    # 3 fresh votes (~2.7) beat 4 votes almost a day old (4 * 2**(-20/6) ~ 0.4)
    assert ranked(page) == [("2603.00001", "3 upvotes today"), ("2603.00002", "4 upvotes today")]
    assert page.ranking == "trending:day" and page.total == 2
    assert page.items[0].score > page.items[1].score > 0


def test_each_period_counts_only_the_upvotes_in_its_window(feed: PaperFeed, voters: list[User]) -> None:
    vote(feed, voters[:1], "2603.00001", hours_ago=2)
    vote(feed, voters[:5], "2603.00002", hours_ago=3 * 24)
    vote(feed, voters[:6], "2603.00003", hours_ago=20 * 24)
    assert ranked(feed.trending("day", now=NOW)) == [("2603.00001", "1 upvote today")]
    assert ranked(feed.trending("week", now=NOW)) == [
        ("2603.00002", "5 upvotes this week"),
        ("2603.00001", "1 upvote this week"),
    ]
    month = feed.trending("month", now=NOW)
    assert month.ranking == "trending:month"
    # with a 7-day half-life, 6 upvotes 20 days old (~0.8) weigh less than 1 from today (~1.0)
    assert [arxiv_id for arxiv_id, _ in ranked(month)] == ["2603.00002", "2603.00001", "2603.00003"]
    assert ranked(month)[2] == ("2603.00003", "6 upvotes this month")


def test_a_withdrawn_upvote_no_longer_counts(feed: PaperFeed, voters: list[User]) -> None:
    vote(feed, voters[:2], "2603.00001", hours_ago=1)
    vote(feed, voters[:1], "2603.00001", hours_ago=0.5)  # the second click takes it back
    assert ranked(feed.trending("day", now=NOW)) == [("2603.00001", "1 upvote today")]


def test_hidden_papers_leave_the_rankings(feed: PaperFeed, voters: list[User]) -> None:
    vote(feed, voters[:2], "2603.00001", hours_ago=1)
    vote(feed, voters[:1], "2603.00002", hours_ago=1)
    feed.hide_paper(make_user(feed, "root", admin=True), "2603.00001")
    assert ranked(feed.trending("day", now=NOW)) == [("2603.00002", "1 upvote today")]
    assert "2603.00001" not in [p for p, _ in ranked(feed.top_of_day(day("2026-03-09")))]


def test_trending_pages_through_its_results(feed: PaperFeed, voters: list[User]) -> None:
    for hours, ref in enumerate(("2603.00001", "2603.00002", "2603.00003")):
        vote(feed, voters[:1], ref, hours_ago=hours + 1)
    first = feed.trending("week", per_page=2, now=NOW)
    second = feed.trending("week", page=2, per_page=2, now=NOW)
    assert (first.total, first.pages, first.has_next) == (3, 2, True)
    assert [p for p, _ in ranked(first)] + [p for p, _ in ranked(second)] == [
        "2603.00001",
        "2603.00002",
        "2603.00003",
    ]


def test_unknown_periods_and_bad_paging_are_refused(feed: PaperFeed) -> None:
    with pytest.raises(InvalidInput, match="unknown trending period 'year'; use one of: day, week, month"):
        feed.trending("year")
    with pytest.raises(InvalidInput, match="per_page"):
        feed.trending("day", per_page=0)
    with pytest.raises(InvalidInput, match="page"):
        feed.top_of_day(day("2026-03-09"), page=0)


def test_the_most_upvoted_of_a_day_lists_all_its_papers_by_upvotes(
    feed: PaperFeed, voters: list[User]
) -> None:
    vote(feed, voters[:1], "2603.00001", hours_ago=30)
    vote(feed, voters[:3], "2603.00002", hours_ago=200)  # age does not matter here
    vote(feed, voters[:5], "2603.00003", hours_ago=1)  # another day's paper
    page = feed.top_of_day(day("2026-03-09"))
    assert page.ranking == "top:2026-03-09" and page.total == 3
    assert ranked(page) == [
        ("2603.00002", "3 upvotes"),
        ("2603.00001", "1 upvote"),
        ("2603.00004", "0 upvotes"),
    ]
    assert feed.top_of_day(day("2026-03-08")).items == []


# --- the pages and the API ----------------------------------------------------------------------------


def test_the_trending_pages_show_the_rankings_with_their_reasons(feed: PaperFeed, voters: list[User]) -> None:
    now = dt.datetime.now(dt.UTC)
    for user in voters[:2]:
        feed.store.community.toggle_vote(user.id, feed.paper("2603.00001").id, now - dt.timedelta(hours=1))
    browser = Visitor(feed)
    today = browser.get("/trending?period=day").text
    assert "Fresh Favourite" in today and "2 upvotes today" in today
    assert "2 upvotes this week" in browser.get("/trending?period=week").text
    nonsense = browser.get("/trending?period=nonsense")
    assert nonsense.status_code == 400 and "use one of: day, week, month" in nonsense.text
    top = browser.get("/top/2026-03-09").text
    assert top.index("Fresh Favourite") < top.index("Old Favourite") and "2 upvotes" in top
    assert browser.get("/top/2026-13-40").status_code == 404
    assert browser.get("/top?day=2026-03-09", follow_redirects=False).headers["location"] == "/top/2026-03-09"


def test_the_home_page_offers_the_rankings(feed: PaperFeed) -> None:
    home = Visitor(feed).get("/").text
    for link in (
        'href="/trending?period=day"',
        'href="/trending?period=week"',
        'href="/trending?period=month"',
    ):
        assert link in home
    assert 'href="/top/2026-03-09"' in home


def test_the_api_answers_rankings_as_result_pages(feed: PaperFeed, voters: list[User]) -> None:
    feed.store.community.toggle_vote(voters[0].id, feed.paper("2603.00002").id, dt.datetime.now(dt.UTC))
    browser = Visitor(feed)
    trending = browser.get("/api/trending", params={"period": "month"}).json()
    assert trending["ranking"] == "trending:month"
    assert [(i["paper"]["arxiv_id"], i["reason"]) for i in trending["items"]] == [
        ("2603.00002", "1 upvote this month")
    ]
    top = browser.get("/api/top/2026-03-09").json()
    assert top["ranking"] == "top:2026-03-09" and top["items"][0]["paper"]["arxiv_id"] == "2603.00002"
    assert browser.get("/api/trending", params={"period": "year"}).status_code == 422
