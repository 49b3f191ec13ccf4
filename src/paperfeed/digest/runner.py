"""Sending every due digest exactly once, however often and however many times this runs.

`run_due(core, now)` is safe to call from cron at any frequency, from several processes at
once, and after a crash. For each active subscription whose send moment has passed in its time
zone (see `periods`), it claims the ledger row of (subscription, period) in a transaction,
composes the digest, sends it and marks the row sent. The row's unique key and the conditional
claim make one sender win; the claim is a lease, so a sender that died leaves the row to be
taken over once the lease runs out, and nothing is lost.

The one unavoidable window: the mail server has accepted the message but the process dies
before the ledger records it. Nothing can make "the server has it" and "the database says so"
one atomic step, so after the lease the digest is sent again. It is kept small: the mark is
written right after the server's reply; the lease is far longer than any send can take, so a
live sender never loses its claim; and a resend carries the same Message-ID as the first
attempt (recorded before sending), which lets mail systems that deduplicate drop the copy.

Failures: 4xx answers and connection problems are retried with exponential backoff
(`next_attempt_at`); 5xx refusals of the recipient or message fail the row for good. Both
stay visible in the ledger (`paperfeed digest status`, /admin/digests).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paperfeed.digest.compose import Composer
from paperfeed.digest.links import Links
from paperfeed.digest.mailer import DeliveryError, Mailer, build_message, new_message_id
from paperfeed.digest.periods import Period, due_period
from paperfeed.errors import PaperfeedError
from paperfeed.store.subscriptions import LedgerEntry, Subscription

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=15)
RETRY_BASE = dt.timedelta(minutes=5)
RETRY_MAX = dt.timedelta(hours=4)
MAX_ATTEMPTS = 8  # about eleven hours of retries before a digest is given up

MailerFactory = Callable[[], Mailer]


@dataclass(slots=True)
class RunReport:
    due: int = 0
    sent: int = 0
    empty: int = 0  # nothing new for the subscriber: recorded, no mail
    retrying: int = 0
    failed: int = 0
    taken_by_others: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "due": self.due,
            "sent": self.sent,
            "empty": self.empty,
            "retrying": self.retrying,
            "failed": self.failed,
            "taken_by_others": self.taken_by_others,
            "errors": self.errors,
        }


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the n-th failed attempt: 5 min, 10 min, 20 min, ... at most 4 h."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def due_subscriptions(core: PaperFeed, now: dt.datetime) -> list[tuple[Subscription, Period]]:
    """Active subscriptions with a period due now whose ledger row does not rule out sending."""
    due: list[tuple[Subscription, Period]] = []
    for subscription in core.store.subscriptions.active():
        try:
            period = due_period(subscription, now)
        except PaperfeedError as exc:  # e.g. a time zone this system no longer knows
            log.warning("subscription %s skipped: %s", subscription.id, exc)
            continue
        if period is not None:
            due.append((subscription, period))
    settled = core.store.subscriptions.settled_keys(((s.id, p.key) for s, p in due), now)
    return [(s, p) for s, p in due if (s.id, p.key) not in settled]


def start_composing(
    core: PaperFeed, links: Links, due: list[tuple[Subscription, Period]], now: dt.datetime
) -> tuple[Composer, dict[int, dt.datetime]]:
    """What composing these digests shares: one Composer (its caches serve every digest; what
    the users follow and like is loaded up front), and when each subscription's last digest went out."""
    composer = Composer(core, links, now=now)
    since = core.store.subscriptions.last_sent_many(
        [s.id for s, _ in due], other_than={s.id: p.key for s, p in due}, after=now - dt.timedelta(days=60)
    )
    composer.prefetch_follows([s.user_id for s, _ in due if s.user_id is not None])
    composer.prepare_searches([s for s, _ in due])
    users = [s.user_id for s, _ in due if s.include_recommendations and s.user_id is not None]
    if users:
        composer.recommender().prefetch(users)
    return composer, since


