"""The web application: HTML pages at /, the JSON API at /api, static files at /static.

Errors become a 4xx/5xx page in the shape the client expects (JSON under /api, HTML elsewhere);
no traceback ever reaches a user. Every response carries security headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.core import PaperFeed
from paperfeed.digest.links import secret_key
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.store import DISK_FULL, STORAGE_FAILURES, failure_message
from paperfeed.web import admin_sources, api, community, feeds, subscriptions, ui
from paperfeed.web.security import csrf_key

API_PREFIX = "/api"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_STATUS_MESSAGES = {
    404: "Page not found.",
    405: "Method not allowed.",
    500: "Something went wrong on our side.",
}
DISK_FULL_MESSAGE = "The server cannot store anything right now (its disk is full); please try again later."


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AllowedMethods:
    """Answers for a path as a whole, before any check of a request's content: OPTIONS lists
    every method of the path (one path is often several routes, GET and POST apart), and a method
    the path does not have is 405 with that list, not a CSRF refusal."""

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
            response = error_response(Request(scope, receive), 405, _STATUS_MESSAGES[405])
            response.headers["Allow"] = allow
        await response(scope, receive, send)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_of_path(scope: Scope) -> set[str] | None:
    """Every method some route serves at this path, with OPTIONS; None where routes do not say
    (no route has the path, or a mount such as /static, which takes any method, answers itself)."""
    from starlette.routing import Match

    def served(method: str) -> bool:
        probe = {**scope, "method": method}
        return any(route.matches(probe)[0] == Match.FULL for route in scope["app"].router.routes)

    if served("PROPFIND"):  # a method no route declares: whatever takes it does its own routing
        return None
    methods = {method for method in _METHODS if served(method)}
    return methods | {"OPTIONS"} if methods else None


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(request: Request, status: int, message: str) -> Response:
    """The error in the shape the client expects, with the security headers set here too:
    server errors are answered outside the middleware stack."""
    headers = dict(SECURITY_HEADERS)
    if _is_api(request):
        body = {"error": {"status": status, "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)
    templates = request.app.state.templates
    context = {"status": status, "message": message, "nav": ""}
    return templates.TemplateResponse(request, "error.html", context, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = _STATUS_MESSAGES.get(exc.status_code) or str(exc.detail)
        response = error_response(request, exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The server logs the traceback once this response is sent; the user sees none of it.
        return error_response(request, 500, _STATUS_MESSAGES[500])

    async def storage_failure(request: Request, exc: Exception) -> Response:
        if failure_message(exc) == DISK_FULL:  # nothing the visitor did: try again once there is room
            return error_response(request, 503, DISK_FULL_MESSAGE)
        raise exc  # any other failure is the 500 above, with its traceback in the server's log

    for failure in STORAGE_FAILURES:
        app.add_exception_handler(failure, storage_failure)


def _docs_page() -> HTMLResponse:
    """Swagger UI, loaded from its CDN; its policy allows exactly that and its one inline script."""
    page = get_swagger_ui_html(
        openapi_url=f"{API_PREFIX}/openapi.json",
        title="paperfeed API",
        swagger_favicon_url="/static/favicon.svg",
    )
    inline = re.findall(rb"<script>(.*?)</script>", bytes(page.body), flags=re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in inline)
    cdn = "https://cdn.jsdelivr.net"
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {cdn} {hashes}; style-src 'self' {cdn} 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
    return page


# Answers any API operation may give besides its own, documented once for all of them: the
# schema is what clients (and the fuzzing tests) hold the API to.
_COMMON_ERRORS = {
    "400": "The request cannot be answered as asked (a bad value, an unreadable body).",
    "404": "Nothing there: no such paper, comment, subscription or path.",
    "422": "A parameter is missing or invalid.",
    "429": "Too many requests of this kind; the Retry-After header says when to try again.",
}
_STATE_CHANGE_ERRORS = {
    "401": "Log in first (session cookie).",
    "403": "Not allowed, or the X-CSRF-Token header is missing or wrong.",
}


def _openapi_with_errors(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        json_error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        page_error = {"content": {"text/html": {"schema": {"type": "string"}}}}  # outside /api
        for path, operations in schema.get("paths", {}).items():
            error = json_error if path.startswith(API_PREFIX + "/") else page_error
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                extra = dict(_COMMON_ERRORS)
                if method.upper() not in ("GET", "HEAD", "OPTIONS"):
                    extra.update(_STATE_CHANGE_ERRORS)
                for status, description in extra.items():
                    responses.setdefault(status, {"description": description, **error})
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(core: PaperFeed) -> FastAPI:
    app = FastAPI(
        title="paperfeed",
        summary="Research-paper discovery: daily papers and search.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.core = core
    # Made (or read) now, at start-up: created lazily, a first visit on a full disk failed every page.
    app.state.csrf_key = csrf_key(secret_key(core.settings))
    app.state.templates = ui.build_templates()
    app.add_middleware(SecurityHeaders)
    _install_error_handlers(app)
    community.install(app)  # before the other routers: its routes must win over their catch-all paths
    app.add_middleware(AllowedMethods)  # outermost: a wrong method is 405 before the CSRF check

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return _docs_page()

    app.mount("/static", StaticFiles(directory=str(files("paperfeed.web") / "static")), name="static")
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(ui.router)
    app.include_router(feeds.router)
    app.include_router(subscriptions.router)
    app.include_router(admin_sources.router)
    app.openapi = lambda: _openapi_with_errors(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """The app of one worker process of `paperfeed serve --workers N` (a uvicorn factory): each
    worker builds its own core, configured like the parent by the PAPERFEED_* variables."""
    from paperfeed.config import Settings

    core = PaperFeed(Settings.from_env())
    core.embedder  # noqa: B018 - load the model now, not inside the first visitor's request
    return create_app(core)
