"""The community side of the web interface: submitting papers, upvotes, comments, moderation
and trending pages, plus their JSON API under /api.

Upvote buttons are small forms: htmx posts them in place and swaps in the new button and count;
without JavaScript they post normally and come back to the same page. Every state-changing
request passes the CSRF check of `web.security` first.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.templating import Jinja2Templates

from paperfeed.community.trending import PERIODS
from paperfeed.core import MAX_PAGE, MAX_PER_PAGE, PaperFeed
from paperfeed.errors import (
    InvalidInput,
    LoginRequired,
    NotFound,
    PaperfeedError,
    PermissionDenied,
    SourceUnavailable,
    TooManyRequests,
)
from paperfeed.models import Comment, Paper, RankedPaper, Submission, User, VoteState
from paperfeed.web import auth
from paperfeed.web.deps import MAX_ID, CoreDep, Day, RowId, TemplatesDep, parse_id
from paperfeed.web.schemas import ErrorOut, PaperOut, ResultPageOut
from paperfeed.web.security import CSRF_HEADER, CsrfMiddleware, csrf_token, current_user
from paperfeed.web.ui import parse_day

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api_router = APIRouter(
    responses={
        401: {"model": ErrorOut, "description": "Log in first (session cookie)."},
        403: {
            "model": ErrorOut,
            "description": f"Not allowed, or the {CSRF_HEADER} header is missing or wrong.",
        },
    }
)
PER_PAGE = 20


# --- what every template gets -------------------------------------------------------------------


class CommunityView:
    """The community side of papers as templates ask for it. `load(papers)` fetches the vote
    counts and submitters of a whole listing in two queries; a paper not loaded is fetched alone."""

    def __init__(self, core: PaperFeed, user: User | None) -> None:
        self.core = core
        self.user = user
        self._votes: dict[int, VoteState] = {}
        self._submissions: dict[int, Submission | None] = {}

    def load(self, items: list[Paper] | list[RankedPaper]) -> str:
        papers = [getattr(item, "paper", item) for item in items]
        ids = [paper.id for paper in papers if paper.id not in self._votes]
        if ids:
            self._votes.update(self.core.vote_states(ids, self.user))
            submissions = self.core.submissions_for(ids)
            self._submissions.update({paper_id: submissions.get(paper_id) for paper_id in ids})
        return ""

    def vote(self, paper: Paper) -> VoteState:
        if paper.id not in self._votes:
            self.load([paper])
        return self._votes[paper.id]

    def submission(self, paper: Paper) -> Submission | None:
        if paper.id not in self._submissions:
            self.load([paper])
        return self._submissions[paper.id]

    def comments(self, paper: Paper) -> list[Comment]:
        return self.core.comments(paper, self.user)


def template_context(request: Request) -> dict[str, Any]:
    user = current_user(request)
    return {
        "current_user": user,
        "csrf_token": csrf_token(request),
        "community": CommunityView(request.app.state.core, user),
    }


def when(moment: dt.datetime | None) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}, {moment:%H:%M} UTC" if moment else ""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    from paperfeed.web.app import error_response  # the app module includes this one

    response = error_response(request, status, message)
    response.headers.update(headers or {})
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return _error(request, 401, str(exc))
        target = auth.login_url(auth.return_path(request))
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PermissionDenied)
    async def permission_denied(request: Request, exc: PermissionDenied) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(TooManyRequests)
    async def too_many(request: Request, exc: TooManyRequests) -> Response:
        return _error(request, 429, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(SourceUnavailable)
    async def unavailable(request: Request, exc: SourceUnavailable) -> Response:
        return _error(request, 503, str(exc), {"Retry-After": "60"})


def install(app: FastAPI) -> None:
    """Add sessions, CSRF protection, error pages and the community routes to the application.
    Call it before other routers are included: its routes must win over their catch-all paths."""
    templates: Jinja2Templates = app.state.templates
    templates.context_processors.append(template_context)
    templates.env.filters["when"] = when
    app.add_middleware(CsrfMiddleware)
    _install_error_handlers(app)
    app.include_router(api_router, prefix="/api")
    app.include_router(auth.router)
    app.include_router(router)


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired("log in first")
    return user


def _render(
    request: Request, templates: Jinja2Templates, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _status_of(exc: PaperfeedError) -> int:
    for kind, status in (
        (TooManyRequests, 429),
        (NotFound, 404),
        (PermissionDenied, 403),
        (SourceUnavailable, 503),
    ):
        if isinstance(exc, kind):
            return status
    return 400


# --- submitting -----------------------------------------------------------------------------------


@router.get("/submit")
def submit_page(request: Request, templates: TemplatesDep) -> HTMLResponse:
    require_user(request)
    return _render(request, templates, "submit.html", {"ref": "", "error": None, "nav": "submit"})


@router.post("/submit")
def submit(
    request: Request, core: CoreDep, templates: TemplatesDep, ref: Annotated[str, Form()] = ""
) -> Response:
    user = require_user(request)
    try:
        outcome = core.submit_paper(user, ref)
    except (InvalidInput, NotFound, TooManyRequests, SourceUnavailable, PermissionDenied) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        response = _render(
            request,
            templates,
            "submit.html",
            {"ref": ref[:300], "error": str(exc), "nav": "submit"},
            _status_of(exc),
        )
        response.headers.update(headers or {})
        return response
    target = f"/papers/{outcome.paper.url_id}"
    return RedirectResponse(target + ("?submitted=1" if outcome.created else "?known=1"), status_code=303)


# --- upvotes ------------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/vote")
def vote(
    ref: str, request: Request, core: CoreDep, templates: TemplatesDep, next: Annotated[str, Form()] = "/"
) -> Response:
    user = require_user(request)
    state = core.toggle_vote(user, ref)
    here = auth.safe_next(next)
    if request.headers.get("HX-Request"):
        paper = core.paper(ref)
        return _render(request, templates, "_vote.html", {"paper": paper, "vote": state, "here": here})
    return RedirectResponse(here, status_code=303)


# --- saved papers -------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/save")
def save(ref: str, request: Request, core: CoreDep, saved: Annotated[str, Form()] = "1") -> Response:
    core.set_saved(require_user(request), ref, saved == "1")
    return RedirectResponse(f"/papers/{core.paper(ref).url_id}", status_code=303)


# --- comments -----------------------------------------------------------------------------------


def _comment_url(paper: Paper, comment_id: int | None = None) -> str:
    return f"/papers/{paper.url_id}" + (f"#comment-{comment_id}" if comment_id else "#comments")


@router.post("/papers/{ref:path}/comments")
def add_comment(
    ref: str,
    request: Request,
    core: CoreDep,
    body: Annotated[str, Form()] = "",
    parent_id: Annotated[str, Form()] = "",
) -> Response:
    user = require_user(request)
    parent = parse_id(parent_id) if parent_id.strip() else None
    if parent_id.strip() and parent is None:
        raise InvalidInput(f"there is no comment {parent_id.strip()[:20]!r} to reply to")
    comment = core.add_comment(user, ref, body, parent_id=parent)
    return RedirectResponse(_comment_url(core.paper(ref), comment.id), status_code=303)


@router.get("/comments/{comment_id}/edit")
def edit_comment_page(
    comment_id: RowId, request: Request, core: CoreDep, templates: TemplatesDep, next: str = "/"
) -> Response:
    user = require_user(request)
    comment = core.comment(comment_id, user)
    if comment.user_id != user.id:
        raise PermissionDenied("you can only edit your own comments")
    context = {"comment": comment, "body": comment.body, "error": None, "here": auth.safe_next(next)}
    return _render(request, templates, "comment_edit.html", context)


@router.post("/comments/{comment_id}/edit")
def edit_comment(
    comment_id: RowId,
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    body: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = require_user(request)
    here = auth.safe_next(next)
    try:
        comment = core.edit_comment(user, comment_id, body)
    except InvalidInput as exc:
        comment = core.comment(comment_id, user)
        context = {"comment": comment, "body": body, "error": str(exc), "here": here}
        return _render(request, templates, "comment_edit.html", context, 400)
    return RedirectResponse(f"{here.split('#')[0]}#comment-{comment.id}", status_code=303)


@router.post("/comments/{comment_id}/delete")
def delete_comment(
    comment_id: RowId, request: Request, core: CoreDep, next: Annotated[str, Form()] = "/"
) -> Response:
    user = require_user(request)
    core.delete_comment(user, comment_id)
    return RedirectResponse(auth.safe_next(next), status_code=303)


# --- moderation ---------------------------------------------------------------------------------


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@router.get("/admin")
def admin_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    moderation = core.moderation(require_user(request))
    return _render(request, templates, "admin.html", {"moderation": moderation, "nav": "admin"})


@router.post("/admin/papers/{ref:path}/hide")
def hide_paper(ref: str, request: Request, core: CoreDep, hidden: Annotated[str, Form()] = "1") -> Response:
    paper = core.hide_paper(require_user(request), ref, _flag(hidden))
    return RedirectResponse("/admin" if paper.hidden else f"/papers/{paper.url_id}", status_code=303)


@router.post("/admin/comments/{comment_id}/hide")
def hide_comment(
    comment_id: RowId,
    request: Request,
    core: CoreDep,
    hidden: Annotated[str, Form()] = "1",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    core.hide_comment(require_user(request), comment_id, _flag(hidden))
    return RedirectResponse(auth.safe_next(next), status_code=303)


@router.post("/admin/users/suspend")
def suspend_user(
    request: Request,
    core: CoreDep,
    name: Annotated[str, Form()] = "",
    suspended: Annotated[str, Form()] = "1",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    core.set_suspended(name, _flag(suspended), by=require_user(request))
    return RedirectResponse(auth.safe_next(next), status_code=303)


# --- trending -----------------------------------------------------------------------------------


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


@router.get("/trending")
def trending_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    period = request.query_params.get("period", "day")
    if period not in PERIODS:
        period = "day"
    result = core.trending(period, page=_page_number(request.query_params.get("page")), per_page=PER_PAGE)
    context = {"result": result, "period": period, "day": None, "day_page": None, "nav": "trending"}
    return _render(request, templates, "trending.html", context)


@router.get("/top")
def top_latest(request: Request, core: CoreDep) -> RedirectResponse:
    chosen = request.query_params.get("day") or ""
    day = parse_day(chosen) if chosen else core.day().day
    return RedirectResponse(f"/top/{day.isoformat()}", status_code=303)


@router.get("/top/{day}")
def top_page(day: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    chosen = parse_day(day)
    result = core.top_of_day(chosen, page=_page_number(request.query_params.get("page")), per_page=PER_PAGE)
    context = {
        "result": result,
        "period": None,
        "day": chosen,
        "day_page": core.day(chosen),
        "nav": "trending",
    }
    return _render(request, templates, "trending.html", context)


# --- JSON API -----------------------------------------------------------------------------------


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SessionOut(BaseModel):
    user: str | None = Field(description="The logged-in user's name; null when logged out.")
    is_admin: bool
    csrf_token: str = Field(
        description=f"Send it as the {CSRF_HEADER} header with every POST, PATCH and DELETE."
    )


class VoteOut(BaseModel):
    paper_id: str
    votes: int
    voted: bool = Field(description="Whether you upvote the paper now.")


class CommentIn(BaseModel):
    body: str = Field(min_length=1, description="Markdown, at most 10,000 characters.")
    parent_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The comment this one replies to."
    )


class CommentEditIn(BaseModel):
    body: str = Field(min_length=1)


class CommentOut(_FromDomain):
    id: int
    parent_id: int | None
    author: str
    body: str = Field(description="Markdown as written; empty for deleted and hidden comments.")
    html: str = Field(description="The body rendered and sanitised; empty for deleted and hidden comments.")
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    hidden: bool
    replies: list[CommentOut]


class SubmissionIn(BaseModel):
    arxiv: str = Field(min_length=1, description="An arXiv id (2401.01234, hep-th/9901001) or arxiv.org URL.")


class SubmissionOut(BaseModel):
    paper: PaperOut
    submitted_by: str
    submitted_on: dt.date
    created: bool = Field(description="False when the paper had been submitted before (by submitted_by).")


def _api_user(request: Request) -> User:
    return require_user(request)


@api_router.get("/session", tags=["community"])
def get_session(request: Request) -> SessionOut:
    """Who you are logged in as, and the CSRF token your state-changing requests must send."""
    user = current_user(request)
    return SessionOut(
        user=user.name if user else None,
        is_admin=bool(user and user.is_admin),
        csrf_token=csrf_token(request),
    )


class SavedIn(BaseModel):
    saved: bool = Field(description="true saves the paper to your list, false takes it off.")


class SavedOut(BaseModel):
    paper_id: str
    saved: bool


@api_router.post("/papers/{ref:path}/save", tags=["community"])
def api_save(ref: str, body: SavedIn, request: Request, core: CoreDep) -> SavedOut:
    """Save a paper (or take it off your list); saved papers shape your recommendations."""
    saved = core.set_saved(_api_user(request), ref, body.saved)
    return SavedOut(paper_id=core.paper(ref).url_id, saved=saved)


@api_router.post("/papers/{ref:path}/vote", tags=["community"])
def api_vote(ref: str, request: Request, core: CoreDep) -> VoteOut:
    """Upvote the paper, or take your upvote back."""
    state = core.toggle_vote(_api_user(request), ref)
    return VoteOut(paper_id=core.paper(ref).paper_id, votes=state.votes, voted=state.voted)


@api_router.get("/papers/{ref:path}/comments", tags=["community"])
def api_comments(ref: str, request: Request, core: CoreDep) -> list[CommentOut]:
    """The paper's discussion, as threads (oldest first)."""
    return [CommentOut.model_validate(c) for c in core.comments(core.paper(ref), current_user(request))]


