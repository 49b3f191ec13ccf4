"""The admin's page of followed sources (`/admin/sources`): what `paperfeed sync` follows, each
source's last success, last error and next run, and forms to follow and unfollow."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.community.accounts import require_admin
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.web import security
from paperfeed.web.deps import CoreDep, TemplatesDep

router = APIRouter(include_in_schema=False)


@router.get("/admin/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, core: CoreDep, templates: TemplatesDep, error: Annotated[str, Query()] = ""
) -> HTMLResponse:
    require_admin(security.current_user(request))
    context = {"nav": "admin", "sources": core.followed(), "error": error[:300]}
    return templates.TemplateResponse(request, "admin_sources.html", context)


@router.post("/admin/sources")
def follow_source(
    request: Request,
    core: CoreDep,
    kind: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
) -> Response:
    require_admin(security.current_user(request))
    try:
        first = dt.date.fromisoformat(since.strip()) if since.strip() else None
    except ValueError:
        return _back(error="the first day must be a date like 2025-01-31")
    try:
        core.follow(kind, target or None, since=first)
    except InvalidInput as exc:
        return _back(error=str(exc))
    return _back()


@router.post("/admin/sources/{source_id}/remove")
def unfollow_source(request: Request, core: CoreDep, source_id: int) -> Response:
    require_admin(security.current_user(request))
    try:
        core.unfollow(source_id)
    except NotFound as exc:
        return _back(error=str(exc))
    return _back()


def _back(**params: str) -> RedirectResponse:
    query = f"?{urlencode(params)}" if params else ""
    return RedirectResponse(f"/admin/sources{query}", status_code=303)
