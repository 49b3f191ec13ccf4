"""RSS and Atom feeds, read back with feedparser as a feed reader would."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import feedparser
import numpy as np
import pytest
from fastapi.testclient import TestClient

from helpers import add_papers, paper
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.store.subscriptions import SubscriptionSpec
from paperfeed.web.app import create_app

TODAY = dt.datetime.now(dt.UTC).date()
BASE_URL = "https://papers.example.org"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": BASE_URL})


@pytest.fixture
def client(core: PaperFeed) -> TestClient:
    yesterday = TODAY - dt.timedelta(days=1)
    add_papers(
        core,
        paper("Old Diffusion Paper", arxiv_id="2601.00001", published=yesterday - dt.timedelta(days=9)),
        paper(
            "Diffusion for Proteins",
            arxiv_id="2611.00001",
            published=yesterday,
            categories=["q-bio.BM"],
            authors=["Ada Lovelace", "Alan Turing"],
        ),
        paper("Diffusion for Images", arxiv_id="2611.00002", published=yesterday, categories=["cs.CV"]),
        paper("Language Models Reason", arxiv_id="2611.00003", published=yesterday, categories=["cs.CL"]),
    )
    return TestClient(create_app(core), base_url=BASE_URL)


def read(client: TestClient, url: str, content_type: str):
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(content_type)
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


@pytest.mark.parametrize(
    ("suffix", "version", "content_type"),
    [("rss", "rss20", "application/rss+xml"), ("atom", "atom10", "application/atom+xml")],
)
def test_daily_feed_lists_the_latest_days_papers(
    client: TestClient, suffix: str, version: str, content_type: str
) -> None:
    feed = read(client, f"/feeds/daily.{suffix}", content_type)

    assert feed.version == version
    assert sorted(e.title for e in feed.entries) == [
        "Diffusion for Images",
        "Diffusion for Proteins",
        "Language Models Reason",
    ]
    proteins = next(e for e in feed.entries if e.title == "Diffusion for Proteins")
    assert proteins.link == f"{BASE_URL}/papers/2611.00001"
    assert proteins.published_parsed[:3] == (TODAY - dt.timedelta(days=1)).timetuple()[:3]
    assert "q-bio.BM" in [tag.term for tag in proteins.tags]
    assert f"{BASE_URL}/day/" in feed.feed.link


def test_atom_entries_carry_authors_and_abstracts(client: TestClient) -> None:
    feed = read(client, "/feeds/daily.atom", "application/atom+xml")

    proteins = next(e for e in feed.entries if e.title == "Diffusion for Proteins")
    assert [a.name for a in proteins.authors] == ["Ada Lovelace", "Alan Turing"]
    assert "diffusion for proteins" in proteins.summary.lower()


@pytest.mark.parametrize("suffix", ["rss", "atom"])
def test_search_feed_follows_the_query_and_filters_newest_first(client: TestClient, suffix: str) -> None:
    everything = read(client, f"/feeds/search.{suffix}?q=diffusion", "application")
    in_cv = read(client, f"/feeds/search.{suffix}?q=diffusion&category=cs.CV", "application")

    titles = [e.title for e in everything.entries]
    assert set(titles) == {"Old Diffusion Paper", "Diffusion for Proteins", "Diffusion for Images"}
    assert titles[-1] == "Old Diffusion Paper"  # newest first
    assert [e.title for e in in_cv.entries] == ["Diffusion for Images"]
    assert "diffusion" in in_cv.feed.title


def test_search_feed_refuses_an_unknown_mode(client: TestClient) -> None:
    answer = client.get("/feeds/search.atom?q=diffusion&mode=telepathic")
    assert answer.status_code == 400
    assert "telepathic" in answer.text


def test_trending_feed_lists_papers_by_upvotes(core: PaperFeed, client: TestClient) -> None:
    store = core.store
    ids = store.papers.ids_with_keys(["2611.00001", "2611.00003"])
    now = dt.datetime.now(dt.UTC)
    for i in range(3):
        user = store.users.create(f"voter{i}", "x", is_admin=False, now=now - dt.timedelta(days=1))
        store.community.toggle_vote(user.id, ids["2611.00003"], now - dt.timedelta(minutes=30))
        if i == 0:
            store.community.toggle_vote(user.id, ids["2611.00001"], now - dt.timedelta(minutes=30))

    feed = read(client, "/feeds/trending.atom?period=day", "application/atom+xml")

    assert [e.title for e in feed.entries] == ["Language Models Reason", "Diffusion for Proteins"]
    assert feed.entries[0].summary.startswith("3 upvotes today")


def test_recommendation_feed_is_private_to_its_token(core: PaperFeed, client: TestClient) -> None:
    store = core.store
    user = store.users.create("reader", "x", is_admin=False, now=dt.datetime.now(dt.UTC))
    ids = store.papers.ids_with_keys(["2601.00001", "2611.00001", "2611.00002", "2611.00003"])
    directions = {
        "2601.00001": [1, 0.3, 0],
        "2611.00001": [1, 0.2, 0.1],
        "2611.00002": [1, 0, 0.4],
        "2611.00003": [0, 0, 1],
    }
    store.embeddings.put_many(
        "test@1", [(ids[k], "h", np.array(v, dtype=np.float32)) for k, v in directions.items()]
    )
    store.collections.add(store.collections.default_for(user.id), [ids["2601.00001"]])
    subscription = store.subscriptions.create(
        SubscriptionSpec(email="reader@example.org", include_recommendations=True), user_id=user.id
    )

    feed = read(client, f"/feeds/recommended/{subscription.feed_token}.rss", "application/rss+xml")

    assert feed.entries[0].title == "Diffusion for Proteins"
    assert "because you liked “Old Diffusion Paper”" in feed.entries[0].summary
    assert "Old Diffusion Paper" not in [e.title for e in feed.entries]
    assert client.get(f"/feeds/recommended/{subscription.feed_token[:-1]}x.rss").status_code == 404
    assert client.get("/feeds/recommended/nope.atom").status_code == 404
    store.subscriptions.unsubscribe(subscription.id)
    assert client.get(f"/feeds/recommended/{subscription.feed_token}.rss").status_code == 404


def _reader_with_recommendations(core: PaperFeed, liked: list[str]):
    store = core.store
    user = store.users.create("reader", "x", is_admin=False, now=dt.datetime.now(dt.UTC))
    ids = store.papers.ids_with_keys(["2601.00001", "2611.00001", "2611.00002", "2611.00003"])
    directions = {
        "2601.00001": [1, 0.3, 0],
        "2611.00001": [1, 0.2, 0.1],
        "2611.00002": [1, 0, 0.4],
        "2611.00003": [0, 0, 1],
    }
    store.embeddings.put_many(
        "test@1", [(ids[k], "h", np.array(v, dtype=np.float32)) for k, v in directions.items()]
    )
    for key in liked:
        store.collections.add(store.collections.default_for(user.id), [ids[key]])
    subscription = store.subscriptions.create(
        SubscriptionSpec(email="reader@example.org", include_recommendations=True), user_id=user.id
    )
    return subscription, ids


def test_recommendation_feeds_are_never_kept_by_shared_caches(core: PaperFeed, client: TestClient) -> None:
    subscription, _ = _reader_with_recommendations(core, ["2601.00001"])
    private = client.get(f"/feeds/recommended/{subscription.feed_token}.atom")
    assert private.status_code == 200
    assert private.headers["cache-control"] == "private, no-store"
    assert client.get("/feeds/daily.atom").headers["cache-control"].startswith("public")


def test_a_liked_paper_hidden_since_is_never_quoted_as_the_reason(
    core: PaperFeed, client: TestClient
) -> None:
    subscription, ids = _reader_with_recommendations(core, ["2601.00001", "2611.00003"])
    core.store.papers.set_hidden(ids["2601.00001"], True)

    feed = read(client, f"/feeds/recommended/{subscription.feed_token}.rss", "application/rss+xml")

    assert feed.entries
    assert all("Old Diffusion Paper" not in entry.summary for entry in feed.entries)
    assert any("because you liked “Language Models Reason”" in entry.summary for entry in feed.entries)


def test_an_unknown_feed_format_is_not_found(client: TestClient) -> None:
    assert client.get("/feeds/daily.json").status_code in (404, 422)


def test_day_and_search_pages_advertise_their_feeds(client: TestClient) -> None:
    day = client.get("/").text
    search = client.get("/search", params={"q": "diffusion", "category": "cs.CV"}).text

    assert (
        '<link rel="alternate" type="application/atom+xml" title="paperfeed daily papers" href="/feeds/daily.atom">'
        in day
    )
    href = (
        search.split('title="This search on paperfeed" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    )
    assert href.startswith("/feeds/search.atom?")
    feed = read(client, href, "application/atom+xml")
    assert [e.title for e in feed.entries] == ["Diffusion for Images"]


# Entity-encoded markup, as sources send it: decoded on import into text that reads like tags.
HOSTILE_ABSTRACT = "We show &lt;img src=x onerror=alert(1)&gt; and &lt;b&gt;more&lt;/b&gt; &amp; less."


@pytest.mark.parametrize("suffix", ["rss", "atom"])
def test_abstracts_reach_a_feed_reader_as_text_never_as_markup(
    core: PaperFeed, client: TestClient, suffix: str
) -> None:
    add_papers(
        core, paper("Hostile Abstract", arxiv_id="2611.00009", published=TODAY, abstract=HOSTILE_ABSTRACT)
    )
    answer = client.get(f"/feeds/search.{suffix}", params={"q": "hostile"})
    # What a reader that trusts the feed does: take the summary as HTML, without sanitising it.
    feed = feedparser.parse(answer.content, sanitize_html=False)
    [entry] = [e for e in feed.entries if e.title == "Hostile Abstract"]
    stored = core.paper("2611.00009").abstract
    assert "<img src=x onerror=alert(1)>" in stored
    parser = _Tags()
    parser.feed(entry.summary)
    assert parser.tags == []
    assert parser.text.endswith(stored)  # shown to the reader as the text it is (after its TL;DR)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data
