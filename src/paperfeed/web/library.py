"""The research library on the web: collections, notes and citations, as pages, feeds and the
JSON API under /api.

Adding a paper to a collection is a small form on every card and paper page: htmx posts it in
place and swaps in the new form; without JavaScript it posts normally and comes back to the
same page. A collection someone may not read is a 404 to them, through pages, feeds and API.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.templating import Jinja2Templates

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE, PaperFeed
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.library import citations
from paperfeed.library.collections import MAX_DESCRIPTION, MAX_NAME
from paperfeed.library.importer import LibraryImportReport
from paperfeed.library.notes import MAX_NOTE
from paperfeed.models import VISIBILITIES, Collection, Note, Paper, RankedPaper, User, Visibility
from paperfeed.web import auth
from paperfeed.web.community import require_user
from paperfeed.web.deps import CoreDep, TemplatesDep
from paperfeed.web.schemas import ErrorOut, ResultPageOut
from paperfeed.web.security import current_user

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api_router = APIRouter(
    tags=["library"],
    responses={
        401: {"model": ErrorOut, "description": "Log in first (session cookie)."},
        404: {"model": ErrorOut, "description": "No such collection or paper, or not yours to see."},
    },
)
feed_router = APIRouter(prefix="/feeds", tags=["feeds"])
PER_PAGE = 20
EXPORT_LIMIT = 10_000  # papers in one citation export


# --- what every template gets -------------------------------------------------------------------


class LibraryView:
    """The viewer's collections and which of them hold each paper, as templates ask for them;
    `load(papers)` fetches a whole listing's memberships in one query."""

    def __init__(self, core: PaperFeed, user: User | None) -> None:
        self.core = core
        self.user = user
        self._collections: list[Collection] | None = None
        self._held: dict[int, set[int]] = {}

    def collections(self) -> list[Collection]:
        if self._collections is None:
            self._collections = self.core.collections(self.user) if self.user else []
        return self._collections

    def load(self, items: list[Paper] | list[RankedPaper]) -> str:
        ids = [getattr(item, "paper", item).id for item in items]
        missing = [paper_id for paper_id in ids if paper_id not in self._held]
        if missing:
            self._held.update(self.core.memberships(self.user, missing))
        return ""

    def holding(self, paper: Paper) -> list[Collection]:
        """The viewer's collections holding the paper."""
        if self.user is None:
            return []
        if paper.id not in self._held:
            self.load([paper])
        return [c for c in self.collections() if c.id in self._held[paper.id]]

    def note(self, paper: Paper) -> Note | None:
        return self.core.note(self.user, paper)


def template_context(request: Request) -> dict[str, Any]:
    return {"library": LibraryView(request.app.state.core, current_user(request))}


def install(app: FastAPI) -> None:
    """Add the library's pages, feeds and API. Call it before the routers with catch-all paths
    (/papers/{id}, /api/papers/{id})."""
    templates: Jinja2Templates = app.state.templates
    templates.context_processors.append(template_context)
    app.include_router(api_router, prefix="/api")
    app.include_router(feed_router)
    app.include_router(router)


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
    if not text.strip().isdigit():
        raise InvalidInput("choose a collection")
    return int(text)