def single_threaded_blas():
    """The per-user models are small matrix products, several times faster on one BLAS thread
    than on threads contending for two cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def run_due(
    core: PaperFeed,
    now: dt.datetime | None = None,
    *,
    mailer_factory: MailerFactory | None = None,
    lease: dt.timedelta = LEASE,
) -> RunReport:
    """Send every digest that is due at `now` and not yet sent; see the module's docstring."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    report = RunReport()
    due = due_subscriptions(core, now)
    report.due = len(due)
    if not due:
        return report
    store = core.store.subscriptions
    links = Links(core.settings)
    with (mailer_factory or (lambda: Mailer(core.settings)))() as mailer, single_threaded_blas():
        composer, since = start_composing(core, links, due, now)
        for subscription, period in due:
            message_id = new_message_id(core.settings, f"digest.{subscription.id}.{period.key}")
            entry = store.claim(subscription.id, period.key, now, lease, message_id=message_id)
            if entry is None:
                report.taken_by_others += 1
                continue
            _deliver(
                core,
                composer,
                mailer,
                links,
                subscription,
                period,
                entry,
                since.get(subscription.id),
                now,
                report,
            )
    return report


def _deliver(
    core: PaperFeed,
    composer: Composer,
    mailer: Mailer,
    links: Links,
    subscription: Subscription,
    period: Period,
    entry: LedgerEntry,
    since: dt.datetime | None,
    now: dt.datetime,
    report: RunReport,
) -> None:
    store = core.store.subscriptions
    try:
        digest = composer.compose(subscription, period, since=since)
        if digest.is_empty:
            store.mark_empty(entry, now=_wall_clock())
            report.empty += 1
            return
        rendered = composer.render(digest)
        message = build_message(
            core.settings,
            to=subscription.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=entry.message_id,
            unsubscribe_url=links.unsubscribe_one_click(subscription.id),
            list_id=f"paperfeed {subscription.frequency} digest <digest.{_list_domain(links)}>",
        )
        mailer.send(message)
    except DeliveryError as exc:
        _record_failure(store, entry, str(exc), permanent=exc.permanent, now=now, report=report)
        return
    except Exception as exc:  # a fault of ours while composing: retried like a transient failure
        log.exception("digest of subscription %s for %s could not be built", subscription.id, period.key)
        _record_failure(store, entry, f"{type(exc).__name__}: {exc}", permanent=False, now=now, report=report)
        return
    if store.mark_sent(entry, now=_wall_clock(), papers=digest.paper_count):
        report.sent += 1
    else:  # only if this send outlived its lease and another sender took the row over
        log.error("digest %s/%s was sent after its claim was lost", subscription.id, period.key)
        report.sent += 1


def _record_failure(
    store, entry: LedgerEntry, error: str, *, permanent: bool, now: dt.datetime, report: RunReport
) -> None:
    report.errors.append(f"subscription {entry.subscription_id} ({entry.period_key}): {error}")
    if permanent or entry.attempts >= MAX_ATTEMPTS:
        why = error if permanent else f"gave up after {entry.attempts} attempts: {error}"
        store.mark_failed(entry, error=why)
        report.failed += 1
        log.warning("digest %s/%s failed: %s", entry.subscription_id, entry.period_key, why)
    else:
        store.mark_retry(entry, error=error, next_attempt_at=now + retry_delay(entry.attempts))
        report.retrying += 1
        log.info("digest %s/%s will be retried: %s", entry.subscription_id, entry.period_key, error)


def _wall_clock() -> dt.datetime:
    """When a digest really went out. Papers first seen after it are new for the next digest,
    so it is the real time even when a run acts as if it were another moment (`--now`)."""
    return dt.datetime.now(dt.UTC)


def _list_domain(links: Links) -> str:
    from urllib.parse import urlsplit

    return urlsplit(links.base_url).hostname or "localhost"
