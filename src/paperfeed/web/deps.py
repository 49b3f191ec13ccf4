"""What route handlers receive from the application: the core and the template renderer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.templating import Jinja2Templates

from paperfeed.core import PaperFeed


def get_core(request: Request) -> PaperFeed:
    return request.app.state.core


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


def public_base(request: Request) -> str:
    """The address this request reached us at (scheme and host as the browser used them; behind
    a trusted proxy, as the proxy forwarded them): links in pages, feeds and mails start with it
    unless a `base_url` is configured."""
    return str(request.base_url).rstrip("/")


CoreDep = Annotated[PaperFeed, Depends(get_core)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