def _citation_response(papers: list[Paper], fmt: citations.CitationFormat, filename: str) -> Response:
    body = citations.export(papers, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{citations.EXTENSIONS[fmt]}"'}
    return Response(content=body, media_type=citations.MEDIA_TYPES[fmt], headers=headers)


def _format(text: str) -> citations.CitationFormat:
    try:
        return citations.parse_format(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


# --- my library -----------------------------------------------------------------------------------


@router.get("/collections")
def library_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """The user's collections, the form for a new one, and a search of their library."""
    user = require_user(request)
    q = (request.query_params.get("q") or "").strip()[:500]
    result = core.library_search(user, q, page=_page_number(request.query_params.get("page"))) if q else None
    context = {"collections": core.collections(user), "q": q, "result": result, "nav": "library",
               "error": None, "max_name": MAX_NAME, "max_description": MAX_DESCRIPTION}  # fmt: skip
    return _render(request, templates, "collections.html", context)


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
        context = {"collections": core.collections(user), "q": "", "result": None, "nav": "library",
                   "error": str(exc), "max_name": MAX_NAME, "max_description": MAX_DESCRIPTION}  # fmt: skip
        return _render(request, templates, "collections.html", context, 400)
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
    return _citation_response(core.collection_paper_list(collection)[:EXPORT_LIMIT], _format(ext), "collection")


@router.get("/collections/{collection_id:int}")
def collection_page(
    collection_id: int, request: Request, core: CoreDep, templates: TemplatesDep
) -> HTMLResponse:
    collection = core.collection(collection_id, current_user(request))
    return _collection_page(request, core, templates, collection, f"/collections/{collection.id}")


@router.get("/collections/{collection_id:int}/export.{ext}")
def collection_export(collection_id: int, ext: str, request: Request, core: CoreDep) -> Response:
    collection = core.collection(collection_id, current_user(request))
    papers = core.collection_paper_list(collection)[:EXPORT_LIMIT]
    return _citation_response(papers, _format(ext), f"collection-{collection.id}")


@router.post("/collections/{collection_id:int}/edit")
def edit_collection(
    collection_id: int,
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
def delete_collection(collection_id: int, request: Request, core: CoreDep) -> Response:
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
    here = auth.safe_next(next)
    if request.headers.get("HX-Request"):
        return _render(request, templates, "_collect.html", {"paper": core.paper(ref), "here": here})
    return RedirectResponse(here, status_code=303)


# --- notes ----------------------------------------------------------------------------------------------


@router.post("/papers/{ref:path}/note")
def write_note(
    ref: str, request: Request, core: CoreDep, body: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
) -> Response:
    core.write_note(require_user(request), ref, body)
    return RedirectResponse(auth.safe_next(next) if next else f"/papers/{core.paper(ref).url_id}#note",
                            status_code=303)  # fmt: skip


# --- citations --------------------------------------------------------------------------------------------


@router.get("/papers/{ref:path}/cite.{ext}")
def cite_paper(ref: str, ext: str, core: CoreDep) -> Response:
    paper = core.paper(ref)
    return _citation_response([paper], _format(ext), citations.citation_keys([paper])[0])


@router.get("/search/export.{ext}")
def cite_search(ext: str, request: Request, core: CoreDep) -> Response:
    """The papers of one search results page, as the search page shows them."""
    from paperfeed.web.ui import SearchForm

    fmt = _format(ext)
    result = core.search(SearchForm.parse(request.query_params).to_request())
    return _citation_response([item.paper for item in result.items], fmt, "search")


# --- feeds ------------------------------------------------------------------------------------------------


@feed_router.get("/collections/{token}.{fmt}", summary="A collection's papers (by its feed's secret URL)")
def collection_feed(token: str, fmt: str, request: Request, core: CoreDep) -> Response:
    from paperfeed.web.feeds import FEED_ITEMS, render_feed

    if fmt not in ("rss", "atom"):
        raise InvalidInput("feeds are .rss or .atom")
    collection = core.library.by_feed_token(token)
    result = core.collection_papers(collection, per_page=FEED_ITEMS)
    from paperfeed.digest.links import Links

    return render_feed(
        request,
        fmt,  # type: ignore[arg-type]
        title=f"paperfeed: {collection.name} ({collection.owner})",
        description=collection.description or f"Papers {collection.owner} keeps in “{collection.name}”.",
        page_url=f"{Links(core.settings).base_url}/collections/{collection.id}",
        items=result.items,
        private=collection.visibility != "public",
    )


# --- JSON API ---------------------------------------------------------------------------------------------


class CollectionIn(BaseModel):
    name: str = Field(max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    visibility: Visibility = Field(default="private", description="private, unlisted or public.")


class CollectionEditIn(BaseModel):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    visibility: Visibility | None = None


class CollectionOut(BaseModel):
    id: int
    name: str
    owner: str
    description: str
    visibility: Visibility
    is_default: bool = Field(description='The default collection ("Saved"), filled by the Save button.')
    papers: int
    created_at: dt.datetime
    updated_at: dt.datetime
    share_url: str | None = Field(description="The secret link of an unlisted collection (owner only).")
    feed_url: str | None = Field(description="The collection's Atom feed (its URL is secret unless public).")

    @classmethod
    def of(cls, c: Collection, viewer: User | None) -> CollectionOut:
        owner = viewer is not None and viewer.id == c.user_id
        return cls(
            id=c.id, name=c.name, owner=c.owner, description=c.description, visibility=c.visibility,
            is_default=c.is_default, papers=c.size, created_at=c.created_at, updated_at=c.updated_at,
            share_url=f"/collections/shared/{c.share_token}" if owner and c.visibility == "unlisted" else None,
            feed_url=f"/feeds/collections/{c.feed_token}.atom" if owner or c.visibility == "public" else None,
        )  # fmt: skip


class MembershipOut(BaseModel):
    collection_id: int
    paper_id: str
    added: bool | None = Field(default=None, description="False when the paper was in it already.")
    removed: bool | None = Field(default=None, description="False when the paper was not in it.")


class NoteIn(BaseModel):
    body: str = Field(max_length=MAX_NOTE, description="Markdown; empty deletes the note.")


class NoteOut(BaseModel):
    paper_id: str
    body: str
    html: str = Field(description="The note rendered and sanitised.")
    updated_at: dt.datetime


@api_router.get("/collections")
def api_collections(request: Request, core: CoreDep) -> list[CollectionOut]:
    """Your collections, the default one first."""
    user = require_user(request)
    return [CollectionOut.of(c, user) for c in core.collections(user)]


@api_router.post("/collections", status_code=201)
def api_create_collection(body: CollectionIn, request: Request, core: CoreDep) -> CollectionOut:
    user = require_user(request)
    return CollectionOut.of(core.create_collection(user, body.name, body.description, body.visibility), user)


@api_router.get("/collections/{collection_id}")
def api_collection(collection_id: int, request: Request, core: CoreDep) -> CollectionOut:
    viewer = current_user(request)
    return CollectionOut.of(core.collection(collection_id, viewer), viewer)


@api_router.patch("/collections/{collection_id}")
def api_edit_collection(collection_id: int, body: CollectionEditIn, request: Request, core: CoreDep) -> CollectionOut:
    user = require_user(request)
    changed = core.update_collection(
        user, collection_id, name=body.name, description=body.description, visibility=body.visibility
    )
    return CollectionOut.of(changed, user)


@api_router.delete("/collections/{collection_id}", status_code=204)
def api_delete_collection(collection_id: int, request: Request, core: CoreDep) -> Response:
    core.delete_collection(require_user(request), collection_id)
    return Response(status_code=204)


@api_router.get("/collections/{collection_id}/papers")
def api_collection_papers(
    collection_id: int,
    request: Request,
    core: CoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """The collection's papers, the last added first."""
    collection = core.collection(collection_id, current_user(request))
    return ResultPageOut.model_validate(core.collection_papers(collection, page=page, per_page=per_page))


@api_router.put("/collections/{collection_id}/papers/{ref:path}")
def api_add_paper(collection_id: int, ref: str, request: Request, core: CoreDep) -> MembershipOut:
    added = core.add_to_collection(require_user(request), collection_id, ref)
    return MembershipOut(collection_id=collection_id, paper_id=core.paper(ref).url_id, added=added)


@api_router.delete("/collections/{collection_id}/papers/{ref:path}")
def api_remove_paper(collection_id: int, ref: str, request: Request, core: CoreDep) -> MembershipOut:
    removed = core.remove_from_collection(require_user(request), collection_id, ref)
    return MembershipOut(collection_id=collection_id, paper_id=core.paper(ref).url_id, removed=removed)


@api_router.get("/collections/{collection_id}/export", response_class=Response)
def api_export_collection(
    collection_id: int,
    request: Request,
    core: CoreDep,
    format: Annotated[str, Query(description="bibtex, ris or csl-json.")] = "bibtex",
) -> Response:
    """The collection's papers as citations."""
    collection = core.collection(collection_id, current_user(request))
    papers = core.collection_paper_list(collection)[:EXPORT_LIMIT]
    return _citation_response(papers, _format(format), f"collection-{collection.id}")


@api_router.get("/papers/{ref:path}/citation", response_class=Response)
def api_cite_paper(
    ref: str, core: CoreDep, format: Annotated[str, Query(description="bibtex, ris or csl-json.")] = "bibtex"
) -> Response:
    """One paper as a citation."""
    paper = core.paper(ref)
    return _citation_response([paper], _format(format), citations.citation_keys([paper])[0])


@api_router.get("/papers/{ref:path}/note")
def api_note(ref: str, request: Request, core: CoreDep) -> NoteOut:
    """Your note on the paper (404 when you have none)."""
    paper = core.paper(ref)
    note = core.note(require_user(request), paper)
    if note is None:
        raise NotFound("you have no note on this paper")
    return NoteOut(paper_id=paper.url_id, body=note.body, html=note.html, updated_at=note.updated_at)


@api_router.put("/papers/{ref:path}/note")
def api_write_note(ref: str, body: NoteIn, request: Request, core: CoreDep) -> Response:
    """Write your private note on the paper; an empty body deletes it (204)."""
    note = core.write_note(require_user(request), ref, body.body)
    if note is None:
        return Response(status_code=204)
    out = NoteOut(paper_id=core.paper(ref).url_id, body=note.body, html=note.html, updated_at=note.updated_at)
    return Response(content=out.model_dump_json(), media_type="application/json")


@api_router.get("/library/search")
def api_library_search(
    request: Request,
    core: CoreDep,
    q: Annotated[str, Query(max_length=500, description="Words, all of which must match.")] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Search your own library: papers in your collections or with your note."""
    return ResultPageOut.model_validate(core.library_search(require_user(request), q, page=page, per_page=per_page))


# --- find similar ----------------------------------------------------------------------------------------


def _example_collection(core: PaperFeed, viewer: User | None, ref: str, token: str) -> Collection:
    """The collection to find papers like: by number if the viewer may read it, or by its link."""
    if token:
        collection = core.shared_collection(token)
        if str(collection.id) != ref.strip():
            raise InvalidInput("that link is not this collection's")
        return collection
    if not ref.strip().isdigit():
        raise InvalidInput("collections are given by number")
    return core.collection(int(ref), viewer)


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


class SimilarIn(BaseModel):
    text: str | None = Field(default=None, max_length=20_000, description="Any text: an abstract, a draft.")
    paper: str | None = Field(default=None, description="A paper id (arXiv id, key or DOI).")
    collection: int | None = Field(default=None, description="A collection you may read.")
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=MAX_PER_PAGE)


@api_router.post("/similar", tags=["search"])
def api_similar(body: SimilarIn, request: Request, core: CoreDep) -> ResultPageOut:
    """Papers nearest in meaning to a text, a paper or a collection (give exactly one)."""
    result = core.similar(
        text=body.text,
        paper=core.paper(body.paper) if body.paper else None,
        collection=core.collection(body.collection, current_user(request)) if body.collection else None,
        page=body.page,
        per_page=body.per_page,
    )
    return ResultPageOut.model_validate(result)


# --- importing a library ------------------------------------------------------------------------------
# An import runs in a thread of the server process, so a large library never holds a request open
# past a proxy's timeout; its page shows a progress bar (refreshing itself, no script needed) and
# then the report. Jobs live in the process that runs them: behind several workers, give the
# importing server a sticky session, or import with `paperfeed collection import`.


@dataclass(slots=True)
class ImportJob:
    id: str
    user_id: int
    collection_id: int
    filename: str
    done: int = 0
    total: int = 0
    report: LibraryImportReport | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.report is not None or self.error is not None


_JOBS: dict[str, ImportJob] = {}
_JOBS_LOCK = threading.Lock()
MAX_JOBS = 200  # finished jobs kept for their report pages


def _run_import(core: PaperFeed, user: User, job: ImportJob, data: bytes) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        job.report = core.import_library(user, job.collection_id, data, filename=job.filename, progress=progress)
    except PaperfeedError as exc:
        job.error = str(exc)
    except Exception:  # the thread has nobody to raise to: the job page says what happened
        logging.getLogger(__name__).exception("library import %s failed", job.id)
        job.error = "the import failed on our side; nothing more was imported"


def start_import(core: PaperFeed, user: User, collection_id: int, data: bytes, filename: str) -> ImportJob:
    collection = core.library.own(collection_id, user)
    if not data:
        raise InvalidInput("choose a file to import")
    job = ImportJob(id=secrets.token_urlsafe(12), user_id=user.id, collection_id=collection.id, filename=filename)
    with _JOBS_LOCK:
        finished = [key for key, j in _JOBS.items() if j.finished]
        for key in finished[: max(0, len(_JOBS) - MAX_JOBS)]:
            del _JOBS[key]
        _JOBS[job.id] = job
    threading.Thread(target=_run_import, args=(core, user, job, data), daemon=True, name=f"import-{job.id}").start()
    return job


def _job(job_id: str, user: User) -> ImportJob:
    job = _JOBS.get(job_id)
    if job is None or job.user_id != user.id:
        raise NotFound("no such import")
    return job


@router.post("/collections/{collection_id:int}/import")
async def import_into_collection(collection_id: int, request: Request, core: CoreDep) -> Response:
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
    job = _job(job_id, require_user(request))
    collection = core.store.collections.get(job.collection_id)
    return _render(request, templates, "collection_import.html", {"job": job, "collection": collection,
                                                                  "nav": "library"})  # fmt: skip


class ImportJobOut(BaseModel):
    id: str
    collection_id: int
    done: int = Field(description="Records read so far.")
    total: int = Field(description="Records in the file (0 until it is read).")
    finished: bool
    error: str | None
    report: dict | None = Field(description="matched, added and rejected records, once finished.")


def _job_out(job: ImportJob) -> ImportJobOut:
    return ImportJobOut(id=job.id, collection_id=job.collection_id, done=job.done, total=job.total,
                        finished=job.finished, error=job.error,
                        report=job.report.as_dict() if job.report else None)  # fmt: skip


@api_router.post("/collections/{collection_id}/import", status_code=202)
async def api_import(collection_id: int, request: Request, core: CoreDep) -> ImportJobOut:
    """Import a BibTeX, RIS or CSL-JSON library (multipart field `file`) into the collection;
    poll the answer's import at /api/collections/imports/{id} for progress and the report."""
    user = require_user(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload):
        raise InvalidInput("send the library as the multipart field 'file'")
    return _job_out(start_import(core, user, collection_id, await upload.read(), upload.filename or ""))


@api_router.get("/collections/imports/{job_id}")
def api_import_status(job_id: str, request: Request) -> ImportJobOut:
    return _job_out(_job(job_id, require_user(request)))
