"""Hugging Face Daily Papers as JSON: responses of https://huggingface.co/api/daily_papers
(saved as files, "hf-daily-json"), and a client for the day, week and month lists.

A response is a JSON list. Each element describes one listing: the `paper` object (`id`, the
arXiv id; `title`, `summary`, `authors` as objects with a `name`, `publishedAt`, `upvotes`, and
where known `githubRepo` and `projectPage`), plus the listing's own `publishedAt` (when it was put
on the list), `title`, `thumbnail`, `numComments` and `submittedBy`. Missing fields are
tolerated and unknown ones ignored. Upvotes and comment counts are Hugging Face's own and are
stored apart from local votes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson

from paperfeed.errors import InvalidInput, SourceUnavailable
from paperfeed.ingest.base import FileSource, build_item
from paperfeed.ingest.hf_daily import FMT as RECORD_SOURCE  # papers say "hf-daily", saved or live
from paperfeed.ingest.remote import USER_AGENT, ClientOwner, PoliteClient
from paperfeed.models import Link, PaperRecord, SourceItem
from paperfeed.text import InvalidRecord, parse_arxiv_id

FMT = "hf-daily-json"  # saved responses
LIVE_FMT = "hf-daily-api"  # requests made now
API_URL = "https://huggingface.co/api/daily_papers"
PAGE_SIZE = 100
_WEEK_RE = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --- parsing ------------------------------------------------------------------------------------


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(*values: Any) -> str:
    return next((v for v in values if isinstance(v, str) and v.strip()), "")


def _authors(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    names = (a.get("name") if isinstance(a, dict) else a for a in value)
    return [n for n in names if isinstance(n, str) and n.strip()]


def _links(paper: dict, entry: dict) -> list[Link]:
    links = []
    for kind, field in (("code", "githubRepo"), ("project", "projectPage")):
        url = _text(paper.get(field), entry.get(field))
        if url.startswith(("https://", "http://")):
            links.append(Link(kind, url.strip()))
    return links


def _entry_record(entry: Any, list_day: dt.date | None) -> PaperRecord:
    if not isinstance(entry, dict):
        raise InvalidRecord(f"a list element is a JSON {type(entry).__name__}, not an object")
    paper = entry.get("paper")
    if not isinstance(paper, dict):
        raise InvalidRecord("a list element without a paper object")
    raw_id = paper.get("id")
    parsed = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    listed = _moment(entry.get("publishedAt"))
    day = list_day or (listed.date() if listed else None)
    published = _moment(paper.get("publishedAt"))
    return PaperRecord(
        title=_text(paper.get("title"), entry.get("title")),
        abstract=_text(paper.get("summary"), entry.get("summary")),
        authors=_authors(paper.get("authors")),
        arxiv_id=parsed[0] if parsed else None,
        version=parsed[1] if parsed else None,
        published=published.date() if published else None,
        links=_links(paper, entry),
        listed_on=day,
        hf_listed_on=day,
        hf_upvotes=_count(paper.get("upvotes")),
        hf_comments=_count(entry.get("numComments")),
        source=RECORD_SOURCE,
    )


def load_list(data: bytes, what: str) -> list:
    """The JSON list of a response; anything else is refused with what it is instead."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not JSON ({exc})") from None
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        raise InvalidInput(f"{what} is an error: {value['error'][:200]}")
    if not isinstance(value, list):
        raise InvalidInput(f"{what} is not a Daily Papers list (it is a JSON {type(value).__name__})")
    return value


def parse_daily_papers(
    data: bytes, *, start_no: int = 1, list_day: dt.date | None = None, what: str = "Daily Papers response"
) -> list[SourceItem]:
    """Records of one response, numbered from `start_no`. `list_day` is the day asked for; without
    it each listing's own `publishedAt` gives its day."""
    return [
        build_item(start_no + i, partial(_entry_record, entry, list_day))
        for i, entry in enumerate(load_list(data, what))
    ]


