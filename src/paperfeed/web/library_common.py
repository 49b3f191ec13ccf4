"""What the library's pages (web.ui.library) and its JSON API (web.api.library) share: citation
downloads, and the background jobs that import a reference library.

An import runs in a thread of the server process, so a large library never holds a request open
past a proxy's timeout; its page shows a progress bar (refreshing itself, no script needed) and
then the report, and the API answers a job to poll. Jobs live in the process that runs them:
behind several workers, give the importing server a sticky session, or import with
`paperfeed collection import`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass

from fastapi.responses import Response

from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.library import citations
from paperfeed.library.importer import LibraryImportReport
from paperfeed.models import Paper, User

EXPORT_LIMIT = 10_000  # papers in one citation export
MAX_JOB_ID = 64


# --- citations -----------------------------------------------------------------------------------


def citation_response(papers: list[Paper], fmt: citations.CitationFormat, filename: str) -> Response:
    body = citations.export(papers, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{citations.EXTENSIONS[fmt]}"'}
    return Response(content=body, media_type=citations.MEDIA_TYPES[fmt], headers=headers)


def citation_format(text: str) -> citations.CitationFormat:
    try:
        return citations.parse_format(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


# --- importing a library -------------------------------------------------------------------------


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


def import_job(job_id: str, user: User) -> ImportJob:
    """One of the user's import jobs (404 for anyone else's, or a finished one long gone)."""
    job = _JOBS.get(job_id)
    if job is None or job.user_id != user.id:
        raise NotFound("no such import")
    return job
