"""The HTML pages. Handlers parse the request, call the core and render a template.

Query strings are parsed by hand rather than validated: whatever a person types into the
address bar or the search form must give a normal page, with a note about anything ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import QueryParams
from starlette.templating import Jinja2Templates

from paperfeed.core import MAX_PAGE
from paperfeed.errors import NotFound
from paperfeed.library import citations
from paperfeed.models import (
    DEFAULT_SEARCH_MODE,
    DayPage,
    ResultPage,
    SearchFilters,
    SearchMode,
    SearchRequest,
    SortOrder,
)
from paperfeed.web.deps import CoreDep, TemplatesDep
from paperfeed.web.security import current_user
from paperfeed.web.ui.templates import short_date

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PER_PAGE = 20
RELATED_ON_PAGE = 8
SEARCH_MODES = ("hybrid", "keyword", "semantic")
_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# --- daily pages ----------------------------------------------------------------------------


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date; anything else is a page that does not exist."""
    try:
        if _ISO_DAY_RE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise NotFound(f"there is no day {text[:40]!r}; days look like 2024-01-31")


def _day_page_number(request: Request) -> int:
    """?page=N of a day listing; anything unusable is page 1 (a day page never errors on it)."""
    text = request.query_params.get("page", "")
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true, yet int() refuses it
        return 1
    return min(max(1, int(text[:10])), MAX_PAGE)


def page_numbers(current: int, pages: int, around: int = 2) -> list[int | None]:
    """The page numbers a pager shows: the first, the last and `around` either side of the
    current one, None where numbers are left out (566 papers are 12 pages, not 12 "Next"s)."""
    shown = {1, pages, *range(max(1, current - around), min(pages, current + around) + 1)}
    numbers: list[int | None] = []
    for number in sorted(shown):
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day - dt.timedelta(days=day.weekday())  # weeks start on Monday
    return first, first + dt.timedelta(days=6)


def _month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _views(day: dt.date, current: str) -> list[tuple[str, str, bool]]:
    """The day, week and month views of a day: (label, address, whether it is this one)."""
    return [
        ("Day", f"/day/{day.isoformat()}", current == "day"),
        ("Week", f"/week/{_week_of(day)[0].isoformat()}", current == "week"),
        ("Month", f"/month/{day:%Y-%m}", current == "month"),
    ]


def _render_day(
    request: Request,
    templates: Jinja2Templates,
    page: DayPage,
    *,
    latest: bool,
    base_url: str,
    period: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "page": page,
        "period": period,  # a week's or a month's view: its heading and its neighbours' addresses
        "views": _views(page.day, period["view"] if period else "day"),
        "page_links": [
            (number, f"{base_url}?page={number}" if number else None)
            for number in page_numbers(page.page, page.pages)
        ],
        "day_value": page.day.isoformat(),
        "latest": latest,
        "nav": "daily",
        "prev_url": f"{base_url}?page={page.page - 1}" if page.has_prev else None,
        "next_url": f"{base_url}?page={page.page + 1}" if page.has_next else None,
        "first_rank": (page.page - 1) * page.per_page + 1,
    }
    return templates.TemplateResponse(request, "day.html", context)


