"""Answers for a path as a whole, before any check of a request's content: OPTIONS lists every
method of the path (one path is often several routes, GET and POST apart), and a method the path
does not have is 405 with that list, not a CSRF refusal."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed.web.errors import error_response
from paperfeed.web.headers import SECURITY_HEADERS

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class AllowedMethods:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = _methods_of_path(scope) if scope["type"] == "http" else None
        if allowed is None or (scope["method"] in allowed and scope["method"] != "OPTIONS"):
            await self.app(scope, receive, send)  # unknown paths (404) and static files decide themselves
            return
        allow = ", ".join(sorted(allowed))
        if scope["method"] == "OPTIONS":
            response: Response = Response(status_code=204, headers={"Allow": allow, **SECURITY_HEADERS})
        else:
            response = error_response(Request(scope, receive), 405, "Method not allowed.")
            response.headers["Allow"] = allow
        await response(scope, receive, send)


def _methods_of_path(scope: Scope) -> set[str] | None:
    """Every method some route serves at this path, with OPTIONS; None where routes do not say
    (no route has the path, or a mount such as /static, which takes any method, answers itself)."""

    def served(method: str) -> bool:
        probe = {**scope, "method": method}
        return any(route.matches(probe)[0] == Match.FULL for route in scope["app"].router.routes)

    if served("PROPFIND"):  # a method no route declares: whatever takes it does its own routing
        return None
    methods = {method for method in _METHODS if served(method)}
    return methods | {"OPTIONS"} if methods else None
