"""Subscribing to the e-mail digest: the form, the confirmation and unsubscribe pages, the
settings page of a logged-in user and the admin's view of the send ledger.

Confirmation and unsubscribe links are signed (see `paperfeed.digest.links`), so they work
without logging in. `POST /api/unsubscribe` is the RFC 8058 one-click target that mail clients
call from the List-Unsubscribe header.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, QueryParams

from paperfeed.community.accounts import require_admin
from paperfeed.digest import subscribe as subscriptions
from paperfeed.digest.links import Links
from paperfeed.digest.mailer import MailNotConfigured, MailUnavailable
from paperfeed.digest.periods import time_zone_names
from paperfeed.digest.subscribe import MAX_SAVED_SEARCHES, MAX_TOP_N
from paperfeed.errors import InvalidInput, LoginRequired, NotFound, PaperfeedError, TooManyRequests
from paperfeed.models import DEFAULT_SEARCH_MODE, SearchFilters, User
from paperfeed.store.subscriptions import SEARCH_MODES, SavedSearch, Subscription, SubscriptionSpec
from paperfeed.web import security
from paperfeed.web.deps import CoreDep, RowId, TemplatesDep, client_address, public_base

router = APIRouter()
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TRUE = {"1", "true", "yes", "on"}


# --- who is asking ---------------------------------------------------------------------------------


def _current_user(request: Request) -> User | None:
    return security.current_user(request)


def _csrf_token(request: Request) -> str:
    return security.csrf_token(request)


def _require_user(request: Request) -> User:
    user = security.current_user(request)
    if user is None:
        raise LoginRequired("log in to manage your subscriptions")
    return user


def _require_admin(request: Request) -> User:
    return require_admin(security.current_user(request))


# --- reading forms ------------------------------------------------------------------------------


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {value[:20]!r}") from None


def _day(value: str | None, name: str) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2024-01-31") from None


def searches_from_form(form: FormData | QueryParams) -> list[SavedSearch]:
    """Saved searches from repeated fields (search_q, search_mode, ...), blank rows skipped;
    a field missing from a row counts as empty, a missing mode as the site's default."""

    def column(name: str) -> list[str]:
        return [str(value) for value in form.getlist(name)]

    queries = column("search_q")
    names, modes, authors, categories, has_codes = (
        column(name)
        for name in ("search_name", "search_mode", "search_author", "search_category", "search_has_code")
    )

    def cell(values: list[str], row: int) -> str:
        return values[row].strip() if row < len(values) else ""

    searches = []
    for row, query in enumerate(queries):
        author, category, has_code = cell(authors, row), cell(categories, row), cell(has_codes, row)
        if not (query.strip() or author or category or has_code):
            continue
        searches.append(
            SavedSearch(
                name=cell(names, row),
                query=query.strip(),
                mode=(cell(modes, row) or DEFAULT_SEARCH_MODE),  # type: ignore[arg-type]
                filters=SearchFilters(
                    author=author or None,
                    category=category or None,
                    has_code={"1": True, "0": False}.get(has_code),
                ),
            )
        )
    return searches


def spec_from_form(form: FormData, *, email: str, default_hour: int) -> SubscriptionSpec:
    return SubscriptionSpec(
        email=email,
        frequency=(form.get("frequency") or "daily"),  # type: ignore[arg-type]
        weekday=_int(form.get("weekday"), "weekday", 0),  # type: ignore[arg-type]
        hour=_int(form.get("hour"), "hour", default_hour),  # type: ignore[arg-type]
        timezone=(form.get("timezone") or "UTC").strip(),  # type: ignore[union-attr]
        include_trending=(form.get("include_trending") or "") in _TRUE,
        top_n=_int(form.get("top_n"), "number of trending papers", 10),  # type: ignore[arg-type]
        saved_searches=searches_from_form(form),
        include_recommendations=(form.get("include_recommendations") or "") in _TRUE,
    )


def _form_context(core, request: Request, **extra) -> dict:
    return {
        "nav": "",
        "weekdays": WEEKDAYS,
        "time_zones": time_zone_names(),
        "max_top_n": MAX_TOP_N,
        "max_searches": MAX_SAVED_SEARCHES,
        "default_hour": core.settings.digest_send_hour,
        "user": _current_user(request),
        "csrf_token": _csrf_token(request),
        "mail_enabled": bool(core.settings.smtp_host),
        **extra,
    }


def _status_of(exc: PaperfeedError) -> int:
    if isinstance(exc, TooManyRequests):
        return 429
    if isinstance(exc, MailNotConfigured | MailUnavailable):
        return 503
    return 400


# --- subscribing --------------------------------------------------------------------------------


