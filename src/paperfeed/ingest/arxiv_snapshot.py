"""The arXiv metadata snapshot ("arxiv-metadata-oai-snapshot.json"): one JSON object per line.

Snapshots are several GB, so the file is streamed line by line and per-record work is kept
cheap: orjson for parsing and hand-written date parsing instead of general-purpose parsers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson

from paperfeed.ingest.base import FileSource, build_item, iter_text_lines
from paperfeed.models import PaperRecord, Rejected, SourceItem
from paperfeed.text import InvalidRecord, parse_arxiv_id, split_authors

FMT = "arxiv-snapshot"

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}


def parse_version_date(value: Any) -> dt.date | None:
    """The day of a version stamp like "Mon, 2 Apr 2007 19:18:42 GMT"; None when unusable."""
    if not isinstance(value, str):
        return None
    parts = value.split()
    if parts and parts[0].endswith(","):  # the weekday is optional
        parts = parts[1:]
    if len(parts) < 3:
        return None
    day, month, year = parts[0], _MONTHS.get(parts[1][:3].lower()), parts[2]
    if month is None or not (day.isdigit() and year.isdigit()):
        return None
    try:
        return dt.date(int(year), month, int(day))
    except ValueError:
        return None


def parse_iso_date(value: Any) -> dt.date | None:
    """The day of "2008-11-13"; None when unusable."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _highest_version(versions: list, known: int | None) -> int | None:
    """The highest N of the {"version": "vN"} entries (and of `known`, from the id itself)."""
    highest = known or 0
    for entry in versions:
        label = entry.get("version") if type(entry) is dict else None
        if type(label) is str and label[1:].isdigit() and label[:1] in ("v", "V"):
            highest = max(highest, int(label[1:]))
    return highest or known


def _authors(obj: dict) -> list[str]:
    """ "First Last Suffix" from authors_parsed ([last, first, suffix] lists), else from the author
    string. Written out by hand: this runs for every author of millions of papers."""
    parsed = obj.get("authors_parsed")
    names: list[str] = []
    if type(parsed) is list:
        for parts in parsed:
            if type(parts) is not list or not parts:
                continue
            last = parts[0]
            first = parts[1] if len(parts) > 1 else ""
            if type(last) is not str or type(first) is not str:
                continue
            name = f"{first} {last}" if first and last else first or last
            if len(parts) > 2 and parts[2] and type(parts[2]) is str:
                name = f"{name} {parts[2]}"
            if name:
                names.append(name)
    if names:
        return names
    authors = obj.get("authors")
    return split_authors(authors) if isinstance(authors, str) else []


def _optional_text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def record_from_json(obj: dict) -> PaperRecord:
    """One snapshot object as a record; raises InvalidRecord when it cannot be a paper."""
    raw_id = obj.get("id")
    if not raw_id:
        raise InvalidRecord("missing id")
    parsed_id = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if parsed_id is None:
        raise InvalidRecord(f"invalid arXiv id {str(raw_id)[:60]!r}")
    arxiv_id, version = parsed_id

    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidRecord("missing title")

    published: dt.date | None = None
    versions = obj.get("versions")
    if isinstance(versions, list) and versions:
        published = parse_version_date(versions[0].get("created") if isinstance(versions[0], dict) else None)
        version = _highest_version(versions, version)
    updated = parse_iso_date(obj.get("update_date"))
    if published is None and updated is None:
        raise InvalidRecord("no usable date: neither versions[0].created nor update_date can be read")

    categories = obj.get("categories")
    abstract = obj.get("abstract")
    return PaperRecord(
        title=title,
        abstract=abstract if isinstance(abstract, str) else "",
        authors=_authors(obj),
        categories=categories.split() if isinstance(categories, str) else [],
        arxiv_id=arxiv_id,
        version=version,
        doi=_optional_text(obj, "doi"),  # finish_record keeps the first of several
        published=published,
        updated=updated,
        comments=_optional_text(obj, "comments"),
        journal_ref=_optional_text(obj, "journal-ref"),
        listed_on=published or updated,
        source=FMT,
    )


def _parse_line(line: str) -> PaperRecord:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise InvalidRecord(f"not a JSON object but {type(obj).__name__}")
    return record_from_json(obj)


class ArxivSnapshotSource(FileSource):
    fmt = FMT
    parse_in_subprocess = True  # multi-GB files: parse on the second core (see pipeline)

    def items(self) -> Iterator[SourceItem]:
        for number, line in iter_text_lines(self.path):
            if isinstance(line, Rejected):
                yield SourceItem(number, line)
            elif line and not line.isspace():
                yield build_item(number, lambda line=line: _parse_line(line))
