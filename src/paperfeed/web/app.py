"""The web application: HTML pages at / (`web.ui`), the JSON API at /api (`web.api`), feeds at
/feeds and static files at /static.

Errors become a 4xx/5xx page in the shape the client expects (`web.errors`); no traceback ever
reaches a user. Every response carries security headers (`web.headers`).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from paperfeed.core import PaperFeed
from paperfeed.web import feeds
from paperfeed.web.api import community as api_community
from paperfeed.web.api import papers as api_papers
from paperfeed.web.api import subscriptions as api_subscriptions
from paperfeed.web.errors import API_PREFIX, install_error_handlers
from paperfeed.web.headers import CONTENT_SECURITY_POLICY, SecurityHeaders
from paperfeed.web.proxy import ForwardedHeaders
from paperfeed.web.security import CsrfMiddleware
from paperfeed.web.ui import auth, community, pages, subscriptions
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


def create_app(core: PaperFeed) -> FastAPI:
    app = FastAPI(
        title="paperfeed",
        summary="Research-paper discovery: daily papers and search.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.core = core
    app.state.templates = build_templates()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=1_000)  # pages, feeds and JSON compress 5-10×
    app.add_middleware(CsrfMiddleware)
    install_error_handlers(app)

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return _docs_page(request)

    app.mount("/static", CachedStaticFiles(directory=str(files("paperfeed.web") / "static")), name="static")
    # The JSON API under /api, then the HTML pages; the community routes come first: theirs must
    # win over the catch-all /papers/{id} paths.
    app.include_router(api_community.router, prefix=API_PREFIX)
    app.include_router(api_subscriptions.router, prefix=API_PREFIX)
    app.include_router(api_papers.router, prefix=API_PREFIX)
    app.include_router(auth.router)
    app.include_router(community.router)
    app.include_router(pages.router)
    app.include_router(subscriptions.router)
    app.include_router(feeds.router)
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
