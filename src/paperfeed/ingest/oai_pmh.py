"""arXiv's OAI-PMH interface: ListRecords/GetRecord responses in the "arXiv" and "arXivRaw"
metadata formats parsed into records, a harvester that follows resumption tokens and obeys
503 Retry-After, and sources for saved responses ("oai-pmh" files) and for live harvests.

Protocol: https://www.openarchives.org/OAI/openarchivesprotocol.html (OAI-PMH 2.0).
arXiv's formats: https://info.arxiv.org/help/oa/index.html
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import httpx
from lxml import etree

from paperfeed.errors import InvalidInput, SourceUnavailable
from paperfeed.ingest.arxiv_schedule import listing_day
from paperfeed.ingest.base import FileSource, build_item
from paperfeed.ingest.remote import USER_AGENT, ClientOwner, PoliteClient
from paperfeed.ingest.safe_xml import child_text, local_name, parse_xml
from paperfeed.models import PaperRecord, Rejected, SourceItem
from paperfeed.text import InvalidRecord, parse_arxiv_id, split_authors

FMT = "oai-pmh"
OAI_URL = "https://oaipmh.arxiv.org/oai"
METADATA_PREFIXES = ("arXiv", "arXivRaw")
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "arXiv": "http://arxiv.org/OAI/arXiv/",
    "arXivRaw": "http://arxiv.org/OAI/arXivRaw/",
}
_SET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")  # "cs", "physics:hep-th", "math"
_VERSION_RE = re.compile(r"^v(\d+)$")


class OAIPMHError(InvalidInput):
    """The OAI-PMH server answered with an error (badArgument, badResumptionToken, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class OAIPage:
    items: list[SourceItem] = field(default_factory=list)
    resumption_token: str | None = None  # None or empty: the list is complete
    complete_list_size: int | None = None
    no_records_match: bool = False  # the server's way of saying the list is empty


# --- parsing ------------------------------------------------------------------------------------


def _iso_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _http_time(value: str | None) -> dt.datetime:
    """The moment of an arXivRaw version date such as "Mon, 12 Jun 2017 17:57:34 GMT"."""
    if not value:
        raise InvalidRecord("a version without a date")
    return email.utils.parsedate_to_datetime(value).astimezone(dt.UTC)


def _parse_id(raw_id: str | None) -> tuple[str, int | None]:
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        raise InvalidRecord(f"id {raw_id!r} is not an arXiv paper id")
    return parsed


def _arxiv_record(meta: etree._Element, datestamp: dt.date | None = None) -> PaperRecord:
    """The "arXiv" format: structured authors, created/updated dates, no version numbers.
    A record without an updated date has one version: it is new."""
    ns = {"a": NS["arXiv"]}
    arxiv_id, version = _parse_id(child_text(meta, "a:id", ns))
    authors = []
    for author in meta.findall("a:authors/a:author", ns):
        parts = (child_text(author, f"a:{part}", ns) for part in ("forenames", "keyname", "suffix"))
        authors.append(" ".join(p for p in parts if p))
    created = _iso_date(child_text(meta, "a:created", ns))
    updated = _iso_date(child_text(meta, "a:updated", ns))
    return PaperRecord(
        title=child_text(meta, "a:title", ns) or "",
        abstract=child_text(meta, "a:abstract", ns) or "",
        authors=authors,
        categories=(child_text(meta, "a:categories", ns) or "").split(),
        arxiv_id=arxiv_id,
        version=version,
        doi=child_text(meta, "a:doi", ns),
        published=created,
        updated=updated,
        listed_on=listing_day(created, datestamp, new=updated is None or updated == created),
        comments=child_text(meta, "a:comments", ns),
        journal_ref=child_text(meta, "a:journal-ref", ns),
        source=FMT,
    )


def _arxiv_raw_record(meta: etree._Element, datestamp: dt.date | None = None) -> PaperRecord:
    """The "arXivRaw" format: every version with its date, authors as one string."""
    ns = {"r": NS["arXivRaw"]}
    arxiv_id, id_version = _parse_id(child_text(meta, "r:id", ns))
    versions: list[tuple[int, dt.datetime]] = []
    for element in meta.findall("r:version", ns):
        label = (element.get("version") or "").strip()
        match = _VERSION_RE.match(label)
        if not match:
            raise InvalidRecord(f"version label {label!r} is not like 'v2'")
        versions.append((int(match.group(1)), _http_time(child_text(element, "r:date", ns))))
    versions.sort()
    first = versions[0][1] if versions else None
    return PaperRecord(
        title=child_text(meta, "r:title", ns) or "",
        abstract=child_text(meta, "r:abstract", ns) or "",
        authors=split_authors(child_text(meta, "r:authors", ns) or ""),
        categories=(child_text(meta, "r:categories", ns) or "").split(),
        arxiv_id=arxiv_id,
        version=versions[-1][0] if versions else id_version,
        doi=child_text(meta, "r:doi", ns),
        published=first.date() if first else None,
        updated=versions[-1][1].date() if versions else None,
        listed_on=listing_day(first, datestamp, new=len(versions) <= 1),
        comments=child_text(meta, "r:comments", ns),
        journal_ref=child_text(meta, "r:journal-ref", ns),
        source=FMT,
    )


_FORMATS: dict[str, Callable[[etree._Element, dt.date | None], PaperRecord]] = {
    f"{{{NS['arXiv']}}}arXiv": _arxiv_record,
    f"{{{NS['arXivRaw']}}}arXivRaw": _arxiv_raw_record,
}


def _record_item(record_no: int, record: etree._Element) -> SourceItem:
    header = record.find("oai:header", NS)
    if header is not None and header.get("status") == "deleted":
        identifier = child_text(header, "oai:identifier", NS) or "?"
        parsed = parse_arxiv_id(identifier.rsplit(":", 1)[-1])
        return SourceItem(record_no, Rejected(f"deleted at source ({parsed[0] if parsed else identifier})"))
    metadata = record.find("oai:metadata", NS)
    payload = next(iter(metadata), None) if metadata is not None else None
    if payload is None:
        return SourceItem(record_no, Rejected("record without metadata"))
    parse = _FORMATS.get(payload.tag)
    try:
        datestamp = _iso_date(child_text(header, "oai:datestamp", NS)[:10]) if header is not None else None
    except (TypeError, ValueError):
        datestamp = None  # the listing day then follows from the submission date
    if parse is None:
        return SourceItem(
            record_no,
            Rejected(f"metadata format <{local_name(payload)}> is not supported (use arXiv or arXivRaw)"),
        )
    return build_item(record_no, partial(parse, payload, datestamp))


def _raise_errors(errors: list[etree._Element]) -> None:
    """OAI-PMH errors as one exception; noRecordsMatch is not an error, just an empty list."""
    found = [(e.get("code") or "unknown", "".join(e.itertext()).strip()) for e in errors]
    found = [(code, text) for code, text in found if code != "noRecordsMatch"]
    if not found:
        return
    code = found[0][0]
    details = "; ".join(f"{c}: {t}" if t else c for c, t in found)
    if code == "badResumptionToken":
        raise OAIPMHError(
            code,
            f"the OAI-PMH server no longer accepts the resumption token; start the harvest again ({details})",
        )
    raise OAIPMHError(code, f"the OAI-PMH server refused the request ({details})")


def parse_oai(data: bytes, *, start_no: int = 1, what: str = "OAI-PMH response") -> OAIPage:
    """Records of one ListRecords or GetRecord response, numbered from `start_no`.

    Deleted records become rejections ("deleted at source"); an OAI-PMH error raises
    `OAIPMHError`, except noRecordsMatch, which is an empty page."""
    root = parse_xml(data, what)
    if root.tag != f"{{{NS['oai']}}}OAI-PMH":
        raise InvalidInput(f"{what} is not an OAI-PMH response (its root element is <{local_name(root)}>)")
    errors = root.findall("oai:error", NS)
    if errors:
        _raise_errors(errors)
        return OAIPage(no_records_match=True)
    container = root.find("oai:ListRecords", NS)
    if container is None:
        container = root.find("oai:GetRecord", NS)
    if container is None:
        verbs = ", ".join(
            local_name(child) for child in root if local_name(child) not in {"responseDate", "request"}
        )
        raise InvalidInput(
            f"{what} is not a ListRecords or GetRecord response (it holds: {verbs or 'nothing'})"
        )
    records = container.findall("oai:record", NS)
    token = container.find("oai:resumptionToken", NS)
    size = token.get("completeListSize") if token is not None else None
    return OAIPage(
        items=[_record_item(start_no + i, record) for i, record in enumerate(records)],
        resumption_token=((token.text or "").strip() or None) if token is not None else None,
        complete_list_size=int(size) if size and size.isdigit() else None,
    )


# --- the harvester ------------------------------------------------------------------------------


class OAIHarvester(ClientOwner):
    """ListRecords over OAI-PMH from `from_` to `until` (datestamps, inclusive), optionally
    limited to a set such as "cs" or "physics:hep-th", following resumption tokens."""

    def __init__(
        self,
        http: httpx.Client | None = None,
        *,
        base_url: str = OAI_URL,
        metadata_prefix: str = "arXiv",
        from_: dt.date | None = None,
        until: dt.date | None = None,
        set_: str | None = None,
        delay: float = 3.0,
        attempts: int = 5,
        backoff: float = 10.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = USER_AGENT,
    ) -> None:
        if metadata_prefix not in METADATA_PREFIXES:
            raise InvalidInput(
                f"unknown metadata prefix {metadata_prefix!r}; use one of: {', '.join(METADATA_PREFIXES)}"
            )
        if from_ and until and from_ > until:
            raise InvalidInput(f"the harvest starts ({from_}) after it ends ({until})")
        if set_ is not None and not _SET_RE.match(set_):
            raise InvalidInput(f"{set_!r} is not an OAI-PMH set name (like cs or physics:hep-th)")
        self.base_url = base_url
        self.metadata_prefix = metadata_prefix
        self.from_ = from_
        self.until = until
        self.set_ = set_
        self.http = PoliteClient(
            "arXiv's OAI-PMH service",
            http,
            delay=delay,
            attempts=attempts,
            backoff=backoff,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            user_agent=user_agent,
        )

    def first_request(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.metadata_prefix}
        if self.from_:
            params["from"] = self.from_.isoformat()
        if self.until:
            params["until"] = self.until.isoformat()
        if self.set_:
            params["set"] = self.set_
        return params

    def page(self, params: dict[str, str], *, start_no: int) -> OAIPage:
        response = self.http.get(self.base_url, params)
        what = f"the answer of {self.base_url}"
        try:
            page = parse_oai(response.content, start_no=start_no, what=what)
        except OAIPMHError:
            raise
        except InvalidInput as exc:
            problem = f"sent an unusable response: {exc}" if response.is_success else self._status(response)
            raise SourceUnavailable(f"the OAI-PMH server {problem}") from None
        if not response.is_success and not page.no_records_match:
            raise SourceUnavailable(f"the OAI-PMH server {self._status(response)}")
        return page

    @staticmethod
    def _status(response: httpx.Response) -> str:
        return f"answered HTTP {response.status_code} {response.reason_phrase} ({response.request.url})"

    def records(self) -> Iterator[SourceItem]:
        """Every record of the harvest, numbered from 1 across pages."""
        params = self.first_request()
        done = 0
        seen_tokens: set[str] = set()
        while True:
            page = self.page(params, start_no=done + 1)
            yield from page.items
            done += len(page.items)
            token = page.resumption_token
            if not token:
                return
            if token in seen_tokens:
                raise SourceUnavailable(f"the OAI-PMH server sent resumption token {token!r} twice; stopping")
            seen_tokens.add(token)
            # A resumption token is an exclusive argument: it replaces every other one but the verb.
            params = {"verb": "ListRecords", "resumptionToken": token}


# --- sources ------------------------------------------------------------------------------------


class OAIPMHFileSource(FileSource):
    """A saved ListRecords or GetRecord response, parsed whole before any record is handed on."""

    fmt = FMT

    def items(self) -> Iterator[SourceItem]:
        yield from parse_oai(self.path.read_bytes(), what=str(self.path)).items


class OAIPMHHarvestSource:
    """A live harvest; the same harvest (server, format, set and dates) resumes where it stopped."""

    fmt = FMT

    def __init__(self, harvester: OAIHarvester) -> None:
        self.harvester = harvester
        h = harvester
        parts = [h.base_url, h.metadata_prefix]
        parts += [
            f"{name}={value}"
            for name, value in (("set", h.set_), ("from", h.from_), ("until", h.until))
            if value
        ]
        self.location = " ".join(parts)

    def fingerprint(self) -> str:
        h = self.harvester
        request = {
            "base_url": h.base_url,
            "metadataPrefix": h.metadata_prefix,
            "set": h.set_,
            "from": h.from_.isoformat() if h.from_ else None,
            "until": h.until.isoformat() if h.until else None,
        }
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    def items(self) -> Iterator[SourceItem]:
        yield from self.harvester.records()
