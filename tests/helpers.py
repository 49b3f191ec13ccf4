"""Building small stores in tests without going through a file format."""

from __future__ import annotations

import datetime as dt

from paperfeed.core import PaperFeed
from paperfeed.models import PaperRecord
from paperfeed.text import finish_record


def paper(title: str, abstract: str | None = None, **fields) -> PaperRecord:
    fields.setdefault("source", "test")
    return PaperRecord(
        title=title,
        abstract=f"An abstract about {title.lower()}." if abstract is None else abstract,
        **fields,
    )


def add_papers(core: PaperFeed, *records: PaperRecord) -> None:
    """Merge records into the store exactly as an import does, then update the indexes."""
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, [finish_record(r) for r in records])
    core.sync_indexes()


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
