"""Errors as users see them: a 4xx/5xx page in the shape the client expects (JSON under /api,
HTML elsewhere), one clear sentence, never a traceback. A page that needs a log-in sends the
browser to the log-in form and back."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperfeed.errors import (
    InvalidInput,
    LoginRequired,
    NotFound,
    PermissionDenied,
    SourceUnavailable,
    TooManyRequests,
)
from paperfeed.store import DISK_FULL, STORAGE_FAILURES, failure_message
from paperfeed.web.headers import SECURITY_HEADERS
from paperfeed.web.redirects import login_url, return_path

API_PREFIX = "/api"
_STATUS_MESSAGES = {
    404: "Page not found.",
    405: "Method not allowed.",
    500: "Something went wrong on our side.",
}
DISK_FULL_MESSAGE = "The server cannot store anything right now (its disk is full); please try again later."


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(
    request: Request, status: int, message: str, extra_headers: dict[str, str] | None = None
) -> Response:
    """The error in the shape the client expects, with the security headers set here too:
    server errors are answered outside the middleware stack."""
    headers = {**SECURITY_HEADERS, **(extra_headers or {})}
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


def install_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return error_response(request, 401, str(exc))
        target = login_url(return_path(request))
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PermissionDenied)
    async def permission_denied(request: Request, exc: PermissionDenied) -> Response:
        return error_response(request, 403, str(exc))

    @app.exception_handler(TooManyRequests)
    async def too_many(request: Request, exc: TooManyRequests) -> Response:
        return error_response(request, 429, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(SourceUnavailable)
    async def unavailable(request: Request, exc: SourceUnavailable) -> Response:
        return error_response(request, 503, str(exc), {"Retry-After": "60"})

    async def storage_failure(request: Request, exc: Exception) -> Response:
        if failure_message(exc) == DISK_FULL:  # nothing the visitor did: try again once there is room
            return error_response(request, 503, DISK_FULL_MESSAGE)
        raise exc  # any other failure is the 500 above, with its traceback in the server's log

    for failure in STORAGE_FAILURES:
        app.add_exception_handler(failure, storage_failure)
