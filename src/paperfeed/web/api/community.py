"""The community side of the JSON API: the session, upvotes, saved papers, comments,
submissions and trending."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE
from paperfeed.models import User
from paperfeed.web.api.schemas import ErrorOut, PaperOut, ResultPageOut
from paperfeed.web.deps import MAX_ID, CoreDep, Day, RowId
from paperfeed.web.security import CSRF_HEADER, csrf_token, current_user, require_user

router = APIRouter(
    responses={
        401: {"model": ErrorOut, "description": "Log in first (session cookie)."},
        403: {
            "model": ErrorOut,
            "description": f"Not allowed, or the {CSRF_HEADER} header is missing or wrong.",
        },
    }
)


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


@router.get("/session", tags=["community"])
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


@router.post("/papers/{ref:path}/save", tags=["community"])
def api_save(ref: str, body: SavedIn, request: Request, core: CoreDep) -> SavedOut:
    """Save a paper (or take it off your list); saved papers shape your recommendations."""
    saved = core.set_saved(_api_user(request), ref, body.saved)
    return SavedOut(paper_id=core.paper(ref).url_id, saved=saved)


@router.post("/papers/{ref:path}/vote", tags=["community"])
def api_vote(ref: str, request: Request, core: CoreDep) -> VoteOut:
    """Upvote the paper, or take your upvote back."""
    state = core.toggle_vote(_api_user(request), ref)
    return VoteOut(paper_id=core.paper(ref).paper_id, votes=state.votes, voted=state.voted)


@router.get("/papers/{ref:path}/comments", tags=["community"])
def api_comments(ref: str, request: Request, core: CoreDep) -> list[CommentOut]:
    """The paper's discussion, as threads (oldest first)."""
    return [CommentOut.model_validate(c) for c in core.comments(core.paper(ref), current_user(request))]


@router.post("/papers/{ref:path}/comments", status_code=201, tags=["community"])
def api_add_comment(ref: str, comment: CommentIn, request: Request, core: CoreDep) -> CommentOut:
    """Comment on a paper, or reply to a comment."""
    added = core.add_comment(_api_user(request), ref, comment.body, parent_id=comment.parent_id)
    return CommentOut.model_validate(added)


@router.patch("/comments/{comment_id}", tags=["community"])
def api_edit_comment(comment_id: RowId, edit: CommentEditIn, request: Request, core: CoreDep) -> CommentOut:
    """Change the text of your own comment."""
    return CommentOut.model_validate(core.edit_comment(_api_user(request), comment_id, edit.body))


@router.delete("/comments/{comment_id}", status_code=204, tags=["community"])
def api_delete_comment(comment_id: RowId, request: Request, core: CoreDep) -> Response:
    """Delete your own comment (replies to it stay)."""
    core.delete_comment(_api_user(request), comment_id)
    return Response(status_code=204)


@router.post("/submissions", tags=["community"], responses={201: {"model": SubmissionOut}})
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


@router.get("/trending", tags=["community"])
def api_trending(
    core: CoreDep,
    period: Annotated[str, Query(pattern="^(day|week|month)$", description="day, week or month.")] = "day",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Papers ranked by time-decayed upvotes; `reason` says how many upvotes in the period."""
    return ResultPageOut.model_validate(core.trending(period, page=page, per_page=per_page))


@router.get("/top/{day}", tags=["community"])
def api_top(
    day: Day,
    core: CoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """The papers of a day's page, most upvoted first."""
    return ResultPageOut.model_validate(core.top_of_day(day, page=page, per_page=per_page))
