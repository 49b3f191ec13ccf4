"""The arXiv API (export.arxiv.org/api/query): Atom responses parsed into records, a client
that pages politely through searches and id lists, and sources for saved responses
("arxiv-atom" files) and for live requests.

Response format: https://info.arxiv.org/help/api/user-manual.html (Atom 1.0 with the
opensearch and arxiv extensions). arXiv links are rebuilt from the id (https, without
version) so every source of a paper agrees on them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal, get_args

import httpx
from lxml import etree

from paperfeed.errors import InvalidInput, SourceUnavailable
from paperfeed.ingest.arxiv_schedule import announcement_day
from paperfeed.ingest.base import FileSource, build_item
from paperfeed.ingest.remote import USER_AGENT, ClientOwner, PoliteClient
from paperfeed.ingest.safe_xml import child_text, local_name, parse_xml
from paperfeed.models import PaperRecord, Rejected, SourceItem
from paperfeed.text import InvalidRecord, parse_arxiv_id

FMT = "arxiv-atom"  # saved responses
LIVE_FMT = "arxiv-api"  # requests made now
RECORD_SOURCE = "arxiv-api"  # what papers say they came from, whether saved or live
API_URL = "https://export.arxiv.org/api/query"
PAGE_SIZE = 100
MAX_SEARCH_RESULTS = 30_000  # arXiv serves at most this many results per query; bulk is for OAI-PMH
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}
_ERROR_ID_RE = re.compile(r"^https?://arxiv\.org/api/errors", re.IGNORECASE)

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]


class ArxivAPIError(InvalidInput):
    """arXiv refused the request and said why (its error feed)."""


@dataclass(slots=True)
class AtomPage:
    items: list[SourceItem]
    total_results: int | None  # opensearch:totalResults, the size of the whole result set
    start_index: int


# --- parsing ------------------------------------------------------------------------------------


def _timestamp(value: str | None) -> dt.datetime | None:
    """An Atom timestamp such as 2017-06-12T17:57:34Z, in UTC."""
    if not value:
        return None
    stamp = dt.datetime.fromisoformat(value)
    return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _timestamp_date(value: str | None) -> dt.date | None:
    """The UTC day of an Atom timestamp."""
    stamp = _timestamp(value)
    return stamp.date() if stamp else None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _entry_record(entry: etree._Element) -> PaperRecord:
    raw_id = child_text(entry, "atom:id", NS)
    alternate = entry.find("atom:link[@rel='alternate']", NS)
    parsed = parse_arxiv_id(raw_id) or parse_arxiv_id(
        alternate.get("href") if alternate is not None else None
    )
    if parsed is None:
        raise InvalidRecord(f"entry id {raw_id!r} is not an arXiv paper id")
    arxiv_id, version = parsed

    categories: list[str] = []
    primary = entry.find("arxiv:primary_category", NS)
    if primary is not None and primary.get("term"):
        categories.append(primary.get("term", ""))
    for category in entry.findall("atom:category", NS):
        term = category.get("term")
        if term and term not in categories:
            categories.append(term)

    doi = child_text(entry, "arxiv:doi", NS)
    if doi is None:
        doi_link = entry.find("atom:link[@title='doi']", NS)
        doi = doi_link.get("href") if doi_link is not None else None

    first_submitted = _timestamp(child_text(entry, "atom:published", NS))
    return PaperRecord(
        title=child_text(entry, "atom:title", NS) or "",
        abstract=child_text(entry, "atom:summary", NS) or "",
        authors=["".join(name.itertext()) for name in entry.findall("atom:author/atom:name", NS)],
        categories=categories,
        arxiv_id=arxiv_id,
        version=version,
        doi=doi,
        published=first_submitted.date() if first_submitted else None,
        updated=_timestamp_date(child_text(entry, "atom:updated", NS)),
        # The API does not say when a paper was announced; arXiv's schedule does.
        listed_on=announcement_day(first_submitted) if first_submitted else None,
        comments=child_text(entry, "arxiv:comment", NS),
        journal_ref=child_text(entry, "arxiv:journal_ref", NS),
        source=RECORD_SOURCE,
    )


def parse_atom_page(data: bytes, *, start_no: int = 1, what: str = "arXiv API response") -> AtomPage:
    """Records of one response, numbered from `start_no`, and the paging figures.

    Raises `ArxivAPIError` for arXiv's error feed and `InvalidInput` for anything that is
    not an Atom feed; a malformed entry only becomes a rejection."""
    root = parse_xml(data, what)
    if root.tag != f"{{{NS['atom']}}}feed":
        raise InvalidInput(f"{what} is not an Atom feed (its root element is <{local_name(root)}>)")
    entries = root.findall("atom:entry", NS)
    for entry in entries:
        entry_id = child_text(entry, "atom:id", NS) or ""
        if _ERROR_ID_RE.match(entry_id):
            reason = child_text(entry, "atom:summary", NS) or entry_id.partition("#")[2].replace("_", " ")
            raise ArxivAPIError(f"the arXiv API refused the request: {reason}")
    items = [build_item(start_no + i, partial(_entry_record, entry)) for i, entry in enumerate(entries)]
    return AtomPage(
        items=items,
        total_results=_int_or_none(child_text(root, "opensearch:totalResults", NS)),
        start_index=_int_or_none(child_text(root, "opensearch:startIndex", NS)) or 0,
    )


def parse_atom(data: bytes, *, start_no: int = 1) -> list[SourceItem]:
    return parse_atom_page(data, start_no=start_no).items


def normalize_ids(ids: Iterable[str]) -> list[str]:
    """arXiv ids (with their version, if given) from ids or arxiv.org URLs, without repeats."""
    wanted: list[str] = []
    for raw in ids:
        parsed = parse_arxiv_id(raw)
        if parsed is None:
            raise InvalidInput(f"not an arXiv id or arXiv URL: {raw!r}")
        ident = f"{parsed[0]}v{parsed[1]}" if parsed[1] else parsed[0]
        if ident not in wanted:
            wanted.append(ident)
    if not wanted:
        raise InvalidInput("no arXiv ids given")
    return wanted


def check_search(query: str, max_results: int, sort_by: str, sort_order: str) -> None:
    if not query.strip():
        raise InvalidInput("the arXiv search query is empty")
    if not 1 <= max_results <= MAX_SEARCH_RESULTS:
        raise InvalidInput(
            f"max results must be between 1 and {MAX_SEARCH_RESULTS:,} (for more, harvest over OAI-PMH)"
        )
    if sort_by not in get_args(SortBy):
        raise InvalidInput(f"unknown sort {sort_by!r}; use one of: {', '.join(get_args(SortBy))}")
    if sort_order not in get_args(SortOrder):
        raise InvalidInput(f"unknown sort order {sort_order!r}; use ascending or descending")


# --- the client ---------------------------------------------------------------------------------


class ArxivClient(ClientOwner):
    """Requests to the arXiv API: one every `delay` seconds, retried on overload, paged."""

    def __init__(
        self,
        http: httpx.Client | None = None,
        *,
        base_url: str = API_URL,
        page_size: int = PAGE_SIZE,
        delay: float = 3.0,
        attempts: int = 4,
        backoff: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = USER_AGENT,
    ) -> None:
        if not 1 <= page_size <= 2_000:
            raise ValueError("page_size must be between 1 and 2000")
        self.base_url = base_url
        self.page_size = page_size
        self.http = PoliteClient(
            "the arXiv API",
            http,
            delay=delay,
            attempts=attempts,
            backoff=backoff,
            sleep=sleep,
            clock=clock,
            user_agent=user_agent,
        )

    def page(self, params: dict[str, str | int], *, start_no: int) -> AtomPage:
        response = self.http.get(self.base_url, params)
        what = f"the arXiv API's answer to {response.request.url}"
        try:
            page = parse_atom_page(response.content, start_no=start_no, what=what)
        except ArxivAPIError:
            raise  # arXiv explains a refused request in an error feed, also on HTTP 400
        except InvalidInput as exc:
            problem = f"sent an unusable response: {exc}" if response.is_success else self._status(response)
            raise SourceUnavailable(f"the arXiv API {problem}") from None
        if not response.is_success:
            raise SourceUnavailable(f"the arXiv API {self._status(response)}")
        return page

    @staticmethod
    def _status(response: httpx.Response) -> str:
        return f"answered HTTP {response.status_code} {response.reason_phrase} ({response.request.url})"

    def fetch_ids(self, ids: Iterable[str]) -> Iterator[SourceItem]:
        """The papers with these ids (a version pins that version), numbered from 1."""
        wanted = normalize_ids(ids)
        done = 0
        for first in range(0, len(wanted), self.page_size):
            chunk = wanted[first : first + self.page_size]
            page = self.page(
                {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}, start_no=done + 1
            )
            yield from page.items
            done += len(page.items)

    def search(
        self,
        query: str,
        max_results: int = PAGE_SIZE,
        *,
        sort_by: SortBy = "submittedDate",
        sort_order: SortOrder = "descending",
    ) -> Iterator[SourceItem]:
        """Results of an arXiv search query (e.g. "cat:cs.CL AND abs:retrieval"), numbered from 1
        across pages, until `max_results` or the end of the result set."""
        check_search(query, max_results, sort_by, sort_order)
        start = 0
        empty_retries = 0
        while start < max_results:
            params: dict[str, str | int] = {
                "search_query": query,
                "start": start,
                "max_results": min(self.page_size, max_results - start),
                "sortBy": sort_by,
                "sortOrder": sort_order,
            }
            page = self.page(params, start_no=start + 1)
            total = page.total_results
            if not page.items:
                if total is None or start >= total:
                    return
                # arXiv now and then answers a page inside the result set with no entries;
                # asking again usually helps.
                empty_retries += 1
                if empty_retries >= self.http.attempts:
                    raise SourceUnavailable(
                        f"the arXiv API keeps returning no entries at result {start + 1} of {total:,}; "
                        "try again later"
                    )
                continue
            empty_retries = 0
            yield from page.items
            start += len(page.items)
            if total is not None and start >= total:
                return


def fetch_paper(client: ArxivClient, arxiv_id_or_url: str) -> PaperRecord | None:
    """One paper from arXiv by id or arxiv.org URL; None when arXiv does not know it."""
    parsed = parse_arxiv_id(arxiv_id_or_url)
    if parsed is None:
        raise InvalidInput(f"not an arXiv id or arXiv URL: {arxiv_id_or_url!r}")
    for source_item in client.fetch_ids([arxiv_id_or_url]):
        item = source_item.item
        if isinstance(item, Rejected):
            raise InvalidInput(f"arXiv's record for {arxiv_id_or_url} cannot be used: {item.reason}")
        if item.arxiv_id == parsed[0]:
            return item
    return None


# --- sources ------------------------------------------------------------------------------------


class ArxivAtomFileSource(FileSource):
    """A saved arXiv API response. It is parsed whole before any record is handed on, so a
    truncated file fails without importing half of it."""

    fmt = FMT

    def items(self) -> Iterator[SourceItem]:
        yield from parse_atom_page(self.path.read_bytes(), what=str(self.path)).items


class ArxivAPISource:
    """Papers fetched from the arXiv API now: a list of ids, or a search query."""

    fmt = LIVE_FMT

    def __init__(
        self,
        client: ArxivClient,
        *,
        ids: Iterable[str] | None = None,
        query: str | None = None,
        max_results: int = PAGE_SIZE,
        sort_by: SortBy = "submittedDate",
        sort_order: SortOrder = "descending",
    ) -> None:
        ids = list(ids or [])
        query = (query or "").strip()
        if bool(ids) == bool(query):
            raise InvalidInput("give arXiv ids or a search query (one of the two)")
        self.client = client
        self.ids = normalize_ids(ids) if ids else None
        self.query = query or None
        self.max_results = max_results
        self.sort_by = sort_by
        self.sort_order = sort_order
        if self.ids:
            shown = ",".join(self.ids[:5]) + (f",… ({len(self.ids)} ids)" if len(self.ids) > 5 else "")
            self.location = f"arXiv API id_list={shown}"
        else:
            check_search(query, max_results, sort_by, sort_order)
            self.location = f"arXiv API search_query={query}"

    def _request(self) -> dict[str, object]:
        if self.ids:
            return {"base_url": self.client.base_url, "id_list": self.ids}
        return {
            "base_url": self.client.base_url,
            "search_query": self.query,
            "max_results": self.max_results,
            "sortBy": self.sort_by,
            "sortOrder": self.sort_order,
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self._request(), sort_keys=True).encode()).hexdigest()

    def items(self) -> Iterator[SourceItem]:
        if self.ids:
            yield from self.client.fetch_ids(self.ids)
        else:
            assert self.query is not None
            yield from self.client.search(
                self.query, self.max_results, sort_by=self.sort_by, sort_order=self.sort_order
            )