@router.get("/subscribe", include_in_schema=False, response_class=HTMLResponse)
def subscribe_page(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    """The form; a search page links here with its query and filters to pre-fill a saved search."""
    params = request.query_params
    mode = params.get("mode", "")
    prefill = SavedSearch(
        query=params.get("q", "")[:500],
        mode=mode if mode in SEARCH_MODES else DEFAULT_SEARCH_MODE,  # type: ignore[arg-type]
        filters=SearchFilters(
            author=params.get("author") or None,
            category=params.get("category") or None,
            has_code={"1": True, "0": False}.get(params.get("has_code", "")),
        ),
    )
    context = _form_context(core, request, prefill=prefill, error=None, values={})
    return templates.TemplateResponse(request, "subscribe.html", context)


@router.post("/subscribe", include_in_schema=False, response_class=HTMLResponse)
async def subscribe_submit(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    form = await request.form()
    user = _current_user(request)
    try:
        spec = spec_from_form(
            form, email=str(form.get("email") or ""), default_hour=core.settings.digest_send_hour
        )
        subscription = subscriptions.subscribe(
            core,
            spec,
            user_id=user.id if user else None,
            client=client_address(request),
            base_url=public_base(request),
        )
    except PaperfeedError as exc:
        searches = searches_from_form(form)
        context = _form_context(
            core,
            request,
            prefill=searches[0] if searches else SavedSearch(),
            error=str(exc),
            values=dict(form),
        )
        return templates.TemplateResponse(request, "subscribe.html", context, status_code=_status_of(exc))
    return templates.TemplateResponse(
        request, "subscribe_sent.html", {"nav": "", "subscription": subscription}, status_code=202
    )


@router.get("/subscriptions/confirm", include_in_schema=False, response_class=HTMLResponse)
def confirm_page(request: Request, core: CoreDep, templates: TemplatesDep, token: str = "") -> HTMLResponse:
    subscription = subscriptions.confirm(core, token)
    return templates.TemplateResponse(
        request, "subscribe_confirmed.html", {"nav": "", "subscription": subscription}
    )


@router.get("/unsubscribe", include_in_schema=False, response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, core: CoreDep, templates: TemplatesDep, token: str = ""
) -> HTMLResponse:
    """One button, no login: a GET never unsubscribes, since mail scanners follow links."""
    subscription = subscriptions.check_unsubscribe_token(core, token)
    context = {"nav": "", "subscription": subscription, "token": token, "done": False}
    return templates.TemplateResponse(request, "unsubscribe.html", context)


@router.post("/unsubscribe", include_in_schema=False, response_class=HTMLResponse)
def unsubscribe_submit(
    request: Request, core: CoreDep, templates: TemplatesDep, token: Annotated[str, Form()] = ""
) -> HTMLResponse:
    subscription = subscriptions.unsubscribe(core, token)
    context = {"nav": "", "subscription": subscription, "token": "", "done": True}
    return templates.TemplateResponse(request, "unsubscribe.html", context)


# --- a logged-in user's subscriptions -------------------------------------------------------------


@router.get("/settings/subscriptions", include_in_schema=False, response_class=HTMLResponse)
def settings_page(request: Request, core: CoreDep, templates: TemplatesDep) -> Response:
    user = _require_user(request)
    links = Links(core.settings, public_base(request))
    owned = core.store.subscriptions.of_user(user.id)
    context = _form_context(
        core,
        request,
        subscriptions=owned,
        feed_urls={s.id: links.recommended_feed(s.feed_token) for s in owned},
        prefill=SavedSearch(),
        error=request.query_params.get("error"),
        values={},
        saved=request.query_params.get("saved"),
        followed_authors=core.followed_authors(user),
    )
    return templates.TemplateResponse(request, "subscription_settings.html", context)


def _owned(core, request: Request, subscription_id: int) -> Subscription:
    user = _require_user(request)
    subscription = core.store.subscriptions.get(subscription_id)
    if subscription is None or subscription.user_id != user.id or subscription.unsubscribed_at is not None:
        raise NotFound("no such subscription")
    return subscription


@router.post("/settings/subscriptions/{subscription_id}", include_in_schema=False)
async def settings_update(subscription_id: RowId, request: Request, core: CoreDep) -> Response:
    form = await request.form()
    subscription = _owned(core, request, subscription_id)
    if form.get("action") == "unsubscribe":
        core.store.subscriptions.unsubscribe(subscription.id)
        return RedirectResponse("/settings/subscriptions?saved=unsubscribed", status_code=303)
    try:
        spec = spec_from_form(form, email=subscription.email, default_hour=core.settings.digest_send_hour)
        subscriptions.update(core, subscription, spec)
    except InvalidInput as exc:
        return RedirectResponse(f"/settings/subscriptions?{_q(error=str(exc))}", status_code=303)
    return RedirectResponse("/settings/subscriptions?saved=updated", status_code=303)


@router.post("/settings/subscriptions/{subscription_id}/searches/{position}/delete", include_in_schema=False)
def saved_search_delete(
    subscription_id: RowId,
    position: Annotated[int, Path(ge=0, le=MAX_SAVED_SEARCHES)],
    request: Request,
    core: CoreDep,
) -> Response:
    """Deletes one saved search of a subscription (its own small form, so Enter in a field never does)."""
    subscription = _owned(core, request, subscription_id)
    try:
        subscriptions.delete_saved_search(core, subscription, position)
    except InvalidInput as exc:
        return RedirectResponse(f"/settings/subscriptions?{_q(error=str(exc))}", status_code=303)
    return RedirectResponse("/settings/subscriptions?saved=search-deleted", status_code=303)


def _q(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# --- the admin's view of the ledger -----------------------------------------------------------------


@router.get("/admin/digests", include_in_schema=False, response_class=HTMLResponse)
def admin_digests(request: Request, core: CoreDep, templates: TemplatesDep) -> HTMLResponse:
    _require_admin(request)
    store = core.store.subscriptions
    context = {
        "nav": "",
        "counts": store.ledger_counts(),
        "failed": store.ledger(statuses=["failed"], limit=200),
        "retrying": [e for e in store.ledger(statuses=["pending"], limit=200) if e.last_error],
        "subscriptions": store.count(),
    }
    return templates.TemplateResponse(request, "admin_digests.html", context)
