"""The JSON API, mounted under /api. Each endpoint validates its parameters, asks the core
and returns one of the shapes in `schemas`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE
from paperfeed.models import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperfeed.web.api.schemas import DayOut, ErrorOut, PaperOut, ResultPageOut, StatsOut
from paperfeed.web.deps import CoreDep, Day

router = APIRouter(
    responses={
        400: {"model": ErrorOut, "description": "The request cannot be answered as asked."},
        422: {"model": ErrorOut, "description": "A parameter is missing or invalid."},
    }
)
_NOT_FOUND = {404: {"model": ErrorOut, "description": "No such paper."}}
DEFAULT_SEARCH_MODE: SearchMode = SearchRequest().mode  # the API searches as the rest of paperfeed does


@router.get("/papers/{paper_id:path}/related", responses=_NOT_FOUND, tags=["papers"])
def get_related(
    paper_id: str,
    core: CoreDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="How many related papers.")] = 10,
) -> ResultPageOut:
    """The papers nearest in meaning, without the paper itself and its duplicates."""
    return ResultPageOut.model_validate(core.related(core.paper(paper_id), limit=limit))


@router.get("/papers/{paper_id:path}", responses=_NOT_FOUND, tags=["papers"])
def get_paper(paper_id: str, core: CoreDep) -> PaperOut:
    """A paper by any of its ids: arXiv id (with or without version), `pf-` key or DOI."""
    return PaperOut.model_validate(core.paper(paper_id))


DayPageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page of the day's list, from 1.")]
DayPerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Papers per page.")]


@router.get("/days/latest", tags=["days"])
def get_latest_day(core: CoreDep, page: DayPageNumber = 1, per_page: DayPerPage = 50) -> DayOut:
    """The papers of the latest day with papers, most upvoted first."""
    return DayOut.model_validate(core.day(page=page, per_page=per_page))


@router.get("/days/{day}", tags=["days"])
def get_day(day: Day, core: CoreDep, page: DayPageNumber = 1, per_page: DayPerPage = 50) -> DayOut:
    """The papers listed on a day (YYYY-MM-DD), most upvoted first; a day without papers is an empty list."""
    return DayOut.model_validate(core.day(day, page=page, per_page=per_page))


@router.get("/search", tags=["search"])
def search(
    core: CoreDep,
    q: Annotated[str, Query(description='Words, "quoted phrases", -excluded words, AND/OR/NOT.')] = "",
    author: Annotated[str | None, Query(description="Only papers by this author.")] = None,
    category: Annotated[str | None, Query(description="Only papers in this category, e.g. cs.CL.")] = None,
    date_from: Annotated[Day | None, Query(alias="from", description="Published on or after.")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="Published on or before.")] = None,
    has_code: Annotated[bool | None, Query(description="With (true) or without (false) a code link.")] = None,
    sort: Annotated[SortOrder, Query()] = "relevance",
    mode: Annotated[SearchMode, Query(description="keyword (BM25), semantic (by meaning) or hybrid.")] = (
        DEFAULT_SEARCH_MODE
    ),
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Papers matching a query and filters, one page at a time; an empty query lists the newest."""
    request = SearchRequest(
        query=q,
        filters=SearchFilters(
            date_from=date_from, date_to=date_to, author=author, category=category, has_code=has_code
        ),
        sort=sort,
        page=page,
        per_page=per_page,
        mode=mode,
    )
    return ResultPageOut.model_validate(core.search(request))


STATS_MAX_AGE_S = 60.0  # the summary scans every paper; a minute's staleness is invisible


@router.get("/stats", tags=["stats"])
def get_stats(core: CoreDep) -> StatsOut:
    """How many papers there are, over which days, from which sources (at most a minute old)."""
    return StatsOut.model_validate(core.stats(max_age=STATS_MAX_AGE_S))
