"""The For-you page: the viewer's recommendations, or one of their collections', each with its
reason, and the "Not interested" button on every card.

"Not interested" is a small form: htmx posts it in place and the card gives way to a note with
an Undo button; without JavaScript it posts normally and comes back to the page, where the same
note shows as a message. Recommendations are only ever the viewer's own: another user's
collection is a 404 here as everywhere.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed import tex
from paperfeed.core import MAX_PAGE
from paperfeed.errors import NotFound
from paperfeed.library.recommend import WINDOWS
from paperfeed.web.deps import CoreDep, TemplatesDep, parse_id
from paperfeed.web.flash import Undo, set_flash
from paperfeed.web.redirects import safe_next
from paperfeed.web.security import require_user

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PER_PAGE = 20
WINDOW_LABELS = {"month": "Past month", "year": "Past year", "all": "All time"}


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


@router.get("/for-you")
def for_you_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    user = require_user(request)
    params = request.query_params
    window = params.get("window") or "month"
    if window not in WINDOWS:
        window = "month"
    collection_id = None
    if params.get("collection"):
        collection_id = parse_id(params["collection"])
        if collection_id is None:
            raise NotFound(f"no collection {params['collection']!r}")
    result = core.recommendations(
        user, collection_id=collection_id, window=window, page=_page_number(params.get("page")), per_page=PER_PAGE
    )
    collections = core.collections(user)
    context = {
        "result": result,
        "window": window,
        "windows": WINDOW_LABELS,
        "collections": collections,
        "collection": next((c for c in collections if c.id == collection_id), None),
        "has_liked": core.has_liked(user),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "nav": "for-you",
    }
    return templates.TemplateResponse(request, "for_you.html", context)


@router.post("/papers/{ref:path}/dismiss")
def dismiss(
    ref: str, request: Request, core: CoreDep, templates: TemplatesDep, next: Annotated[str, Form()] = "/for-you"
) -> Response:
    """Not interested: the paper leaves the viewer's recommendations and teaches them."""
    paper = core.dismiss(require_user(request), ref)
    here = safe_next(next)
    if request.headers.get("HX-Request"):
        return templates.TemplateResponse(request, "_dismissed.html", {"paper": paper, "here": here})
    undo = Undo(f"/papers/{quote(paper.url_id, safe='')}/undismiss", {"next": here})
    response = RedirectResponse(here, status_code=303)
    return set_flash(response, request, f"“{tex.plain(paper.title)}” will not be recommended again.", undo)


@router.post("/papers/{ref:path}/undismiss")
def undismiss(ref: str, request: Request, core: CoreDep, next: Annotated[str, Form()] = "/for-you") -> Response:
    paper = core.undismiss(require_user(request), ref)
    response = RedirectResponse(safe_next(next), status_code=303)
    return set_flash(response, request, f"“{tex.plain(paper.title)}” may be recommended again.")
