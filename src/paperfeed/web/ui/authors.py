"""Author pages: an author's papers newest first, co-authors, categories, the name variants
joined or left apart (paperfeed.library.authors says when), a feed, and a follow button.

The follow button is a small form: htmx posts it in place and swaps in the new button; without
JavaScript it posts normally and comes back to the author page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.digest.links import Links
from paperfeed.errors import NotFound
from paperfeed.models import RankedPaper
from paperfeed.web.deps import CoreDep, TemplatesDep, public_base
from paperfeed.web.feeds import FEED_ITEMS, render_feed
from paperfeed.web.security import current_user, require_user

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PER_PAGE = 20


def author_path(name: str) -> str:
    return "/authors/" + quote(name, safe="")


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "")
    return min(int(text), 500) if text.isdigit() and int(text) >= 1 else 1


@router.get("/authors/{name:path}")
def author_page(name: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    profile, result = core.author(name, page=_page_number(request), per_page=PER_PAGE)
    here = author_path(name)
    context = {
        "profile": profile,
        "result": result,
        "asked": name,
        "here": here,
        "following": core.authors.is_following(current_user(request), profile),
        "prev_url": f"{here}?page={result.page - 1}" if result.has_prev else None,
        "next_url": f"{here}?page={result.page + 1}" if result.has_next else None,
        "first_rank": (result.page - 1) * result.per_page + 1,
    }
    return templates.TemplateResponse(request, "author.html", context)


@router.post("/authors/{name:path}/follow")
def follow_author(
    name: str,
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    follow: Annotated[str, Form()] = "1",
) -> Response:
    user = require_user(request)
    profile = core.follow_author(user, name, follow == "1")
    if request.headers.get("HX-Request"):
        context = {"profile": profile, "asked": name, "following": follow == "1"}
        return templates.TemplateResponse(request, "_author_follow.html", context)
    return RedirectResponse(author_path(name), status_code=303)


@router.post("/settings/authors/unfollow")
def unfollow_from_settings(request: Request, core: CoreDep, key: Annotated[str, Form()]) -> Response:
    core.authors.unfollow_key(require_user(request), key[:300])
    return RedirectResponse("/settings/subscriptions#authors", status_code=303)


@router.get("/feeds/authors/{name:path}.{fmt}", response_class=Response)
def author_feed(name: str, fmt: str, request: Request, core: CoreDep) -> Response:
    if fmt not in ("rss", "atom"):
        raise NotFound("feeds are .rss or .atom")
    profile, result = core.author(name, per_page=FEED_ITEMS)
    return render_feed(
        request,
        fmt,  # type: ignore[arg-type]
        title=f"paperfeed: papers by {profile.name}",
        description=f"The newest papers by {profile.name} on paperfeed.",
        page_url=Links(core.settings, public_base(request)).base_url + author_path(profile.name),
        items=[RankedPaper(paper=item.paper, score=0.0) for item in result.items],
    )
