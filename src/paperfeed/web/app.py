"""The web application: HTML pages at / (`web.ui`), the JSON API at /api (`web.api`), feeds at
/feeds and static files at /static.

Errors become a 4xx/5xx page in the shape the client expects (`web.errors`); no traceback ever
reaches a user. Every response carries security headers (`web.headers`).
"""

from __future__ import annotations

from functools import partial
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from paperfeed.core import PaperFeed
from paperfeed.digest.alerts import send_login_alert
from paperfeed.digest.links import secret_key
from paperfeed.web import feeds
from paperfeed.web.api import authors as api_authors
from paperfeed.web.api import community as api_community
from paperfeed.web.api import library as api_library
from paperfeed.web.api import papers as api_papers
from paperfeed.web.api import recommendations as api_recommendations
from paperfeed.web.api import subscriptions as api_subscriptions
from paperfeed.web.errors import API_PREFIX, install_error_handlers
from paperfeed.web.flash import FlashCleanup
from paperfeed.web.headers import CONTENT_SECURITY_POLICY, SecurityHeaders
from paperfeed.web.methods import AllowedMethods
from paperfeed.web.proxy import ForwardedHeaders
from paperfeed.web.security import CsrfMiddleware, csrf_key
from paperfeed.web.ui import (
    admin_sources,
    auth,
    authors,
    community,
    for_you,
    insight,
    library,
    pages,
    subscriptions,
)
from paperfeed.web.ui.templates import build_templates

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
    core.on_login_attack = partial(send_login_alert, core)
    app.state.templates = build_templates()
    # Made (or read) now, at start-up: created lazily, a first visit on a full disk failed every page.
    app.state.csrf_key = csrf_key(secret_key(core.settings))
    app.add_middleware(FlashCleanup)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=1_000)  # pages, feeds and JSON compress 5-10×
    app.add_middleware(CsrfMiddleware)
    install_error_handlers(app)

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return _docs_page(request)

    app.mount("/static", CachedStaticFiles(directory=str(files("paperfeed.web") / "static")), name="static")
    # The JSON API under /api, then the HTML pages; the community and library routes come first:
    # theirs must win over the catch-all /papers/{id} paths.
    app.include_router(api_community.router, prefix=API_PREFIX)
    app.include_router(api_library.router, prefix=API_PREFIX)
    app.include_router(api_subscriptions.router, prefix=API_PREFIX)
    app.include_router(api_papers.router, prefix=API_PREFIX)
    app.include_router(api_recommendations.router, prefix=API_PREFIX)
    app.include_router(api_authors.router, prefix=API_PREFIX)
    app.include_router(auth.router)
    app.include_router(community.router)
    app.include_router(library.router)
    app.include_router(for_you.router)
    app.include_router(authors.router)
    app.include_router(pages.router)
    app.include_router(subscriptions.router)
    app.include_router(feeds.router)
    app.include_router(library.feed_router)
    app.include_router(admin_sources.router)
    insight.install(app)  # topics, trends, the map, topic feeds; TL;DRs and topics in templates
    app.openapi = lambda: _openapi_with_errors(app)  # type: ignore[method-assign]
    app.add_middleware(AllowedMethods)  # a wrong method is 405 before the CSRF check
    if core.settings.proxy_headers:  # added last, so outermost: every layer sees the forwarded address
        app.add_middleware(ForwardedHeaders, trusted_hosts=core.settings.forwarded_allow_ips)
    return app


def create_app_from_env() -> FastAPI:
    """The app of one worker process of `paperfeed serve --workers N` (a uvicorn factory): each
    worker builds its own core, configured like the parent by the PAPERFEED_* variables."""
    from paperfeed.config import Settings

    core = PaperFeed(Settings.from_env())
    core.warm_up()  # the model and indexes now, not inside the first visitors' requests
    return create_app(core)
