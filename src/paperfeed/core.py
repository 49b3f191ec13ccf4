"""The core that the web UI, the JSON API and the CLI all call.

It owns the store (source of truth) and the derived indexes, and answers every question
in domain objects. Interfaces only translate requests into these calls and render answers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from paperfeed.config import Settings
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.ingest import open_sources
from paperfeed.ingest.base import Source
from paperfeed.ingest.pipeline import run_import
from paperfeed.models import DayPage, ImportReport, Paper, RankedPaper, ResultPage, SearchRequest, Stats
from paperfeed.search.highlight import mark, match_pattern, snippet
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.query import parse_user_query
from paperfeed.store import Store

MAX_PER_PAGE = 100
MAX_PAGE = 500  # deep pagination is never useful and costs the index dearly

Progress = Callable[[int], None]


class PaperFeed:
    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.store = store or Store.open(self.settings.db_url)
        self.keyword = KeywordIndex(self.settings.index_dir / "keyword")

    def close(self) -> None:
        self.store.close()

    # --- importing ------------------------------------------------------------------------------

    def import_sources(
        self, sources: list[Source], *, progress: Progress | None = None, sync: bool = True
    ) -> list[ImportReport]:
        reports = [run_import(self.store, source, progress=progress) for source in sources]
        if sync:
            self.sync_indexes()
        return reports

    def import_path(
        self, path: Path, fmt: str | None = None, *, progress: Progress | None = None
    ) -> list[ImportReport]:
        return self.import_sources(open_sources(path, fmt), progress=progress)

    def sync_indexes(self, *, progress: Progress | None = None) -> int:
        return self.keyword.sync(self.store, progress=progress)

    def ensure_indexes(self) -> None:
        """Bring derived indexes up to date at start-up (rebuilding them if they were lost)."""
        self.sync_indexes()

    # --- reading --------------------------------------------------------------------------------

    def paper(self, ref: str) -> Paper:
        paper = self.store.papers.resolve(ref)
        if paper is None or paper.hidden:
            raise NotFound(f"no paper {ref!r}")
        return paper

    def day(self, day: dt.date | None = None) -> DayPage:
        day = day or self.store.papers.latest_day() or dt.date.today()
        prev_day, next_day = self.store.papers.neighbour_days(day)
        return DayPage(day=day, papers=self.store.papers.on_day(day), prev_day=prev_day, next_day=next_day)

    def stats(self) -> Stats:
        summary = self.store.papers.summary()
        try:
            index_docs = self.keyword.doc_count()
        except (OSError, ValueError):
            index_docs = None
        return Stats(
            **summary,
            database=self.store.safe_url,
            database_bytes=self.store.size_bytes(),
            index_docs=index_docs,
        )

    # --- searching ------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> ResultPage:
        if not 1 <= request.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if not 1 <= request.page <= MAX_PAGE:
            raise InvalidInput(f"page must be between 1 and {MAX_PAGE}")
        if request.mode != "keyword":
            raise InvalidInput(f"search mode {request.mode!r} is not available")
        started = time.perf_counter()
        parsed = parse_user_query(request.query)
        hits = self.keyword.search(
            parsed,
            request.filters,
            limit=request.per_page,
            offset=request.offset,
            newest_first=request.sort == "newest",
        )
        papers = {p.id: p for p in self.store.papers.get_many(hits.ids)}
        pattern = match_pattern(parsed.words)
        items = [
            RankedPaper(paper=papers[i], score=score, snippet_html=snippet(papers[i].abstract, pattern))
            for i, score in zip(hits.ids, hits.scores, strict=True)
            if i in papers
        ]
        return ResultPage(
            items=items,
            total=hits.total,
            page=request.page,
            per_page=request.per_page,
            ranking="keyword",
            took_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def highlight_title(title: str, query: str) -> str:
        return mark(title, match_pattern(parse_user_query(query).words))
