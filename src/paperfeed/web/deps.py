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


CoreDep = Annotated[PaperFeed, Depends(get_core)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
