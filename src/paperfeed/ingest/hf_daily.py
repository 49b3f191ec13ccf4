"""Hugging Face Daily Papers pages saved as text: site chrome, then a title line and an
abstract line per paper. A "Mon DD" line gives the day the page lists."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from paperfeed.ingest.base import FileSource, build_item, iter_text_lines
from paperfeed.models import PaperRecord, Rejected, SourceItem

FMT = "hf-daily"

_CHROME = {
    "get trending papers in your email inbox once a day!",
    "get trending papers in your email inbox!",
    "new",
    "subscribe",
    "daily papers",
    "byak and the research community",
    "previous",
    "next",
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_DAY_RE = re.compile(r"^(?P<month>[A-Za-z]{3})[a-z]*\.? (?P<day>\d{1,2})(?:, (?P<year>\d{4}))?$")
_MAX_TITLE_LINE = 300  # longer lines are abstracts
_SHORT_ABSTRACT = 150  # shorter lines not ending in "." are titles


def _listing_day(line: str, today: dt.date) -> dt.date | None:
    """The date of a "Sep 11" line: without a year, the latest such day not after today."""
    match = _DAY_RE.match(line)
    if not match or match.group("month").lower() not in _MONTHS:
        return None
    month, day = _MONTHS[match.group("month").lower()], int(match.group("day"))
    years = [int(match.group("year"))] if match.group("year") else [today.year, today.year - 1]
    for year in years:
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if match.group("year") or candidate <= today:
            return candidate
    return None


def _looks_like_title(line: str) -> bool:
    return len(line) < _SHORT_ABSTRACT and not line.endswith(".")


class HFDailyTextSource(FileSource):
    fmt = FMT

    def __init__(self, path: Path, *, today: dt.date | None = None) -> None:
        super().__init__(path)
        self.today = today or dt.date.today()

    def items(self) -> Iterator[SourceItem]:
        listed_on: dt.date | None = None
        pending: tuple[int, str] | None = None  # a title waiting for its abstract

        def paper(title_no: int, title: str, abstract: str) -> SourceItem:
            return build_item(
                title_no,
                lambda: PaperRecord(title=title, abstract=abstract, listed_on=listed_on, source=FMT),
            )

        for number, line in iter_text_lines(self.path):
            if isinstance(line, Rejected):
                yield SourceItem(number, line)
                continue
            line = line.strip()
            if line[:9].lower() == "subscribe" and len(line) > 9:
                line = line[9:].strip()  # the page's button text glued to the first title
            if not line or line.lower() in _CHROME:
                continue
            if pending is None:
                day = _listing_day(line, self.today)
                if day is not None:
                    listed_on = day
                elif len(line) > _MAX_TITLE_LINE:
                    yield SourceItem(number, Rejected("abstract without a title line before it"))
                else:
                    pending = (number, line)
            elif _looks_like_title(line):
                yield SourceItem(pending[0], Rejected("title without an abstract line after it"))
                pending = (number, line)
            else:
                yield paper(pending[0], pending[1], line)
                pending = None
        if pending is not None:
            yield SourceItem(pending[0], Rejected("title without an abstract line after it"))
