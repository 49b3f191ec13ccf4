"""Topics, trends and TL;DRs on the web, in feeds and in digests: topic pages and their feeds,
following a topic into the digest, rising topics in the digest, the topic on each paper page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import feedparser
import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.digest.runner import run_due
from paperfeed.insight import tldr
from paperfeed.store.subscriptions import SubscriptionSpec
from smtp_sink import Mailbox, mail_settings
from test_topics import GROUPS

TODAY = dt.datetime.now(dt.UTC).date()
NOW = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return mail_settings(settings, mailbox.port)


def _add_groups(core: PaperFeed, *, published: dt.date, suffix: str = "") -> None:
    records = []
    for group in GROUPS.values():
        for n, (title, abstract) in enumerate(group):
            # A day apart within a group: "newest first" has one right order.
            records.append(paper(title + suffix, abstract, published=published - dt.timedelta(days=n)))
    add_papers(core, *records)


@pytest.fixture
def topical(core: PaperFeed) -> PaperFeed:
    _add_groups(core, published=TODAY - dt.timedelta(days=60))
    core.insight.rebuild(topics=3)
    return core


def _topic_named(core: PaperFeed, word: str):
    return next(t for t in core.insight.topics() if any(word in term for term in t.terms[:5]))


def _paper_titled(core: PaperFeed, title: str):
    return next(p for p in core.store.papers.get_many(list(range(1, 100))) if p.title == title)


def _titles(page: str) -> list[str]:
    return re.findall(r'<h2 class="card-title">\s*<a href="[^"]*">([^<]*)</a>', page)


def test_the_topics_page_lists_every_topic_by_its_label_with_its_size(topical):
    visitor = Visitor(topical)
    page = visitor.get("/topics").text
    for topic in topical.insight.topics():
        assert f'href="/topics/{topic.id}">{topic.label}</a>' in page
    assert page.count("6 papers") == 3
    assert '<a href="/topics" aria-current="page">Topics</a>' in page


def test_without_topics_the_pages_say_how_to_build_them(core):
    visitor = Visitor(core)
    for path in ("/topics", "/trends", "/map"):
        page = visitor.get(path)
        assert page.status_code == 200
        assert "paperfeed topics rebuild" in page.text


def test_a_topic_page_lists_its_papers_newest_or_most_upvoted_first(topical):
    proteins = _topic_named(topical, "protein")
    visitor = Visitor(topical)
    newest = _titles(visitor.get(f"/topics/{proteins.id}").text)
    assert newest == [title for title, _ in GROUPS["proteins"]]  # published a day apart, first newest
    docking = _paper_titled(topical, "Protein docking of antibodies")
    for name in ("ann", "bob"):
        topical.toggle_vote(make_user(topical, name), docking.key)
    upvoted = _titles(visitor.get(f"/topics/{proteins.id}?sort=upvoted").text)
    assert upvoted[0] == docking.title
    assert upvoted[1:] == [title for title in newest if title != docking.title]  # then newest first


def test_a_topic_page_shows_its_weekly_chart_representative_paper_and_feeds(topical):
    proteins = _topic_named(topical, "protein")
    page = Visitor(topical).get(f"/topics/{proteins.id}").text
    assert '<svg class="chart"' in page and "Papers per week in" in page
    representative = topical.store.papers.get(proteins.representative_id)
    assert "Most representative paper" in page and representative.title in page
    assert f'href="/feeds/topics/{proteins.id}.atom"' in page


def test_a_paper_page_names_its_topic_and_cards_show_the_tldr(topical):
    paper_ = _paper_titled(topical, "Graph colouring with few colours")
    graphs = topical.insight.topic_of(paper_)
    visitor = Visitor(topical)
    page = visitor.get(f"/papers/{paper_.url_id}").text
    assert f'Topic: <a href="/topics/{graphs.id}">{graphs.label}</a>' in page
    listing = visitor.get(f"/topics/{graphs.id}").text
    assert f'<span class="tldr-label">TL;DR</span> {tldr(paper_.abstract)}' in listing


def test_an_unknown_topic_is_a_404_page(topical):
    visitor = Visitor(topical)
    assert visitor.get("/topics/999999").status_code == 404
    assert visitor.get("/topics/not-a-number").status_code == 404
    assert visitor.get("/feeds/topics/999999.atom").status_code == 404


def test_a_topic_feed_lists_that_topics_papers_with_their_tldr(topical):
    graphs = _topic_named(topical, "colour")
    feed = feedparser.parse(Visitor(topical).get(f"/feeds/topics/{graphs.id}.atom").text)
    titles = {entry.title for entry in feed.entries}
    assert titles == {title for title, _ in GROUPS["graphs"]}
    assert all("TL;DR: " in entry.summary for entry in feed.entries)
    assert graphs.label in feed.feed.title


def test_following_a_topic_needs_a_log_in_and_the_follow_button_says_so(topical):
    graphs = _topic_named(topical, "colour")
    visitor = Visitor(topical)
    assert "Log in to follow this topic" in visitor.get(f"/topics/{graphs.id}").text
    answer = visitor.post(f"/topics/{graphs.id}/follow", {"follow": "1"}, follow_redirects=False)
    assert answer.status_code == 303 and "/login" in answer.headers["location"]
    reader = make_user(topical, "reader")
    visitor.log_in_as(reader)
    visitor.post(f"/topics/{graphs.id}/follow", {"follow": "1"})
    assert "✓ Following in your digest" in visitor.get(f"/topics/{graphs.id}").text
    assert [t.id for t in topical.insight.followed(reader.id)] == [graphs.id]
    visitor.post(f"/topics/{graphs.id}/follow", {"follow": "0"})
    assert topical.insight.followed(reader.id) == []


def test_a_followed_topic_brings_its_new_papers_into_the_digest_with_their_tldr(topical, mailbox):
    graphs = _topic_named(topical, "colour")
    reader = make_user(topical, "reader")
    topical.insight.follow(reader.id, graphs.id, True, NOW)
    topical.store.subscriptions.create(
        SubscriptionSpec(email="reader@example.org", hour=0, include_trending=False, saved_searches=[]),
        user_id=reader.id,
        confirmed_at=LONG_AGO,
    )
    abstract = (
        "We colour the edges of cubic graphs with four colours so that adjacent edges differ in colour."
    )
    add_papers(topical, paper("Edge colouring cubic graphs", abstract, published=TODAY))

    run_due(topical, NOW)

    text = mailbox.digests_to("reader@example.org")[0].get_body(("plain",)).get_content()
    assert f"New in {graphs.label}" in text
    assert "Edge colouring cubic graphs" in text
    assert f"TL;DR: {tldr(abstract)}" in text
    assert "List colouring of planar graphs" not in text  # old papers of the topic are not news


def test_readers_of_one_run_each_get_the_new_papers_of_the_topics_they_follow(topical, mailbox):
    graphs, proteins = _topic_named(topical, "colour"), _topic_named(topical, "protein")
    both, graphs_only, none = (make_user(topical, name) for name in ("both", "graphs", "none"))
    topical.insight.follow(both.id, graphs.id, True, NOW)
    topical.insight.follow(both.id, proteins.id, True, NOW)
    topical.insight.follow(graphs_only.id, graphs.id, True, NOW)
    for user in (both, graphs_only, none):
        topical.store.subscriptions.create(
            SubscriptionSpec(email=f"{user.name}@example.org", hour=0, include_trending=True, saved_searches=[]),
            user_id=user.id,
            confirmed_at=LONG_AGO,
        )
    add_papers(
        topical,
        paper("Edge colouring cubic graphs", "We colour the edges of cubic graphs with four colours.", published=TODAY),
        paper("Folding membrane proteins", "Membrane protein structures are folded from amino acid sequences.",
              published=TODAY),
    )  # fmt: skip

    run_due(topical, NOW)

    def text_of(user) -> str:
        return mailbox.digests_to(f"{user.name}@example.org")[0].get_body(("plain",)).get_content()

    sections = [line for line in text_of(both).splitlines() if line.startswith("New in ")]
    assert sections == sorted([f"New in {graphs.label}", f"New in {proteins.label}"])  # by label
    assert "Edge colouring cubic graphs" in text_of(both) and "Folding membrane proteins" in text_of(both)
    assert f"New in {graphs.label}" in text_of(graphs_only)
    assert f"New in {proteins.label}" not in text_of(graphs_only)
    assert "Folding membrane proteins" not in text_of(graphs_only)
    assert mailbox.digests_to("none@example.org") == []  # nothing followed, nothing trending: no mail


def test_a_rising_topic_is_a_section_of_every_digest(core, mailbox):
    # Decoding papers: one a week for twelve weeks, then a burst in the last weeks; proteins steady.
    records = []
    for week in range(16):
        monday = TODAY - dt.timedelta(weeks=15 - week)
        count = 5 if week >= 12 else 1
        for n in range(count):
            title, abstract = GROUPS["decoding"][(week + n) % 6]
            records.append(
                paper(f"{title} ({week}.{n})", abstract, published=monday - dt.timedelta(days=n % 3))
            )
        for n in range(2):
            title, abstract = GROUPS["proteins"][(week + n) % 6]
            records.append(paper(f"{title} ({week}.{n})", abstract, published=monday - dt.timedelta(days=n)))
    add_papers(core, *records)
    core.insight.rebuild(topics=2)
    rising = core.insight.trends().rising
    assert len(rising) == 1 and "decoding" in " ".join(rising[0].topic.terms) + rising[0].topic.label
    core.store.subscriptions.create(
        SubscriptionSpec(email="anyone@example.org", hour=0, include_trending=False, saved_searches=[]),
        confirmed_at=LONG_AGO,
    )

    run_due(core, NOW)

    text = mailbox.digests_to("anyone@example.org")[0].get_body(("plain",)).get_content()
    assert "Rising topics" in text
    assert f"Rising topic: {rising[0].topic.label}" in text
    assert "https://papers.example.org/trends" in text


def test_the_trends_page_charts_the_rising_topics_and_explains_the_rule(core):
    records = []
    for week in range(16):
        monday = TODAY - dt.timedelta(weeks=15 - week)
        for n in range(5 if week >= 12 else 1):
            title, abstract = GROUPS["decoding"][(week + n) % 6]
            records.append(paper(f"{title} ({week}.{n})", abstract, published=monday))
        for n in range(2):
            title, abstract = GROUPS["graphs"][(week + n) % 6]
            records.append(paper(f"{title} ({week}.{n})", abstract, published=monday))
    add_papers(core, *records)
    core.insight.rebuild(topics=2)
    rising = core.insight.trends().rising[0]
    page = Visitor(core).get("/trends").text
    assert "Rising topics, papers per week" in page
    assert '<svg class="chart"' in page
    assert f'<a href="/topics/{rising.topic.id}">{rising.topic.label}</a>' in page
    assert "20 papers in the last 4 weeks" in page
    assert "two Poisson deviations" in page


def test_the_map_data_has_every_visible_placed_paper_and_its_search_names_the_matches(topical):
    visitor = Visitor(topical)
    answer = visitor.get("/map/points.json", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    data = answer.json()
    assert len(data["ids"]) == len(data["titles"]) == len(data["x"]) == len(data["y"]) == 18
    assert all(-1.0 <= v <= 1.0 for v in data["x"] + data["y"])
    assert {t["label"] for t in data["topics"]} == {t.label for t in topical.insight.topics()}
    by_title = dict(zip(data["titles"], data["ids"], strict=True))
    matches = visitor.get("/map/search.json", params={"q": "chromatic"}).json()["ids"]
    assert set(matches) == {by_title["Chromatic number of random graphs"], by_title["Edge colouring of multigraphs"],
                            by_title["Colouring graphs without long induced paths"]}  # fmt: skip
    assert visitor.get("/map/search.json", params={"q": "  "}).json() == {"ids": []}
