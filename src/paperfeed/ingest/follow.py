"""What a followed source is and how it is fetched: arXiv categories over OAI-PMH, arXiv API
queries and Hugging Face Daily Papers, each turned into an ordinary `Source` for one window of days.

Windows (first and last day, inclusive) start at the source's watermark, the last day imported
in full, so that day is asked for again: records that arrived on it after the previous run are
not missed, and those already stored are merged as unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from paperfeed.errors import InvalidInput
from paperfeed.ingest.arxiv_api import ArxivAPISource, ArxivClient
from paperfeed.ingest.base import Source
from paperfeed.ingest.hf_api import HFDailyAPISource, HFDailyClient, days_between
from paperfeed.ingest.oai_pmh import OAIHarvester, OAIPMHHarvestSource
from paperfeed.models import FollowedSource, FollowKind, PaperRecord, SourceItem

KINDS: dict[str, FollowKind] = {
    "arxiv": "arxiv-oai",
    "arxiv-oai": "arxiv-oai",
    "arxiv-query": "arxiv-query",
    "query": "arxiv-query",
    "hf": "hf-daily",
    "hf-daily": "hf-daily",
}
# Synced in this order: arXiv's own announcement gives a paper its day before Hugging Face's list does.
SYNC_ORDER: dict[str, int] = {"arxiv-oai": 0, "arxiv-query": 1, "hf-daily": 2}
HF_TARGET = "daily"
DEFAULT_BACKFILL_DAYS = 7  # a newly followed source starts this many days back, unless told
QUERY_LOOKBACK_DAYS = 4  # the API searches by submission day; announcement follows up to 4 days later
QUERY_MAX_RESULTS = 5_000
_CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")
# Archives outside the physics group name their OAI-PMH set themselves.
_OWN_GROUPS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}


def oai_set_for(category: str) -> str:
    """arXiv's OAI-PMH set of a category: "cs.CL" -> "cs:cs:CL", "hep-th" -> "physics:hep-th",
    "math" -> "math"."""
    archive, _, sub = category.partition(".")
    group = archive if archive in _OWN_GROUPS else "physics"
    if group == archive:
        return f"{group}:{archive}:{sub}" if sub else group
    return f"{group}:{archive}:{sub}" if sub else f"{group}:{archive}"


def normalize_target(kind: FollowKind, target: str | None) -> str:
    target = (target or "").strip()
    if kind == "hf-daily":
        if target and target.lower() != HF_TARGET:
            raise InvalidInput("Hugging Face Daily Papers takes no argument (follow add hf)")
        return HF_TARGET
    if kind == "arxiv-oai":
        if not _CATEGORY_RE.match(target):
            raise InvalidInput(f"{target!r} is not an arXiv category like cs.CL, hep-th or math")
        return target
    if not target:
        raise InvalidInput('an arXiv query is needed, e.g. "cat:cs.CL AND abs:retrieval"')
    return target


def parse_kind(name: str) -> FollowKind:
    try:
        return KINDS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(f"unknown source kind {name!r}; use arxiv, arxiv-query or hf") from None


def in_category(categories: list[str], followed: str) -> bool:
    """Whether a paper belongs to the followed category (an archive like "math" takes its subjects)."""
    return any(c == followed or c.startswith(followed + ".") for c in categories)


def announcement_kind(record: PaperRecord, followed: str) -> str:
    """How arXiv's listing of `followed` shows the record: "new", "cross-list" or "replacement"."""
    replaced = (record.version or 1) > 1 or bool(
        record.version is None and record.updated and record.updated != record.published
    )
    if replaced:
        return "replacement"
    primary = record.categories[0] if record.categories else ""
    return "new" if in_category([primary], followed) else "cross-list"


def first_window_day(follow: FollowedSource, today: dt.date) -> dt.date:
    since = follow.options.get("since")
    return dt.date.fromisoformat(since) if since else today - dt.timedelta(days=DEFAULT_BACKFILL_DAYS)


def window(follow: FollowedSource, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days this run imports: an unfinished run's window again (to resume it), else from the
    watermark (inclusive) to today."""
    if follow.window_from and follow.window_until:
        return follow.window_from, follow.window_until
    first = follow.watermark or first_window_day(follow, today)
    return min(first, today), today


# --- fetching -------------------------------------------------------------------------------------


@dataclass
class Clients:
    """Where each service is and how to be polite to it; tests inject sleep and clock."""

    oai_url: str
    hf_url: str
    arxiv_url: str
    delay: float | None = None  # None: each service's own pause
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def _pace(self, default: float) -> dict:
        return {
            "delay": default if self.delay is None else self.delay,
            "sleep": self.sleep,
            "clock": self.clock,
        }

    def oai(self, **request) -> OAIHarvester:
        return OAIHarvester(base_url=self.oai_url, **request, **self._pace(3.0))

    def hf(self) -> HFDailyClient:
        return HFDailyClient(base_url=self.hf_url, **self._pace(1.0))

    def arxiv(self) -> ArxivClient:
        return ArxivClient(base_url=self.arxiv_url, **self._pace(3.0))


class CategorySource:
    """An OAI-PMH harvest of a category's set, keeping the category's papers and telling what
    each one is in the day's listing (new, cross-list, replacement)."""

    def __init__(self, harvester: OAIHarvester, category: str) -> None:
        self.inner = OAIPMHHarvestSource(harvester)
        self.category = category
        self.fmt = self.inner.fmt
        self.location = f"{self.inner.location} category={category}"
        self.kinds: Counter[str] = Counter()

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.inner.fingerprint()}|{self.category}".encode()).hexdigest()

    def items(self) -> Iterator[SourceItem]:
        for source_item in self.inner.items():
            record = source_item.item
            if isinstance(record, PaperRecord):
                if not in_category(record.categories, self.category):
                    self.kinds["other categories"] += 1
                    continue
                self.kinds[announcement_kind(record, self.category)] += 1
            yield source_item

    def close(self) -> None:
        self.inner.harvester.close()


class _Closing:
    """A source that closes its client when the sync is done with it."""

    def __init__(self, source: Source, client: HFDailyClient | ArxivClient) -> None:
        self.source, self.client = source, client
        self.fmt, self.location = source.fmt, source.location
        self.kinds: Counter[str] = Counter()

    def fingerprint(self) -> str:
        return self.source.fingerprint()

    def items(self) -> Iterator[SourceItem]:
        yield from self.source.items()

    def close(self) -> None:
        self.client.close()


def source_for(
    follow: FollowedSource, first: dt.date, last: dt.date, clients: Clients
) -> CategorySource | _Closing:
    """The source importing `follow`'s records of the days `first`..`last`."""
    if follow.kind == "arxiv-oai":
        harvester = clients.oai(
            metadata_prefix=follow.options.get("metadata_prefix", "arXivRaw"),
            from_=first,
            until=last,
            set_=follow.options.get("set") or oai_set_for(follow.target),
        )
        return CategorySource(harvester, follow.target)
    if follow.kind == "hf-daily":
        hf = clients.hf()
        return _Closing(HFDailyAPISource(hf, days=days_between(first, last)), hf)
    arxiv = clients.arxiv()
    start = first - dt.timedelta(days=QUERY_LOOKBACK_DAYS)
    query = f"({follow.target}) AND submittedDate:[{start:%Y%m%d}0000 TO {last:%Y%m%d}2359]"
    source = ArxivAPISource(
        arxiv, query=query, max_results=QUERY_MAX_RESULTS, sort_by="submittedDate", sort_order="ascending"
    )
    return _Closing(source, arxiv)
