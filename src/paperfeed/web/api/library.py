"""The research library in the JSON API: collections, notes, citations, library search, find
similar and library imports. A collection someone may not read is a 404 to them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from paperfeed.core import MAX_PAGE, MAX_PER_PAGE
from paperfeed.errors import NotFound
from paperfeed.library import citations
from paperfeed.library.citations import CitationFormat
from paperfeed.library.collections import MAX_DESCRIPTION, MAX_NAME
from paperfeed.library.notes import MAX_NOTE
from paperfeed.models import Collection, User, Visibility
from paperfeed.search.similar import MAX_TEXT
from paperfeed.web.api.schemas import ErrorOut, ResultPageOut
from paperfeed.web.deps import MAX_ID, CoreDep, RowId
from paperfeed.web.library_common import (
    EXPORT_LIMIT,
    MAX_JOB_ID,
    ImportJob,
    citation_response,
    import_job,
    start_import,
)
from paperfeed.web.security import current_user, require_user

router = APIRouter(
    tags=["library"],
    responses={
        401: {"model": ErrorOut, "description": "Log in first (session cookie)."},
        404: {"model": ErrorOut, "description": "No such collection or paper, or not yours to see."},
    },
)
# Citations are text in their own formats, not JSON: the schema says which.
_CITATION_RESPONSE = {
    200: {
        "description": "The citations, as a file to save.",
        "content": {media_type.split(";")[0]: {"schema": {"type": "string"}} for media_type in citations.MEDIA_TYPES.values()},
    }
}
FormatQuery = Annotated[CitationFormat, Query(description="bibtex, ris or csl-json.")]


def _api_user(request: Request) -> User:
    return require_user(request)


class CollectionIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    visibility: Visibility = Field(default="private", description="private, unlisted or public.")


class CollectionEditIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
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


class SimilarIn(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_TEXT, description="Any text: an abstract, a draft.")
    paper: str | None = Field(default=None, min_length=1, description="A paper id (arXiv id, key or DOI).")
    collection: int | None = Field(default=None, ge=1, le=MAX_ID, description="A collection you may read.")
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=MAX_PER_PAGE)


class ImportJobOut(BaseModel):
    id: str
    collection_id: int
    done: int = Field(description="Records read so far.")
    total: int = Field(description="Records in the file (0 until it is read).")
    finished: bool
    error: str | None
    report: dict | None = Field(description="matched, added and rejected records, once finished.")

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        return cls(id=job.id, collection_id=job.collection_id, done=job.done, total=job.total,
                   finished=job.finished, error=job.error,
                   report=job.report.as_dict() if job.report else None)  # fmt: skip


# --- collections ---------------------------------------------------------------------------------


@router.get("/collections")
def api_collections(request: Request, core: CoreDep) -> list[CollectionOut]:
    """Your collections, the default one first."""
    user = _api_user(request)
    return [CollectionOut.of(c, user) for c in core.collections(user)]


@router.post("/collections", status_code=201)
def api_create_collection(body: CollectionIn, request: Request, core: CoreDep) -> CollectionOut:
    user = _api_user(request)
    return CollectionOut.of(core.create_collection(user, body.name, body.description, body.visibility), user)


# Before /collections/{collection_id}/…: "imports" is no collection number.
@router.get("/collections/imports/{job_id}")
def api_import_status(job_id: Annotated[str, Path(max_length=MAX_JOB_ID)], request: Request) -> ImportJobOut:
    """An import's progress, then its report."""
    return ImportJobOut.of(import_job(job_id, _api_user(request)))


@router.get("/collections/{collection_id}")
def api_collection(collection_id: RowId, request: Request, core: CoreDep) -> CollectionOut:
    viewer = current_user(request)
    return CollectionOut.of(core.collection(collection_id, viewer), viewer)


@router.patch("/collections/{collection_id}")
def api_edit_collection(
    collection_id: RowId, body: CollectionEditIn, request: Request, core: CoreDep
) -> CollectionOut:
    user = _api_user(request)
    changed = core.update_collection(
        user, collection_id, name=body.name, description=body.description, visibility=body.visibility
    )
    return CollectionOut.of(changed, user)


@router.delete("/collections/{collection_id}", status_code=204, response_class=Response)
def api_delete_collection(collection_id: RowId, request: Request, core: CoreDep) -> Response:
    core.delete_collection(_api_user(request), collection_id)
    return Response(status_code=204)


