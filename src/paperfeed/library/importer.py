"""Importing a reference library (a BibTeX, RIS or CSL-JSON export of Zotero, Mendeley,
Semantic Scholar or Google Scholar) into a collection.

Each record is matched to a known paper by arXiv id, then DOI, then normalised title, exactly
as every import deduplicates; records of unknown papers become new papers. Records that
cannot be read are rejected with their record number (the line for BibTeX) and a reason, and
the rest imports. Records go in batches, each committed with its collection entries, so a
library of ten thousand entries reports progress as it goes.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import rispy

from paperfeed.errors import InvalidInput
from paperfeed.ingest.base import build_item
from paperfeed.models import Collection, Link, PaperRecord, Rejected, Rejection, SourceItem, User
from paperfeed.text import parse_arxiv_id

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

LIBRARY_FORMATS = ("bibtex", "ris", "csl-json")
MAX_BYTES = 100 * 1024 * 1024
BATCH = 500
SOURCE = "library-import"

Progress = Callable[[int, int], None]  # (records done, records in all)


@dataclass(slots=True)
class Matched:
    record_no: int
    paper_id: str  # the paper's url id
    title: str
    by: str  # "arXiv id", "DOI", "title", or "added" for a paper new to paperfeed


@dataclass(slots=True)
class LibraryImportReport:
    collection_id: int
    records: int = 0
    matched: list[Matched] = field(default_factory=list)
    added: list[Matched] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict:
        def row(m: Matched) -> dict:
            return {"record": m.record_no, "paper_id": m.paper_id, "title": m.title, "matched_by": m.by}

        return {
            "collection_id": self.collection_id,
            "records": self.records,
            "matched": [row(m) for m in self.matched],
            "added": [row(m) for m in self.added],
            "rejected": [{"record": r.record_no, "reason": r.reason} for r in self.rejected],
        }


def detect_format(name: str, data: bytes) -> str:
    """The format of an uploaded library, by its content first, then its file name."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"[", b"{")):
        return "csl-json"
    if head.startswith(b"TY  -") or b"\nTY  -" in head:
        return "ris"
    if head.startswith(b"@") or b"\n@" in head:
        return "bibtex"
    suffix = Path(name).suffix.lower()
    by_suffix = {".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".json": "csl-json"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    raise InvalidInput("cannot tell the format of the file: upload BibTeX (.bib), RIS (.ris) or CSL-JSON (.json)")


# --- reading records ---------------------------------------------------------------------------------


def _arxiv_in(*values: str | None) -> tuple[str, int | None] | None:
    for value in values:
        if not value:
            continue
        text = value.strip()
        lowered = text.lower()
        if lowered.startswith("arxiv:") or "arxiv.org/" in lowered or lowered.startswith("10.48550/arxiv."):
            found = parse_arxiv_id(text.split("arxiv.", 1)[-1] if lowered.startswith("10.48550/") else text)
            if found:
                return found
    return None


def _name_from_parts(family: str, given: str) -> str:
    return f"{given} {family}".strip()


def _ris_author(name: str) -> str:
    family, _, given = name.partition(",")
    return _name_from_parts(family.strip(), given.strip()) if given else name.strip()


def _year_date(year: object) -> dt.date | None:
    try:
        number = int(str(year).strip()[:4])
    except (TypeError, ValueError):
        return None
    return dt.date(number, 1, 1) if 1000 <= number <= 9999 else None


def _ris_date(entry: dict) -> dt.date | None:
    text = str(entry.get("date") or "")
    parts = [p for p in text.replace("-", "/").split("/") if p.strip()]
    try:
        if len(parts) >= 3:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 2:
            return dt.date(int(parts[0]), int(parts[1]), 1)
    except ValueError:
        pass
    return _year_date(entry.get("year") or entry.get("publication_year") or text)


def ris_record(entry: dict) -> PaperRecord:
    title = entry.get("title") or entry.get("primary_title") or entry.get("short_title") or ""
    authors = entry.get("authors") or entry.get("first_authors") or []
    urls = list(entry.get("urls") or [])
    notes = [str(n) for n in (entry.get("notes") or [])]
    arxiv = _arxiv_in(str(entry.get("number") or ""), entry.get("doi"), *urls, *notes)
    return PaperRecord(
        title=str(title),
        abstract=str(entry.get("abstract") or entry.get("notes_abstract") or ""),
        authors=[_ris_author(a) for a in authors],
        categories=[],
        arxiv_id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        doi=entry.get("doi"),
        published=_ris_date(entry),
        journal_ref=entry.get("journal_name") or entry.get("secondary_title") or None,
        links=[Link("abs", u) for u in urls if u.startswith(("https://", "http://")) and "doi.org/" not in u][:1],
        source=SOURCE,
    )


def ris_items(text: str) -> Iterator[SourceItem]:
    try:
        entries = rispy.loads(text, skip_unknown_tags=True)
    except Exception as exc:  # rispy raises plain errors for broken files
        raise InvalidInput(f"not a readable RIS file: {exc}") from None
    for number, entry in enumerate(entries, start=1):
        yield build_item(number, lambda entry=entry: ris_record(entry))


def _csl_name(name: object) -> str:
    if not isinstance(name, dict):
        raise TypeError("an author is not an object")
    if name.get("literal"):
        return str(name["literal"])
    family = " ".join(str(name.get(k) or "") for k in ("non-dropping-particle", "family")).strip()
    given = " ".join(str(name.get(k) or "") for k in ("given", "dropping-particle")).strip()
    suffix = str(name.get("suffix") or "")
    return f"{_name_from_parts(family, given)} {suffix}".strip()


def _csl_date(value: object) -> dt.date | None:
    if not isinstance(value, dict):
        return _year_date(value) if value else None
    parts = (value.get("date-parts") or [[]])[0]
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) >= 3:
            return dt.date(numbers[0], numbers[1], numbers[2])
        if len(numbers) == 2:
            return dt.date(numbers[0], numbers[1], 1)
        if numbers:
            return _year_date(numbers[0])
    except (TypeError, ValueError):
        return None
    return _year_date(value.get("raw")) if value.get("raw") else None


def csl_record(item: object) -> PaperRecord:
    if not isinstance(item, dict):
        raise TypeError("the record is not an object")
    url = str(item.get("URL") or "")
    arxiv = _arxiv_in(str(item.get("number") or ""), item.get("DOI"), url, str(item.get("archive_location") or ""))
    return PaperRecord(
        title=str(item.get("title") or ""),
        abstract=str(item.get("abstract") or ""),
        authors=[_csl_name(a) for a in item.get("author") or []],
        categories=[str(c) for c in item.get("categories") or [] if isinstance(c, str)],
        arxiv_id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        doi=item.get("DOI") or None,
        published=_csl_date(item.get("issued")),
        journal_ref=item.get("container-title") or None,
        links=[Link("abs", url)] if url.startswith(("https://", "http://")) and "doi.org/" not in url else [],
        source=SOURCE,
    )


def csl_items(text: str) -> Iterator[SourceItem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not a readable CSL-JSON file: {exc}") from None
    if isinstance(data, dict):
        data = data.get("items", [data])
    if not isinstance(data, list):
        raise InvalidInput("a CSL-JSON file holds a list of items")
    for number, item in enumerate(data, start=1):
        yield build_item(number, lambda item=item: csl_record(item))


def bibtex_items(data: bytes) -> Iterator[SourceItem]:
    from paperfeed.ingest.bibtex import BibTeXSource

    with tempfile.TemporaryDirectory() as folder:  # the BibTeX reader decodes files as imports do
        path = Path(folder) / "library.bib"
        path.write_bytes(data)
        for item in BibTeXSource(path).items():
            if isinstance(item.item, PaperRecord):
                item.item.source = SOURCE
            yield item


def read_library(data: bytes, fmt: str) -> list[SourceItem]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"libraries of at most {MAX_BYTES // (1 << 20)} MB can be imported")
    if fmt == "bibtex":
        return list(bibtex_items(data))
    text = data.decode("utf-8-sig", errors="replace")
    if fmt == "ris":
        return list(ris_items(text))
    if fmt == "csl-json":
        return list(csl_items(text))
    raise InvalidInput(f"unknown library format {fmt!r}: use {', '.join(LIBRARY_FORMATS)}")


# --- importing them ---------------------------------------------------------------------------------


def import_library(
    core: PaperFeed,
    user: User,
    collection: Collection,
    data: bytes,
    fmt: str | None = None,
    *,
    filename: str = "",
    progress: Progress | None = None,
) -> LibraryImportReport:
    """Import the records of a library file into one of the user's collections."""
    collection = core.library.own(collection.id, user)
    items = read_library(data, fmt or detect_format(filename, data))
    report = LibraryImportReport(collection_id=collection.id, records=len(items))
    done = 0
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        records = [(i.record_no, i.item) for i in batch if isinstance(i.item, PaperRecord)]
        report.rejected += [Rejection(i.record_no, i.item.reason) for i in batch if isinstance(i.item, Rejected)]
        known = core.store.papers.identify([r for _, r in records])
        new = [(no, r) for (no, r), found in zip(records, known, strict=True) if found is None]
        if new:
            with core.store.engine.begin() as conn:
                core.store.papers.merge_batch(conn, [r for _, r in new])
        now_known = core.store.papers.identify([r for _, r in new]) if new else []
        new_ids = iter(now_known)
        paper_ids: list[int] = []
        titles = {p.id: p for p in core.store.papers.get_many(
            [f[0] for f in known if f] + [f[0] for f in now_known if f], include_hidden=True)}  # fmt: skip
        for (record_no, _), found in zip(records, known, strict=True):
            entry = found or next(new_ids)
            if entry is None:  # cannot happen: the merge just stored it
                continue
            paper = titles[entry[0]]
            paper_ids.append(paper.id)
            matched = Matched(record_no, paper.url_id, paper.title, entry[1] if found else "added")
            (report.matched if found else report.added).append(matched)
        core.store.collections.add(collection, paper_ids)
        done += len(batch)
        if progress:
            progress(done, len(items))
    report.rejected.sort(key=lambda r: r.record_no)
    if report.added:
        core.sync_indexes()
    return report
