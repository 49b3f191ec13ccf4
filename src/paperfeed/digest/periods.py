"""When a subscription's digest is due: periods (a local day or an ISO week) and their send moments.

A digest belongs to a period named by a key ("2026-11-23", "2026-W47") in the subscriber's own
time zone. The period that is due is the latest whose send moment (the chosen local hour, on
the chosen weekday for weekly digests) has passed, so a runner that was down at the send hour
still sends the digest when it comes back, until the next period's moment takes over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from paperfeed.errors import InvalidInput
from paperfeed.store.subscriptions import Frequency, Subscription

PERIOD_LENGTH: dict[str, dt.timedelta] = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}


@dataclass(slots=True, frozen=True)
class Period:
    key: str
    day: dt.date  # the local day the digest is sent on
    send_at: dt.datetime  # that day's send moment, in UTC
    length: dt.timedelta


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}; use a name like Europe/Berlin or Asia/Tokyo"
        ) from None


def time_zone_names() -> list[str]:
    return sorted(available_timezones())


def period_key(frequency: Frequency, day: dt.date) -> str:
    if frequency == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def _send_moment(day: dt.date, hour: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.UTC)


def latest_period(subscription: Subscription, now: dt.datetime) -> Period:
    """The latest period of this subscription whose send moment is at or before `now`."""
    tz = zone(subscription.timezone)
    today = now.astimezone(tz).date()
    step = PERIOD_LENGTH[subscription.frequency]
    if subscription.frequency == "weekly":
        day = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=subscription.weekday)
    else:
        day = today
    if _send_moment(day, subscription.hour, tz) > now:
        day -= step
    return Period(
        key=period_key(subscription.frequency, day),
        day=day,
        send_at=_send_moment(day, subscription.hour, tz),
        length=step,
    )


def due_period(subscription: Subscription, now: dt.datetime) -> Period | None:
    """The period whose digest should be out by now, or None if nothing is due yet: periods
    whose send moment came before the subscription was confirmed are not owed."""
    if not subscription.active:
        return None
    period = latest_period(subscription, now)
    assert subscription.confirmed_at is not None
    if period.send_at < subscription.confirmed_at:
        return None
    return period
