"""The research library's pages: collections, notes, citation downloads, find similar, library
imports, and collection feeds.

Adding a paper to a collection is a small form on every card and paper page: htmx posts it in
place and swaps in the new form; without JavaScript it posts normally and comes back to the
same page. A collection someone may not read is a 404 to them, through pages and feeds alike
(and the JSON API, web.api.library).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.templating import Jinja2Templates

from paperfeed.core import MAX_PAGE, PaperFeed
from paperfeed.digest.links import Links
from paperfeed.errors import InvalidInput
from paperfeed.library import citations
from paperfeed.library.collections import MAX_DESCRIPTION, MAX_NAME
from paperfeed.models import VISIBILITIES, Collection, User
from paperfeed.web.deps import CoreDep, RowId, TemplatesDep, parse_id, public_base
from paperfeed.web.feeds import FEED_ITEMS, FEED_RESPONSE, FeedFormat, render_feed
from paperfeed.web.library_common import (
    EXPORT_LIMIT,
    MAX_JOB_ID,
    citation_format,
    citation_response,
    import_job,
    start_import,
)
from paperfeed.web.redirects import safe_next
from paperfeed.web.security import current_user, require_user
from paperfeed.web.ui.pages import SearchForm

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
feed_router = APIRouter(prefix="/feeds", tags=["feeds"], responses=FEED_RESPONSE, default_response_class=Response)


def _render(
    request: Request, templates: Jinja2Templates, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


def _collection_id(text: str) -> int:
    collection_id = parse_id(text)
    if collection_id is None:
        raise InvalidInput("choose a collection")
    return collection_id


# --- my library -----------------------------------------------------------------------------------


def _library_context(core: PaperFeed, user: User, **context: Any) -> dict[str, Any]:
    return {"collections": core.collections(user), "q": "", "result": None, "nav": "library", "error": None,
            "max_name": MAX_NAME, "max_description": MAX_DESCRIPTION, **context}  # fmt: skip


@router.get("/collections")
def library_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """The user's collections, the form for a new one, and a search of their library."""
    user = require_user(request)
    q = (request.query_params.get("q") or "").strip()[:500]
    result = core.library_search(user, q, page=_page_number(request.query_params.get("page"))) if q else None
    return _render(request, templates, "collections.html", _library_context(core, user, q=q, result=result))


@router.post("/collections")
def create_collection(
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "private",
) -> Response:
    user = require_user(request)
    try:
        collection = core.create_collection(user, name, description, visibility)
    except InvalidInput as exc:
        return _render(request, templates, "collections.html", _library_context(core, user, error=str(exc)), 400)
    return RedirectResponse(f"/collections/{collection.id}", status_code=303)


def _collection_page(
    request: Request, core: PaperFeed, templates: Jinja2Templates, collection: Collection, base_url: str
) -> HTMLResponse:
    viewer = current_user(request)
    result = core.collection_papers(collection, page=_page_number(request.query_params.get("page")))
    owner = viewer is not None and viewer.id == collection.user_id
    context = {
        "collection": collection,
        "result": result,
        "is_owner": owner,
        "notes": core.notes_for(viewer, [item.paper.id for item in result.items]) if owner else {},
        "base_url": base_url,
        "visibilities": VISIBILITIES,
        "feed_base": f"/feeds/collections/{collection.feed_token}",
        "export_base": f"/collections/{collection.id}/export" if owner or collection.visibility == "public"
        else f"/collections/shared/{collection.share_token}/export",
        "nav": "library" if owner else "",
    }  # fmt: skip
    return _render(request, templates, "collection.html", context)


