"""What route handlers receive from the application: the core and the template renderer, and the
types every row id and every day in a request are read as."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import BeforeValidator
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


# Ids are database integers: anything outside 1..2^63-1 names no row, and must not reach the
# database (which cannot even compare with it).
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive whole number.")]


def parse_id(text: str) -> int | None:
    """A row id typed into a form: ASCII digits only (`"²".isdigit()` is true), in range."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_day(value: object) -> object:
    # Pydantic would also read a number as seconds since 1970 (`/api/days/0` as 1970-01-01).
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("a day is written YYYY-MM-DD, e.g. 2024-05-01")


# A calendar day, written YYYY-MM-DD and nothing else (in paths, queries and JSON bodies alike).
Day = Annotated[dt.date, BeforeValidator(_iso_day)]


def client_address(request: Request) -> str:
    """Who is asking, for rate limits (behind a trusted proxy, the forwarded address)."""
    return request.client.host if request.client else "unknown"