@router.get("/")
def home(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    return _render_day(
        request, templates, core.day(page=_day_page_number(request)), latest=True, base_url="/"
    )


@router.get("/day")
def chosen_day(request: Request) -> RedirectResponse:
    """Where the daily page's date picker goes: /day?day=2025-12-31 is /day/2025-12-31."""
    return RedirectResponse(
        f"/day/{parse_day(request.query_params.get('day', '')).isoformat()}", status_code=303
    )


@router.get("/day/{day}")
def day_page(day: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    page = core.day(parse_day(day), page=_day_page_number(request))
    latest = page.next_day is None and bool(page.total)
    return _render_day(request, templates, page, latest=latest, base_url=f"/day/{page.day.isoformat()}")


@router.get("/week/{day}")
def week_page(day: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """The week (Monday to Sunday) holding `day`."""
    first, last = _week_of(parse_day(day))
    page = core.days(first, last, page=_day_page_number(request))
    week = dt.timedelta(days=7)
    period = {
        "view": "week",
        "heading": f"Week of {short_date(first)}",
        "prev_url": f"/week/{(first - week).isoformat()}",
        "prev_label": "← Previous week",
        "next_url": f"/week/{(first + week).isoformat()}",
        "next_label": "Next week →",
    }
    return _render_day(
        request, templates, page, latest=False, base_url=f"/week/{first.isoformat()}", period=period
    )


@router.get("/month/{month}")
def month_page(month: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """A calendar month, named YYYY-MM."""
    if not _ISO_MONTH_RE.match(month):
        raise NotFound(f"there is no month {month[:40]!r}; months look like 2024-01")
    first, last = _month_of(parse_day(f"{month}-01"))
    page = core.days(first, last, page=_day_page_number(request))
    before, after = _month_of(first - dt.timedelta(days=1))[0], last + dt.timedelta(days=1)
    period = {
        "view": "month",
        "heading": f"{first:%B %Y}",
        "prev_url": f"/month/{before:%Y-%m}",
        "prev_label": f"← {before:%B %Y}",
        "next_url": f"/month/{after:%Y-%m}",
        "next_label": f"{after:%B %Y} →",
    }
    return _render_day(request, templates, page, latest=False, base_url=f"/month/{month}", period=period)


# --- search ---------------------------------------------------------------------------------


def _clean(value: str | None, limit: int = 2_000) -> str:
    return _CONTROL_RE.sub("", value or "").strip()[:limit]


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"


@dataclass(slots=True)
class SearchForm:
    """The search form's fields as typed (for redisplay), plus notes on values that were ignored."""

    q: str = ""
    author: str = ""
    category: str = ""
    date_from: str = ""
    date_to: str = ""
    has_code: str = ""  # "", "1" or "0"
    sort: SortOrder = "relevance"
    mode: SearchMode = SearchRequest().mode
    page: int = 1
    notices: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params: QueryParams) -> SearchForm:
        form = cls(
            q=_clean(params.get("q"), limit=5_000),
            author=_clean(params.get("author"), limit=300),
            category=_clean(params.get("category"), limit=100),
        )
        for name, label in (("from", "from"), ("to", "to")):
            text = _clean(params.get(name), limit=100)
            if text and _iso_day(text) is None:
                form.notices.append(f"Ignored the {label} date “{_shown(text)}”: dates look like 2024-01-31.")
                text = ""
            setattr(form, "date_from" if name == "from" else "date_to", text)
        if form.date_from and form.date_to and form.date_from > form.date_to:
            form.notices.append("The from date is after the to date, so no paper can match.")
        has_code = _clean(params.get("has_code"), limit=100).lower()
        if has_code in _TRUE:
            form.has_code = "1"
        elif has_code in _FALSE:
            form.has_code = "0"
        elif has_code:
            form.notices.append(f"Ignored has_code “{_shown(has_code)}”: use 1 (with code) or 0 (without).")
        sort = _clean(params.get("sort"), limit=100).lower()
        if sort in ("relevance", "newest"):
            form.sort = sort  # type: ignore[assignment]
        elif sort:
            form.notices.append(f"Ignored sort “{_shown(sort)}”: results are sorted by relevance.")
        mode = _clean(params.get("mode"), limit=100).lower()
        if mode in SEARCH_MODES:
            form.mode = mode  # type: ignore[assignment]
        elif mode:
            form.notices.append(f"Ignored mode “{_shown(mode)}”: use keyword, semantic or hybrid.")
        page_text = _clean(params.get("page"), limit=100)
        if page_text:
            try:
                form.page = int(page_text)
            except ValueError:
                form.notices.append(f"“{_shown(page_text)}” is not a page number; showing page 1.")
            if form.page < 1:
                form.notices.append("Pages start at 1; showing page 1.")
                form.page = 1
            elif form.page > MAX_PAGE:
                form.notices.append(f"Results go up to page {MAX_PAGE}; showing page {MAX_PAGE}.")
                form.page = MAX_PAGE
        return form

    @property
    def has_filters(self) -> bool:
        return bool(self.author or self.category or self.date_from or self.date_to or self.has_code)

    @property
    def options_chosen(self) -> int:
        """How many of the filters, the mode and the order differ from their defaults: the
        filters' fold on a phone opens when any does, and its summary counts them."""
        chosen = (self.author, self.category, self.date_from, self.date_to, self.has_code)
        return sum(map(bool, chosen)) + (self.mode != DEFAULT_SEARCH_MODE) + (self.sort != "relevance")

    def to_request(self) -> SearchRequest:
        return SearchRequest(
            query=self.q,
            filters=SearchFilters(
                date_from=_iso_day(self.date_from),
                date_to=_iso_day(self.date_to),
                author=self.author or None,
                category=self.category or None,
                has_code={"1": True, "0": False}.get(self.has_code),
            ),
            sort=self.sort,
            mode=self.mode,
            page=self.page,
            per_page=PER_PAGE,
        )

    def feed_query(self) -> str:
        """This search's parameters for its feed, the mode spelt out (feeds default to keyword)."""
        params = {
            "q": self.q,
            "author": self.author,
            "category": self.category,
            "from": self.date_from,
            "to": self.date_to,
            "has_code": self.has_code,
            "mode": self.mode,
        }
        return urlencode({k: v for k, v in params.items() if v})

    def url(self, page: int) -> str:
        """This search's address, on another page; empty fields are left out."""
        params = {
            "q": self.q,
            "author": self.author,
            "category": self.category,
            "from": self.date_from,
            "to": self.date_to,
            "has_code": self.has_code,
            "sort": "" if self.sort == "relevance" else self.sort,
            "mode": "" if self.mode == SearchRequest().mode else self.mode,
            "page": "" if page == 1 else str(page),
        }
        return "/search?" + urlencode({k: v for k, v in params.items() if v})

    def url_for_query(self, query: str) -> str:
        """The first page of this search with other words (for "did you mean")."""
        return replace(self, q=query).url(1)


def _iso_day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if _ISO_DAY_RE.match(text) else None
    except ValueError:
        return None


@dataclass(slots=True)
class PageLink:
    number: int | None  # None: a gap ("…")
    url: str = ""
    current: bool = False


def page_links(form: SearchForm, result: ResultPage, around: int = 2) -> list[PageLink]:
    """Links to the first, last and nearby pages, with gaps between."""
    last = min(result.pages, MAX_PAGE)
    wanted = {1, last, *range(result.page - around, result.page + around + 1)}
    links: list[PageLink] = []
    for number in sorted(n for n in wanted if 1 <= n <= last):
        if links and links[-1].number is not None and number > links[-1].number + 1:
            links.append(PageLink(None))
        links.append(PageLink(number, form.url(number), current=number == result.page))
    return links


@router.get("/search")
def search_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    form = SearchForm.parse(request.query_params)
    result = core.search(form.to_request())
    if not result.items and result.total and form.page > result.pages:
        # Past the last page: show the last one, and say so, rather than an empty page.
        form.notices = [n for n in form.notices if not n.startswith("Results go up to page")]
        form.notices.append(
            f"There {'is' if result.pages == 1 else 'are'} only {result.pages} page{'' if result.pages == 1 else 's'}"
            f" of results; showing page {result.pages}."
        )
        form.page = result.pages
        result = core.search(form.to_request())
    context = {
        "form": form,
        "result": result,
        "page_links": page_links(form, result) if result.pages > 1 else [],
        "prev_url": form.url(result.page - 1) if result.has_prev else None,
        "next_url": form.url(result.page + 1) if result.has_next and result.page < MAX_PAGE else None,
        "first_rank": (result.page - 1) * result.per_page + 1,
        "query": form.q,
        "nav": "search",
    }
    return templates.TemplateResponse(request, "search.html", context)


# --- papers ---------------------------------------------------------------------------------


@router.get("/papers/{paper_id:path}")
def paper_page(paper_id: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    paper = core.paper(paper_id)
    context = {
        "paper": paper,
        "related": core.related(paper, limit=RELATED_ON_PAGE),
        "saved": core.is_saved(current_user(request), paper),
        "citation_bibtex": citations.to_bibtex([paper]),
        # After a submission: the page of the daily list it is on, to go and see it there.
        "day_page": core.day_page_of(paper) if request.query_params.keys() & {"submitted", "known"} else None,
        "nav": "",
    }
    return templates.TemplateResponse(request, "paper.html", context)