@router.get("/collections/shared/{token}")
def shared_collection_page(token: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    collection = core.shared_collection(token)
    return _collection_page(request, core, templates, collection, f"/collections/shared/{token}")


@router.get("/collections/shared/{token}/export.{ext}")
def shared_collection_export(token: str, ext: str, core: CoreDep) -> Response:
    collection = core.shared_collection(token)
    papers = core.collection_paper_list(collection)[:EXPORT_LIMIT]
    return citation_response(papers, citation_format(ext), "collection")


@router.get("/collections/{collection_id:int}")
def collection_page(
    collection_id: RowId, request: Request, core: CoreDep, templates: TemplatesDep
) -> HTMLResponse:
    collection = core.collection(collection_id, current_user(request))
    return _collection_page(request, core, templates, collection, f"/collections/{collection.id}")


@router.get("/collections/{collection_id:int}/export.{ext}")
def collection_export(collection_id: RowId, ext: str, request: Request, core: CoreDep) -> Response:
    collection = core.collection(collection_id, current_user(request))
    papers = core.collection_paper_list(collection)[:EXPORT_LIMIT]
    return citation_response(papers, citation_format(ext), f"collection-{collection.id}")


@router.post("/collections/{collection_id:int}/edit")
def edit_collection(
    collection_id: RowId,
    request: Request,
    core: CoreDep,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "private",
) -> Response:
    user = require_user(request)
    core.update_collection(user, collection_id, name=name, description=description, visibility=visibility)
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post("/collections/{collection_id:int}/delete")
def delete_collection(collection_id: RowId, request: Request, core: CoreDep) -> Response:
    core.delete_collection(require_user(request), collection_id)
    return RedirectResponse("/collections", status_code=303)


# --- adding papers, from any listing ----------------------------------------------------------------


@router.post("/papers/{ref:path}/collect")
def collect(
    ref: str,
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    collection_id: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
    new_name: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Add the paper to a collection (a new one when `new_name` is given), or take it out of the
    collection `remove` names."""
    user = require_user(request)
    if remove.strip():
        core.remove_from_collection(user, _collection_id(remove), ref)
    elif new_name.strip():
        core.add_to_collection(user, core.create_collection(user, new_name).id, ref)
    else:
        core.add_to_collection(user, _collection_id(collection_id), ref)
    here = safe_next(next)
    if request.headers.get("HX-Request"):
        return _render(request, templates, "_collect.html", {"paper": core.paper(ref), "here": here})
    return RedirectResponse(here, status_code=303)


# --- notes ----------------------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/note")
def write_note(
    ref: str, request: Request, core: CoreDep, body: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
) -> Response:
    core.write_note(require_user(request), ref, body)
    return RedirectResponse(safe_next(next) if next else f"/papers/{core.paper(ref).url_id}#note",
                            status_code=303)  # fmt: skip


# --- citations --------------------------------------------------------------------------------------------


@router.get("/papers/{ref:path}/cite.{ext}")
def cite_paper(ref: str, ext: str, core: CoreDep) -> Response:
    paper = core.paper(ref)
    return citation_response([paper], citation_format(ext), citations.citation_keys([paper])[0])


@router.get("/search/export.{ext}")
def cite_search(ext: str, request: Request, core: CoreDep) -> Response:
    """The papers of one search results page, as the search page shows them."""
    fmt = citation_format(ext)
    result = core.search(SearchForm.parse(request.query_params).to_request())
    return citation_response([item.paper for item in result.items], fmt, "search")


# --- feeds ------------------------------------------------------------------------------------------------


@feed_router.get("/collections/{token}.{fmt}", summary="A collection's papers (by its feed's secret URL)")
def collection_feed(token: str, fmt: FeedFormat, request: Request, core: CoreDep) -> Response:
    collection = core.library.by_feed_token(token)
    result = core.collection_papers(collection, per_page=FEED_ITEMS)
    return render_feed(
        request,
        fmt,
        title=f"paperfeed: {collection.name} ({collection.owner})",
        description=collection.description or f"Papers {collection.owner} keeps in “{collection.name}”.",
        page_url=f"{Links(core.settings, public_base(request)).base_url}/collections/{collection.id}",
        items=result.items,
        private=collection.visibility != "public",
    )


# --- find similar ----------------------------------------------------------------------------------------


def _example_collection(core: PaperFeed, viewer: User | None, ref: str, token: str) -> Collection:
    """The collection to find papers like: by number if the viewer may read it, or by its link."""
    collection_id = parse_id(ref)
    if collection_id is None:
        raise InvalidInput("collections are given by number")
    if token:
        collection = core.shared_collection(token)
        if collection.id != collection_id:
            raise InvalidInput("that link is not this collection's")
        return collection
    return core.collection(collection_id, viewer)


@router.get("/similar")
def similar_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """Papers like a pasted text, a paper (?paper=) or a collection (?collection=)."""
    params = request.query_params
    text = (params.get("text") or "").strip()
    paper_ref = (params.get("paper") or "").strip()
    collection_ref = (params.get("collection") or "").strip()
    page = _page_number(params.get("page"))
    example_paper = example_collection = None
    result = None
    error = None
    try:
        if paper_ref:
            example_paper = core.paper(paper_ref)
            result = core.similar(paper=example_paper, page=page)
        elif collection_ref:
            example_collection = _example_collection(
                core, current_user(request), collection_ref, (params.get("token") or "")[:64]
            )
            result = core.similar(collection=example_collection, page=page)
        elif text:
            result = core.similar(text=text, page=page)
    except InvalidInput as exc:
        error = str(exc)
    context = {"text": text[:20_000], "result": result, "error": error, "example_paper": example_paper,
               "example_collection": example_collection, "nav": "search"}  # fmt: skip
    return _render(request, templates, "similar.html", context, 400 if error else 200)


# --- importing a library ------------------------------------------------------------------------------


@router.post("/collections/{collection_id:int}/import")
async def import_into_collection(collection_id: RowId, request: Request, core: CoreDep) -> Response:
    user = require_user(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload):
        raise InvalidInput("choose a file to import")
    data = await upload.read()
    job = start_import(core, user, collection_id, data, upload.filename or "")
    return RedirectResponse(f"/collections/imports/{job.id}", status_code=303)


@router.get("/collections/imports/{job_id}")
def import_page(job_id: str, request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    job = import_job(job_id[:MAX_JOB_ID], require_user(request))
    collection = core.store.collections.get(job.collection_id)
    context = {"job": job, "collection": collection, "nav": "library"}
    return _render(request, templates, "collection_import.html", context)