@router.get("/collections/{collection_id}/papers")
def api_collection_papers(
    collection_id: RowId,
    request: Request,
    core: CoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """The collection's papers, the last added first."""
    collection = core.collection(collection_id, current_user(request))
    return ResultPageOut.model_validate(core.collection_papers(collection, page=page, per_page=per_page))


@router.put("/collections/{collection_id}/papers/{ref:path}")
def api_add_paper(collection_id: RowId, ref: str, request: Request, core: CoreDep) -> MembershipOut:
    added = core.add_to_collection(_api_user(request), collection_id, ref)
    return MembershipOut(collection_id=collection_id, paper_id=core.paper(ref).url_id, added=added)


@router.delete("/collections/{collection_id}/papers/{ref:path}")
def api_remove_paper(collection_id: RowId, ref: str, request: Request, core: CoreDep) -> MembershipOut:
    removed = core.remove_from_collection(_api_user(request), collection_id, ref)
    return MembershipOut(collection_id=collection_id, paper_id=core.paper(ref).url_id, removed=removed)


@router.get("/collections/{collection_id}/export", response_class=Response, responses=_CITATION_RESPONSE)
def api_export_collection(
    collection_id: RowId, request: Request, core: CoreDep, format: FormatQuery = "bibtex"
) -> Response:
    """The collection's papers as citations."""
    collection = core.collection(collection_id, current_user(request))
    papers = core.collection_paper_list(collection)[:EXPORT_LIMIT]
    return citation_response(papers, format, f"collection-{collection.id}")


@router.post("/collections/{collection_id}/import", status_code=202)
async def api_import(
    collection_id: RowId,
    request: Request,
    core: CoreDep,
    file: Annotated[UploadFile, File(description="A BibTeX, RIS or CSL-JSON export.")],
) -> ImportJobOut:
    """Import a BibTeX, RIS or CSL-JSON library into the collection; poll the answer's import at
    /api/collections/imports/{id} for progress and the report."""
    user = _api_user(request)
    return ImportJobOut.of(start_import(core, user, collection_id, await file.read(), file.filename or ""))


# --- citations and notes of one paper -------------------------------------------------------------


@router.get("/papers/{ref:path}/citation", response_class=Response, responses=_CITATION_RESPONSE)
def api_cite_paper(ref: str, core: CoreDep, format: FormatQuery = "bibtex") -> Response:
    """One paper as a citation."""
    paper = core.paper(ref)
    return citation_response([paper], format, citations.citation_keys([paper])[0])


@router.get("/papers/{ref:path}/note")
def api_note(ref: str, request: Request, core: CoreDep) -> NoteOut:
    """Your note on the paper (404 when you have none)."""
    user = _api_user(request)
    paper = core.paper(ref)
    note = core.note(user, paper)
    if note is None:
        raise NotFound("you have no note on this paper")
    return NoteOut(paper_id=paper.url_id, body=note.body, html=note.html, updated_at=note.updated_at)


@router.put(
    "/papers/{ref:path}/note",
    response_model=NoteOut,
    responses={204: {"description": "The note was deleted (an empty body)."}},
)
def api_write_note(ref: str, body: NoteIn, request: Request, core: CoreDep) -> Any:
    """Write your private note on the paper; an empty body deletes it (204)."""
    note = core.write_note(_api_user(request), ref, body.body)
    if note is None:
        return Response(status_code=204)
    return NoteOut(paper_id=core.paper(ref).url_id, body=note.body, html=note.html, updated_at=note.updated_at)


# --- searching the library, finding similar papers ---------------------------------------------------


@router.get("/library/search")
def api_library_search(
    request: Request,
    core: CoreDep,
    q: Annotated[str, Query(max_length=500, description="Words, all of which must match.")] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> ResultPageOut:
    """Search your own library: papers in your collections or with your note."""
    return ResultPageOut.model_validate(core.library_search(_api_user(request), q, page=page, per_page=per_page))


@router.post("/similar", tags=["search"])
def api_similar(body: SimilarIn, request: Request, core: CoreDep) -> ResultPageOut:
    """Papers nearest in meaning to a text, a paper or a collection (give exactly one)."""
    result = core.similar(
        text=body.text,
        paper=core.paper(body.paper) if body.paper is not None else None,
        collection=core.collection(body.collection, current_user(request)) if body.collection else None,
        page=body.page,
        per_page=body.per_page,
    )
    return ResultPageOut.model_validate(result)
