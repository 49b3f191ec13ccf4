"""Subscriptions in the JSON API: subscribing (double opt-in), confirming, and the RFC 8058
one-click unsubscribe target that mail clients call from the List-Unsubscribe header."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from paperfeed.digest import subscribe as subscriptions
from paperfeed.digest.mailer import MailNotConfigured, MailUnavailable
from paperfeed.digest.subscribe import MAX_NAME_LENGTH, MAX_SAVED_SEARCHES, MAX_TOP_N
from paperfeed.errors import PaperfeedError, TooManyRequests
from paperfeed.models import DEFAULT_SEARCH_MODE, SearchFilters, SearchMode, User
from paperfeed.store.subscriptions import SavedSearch, Subscription, SubscriptionSpec
from paperfeed.web import security
from paperfeed.web.deps import CoreDep, Day, client_address, public_base

router = APIRouter()


def _current_user(request: Request) -> User | None:
    return security.current_user(request)


def _status_of(exc: PaperfeedError) -> int:
    if isinstance(exc, TooManyRequests):
        return 429
    if isinstance(exc, MailNotConfigured | MailUnavailable):
        return 503
    return 400


# --- the JSON API -------------------------------------------------------------------------------------


class SavedSearchIn(BaseModel):
    name: str = Field("", max_length=MAX_NAME_LENGTH, description="Default: the query.")
    query: str = Field("", max_length=500)
    mode: SearchMode = DEFAULT_SEARCH_MODE
    author: str | None = None
    category: str | None = None
    has_code: bool | None = None
    date_from: Day | None = None
    date_to: Day | None = None

    def to_saved(self) -> SavedSearch:
        return SavedSearch(
            name=self.name,
            query=self.query,
            mode=self.mode,
            filters=SearchFilters(
                date_from=self.date_from,
                date_to=self.date_to,
                author=self.author,
                category=self.category,
                has_code=self.has_code,
            ),
        )


class SubscriptionIn(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    frequency: Literal["daily", "weekly"] = "daily"
    weekday: int = Field(0, ge=0, le=6, description="Weekly digests: 0 = Monday … 6 = Sunday.")
    hour: int | None = Field(None, ge=0, le=23, description="Local hour to send at; default: the server's.")
    timezone: str = Field("UTC", min_length=1, description="IANA time zone, e.g. Europe/Berlin.")
    include_trending: bool = True
    top_n: int = Field(10, ge=0, le=MAX_TOP_N)
    saved_searches: list[SavedSearchIn] = Field(default_factory=list, max_length=MAX_SAVED_SEARCHES)
    include_recommendations: bool = False


class SubscriptionOut(BaseModel):
    id: int
    email: str
    status: Literal["pending_confirmation", "active", "unsubscribed"]
    frequency: str
    weekday: int
    hour: int
    timezone: str
    include_trending: bool
    top_n: int
    saved_searches: list[dict]
    include_recommendations: bool

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        status = (
            "unsubscribed" if s.unsubscribed_at else "active" if s.confirmed_at else "pending_confirmation"
        )
        return cls(
            id=s.id,
            email=s.email,
            status=status,
            frequency=s.frequency,
            weekday=s.weekday,
            hour=s.hour,
            timezone=s.timezone,
            include_trending=s.include_trending,
            top_n=s.top_n,
            saved_searches=[search.as_dict() for search in s.saved_searches],
            include_recommendations=s.include_recommendations,
        )


@router.post("/subscriptions", status_code=202, tags=["subscriptions"])
def api_subscribe(body: SubscriptionIn, request: Request, core: CoreDep) -> SubscriptionOut:
    """Subscribe an address; a confirmation mail with a signed link is sent to it (double opt-in)."""
    user = _current_user(request)
    spec = SubscriptionSpec(
        email=body.email,
        frequency=body.frequency,
        weekday=body.weekday,
        hour=core.settings.digest_send_hour if body.hour is None else body.hour,
        timezone=body.timezone,
        include_trending=body.include_trending,
        top_n=body.top_n,
        saved_searches=[s.to_saved() for s in body.saved_searches],
        include_recommendations=body.include_recommendations,
    )
    try:
        subscription = subscriptions.subscribe(
            core,
            spec,
            user_id=user.id if user else None,
            client=client_address(request),
            base_url=public_base(request),
        )
        return SubscriptionOut.of(subscription)
    except (MailNotConfigured, MailUnavailable, TooManyRequests) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        raise HTTPException(_status_of(exc), str(exc), headers=headers) from exc


@router.get("/subscriptions/confirm", tags=["subscriptions"])
def api_confirm(core: CoreDep, token: Annotated[str, Query(min_length=1, max_length=2_000)]) -> SubscriptionOut:
    """Confirm a subscription with the token from the confirmation mail."""
    return SubscriptionOut.of(subscriptions.confirm(core, token))


@router.post("/unsubscribe", tags=["subscriptions"])
async def api_unsubscribe(request: Request, core: CoreDep) -> JSONResponse:
    """One-click unsubscribe (RFC 8058): the signed token in the query or the form body."""
    token = request.query_params.get("token")
    if not token and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        token = str((await request.form()).get("token") or "")
    subscription = subscriptions.unsubscribe(core, token or "")
    return JSONResponse({"id": subscription.id, "status": "unsubscribed"})
