"""Authors in the JSON API: an author's papers, co-authors, categories and name variants, and
following authors into your digest (which needs a log-in and a CSRF token, like every change)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE
from paperfeed.library.authors import AuthorProfile
from paperfeed.web.api.schemas import ErrorOut, ResultPageOut
from paperfeed.web.deps import CoreDep
from paperfeed.web.security import current_user, require_user

router = APIRouter(
    tags=["authors"],
    responses={404: {"model": ErrorOut, "description": "No paper has this name (or a variant of it)."}},
)
_LOGIN = {401: {"model": ErrorOut, "description": "Log in first (session cookie)."}}


class CountOut(BaseModel):
    name: str
    papers: int


class VariantOut(BaseModel):
    name: str
    papers: int
    joined: bool = Field(description="Whether its papers count as this author's.")
    reason: str = Field(description='Why: "shares the co-author …", "no co-author in common", …')


class AuthorOut(BaseModel):
    name: str = Field(description="The name as most often written.")
    key: str = Field(description="The author key names are matched by.")
    papers: ResultPageOut = Field(description="A page of the author's papers, newest first.")
    coauthors: list[CountOut] = Field(description="Co-authors and their papers together, most first.")
    categories: list[CountOut] = Field(description="Categories and the author's papers in each, most first.")
    variants: list[VariantOut] = Field(description="Other written names that could be this author.")
    following: bool | None = Field(description="Whether you follow the author (null when logged out).")


class FollowOut(BaseModel):
    name: str
    key: str
    following: bool


class FollowedOut(BaseModel):
    name: str
    key: str
    since: dt.datetime


def _follow_out(profile: AuthorProfile, following: bool) -> FollowOut:
    return FollowOut(name=profile.name, key=profile.key, following=following)


@router.get("/following/authors", responses=_LOGIN)
def api_followed_authors(request: Request, core: CoreDep) -> list[FollowedOut]:
    """The authors you follow, by name."""
    followed = core.followed_authors(require_user(request))
    return [FollowedOut(name=f.name, key=f.author_key, since=f.created_at) for f in followed]


@router.put("/authors/{name:path}/follow", responses=_LOGIN)
def api_follow_author(name: str, request: Request, core: CoreDep) -> FollowOut:
    """Follow the author: their new papers come in your digests."""
    return _follow_out(core.follow_author(require_user(request), name, True), True)


@router.delete("/authors/{name:path}/follow", responses=_LOGIN)
def api_unfollow_author(name: str, request: Request, core: CoreDep) -> FollowOut:
    """Stop following the author."""
    return _follow_out(core.follow_author(require_user(request), name, False), False)


@router.get("/authors/{name:path}")
def api_author(
    name: str,
    request: Request,
    core: CoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> AuthorOut:
    """The author written `name` (any spelling of the same key): papers, co-authors, categories,
    and the variants joined or left apart."""
    profile, result = core.author(name, page=page, per_page=per_page)
    user = current_user(request)
    return AuthorOut(
        name=profile.name,
        key=profile.key,
        papers=ResultPageOut.model_validate(result),
        coauthors=[CountOut(name=n, papers=c) for n, c in profile.coauthors],
        categories=[CountOut(name=n, papers=c) for n, c in profile.categories],
        variants=[
            VariantOut(name=v.name, papers=v.papers, joined=v.joined, reason=v.reason)
            for v in profile.variants
        ],
        following=core.authors.is_following(user, profile) if user else None,
    )
