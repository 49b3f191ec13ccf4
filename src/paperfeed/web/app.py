"""The web application: HTML pages at /, the JSON API at /api, static files at /static.

Errors become a 4xx/5xx page in the shape the client expects (JSON under /api, HTML elsewhere);
no traceback ever reaches a user. Every response carries security headers.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.web import api, community, feeds, subscriptions, ui
from paperfeed.web.proxy import ForwardedHeaders

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
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
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


# Swagger UI sets style attributes from its scripts and shows data: images; nothing else is loosened.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def _docs_page(request: Request) -> Response:
    """Swagger UI, served from the package's own static files: the docs work offline."""
    response = request.app.state.templates.TemplateResponse(request, "api_docs.html", {"nav": ""})
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response


class CachedStaticFiles(StaticFiles):
    """Static files browsers may keep: an hour for our own, a week for vendored libraries (they
    change only with a paperfeed upgrade)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            age = 7 * 24 * 3600 if path.startswith("vendor/") else 3600
            response.headers["Cache-Control"] = f"public, max-age={age}"
        return response


def create_app(core: PaperFeed) -> FastAPI:
    app = FastAPI(
        title="paperfeed",
        summary="Research-paper discovery: daily papers and search.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.core = core
    app.state.templates = ui.build_templates()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=1_000)  # pages, feeds and JSON compress 5-10×
    _install_error_handlers(app)
    community.install(app)  # before the other routers: its routes must win over their catch-all paths

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return _docs_page(request)

    app.mount("/static", CachedStaticFiles(directory=str(files("paperfeed.web") / "static")), name="static")
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(ui.router)
    app.include_router(feeds.router)
    app.include_router(subscriptions.router)
    if core.settings.proxy_headers:  # added last, so outermost: every layer sees the forwarded address
        app.add_middleware(ForwardedHeaders, trusted_hosts=core.settings.forwarded_allow_ips)
    return app


def create_app_from_env() -> FastAPI:
    """The app of one worker process of `paperfeed serve --workers N` (a uvicorn factory): each
    worker builds its own core, configured like the parent by the PAPERFEED_* variables."""
    from paperfeed.config import Settings

    core = PaperFeed(Settings.from_env())
    core.embedder  # noqa: B018 - load the model now, not inside the first visitor's request
    return create_app(core)
