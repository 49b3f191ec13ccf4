"""RSS 2.0 and Atom feeds: the daily list, trending, any search, and a user's recommendations.

Every feed comes in both formats (`.rss`, `.atom`) and links to papers by absolute URL on the
configured `base_url`. Search feeds take the search page's parameters, so any search
(query, mode, filters) can be followed in a feed reader; they list the newest matches unless
`sort=relevance` is asked for. Recommendation feeds are private: the URL carries a random
token of one subscription, and any other token is a 404.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from paperfeed import tex
from paperfeed.digest.links import Links
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.insight import tldr
from paperfeed.library.recommend import Recommender
from paperfeed.models import Paper, RankedPaper
from paperfeed.web.deps import CoreDep, public_base
from paperfeed.web.ui.pages import SearchForm

# Feeds are XML, not JSON: the schema says so, for both formats.
FEED_RESPONSE = {
    200: {
        "description": "An RSS 2.0 (.rss) or Atom (.atom) feed.",
        "content": {
            "application/rss+xml": {"schema": {"type": "string"}},
            "application/atom+xml": {"schema": {"type": "string"}},
        },
    }
}
router = APIRouter(prefix="/feeds", tags=["feeds"], responses=FEED_RESPONSE, default_response_class=Response)

FeedFormat = Literal["rss", "atom"]
FEED_ITEMS = 50
SEARCH_MODES = ("keyword", "semantic", "hybrid")
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
CACHE_SECONDS = 900


def _day_time(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def render_feed(
    request: Request,
    fmt: FeedFormat,
    *,
    title: str,
    description: str,
    page_url: str,
    items: Sequence[RankedPaper],
    private: bool = False,
) -> Response:
    """A feed of papers; a `private` one (a secret URL) is kept out of every cache."""
    links = Links(request.app.state.core.settings, public_base(request))
    self_url = str(request.url)
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(title)
    feed.subtitle(description)  # the RSS description too
    feed.link(href=self_url, rel="self")
    feed.link(href=page_url, rel="alternate")  # after "self": RSS's <link> is the last one given
    feed.language("en")
    feed.generator("paperfeed")
    newest = max((item.paper.last_updated for item in items), default=None)
    feed.updated(newest or dt.datetime.now(dt.UTC))
    for item in items:
        _add_entry(feed, links, item.paper, item.reason)
    body = feed.atom_str(pretty=True) if fmt == "atom" else feed.rss_str(pretty=True)
    # A private feed's URL is its only key: no shared cache may keep or hand out a copy.
    headers = {"Cache-Control": "private, no-store" if private else f"public, max-age={CACHE_SECONDS}"}
    return Response(content=body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _add_entry(feed: FeedGenerator, links: Links, paper: Paper, reason: str | None) -> None:
    url = links.paper(paper.url_id)
    entry = feed.add_entry(order="append")
    entry.id(url)
    entry.guid(url, permalink=True)
    entry.title(tex.plain(paper.title))
    entry.link(href=url, rel="alternate")
    summary = tex.plain(paper.abstract or paper.title)
    parts = [f"{reason}." if reason else "", f"TL;DR: {tex.plain(tldr(paper.abstract))}" if paper.abstract else "",
             summary]  # fmt: skip
    # Readers insert an RSS description (and an Atom html summary) into their pages as HTML, so
    # abstracts, which are text and may well hold "<img ...>", go out escaped for that context.
    entry.summary(html.escape("\n\n".join(part for part in parts if part), quote=False), type="html")
    for name in paper.authors[:20]:
        entry.author(name=name)
    for category in paper.categories:
        entry.category(term=category)
    entry.published(_day_time(paper.published or paper.listed_on))
    entry.updated(paper.last_updated)


@router.get("/daily.{fmt}", summary="The latest daily list")
def daily_feed(fmt: FeedFormat, request: Request, core: CoreDep) -> Response:
    page = core.day()
    base = Links(core.settings, public_base(request)).base_url
    items = [RankedPaper(paper=paper, score=0.0) for paper in page.papers]
    return render_feed(
        request,
        fmt,
        title=f"paperfeed: daily papers of {page.day.isoformat()}",
        description="The papers of the latest day on paperfeed.",
        page_url=f"{base}/day/{page.day.isoformat()}",
        items=items,
    )


@router.get("/trending.{fmt}", summary="Trending papers")
def trending_feed(fmt: FeedFormat, request: Request, core: CoreDep, period: str = "day") -> Response:
    from paperfeed.digest import sources

    items = sources.trending(core, period, FEED_ITEMS, now=dt.datetime.now(dt.UTC))
    base = Links(core.settings, public_base(request)).base_url
    return render_feed(
        request,
        fmt,
        title=f"paperfeed: trending ({period})",
        description=f"The most upvoted papers on paperfeed, trending over the last {period}.",
        page_url=f"{base}/trending?{urlencode({'period': period})}",
        items=items,
    )


@router.get("/search.{fmt}", summary="Any search, newest matches first")
def search_feed(fmt: FeedFormat, request: Request, core: CoreDep) -> Response:
    params = request.query_params
    form = SearchForm.parse(params)
    search = form.to_request()
    search.page = 1
    search.per_page = FEED_ITEMS
    search.sort = "relevance" if params.get("sort") == "relevance" else "newest"
    mode = (params.get("mode") or "keyword").strip().lower()
    if mode not in SEARCH_MODES:
        raise InvalidInput(f"unknown search mode {mode!r}; use one of: {', '.join(SEARCH_MODES)}")
    search.mode = mode  # type: ignore[assignment]
    result = core.search(search)
    described = f"“{form.q}”" if form.q else "all papers"
    page_query = urlencode([(k, v) for k, v in params.multi_items() if k != "page"])
    return render_feed(
        request,
        fmt,
        title=f"paperfeed: search for {described}",
        description=f"Papers on paperfeed matching {described}"
        + (" with filters." if form.has_filters else "."),
        page_url=f"{Links(core.settings, public_base(request)).base_url}/search?{page_query}",
        items=result.items,
    )


@router.get("/recommended/{token}.{fmt}", summary="A user's recommendations (private URL)")
def recommended_feed(token: str, fmt: FeedFormat, request: Request, core: CoreDep) -> Response:
    subscription = core.store.subscriptions.by_feed_token(token) if len(token) <= 64 else None
    if subscription is None or subscription.user_id is None or subscription.unsubscribed_at is not None:
        raise NotFound("no such feed")
    result = Recommender(core.store).recommend(subscription.user_id, per_page=FEED_ITEMS)
    return render_feed(
        request,
        fmt,
        title="paperfeed: recommended for you",
        description="Recent papers chosen from what you upvoted and saved on paperfeed.",
        page_url=Links(core.settings, public_base(request)).settings_page(),
        items=result.items,
        private=True,
    )
