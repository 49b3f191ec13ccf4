"""Building one subscription's digest for one period, and rendering it as text and HTML.

A digest has up to three kinds of sections, as the subscription chooses: today's trending
papers, new papers matching each saved search, and personal recommendations; a user's digest
also brings the new papers of the topics and authors they follow. "New" means
published within the period (with a few days' slack for late announcements) and first seen by
this instance after the subscriber's previous digest, so no paper is mailed twice.

One `Composer` serves a whole run: answers that many subscriptions share (trending, the same
saved search, the recommender's candidate papers) are computed once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape

from paperfeed import tex
from paperfeed.digest.links import Links
from paperfeed.digest.periods import Period
from paperfeed.errors import PaperfeedError
from paperfeed.insight import tldr
from paperfeed.models import RankedPaper, ResultPage, SearchFilters, SearchRequest
from paperfeed.store.subscriptions import SavedSearch, Subscription

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed
    from paperfeed.insight.trends import Rising
    from paperfeed.library.recommend import Recommender
    from paperfeed.store.author_follows import AuthorFollow
    from paperfeed.store.topics import Topic

SectionKind = Literal["trending", "rising", "topic", "authors", "search", "recommended"]

# arXiv announces papers a day or more after their submission date, so a period's new papers
# may carry dates a little before it.
NEW_PAPER_SLACK = dt.timedelta(days=4)
SEARCH_ITEMS = 10
RECOMMENDED_ITEMS = 10
RISING_TOPICS = 3  # rising topics in a digest, each with its newest papers
RISING_PAPERS_PER_TOPIC = 2
TOPIC_ITEMS = 10
AUTHOR_ITEMS = 20  # papers of all followed authors together
_SEARCH_FETCH = 30  # fetched per saved search, before dropping papers already mailed
_MAX_CACHED_BLOCKS = 200_000
_REASON_SLOT = "\x00reason\x00"  # where an item's reason goes in its block (no paper holds a NUL)


@dataclass(slots=True)
class DigestSection:
    kind: SectionKind
    title: str
    items: list[RankedPaper]
    more_url: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Digest:
    subscription: Subscription
    period: Period
    sections: list[DigestSection] = field(default_factory=list)

    @property
    def paper_count(self) -> int:
        return sum(len(section.items) for section in self.sections)

    @property
    def is_empty(self) -> bool:
        return self.paper_count == 0

    @property
    def subject(self) -> str:
        day = f"{self.period.day:%b} {self.period.day.day}, {self.period.day.year}"
        kind = "weekly" if self.subscription.frequency == "weekly" else "daily"
        count = self.paper_count
        return f"paperfeed {kind} digest, {day}: {count} paper{'s' if count != 1 else ''}"


@dataclass(slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("paperfeed.digest", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package files: no need to stat them on every render
    )
    env.filters["authors"] = lambda names: ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")
    env.filters["plain"] = tex.plain  # mail clients run no script: formulas in their plain form
    env.filters["long_day"] = lambda day: f"{day:%A, %B} {day.day}, {day.year}"
    env.filters["tldr"] = tldr
    return env


_ENV = _environment()
log = logging.getLogger(__name__)


def render_template(name: str, **context: object) -> str:
    return _ENV.get_template(name).render(**context)


class Composer:
    def __init__(
        self,
        core: PaperFeed,
        links: Links,
        *,
        now: dt.datetime,
        recommender: Recommender | None = None,
    ) -> None:
        self.core = core
        self.links = links
        self.now = now
        self._recommender = recommender
        self._trending: dict[tuple[str, int], list[RankedPaper]] = {}
        self._rising_topics: list[Rising] | None = None
        self._rising: dict[tuple[dt.date, dt.datetime | None], list[RankedPaper]] = {}
        self._searches: dict[tuple, ResultPage | PaperfeedError] = {}
        self._search_urls: dict[tuple, str] = {}
        self._by_author: dict[tuple[str, dt.date, dt.datetime | None], list[RankedPaper]] = {}
        self._in_topic: dict[tuple[int, dt.date, dt.datetime | None], list[RankedPaper]] = {}
        self._follows: dict[int, tuple[list[Topic], list[AuthorFollow]]] = {}
        # A paper, and a whole section, rendered once per run: trending and popular searches
        # repeat across digests.
        self._blocks: dict[tuple[int, bool, str], str] = {}  # (paper, has a reason, format)
        self._sections: dict[tuple, str] = {}

    # --- sections -----------------------------------------------------------------------------

    def trending(self, period: str, top_n: int) -> list[RankedPaper]:
        if (period, top_n) not in self._trending:
            from paperfeed.digest import sources

            self._trending[period, top_n] = sources.trending(self.core, period, top_n, now=self.now)
        return self._trending[period, top_n]

    def rising(self, window_from: dt.date, since: dt.datetime | None) -> list[RankedPaper]:
        """The newest papers of the most rising topics, each with its reason ("Rising topic: … —
        12 papers in 4 weeks, ×3.1 its baseline"); topics are ranked once per run."""
        from paperfeed.digest import sources

        if self._rising_topics is None:
            self._rising_topics = sources.rising_topics(self.core, RISING_TOPICS)
        key = (window_from, since)
        if key not in self._rising:
            items: list[RankedPaper] = []
            for rising in self._rising_topics:
                reason = (
                    f"Rising topic: {rising.topic.label} — {rising.recent} papers in 4 weeks, "
                    f"×{rising.growth:.1f} its baseline"
                )
                papers = sources.new_in_topic(
                    self.core, rising.topic.id, since=window_from, first_seen_after=since,
                    limit=RISING_PAPERS_PER_TOPIC,
                )  # fmt: skip
                items.extend(RankedPaper(paper=i.paper, score=rising.score, reason=reason) for i in papers)
            self._rising[key] = items
        return self._rising[key]

    def prepare_searches(self, subscriptions: Sequence[Subscription]) -> None:
        """Embed the queries of every saved search by meaning (semantic, hybrid) in one go."""
        queries = [
            s.query for sub in subscriptions for s in sub.saved_searches if s.mode != "keyword" and s.query.strip()
        ]
        if queries:
            try:
                self.core.embed_queries(queries)
            except Exception as exc:  # each search meets the same fault again and reports it as its own
                log.warning("saved searches could not be embedded ahead: %s", exc)

    def saved_search(self, search: SavedSearch, *, window_from: dt.date) -> ResultPage | PaperfeedError:
        """The search restricted to recent papers; the same search is run once per run."""
        f = search.filters
        date_from = max(window_from, f.date_from) if f.date_from else window_from
        key = (search.query, search.mode, f.author, f.category, f.has_code, date_from, f.date_to)
        if key not in self._searches:
            request = SearchRequest(
                query=search.query,
                filters=SearchFilters(
                    date_from=date_from,
                    date_to=f.date_to,
                    author=f.author,
                    category=f.category,
                    has_code=f.has_code,
                ),
                sort="relevance" if search.query.strip() else "newest",
                per_page=_SEARCH_FETCH,
                mode=search.mode,
            )
            try:
                self._searches[key] = self.core.search(request, brief=True)
            except PaperfeedError as exc:  # e.g. a mode this instance cannot serve: say so in the mail
                self._searches[key] = exc
        return self._searches[key]

    def prefetch_follows(self, user_ids: Sequence[int]) -> None:
        """Read what these users follow (topics, authors) in a few queries for all of them."""
        from paperfeed.digest import sources

        missing = [user_id for user_id in dict.fromkeys(user_ids) if user_id not in self._follows]
        if missing:
            topics = sources.followed_topics(self.core, missing)
            authors = sources.followed_authors(self.core, missing)
            self._follows.update((user_id, (topics[user_id], authors[user_id])) for user_id in missing)

    def _followed(self, user_id: int) -> tuple[list[Topic], list[AuthorFollow]]:
        self.prefetch_follows([user_id])
        return self._follows[user_id]

    def new_in_topic(self, topic_id: int, *, window_from: dt.date, since: dt.datetime | None) -> list[RankedPaper]:
        """A followed topic's new papers, newest first; a topic followed by many is looked up once per run."""
        from paperfeed.digest import sources

        key = (topic_id, window_from, since)
        if key not in self._in_topic:
            self._in_topic[key] = sources.new_in_topic(
                self.core, topic_id, since=window_from, first_seen_after=since, limit=TOPIC_ITEMS
            )
        return self._in_topic[key]

    def followed_authors(
        self, user_id: int, *, window_from: dt.date, since: dt.datetime | None
    ) -> list[RankedPaper]:
        """New papers by the authors a user follows, newest first, each saying by whom; an author
        followed by many is looked up once per run."""
        from paperfeed.digest import sources

        found: dict[int, RankedPaper] = {}
        for followed in self._followed(user_id)[1]:
            key = (followed.name, window_from, since)
            if key not in self._by_author:
                self._by_author[key] = sources.new_by_author(
                    self.core, followed.name, since=window_from, first_seen_after=since, limit=AUTHOR_ITEMS
                )
            for item in self._by_author[key]:
                known = found.get(item.paper.id)
                reason = f"{known.reason}, {followed.name}" if known else f"By {followed.name}"
                found[item.paper.id] = RankedPaper(paper=item.paper, score=0.0, reason=reason)
        items = sorted(found.values(), key=lambda i: (i.paper.published or i.paper.listed_on, i.paper.id))
        return items[::-1][:AUTHOR_ITEMS]

    def recommender(self) -> Recommender:
        if self._recommender is None:
            from paperfeed.library.recommend import Recommender

            self._recommender = Recommender(self.core.store)
        return self._recommender

    # --- digests ------------------------------------------------------------------------------

    def compose(self, subscription: Subscription, period: Period, *, since: dt.datetime | None) -> Digest:
        """The digest of `period`; `since` is when the previous digest went out (None: never)."""
        digest = Digest(subscription, period)
        window_start = since or (period.send_at - period.length)
        window_from = window_start.date() - NEW_PAPER_SLACK

        def is_new(item: RankedPaper) -> bool:
            return since is None or item.paper.first_seen >= since

        if subscription.include_trending and subscription.top_n > 0:
            weekly = subscription.frequency == "weekly"
            items = self.trending("week" if weekly else "day", subscription.top_n)
            title = "Trending this week" if weekly else "Trending today"
            digest.sections.append(DigestSection("trending", title, items))
        rising = self.rising(window_from, since)
        if rising:
            more = f"{self.links.base_url}/trends"
            digest.sections.append(DigestSection("rising", "Rising topics", rising, more_url=more))
        if subscription.user_id is not None:
            for topic in self._followed(subscription.user_id)[0]:
                items = self.new_in_topic(topic.id, window_from=window_from, since=since)
                more = f"{self.links.base_url}/topics/{topic.id}"
                digest.sections.append(DigestSection("topic", f"New in {topic.label}", items, more_url=more))
            items = self.followed_authors(subscription.user_id, window_from=window_from, since=since)
            more = f"{self.links.base_url}/settings/subscriptions#authors"
            digest.sections.append(DigestSection("authors", "New from authors you follow", items, more_url=more))
        for search in subscription.saved_searches:
            answer = self.saved_search(search, window_from=window_from)
            title = f"New for {search.label}"
            more = self._search_url(search)
            if isinstance(answer, PaperfeedError):
                digest.sections.append(DigestSection("search", title, [], more_url=more, note=str(answer)))
                continue
            items = [item for item in answer.items if is_new(item)][:SEARCH_ITEMS]
            digest.sections.append(DigestSection("search", title, items, more_url=more))
        if subscription.include_recommendations and subscription.user_id is not None:
            page = self.recommender().recommend(
                subscription.user_id, since=window_from, per_page=RECOMMENDED_ITEMS, first_seen_after=since
            )
            digest.sections.append(DigestSection("recommended", "Recommended for you", page.items))
        return digest

    def _search_url(self, search: SavedSearch) -> str:
        f = search.filters
        key = (search.query, search.mode, f.author, f.category, f.has_code, f.date_from, f.date_to)
        if key not in self._search_urls:
            params = search.search_params() | {"sort": "newest"}
            self._search_urls[key] = f"{self.links.base_url}/search?{urlencode(params)}"
        return self._search_urls[key]

    def item_block(self, item: RankedPaper, fmt: str) -> str:
        """A paper as it reads in a mail. Each paper is rendered once per run, with a stand-in
        for its reason, which may differ for every reader ("because you liked …")."""
        key = (item.paper.id, bool(item.reason), fmt)
        block = self._blocks.get(key)
        if block is None:
            stand_in = replace(item, reason=_REASON_SLOT if item.reason else None)
            block = render_template(f"_item.{fmt}", item=stand_in, links=self.links)
            block = block if fmt == "html" else block.rstrip("\n")
            if len(self._blocks) < _MAX_CACHED_BLOCKS:
                self._blocks[key] = block
        if fmt == "html":
            return Markup(block.replace(_REASON_SLOT, escape(item.reason)) if item.reason else block)
        return block.replace(_REASON_SLOT, item.reason) if item.reason else block

    def section_block(self, section: DigestSection, fmt: str) -> str:
        """The section as it reads in a mail; sections that many digests share (trending, a
        popular saved search) are rendered once. Recommendations differ for every reader."""
        if section.kind == "recommended":
            return self._render_section(section, fmt)
        # A paper's block depends on the paper and its reason only (see item_block).
        items = tuple((item.paper.id, item.reason) for item in section.items)
        key = (section.kind, section.title, section.note, section.more_url, items, fmt)
        block = self._sections.get(key)
        if block is None:
            block = self._render_section(section, fmt)
            if len(self._sections) < _MAX_CACHED_BLOCKS:
                self._sections[key] = block
        return block

    def _render_section(self, section: DigestSection, fmt: str) -> str:
        rendered = render_template(f"_section.{fmt}", section=section, item_block=self.item_block)
        return Markup(rendered) if fmt == "html" else rendered

    def render(self, digest: Digest) -> RenderedDigest:
        sub = digest.subscription
        context = {
            "section_block": self.section_block,
            "digest": digest,
            "sections": [s for s in digest.sections if s.items or s.note],
            "links": self.links,
            "unsubscribe_url": self.links.unsubscribe_page(sub.id),
            "settings_url": self.links.settings_page(),
            "feed_url": self.links.recommended_feed(sub.feed_token) if sub.user_id else None,
        }
        return RenderedDigest(
            subject=digest.subject,
            text=render_template("digest.txt", **context),
            html=render_template("digest.html", **context),
        )
