"""Sessions and CSRF protection for the web interface and the JSON API.

The session cookie holds a random token (the store keeps only its hash); it is HttpOnly,
SameSite=Lax, and Secure whenever the request came over https. Every visitor also gets a
random browser cookie, so forms can be protected before anyone logs in.

CSRF: every state-changing request (any method but GET, HEAD, OPTIONS) must carry the token
of its session, as the `csrf_token` form field or the `X-CSRF-Token` header (htmx sends the
header, set once on <body>; API clients send it too). The token is an HMAC, under the instance
secret, of the session token when logged in and of the browser cookie otherwise, so it is
per-session, changes at log-in and log-out, and cannot be computed by another site. Requests
without a valid token are refused with 403 before any handler runs. The only exceptions are the
paths in CSRF_EXEMPT_PATHS, which a signed token in the request itself authorises.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.digest.links import secret_key
from paperfeed.errors import LoginRequired
from paperfeed.models import User
from paperfeed.web.errors import error_response

SESSION_COOKIE = "paperfeed_session"
BROWSER_COOKIE = "paperfeed_browser"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Authorised by a signed token instead: mail clients POST here without cookies (RFC 8058 one-click).
CSRF_EXEMPT_PATHS = frozenset({"/api/unsubscribe"})
MAX_FORM_BYTES = 1 << 20  # forms here are short; a bigger body is not one of ours
MAX_UPLOAD_BYTES = 100 << 20  # but a file upload (a reference library to import) may be long
SESSION_MAX_AGE = 30 * 24 * 3600
BROWSER_MAX_AGE = 365 * 24 * 3600
CSRF_REFUSED = "This form has expired or did not come from paperfeed. Reload the page and try again."
MALFORMED_FORM = "The form data could not be read. Reload the page and try again."
_UNSET = object()


def csrf_key(secret: str) -> bytes:
    """The key CSRF tokens are made with, derived from the instance secret."""
    return hmac.new(secret.encode(), b"paperfeed csrf", hashlib.sha256).digest()


def _csrf_key(app: object) -> bytes:
    state = app.state  # type: ignore[attr-defined]
    key = getattr(state, "csrf_key", None)
    if key is None:
        key = state.csrf_key = csrf_key(secret_key(state.core.settings))
    return key


def _browser_id(scope: Scope, cookies: dict[str, str]) -> str | None:
    return cookies.get(BROWSER_COOKIE) or scope.get("state", {}).get("new_browser_id")


def expected_token(app: object, scope: Scope, cookies: dict[str, str]) -> str | None:
    session = cookies.get(SESSION_COOKIE)
    seed = f"session:{session}" if session else None
    if seed is None and (browser := _browser_id(scope, cookies)):
        seed = f"browser:{browser}"
    if seed is None:
        return None
    return hmac.new(_csrf_key(app), seed.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token forms and htmx requests of this page must send back."""
    return expected_token(request.app, request.scope, request.cookies) or ""


def current_user(request: Request) -> User | None:
    """The logged-in user of this request (looked up once per request)."""
    user = getattr(request.state, "user", _UNSET)
    if user is _UNSET:
        user = request.app.state.core.user_for_session(request.cookies.get(SESSION_COOKIE))
        request.state.user = user
    return user  # type: ignore[return-value]


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired("log in first")
    return user


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, path="/", httponly=True, samesite="lax",
        secure=_secure(request),
    )  # fmt: skip


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the already-read body to the application once more."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class MalformedForm(Exception):
    """The body says it is a form but cannot be read as one."""


async def _form_token(scope: Scope, body: bytes, content_type: str) -> str | None:
    if content_type.startswith("application/x-www-form-urlencoded"):
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if name == CSRF_FIELD:
                return value
        return None
    try:
        form = await Request(scope, _replay(body, _no_more_body)).form()
    except (HTTPException, MultiPartException) as exc:  # no boundary, a cut-off part, ...
        raise MalformedForm() from exc
    try:
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


async def _no_more_body() -> Message:
    return {"type": "http.disconnect"}


class CsrfMiddleware:
    """Gives each new browser its cookie and refuses state-changing requests without a valid token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cookies = request.cookies
        new_browser_id = None
        if BROWSER_COOKIE not in cookies and not request.url.path.startswith("/static/"):
            new_browser_id = secrets.token_urlsafe(32)
            scope.setdefault("state", {})["new_browser_id"] = new_browser_id

        if scope["method"] not in SAFE_METHODS and scope["path"] not in CSRF_EXEMPT_PATHS:
            given = request.headers.get(CSRF_HEADER)
            content_type = request.headers.get("content-type", "")
            if given is None and content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                limit = MAX_UPLOAD_BYTES if content_type.startswith("multipart/form-data") else MAX_FORM_BYTES
                body = await _read_body(receive, limit)
                if body is not None:
                    try:
                        given = await _form_token(scope, body, content_type)
                    except MalformedForm:
                        await self._refuse(scope, receive, send, 400, MALFORMED_FORM)
                        return
                    receive = _replay(body, receive)
            expected = expected_token(scope["app"], scope, cookies)
            if not (given and expected and hmac.compare_digest(given.encode(), expected.encode())):
                await self._refuse(scope, receive, send)
                return

        if new_browser_id is None:
            await self.app(scope, receive, send)
            return
        cookie = (
            f"{BROWSER_COOKIE}={new_browser_id}; Max-Age={BROWSER_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax"
            + ("; Secure" if scope.get("scheme") == "https" else "")
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int = 403, message: str = CSRF_REFUSED
    ) -> None:
        response = error_response(Request(scope, receive), status, message)
        await response(scope, receive, send)
