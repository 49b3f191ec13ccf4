"""The community pages: submitting papers, upvotes, saved papers, comments, moderation and
trending.

Upvote buttons are small forms: htmx posts them in place and swaps in the new button and count;
without JavaScript they post normally and come back to the same page. Every state-changing
request passes the CSRF check of `web.security` first.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from paperfeed import tex
from paperfeed.community.trending import PERIODS
from paperfeed.core import MAX_PAGE
from paperfeed.errors import (
    InvalidInput,
    NotFound,
    PaperfeedError,
    PermissionDenied,
    SourceUnavailable,
    TooManyRequests,
)
from paperfeed.models import Paper
from paperfeed.web.deps import CoreDep, RowId, TemplatesDep, parse_id
from paperfeed.web.flash import Undo, set_flash
from paperfeed.web.redirects import safe_next
from paperfeed.web.security import require_user
from paperfeed.web.ui.pages import parse_day

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PER_PAGE = 20


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
    htmx = bool(request.headers.get("HX-Request"))
    try:
        outcome = core.submit_paper(user, ref)
    except (InvalidInput, NotFound, TooManyRequests, SourceUnavailable, PermissionDenied) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        response = _render(
            request,
            templates,
            "submit.html",
            {"ref": ref[:300], "error": str(exc), "nav": "submit"},
            200 if htmx else _status_of(exc),  # htmx swaps in only successful answers
        )
        response.headers.update(headers or {})
        return response
    target = f"/papers/{outcome.paper.url_id}" + ("?submitted=1" if outcome.created else "?known=1")
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# --- upvotes ------------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/vote")
def vote(
    ref: str, request: Request, core: CoreDep, templates: TemplatesDep, next: Annotated[str, Form()] = "/"
) -> Response:
    user = require_user(request)
    state = core.toggle_vote(user, ref)
    here = safe_next(next)
    if request.headers.get("HX-Request"):
        paper = core.paper(ref)
        return _render(request, templates, "_vote.html", {"paper": paper, "vote": state, "here": here})
    return RedirectResponse(here, status_code=303)


# --- saved papers -------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/save")
def save(ref: str, request: Request, core: CoreDep, saved: Annotated[str, Form()] = "1") -> Response:
    core.set_saved(require_user(request), ref, saved == "1")
    return RedirectResponse(f"/papers/{core.paper(ref).url_id}", status_code=303)


@router.get("/saved")
def saved_page(request: Request, core: CoreDep) -> Response:
    """Saved papers are the default collection: one page for them, with its feed and exports."""
    default = core.library.default(require_user(request))
    return RedirectResponse(f"/collections/{default.id}", status_code=303)


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
    target = _comment_url(core.paper(ref), comment.id)
    if request.headers.get("HX-Request"):
        # Posted in place: reload at the new comment (going to the same page with another #anchor
        # would only scroll, hence the refresh).
        return Response(status_code=204, headers={"HX-Redirect": target, "HX-Refresh": "true"})
    return RedirectResponse(target, status_code=303)


@router.get("/comments/{comment_id}/edit")
def edit_comment_page(
    comment_id: RowId, request: Request, core: CoreDep, templates: TemplatesDep, next: str = "/"
) -> Response:
    user = require_user(request)
    comment = core.comment(comment_id, user)
    if comment.user_id != user.id:
        raise PermissionDenied("you can only edit your own comments")
    context = {"comment": comment, "body": comment.body, "error": None, "here": safe_next(next)}
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
    here = safe_next(next)
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
    return set_flash(RedirectResponse(safe_next(next), status_code=303), request, "Your comment was deleted.")


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
    title = tex.plain(paper.title)
    response = RedirectResponse("/admin" if paper.hidden else f"/papers/{paper.url_id}", status_code=303)
    if not paper.hidden:
        return set_flash(response, request, f"“{title}” is shown again.")
    undo = Undo(f"/admin/papers/{quote(paper.url_id, safe='')}/hide", {"hidden": "0"})
    return set_flash(response, request, f"“{title}” is hidden from every page.", undo)


@router.post("/admin/comments/{comment_id}/hide")
def hide_comment(
    comment_id: RowId,
    request: Request,
    core: CoreDep,
    hidden: Annotated[str, Form()] = "1",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    comment = core.hide_comment(require_user(request), comment_id, _flag(hidden))
    here = safe_next(next)
    response = RedirectResponse(here, status_code=303)
    if not comment.hidden:
        return set_flash(response, request, f"The comment by {comment.author} is shown again.")
    undo = Undo(f"/admin/comments/{comment.id}/hide", {"hidden": "0", "next": here})
    return set_flash(response, request, f"The comment by {comment.author} is hidden from others.", undo)


@router.post("/admin/users/suspend")
def suspend_user(
    request: Request,
    core: CoreDep,
    name: Annotated[str, Form()] = "",
    suspended: Annotated[str, Form()] = "1",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    admin = require_user(request)
    wanted = _flag(suspended)
    was_suspended = name.strip().casefold() in core.suspended_names(admin)
    user = core.set_suspended(name, wanted, by=admin)
    here = safe_next(next)
    response = RedirectResponse(here, status_code=303)
    if wanted and was_suspended:
        return set_flash(response, request, f"{user.name} was already suspended.")
    if not wanted:
        return set_flash(response, request, f"{user.name} is reinstated: they can log in and post again.")
    undo = Undo("/admin/users/suspend", {"name": user.name, "suspended": "0", "next": here})
    return set_flash(response, request, f"{user.name} is suspended: they cannot log in or post.", undo)


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
        raise InvalidInput(f"there is no trending period {period[:20]!r}; use one of: {', '.join(PERIODS)}")
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
