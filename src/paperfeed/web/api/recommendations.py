"""Recommendations in the JSON API: the caller's own, or one of their own collections', and the
papers they marked "not interested". Another user's collection is a 404 here, whatever its
visibility: recommendations are always the caller's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE
from paperfeed.web.api.schemas import ErrorOut, ResultPageOut
from paperfeed.web.deps import MAX_ID, CoreDep
from paperfeed.web.security import require_user

router = APIRouter(
    tags=["recommendations"],
    responses={
        401: {"model": ErrorOut, "description": "Log in first (session cookie)."},
        404: {"model": ErrorOut, "description": "No such paper, or no such collection of yours."},
    },
)


class DismissalIn(BaseModel):
    paper: str = Field(min_length=1, max_length=300, description="A paper id (arXiv id, key or DOI).")


class DismissalOut(BaseModel):
    paper_id: str
    dismissed: bool = Field(description="Whether the paper is now kept out of your recommendations.")


@router.get("/recommendations")
def api_recommendations(
    request: Request,
    core: CoreDep,
    collection: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="One of your collections: learn from its papers only.")
    ] = None,
    window: Annotated[
        Literal["month", "year", "all"], Query(description="Papers of the past month, year, or all of them.")
    ] = "month",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Papers ranked for you from what you upvoted and saved (or from one collection), each with
    its reason ("because you liked …"); never one you liked or marked not interested."""
    result = core.recommendations(
        require_user(request), collection_id=collection, window=window, page=page, per_page=per_page
    )
    return ResultPageOut.model_validate(result)


@router.post("/dismissals", status_code=201)
def api_dismiss(body: DismissalIn, request: Request, core: CoreDep) -> DismissalOut:
    """Not interested: the paper leaves your recommendations (page, digest, feed) and teaches them."""
    paper = core.dismiss(require_user(request), body.paper)
    return DismissalOut(paper_id=paper.url_id, dismissed=True)


@router.delete("/dismissals/{ref:path}")
def api_undismiss(ref: str, request: Request, core: CoreDep) -> DismissalOut:
    """Take "not interested" back."""
    paper = core.undismiss(require_user(request), ref)
    return DismissalOut(paper_id=paper.url_id, dismissed=False)
