"""Account pages: sign up, log in, log out and change password.

Forms re-render with a one-line error (and what was typed, but never a password) when
something is wrong; throttled log-ins and sign-ups answer 429 with the time to wait.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from paperfeed.community.accounts import BAD_LOGIN, MIN_PASSWORD
from paperfeed.errors import InvalidInput, LoginRequired, PermissionDenied, TooManyRequests
from paperfeed.web.deps import CoreDep, TemplatesDep, client_address
from paperfeed.web.redirects import safe_next
from paperfeed.web.security import clear_session_cookie, current_user, session_token, set_session_cookie

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def _form(
    request: Request, templates: Jinja2Templates, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    base = {"error": None, "notice": None, "name": "", "next": "/", "nav": "", "min_password": MIN_PASSWORD}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _refused(
    request: Request, templates: Jinja2Templates, page: str, exc: Exception, **context: Any
) -> HTMLResponse:
    status = 429 if isinstance(exc, TooManyRequests) else 403 if isinstance(exc, PermissionDenied) else 400
    if str(exc) == BAD_LOGIN:
        status = 401
    response = _form(request, templates, page, {"error": str(exc), **context}, status)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _logged_in(request: Request, token: str, next_path: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, request, token)
    return response


@router.get("/signup")
def signup_page(request: Request, templates: TemplatesDep, next: str = "/") -> HTMLResponse:
    return _form(request, templates, "signup.html", {"next": safe_next(next)})


@router.post("/signup")
def signup(
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password2: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    shown = {"name": name[:100], "next": safe_next(next)}
    try:
        if password != password2:
            raise InvalidInput("the two passwords differ")
        _, token = core.sign_up(name, password, address=client_address(request))
    except (InvalidInput, TooManyRequests) as exc:
        return _refused(request, templates, "signup.html", exc, **shown)
    return _logged_in(request, token, next)


@router.get("/login")
def login_page(request: Request, templates: TemplatesDep, next: str = "/") -> HTMLResponse:
    return _form(request, templates, "login.html", {"next": safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        _, token = core.log_in(name, password, address=client_address(request))
    except (PermissionDenied, TooManyRequests) as exc:
        return _refused(request, templates, "login.html", exc, name=name[:100], next=safe_next(next))
    return _logged_in(request, token, next)


@router.post("/logout")
def logout(request: Request, core: CoreDep) -> RedirectResponse:
    token = session_token(request)
    if token:
        core.log_out(token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/account")
def account_page(request: Request, templates: TemplatesDep) -> HTMLResponse:
    if current_user(request) is None:
        raise LoginRequired("log in first")
    return _form(request, templates, "account.html", {"nav": "account"})


@router.post("/account/password")
def change_password(
    request: Request,
    core: CoreDep,
    templates: TemplatesDep,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password2: Annotated[str, Form()] = "",
) -> HTMLResponse:
    user = current_user(request)
    if user is None:
        raise LoginRequired("log in first")
    try:
        if password != password2:
            raise InvalidInput("the two new passwords differ")
        core.change_password(user, current, password, session_token=session_token(request))
    except (InvalidInput, PermissionDenied) as exc:
        return _refused(request, templates, "account.html", exc, nav="account")
    notice = "Password changed. Every other session of your account was logged out."
    return _form(request, templates, "account.html", {"notice": notice, "nav": "account"})
