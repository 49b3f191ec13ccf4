"""Where to send a browser next: only ever to a path on this site."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request

_UNSAFE_NEXT_RE = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str:
    """A local path to go back to; anything that could lead off the site becomes "/"."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or _UNSAFE_NEXT_RE.search(target):
        return "/"
    return target[:2_000]


def return_path(request: Request) -> str:
    """Where a person should come back to after logging in: this page, or for a form post the
    page the form was on."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    origin = request.headers.get("HX-Current-URL") or request.headers.get("referer") or ""
    parts = urlsplit(origin)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def login_url(next_path: str) -> str:
    return "/login" + (f"?{urlencode({'next': next_path})}" if next_path != "/" else "")
