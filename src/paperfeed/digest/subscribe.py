"""Subscribing with double opt-in, confirming and unsubscribing through signed links.

The web UI, the JSON API and the CLI all go through these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import TYPE_CHECKING

from paperfeed.community.accounts import RateLimiter, RateRule
from paperfeed.digest.compose import render_template
from paperfeed.digest.links import MAX_AGE, Links, read_token
from paperfeed.digest.mailer import DeliveryError, Mailer, MailUnavailable, build_message
from paperfeed.digest.periods import zone
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.store.subscriptions import (
    FREQUENCIES,
    SEARCH_MODES,
    SavedSearch,
    Subscription,
    SubscriptionSpec,
)

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

MAX_TOP_N = 50
MAX_SAVED_SEARCHES = 10
MAX_QUERY_LENGTH = 500
MAX_NAME_LENGTH = 100
# Confirmation mails are sent on anyone's request, so they are limited three ways: one address is
# sent at most one per cool-down, one client may have a few sent per hour, and the whole server a
# few hundred a day.
CONFIRMATION_COOLDOWN = RateRule(1, dt.timedelta(minutes=15), "confirmation mails to this address")
CONFIRMATIONS_PER_CLIENT = RateRule(5, dt.timedelta(hours=1), "subscriptions from your address")
CONFIRMATIONS_PER_SERVER = RateRule(300, dt.timedelta(days=1), "confirmation mails sent by this server")
_EMAIL_RE = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def normalise_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise InvalidInput(f"{email[:60]!r} is not an e-mail address")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def validate(spec: SubscriptionSpec) -> SubscriptionSpec:
    """The spec with its address normalised; InvalidInput naming the first bad field."""
    spec.email = normalise_email(spec.email)
    if spec.frequency not in FREQUENCIES:
        raise InvalidInput(f"frequency must be one of {', '.join(FREQUENCIES)}, not {spec.frequency!r}")
    if not 0 <= spec.hour <= 23:
        raise InvalidInput(f"hour must be between 0 and 23, not {spec.hour}")
    if not 0 <= spec.weekday <= 6:
        raise InvalidInput(f"weekday must be between 0 (Monday) and 6 (Sunday), not {spec.weekday}")
    zone(spec.timezone)
    if not 0 <= spec.top_n <= MAX_TOP_N:
        raise InvalidInput(f"top_n must be between 0 and {MAX_TOP_N}, not {spec.top_n}")
    if len(spec.saved_searches) > MAX_SAVED_SEARCHES:
        raise InvalidInput(f"at most {MAX_SAVED_SEARCHES} saved searches per subscription")
    for search in spec.saved_searches:
        validate_search(search)
    if (
        not (spec.include_trending and spec.top_n)
        and not spec.saved_searches
        and not spec.include_recommendations
    ):
        raise InvalidInput(
            "choose something for the digest: trending papers, a saved search or recommendations"
        )
    return spec


def validate_search(search: SavedSearch) -> None:
    """Checks a saved search, trimming its text; a search saved without a name is named by its query."""
    search.query = search.query.strip()
    if len(search.query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"saved search queries are at most {MAX_QUERY_LENGTH} characters")
    search.name = search.name.strip()
    if len(search.name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"saved search names are at most {MAX_NAME_LENGTH} characters")
    search.name = search.name or search.query[:MAX_NAME_LENGTH]
    if search.mode not in SEARCH_MODES:
        raise InvalidInput(f"search mode must be one of {', '.join(SEARCH_MODES)}, not {search.mode!r}")
    f = search.filters
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise InvalidInput("a saved search's from date is after its to date")


def subscribe(
    core: PaperFeed,
    spec: SubscriptionSpec,
    *,
    user_id: int | None = None,
    client: str = "local",
    base_url: str | None = None,
) -> Subscription:
    """Record an unconfirmed subscription and mail the address a link to confirm it. `client` is
    who asks (the web's client address): anonymous requests must not make us a mail cannon;
    `base_url` is where the request came in, for links when none is configured."""
    spec = validate(spec)
    if spec.include_recommendations and user_id is None:
        raise InvalidInput(
            "recommendations are learnt from your upvotes and saved papers: log in to get them"
        )
    mailer = Mailer(core.settings)  # fails early, before anything is stored, when mail is off
    # Counted in one atomic step before anything is sent, and given back if the mail fails.
    limiter = RateLimiter(core.store)
    ticket = limiter.take(
        (
            f"confirm:email:{hashlib.sha256(spec.email.casefold().encode()).hexdigest()}",
            CONFIRMATION_COOLDOWN,
        ),
        (f"confirm:client:{client}", CONFIRMATIONS_PER_CLIENT),
        ("confirm:all", CONFIRMATIONS_PER_SERVER),
    )
    try:
        subscription = core.store.subscriptions.create(spec, user_id=user_id)
        with mailer:
            send_confirmation(core, subscription, mailer, base_url=base_url)
    except DeliveryError as exc:
        limiter.give_back(ticket)
        raise MailUnavailable(
            f"the confirmation mail could not be sent ({exc}); please try again later"
        ) from exc
    except BaseException:
        limiter.give_back(ticket)
        raise
    return subscription


def update(core: PaperFeed, subscription: Subscription, spec: SubscriptionSpec) -> Subscription:
    """Change what a subscription holds (the address stays: a new one would need confirming)."""
    spec.email = subscription.email
    return core.store.subscriptions.update(subscription.id, validate(spec)) or subscription


def delete_saved_search(core: PaperFeed, subscription: Subscription, position: int) -> Subscription:
    """The subscription without its saved search at `position` (counted from 0); InvalidInput when
    there is no such search or nothing would be left for the digest."""
    spec = subscription.spec()
    if not 0 <= position < len(spec.saved_searches):
        raise InvalidInput("that saved search is already gone; reload the page")
    del spec.saved_searches[position]
    return update(core, subscription, spec)


def send_confirmation(
    core: PaperFeed, subscription: Subscription, mailer: Mailer, *, base_url: str | None = None
) -> None:
    links = Links(core.settings, base_url)
    context = {
        "subscription": subscription,
        "confirm_url": links.confirm(subscription.id),
        "valid_days": MAX_AGE["confirm"].days,
    }
    mailer.send(
        build_message(
            core.settings,
            to=subscription.email,
            subject="Confirm your paperfeed subscription",
            text=render_template("confirm.txt", **context),
            html=render_template("confirm.html", **context),
        )
    )


def confirm(core: PaperFeed, token: str, *, now: dt.datetime | None = None) -> Subscription:
    subscription_id = read_token(Links(core.settings).secret, "confirm", token, now=now)
    subscription = core.store.subscriptions.get(subscription_id)
    if subscription is None:
        raise NotFound("this subscription no longer exists")
    if subscription.unsubscribed_at is not None:
        raise InvalidInput("this subscription was cancelled; subscribe again to receive digests")
    return core.store.subscriptions.confirm(subscription_id, now) or subscription


def unsubscribe(core: PaperFeed, token: str, *, now: dt.datetime | None = None) -> Subscription:
    """Cancel the subscription a signed link names; cancelling twice is not an error."""
    subscription_id = read_token(Links(core.settings).secret, "unsubscribe", token, now=now)
    subscription = core.store.subscriptions.unsubscribe(subscription_id, now)
    if subscription is None:
        raise NotFound("this subscription no longer exists")
    return subscription


def check_unsubscribe_token(core: PaperFeed, token: str) -> Subscription:
    """The subscription an unsubscribe link names, without cancelling it (to show the page)."""
    subscription_id = read_token(Links(core.settings).secret, "unsubscribe", token)
    subscription = core.store.subscriptions.get(subscription_id)
    if subscription is None:
        raise NotFound("this subscription no longer exists")
    return subscription