def looks_like_daily_papers(head: bytes) -> bool:
    """Whether the first bytes of a file are a Daily Papers response: a list of objects with `paper`."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"[") and (text[1:].lstrip().startswith(b"]") or b'"paper"' in text)


# --- the client ---------------------------------------------------------------------------------


def check_week(week: str) -> str:
    if not _WEEK_RE.match(week):
        raise InvalidInput(f"{week!r} is not an ISO week like 2025-W07")
    return week


def check_month(month: str) -> str:
    if not _MONTH_RE.match(month):
        raise InvalidInput(f"{month!r} is not a month like 2025-02")
    return month


class HFDailyClient(ClientOwner):
    """Requests to the Daily Papers API: paced, retried on overload (429/5xx, Retry-After), paged."""

    def __init__(
        self,
        http: httpx.Client | None = None,
        *,
        base_url: str = API_URL,
        page_size: int = PAGE_SIZE,
        delay: float = 1.0,
        attempts: int = 4,
        backoff: float = 5.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = base_url
        self.page_size = page_size
        self.http = PoliteClient(
            "Hugging Face Daily Papers",
            http,
            delay=delay,
            attempts=attempts,
            backoff=backoff,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            user_agent=user_agent,
        )

    def listing(
        self, params: dict[str, str], *, list_day: dt.date | None = None, start_no: int = 1
    ) -> Iterator[SourceItem]:
        """Every element of one list (a day, a week or a month), page after page."""
        page = 0
        seen: set[str] = set()
        number = start_no
        while True:
            response = self.http.get(self.base_url, {**params, "limit": self.page_size, "p": page})
            what = f"the answer of {response.request.url}"
            if not response.is_success:
                raise SourceUnavailable(
                    f"Hugging Face Daily Papers answered HTTP {response.status_code} "
                    f"{response.reason_phrase} ({response.request.url})"
                )
            try:
                items = parse_daily_papers(response.content, start_no=number, list_day=list_day, what=what)
            except InvalidInput as exc:
                raise SourceUnavailable(
                    f"Hugging Face Daily Papers sent an unusable response: {exc}"
                ) from None
            keys = {_item_key(item) for item in items}
            fresh = keys - seen
            if not fresh:  # an empty page, or a server that does not page and repeats itself
                return
            seen |= keys
            yield from items
            number += len(items)
            if len(items) < self.page_size:
                return
            page += 1

    def days(self, days: Iterable[dt.date], *, start_no: int = 1) -> Iterator[SourceItem]:
        number = start_no
        for day in days:
            for item in self.listing({"date": day.isoformat()}, list_day=day, start_no=number):
                number = item.record_no + 1
                yield item


def _item_key(item: SourceItem) -> str:
    record = item.item
    if isinstance(record, PaperRecord):
        return record.arxiv_id or record.title
    return f"#{item.record_no}"


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# --- sources ------------------------------------------------------------------------------------


class HFDailyJSONFileSource(FileSource):
    """A saved response, parsed whole before any record is handed on."""

    fmt = FMT

    def items(self) -> Iterator[SourceItem]:
        yield from parse_daily_papers(Path(self.path).read_bytes(), what=str(self.path))


class HFDailyAPISource:
    """Daily Papers fetched now: some days, an ISO week or a month."""

    fmt = LIVE_FMT

    def __init__(
        self,
        client: HFDailyClient,
        *,
        days: Iterable[dt.date] | None = None,
        week: str | None = None,
        month: str | None = None,
    ) -> None:
        self.client = client
        self.days = sorted(set(days or []))
        self.week = check_week(week) if week else None
        self.month = check_month(month) if month else None
        if sum(map(bool, (self.days, self.week, self.month))) != 1:
            raise InvalidInput("give one of: days, a week or a month")
        if self.days:
            shown = self.days[0].isoformat() + (f"…{self.days[-1]}" if len(self.days) > 1 else "")
            self.location = f"Hugging Face Daily Papers {shown}"
        else:
            self.location = f"Hugging Face Daily Papers {self.week or self.month}"

    def fingerprint(self) -> str:
        request = {
            "base_url": self.client.base_url,
            "days": [d.isoformat() for d in self.days],
            "week": self.week,
            "month": self.month,
        }
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    def items(self) -> Iterator[SourceItem]:
        if self.days:
            yield from self.client.days(self.days)
        elif self.week:
            yield from self.client.listing({"week": self.week})
        else:
            assert self.month is not None
            yield from self.client.listing({"month": self.month})