@api_router.post("/papers/{ref:path}/comments", status_code=201, tags=["community"])
def api_add_comment(ref: str, comment: CommentIn, request: Request, core: CoreDep) -> CommentOut:
    """Comment on a paper, or reply to a comment."""
    added = core.add_comment(_api_user(request), ref, comment.body, parent_id=comment.parent_id)
    return CommentOut.model_validate(added)


@api_router.patch("/comments/{comment_id}", tags=["community"])
def api_edit_comment(comment_id: RowId, edit: CommentEditIn, request: Request, core: CoreDep) -> CommentOut:
    """Change the text of your own comment."""
    return CommentOut.model_validate(core.edit_comment(_api_user(request), comment_id, edit.body))


@api_router.delete("/comments/{comment_id}", status_code=204, tags=["community"])
def api_delete_comment(comment_id: RowId, request: Request, core: CoreDep) -> Response:
    """Delete your own comment (replies to it stay)."""
    core.delete_comment(_api_user(request), comment_id)
    return Response(status_code=204)


@api_router.post("/submissions", tags=["community"], responses={201: {"model": SubmissionOut}})
def api_submit(
    submission: SubmissionIn, request: Request, response: Response, core: CoreDep
) -> SubmissionOut:
    """Submit a paper by arXiv id or URL; it is listed on today's page, credited to you."""
    outcome = core.submit_paper(_api_user(request), submission.arxiv)
    response.status_code = 201 if outcome.created else 200
    return SubmissionOut(
        paper=PaperOut.model_validate(outcome.paper),
        submitted_by=outcome.submission.user_name,
        submitted_on=outcome.submission.submitted_on,
        created=outcome.created,
    )


@api_router.get("/trending", tags=["community"])
def api_trending(
    core: CoreDep,
    period: Annotated[str, Query(pattern="^(day|week|month)$", description="day, week or month.")] = "day",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Papers ranked by time-decayed upvotes; `reason` says how many upvotes in the period."""
    return ResultPageOut.model_validate(core.trending(period, page=page, per_page=per_page))


@api_router.get("/top/{day}", tags=["community"])
def api_top(
    day: Day,
    core: CoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """The papers of a day's page, most upvoted first."""
    return ResultPageOut.model_validate(core.top_of_day(day, page=page, per_page=per_page))
