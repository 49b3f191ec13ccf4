"""arXiv's announcement schedule: on which day's listing a submission first appears.

arXiv announces once a day, Sunday to Thursday at 20:00 US Eastern time. An announcement holds
the submissions received before the 14:00 Eastern deadline of the weekday before it, and the
listing is dated the day it goes out in UTC (20:00 Eastern is already the next day there), so:

    submitted Mon 14:00 – Tue 14:00 ET  ->  listed Wednesday
    submitted Thu 14:00 – Fri 14:00 ET  ->  listed Monday (announced Sunday evening)
    submitted Fri 14:00 – Mon 14:00 ET  ->  listed Tuesday

Holidays shift arXiv's schedule; when the OAI-PMH datestamp of a new paper is at hand it is the
day the paper was announced, and it wins (see `oai_pmh`). This rule is the fallback for papers
whose announcement is not in the response (replacements, API results).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
DEADLINE = dt.time(14, 0)
# A date without a time of day is taken as noon Eastern: before that day's deadline.
NOON = dt.time(12, 0)
# An OAI datestamp further than this after the expected listing is a later metadata change.
ANNOUNCEMENT_SLACK = dt.timedelta(days=14)


def _next_weekday(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def announcement_day(submitted: dt.datetime | dt.date) -> dt.date:
    """The date of the first listing showing a submission made at `submitted` (aware, or UTC)."""
    if isinstance(submitted, dt.datetime):
        moment = submitted if submitted.tzinfo else submitted.replace(tzinfo=dt.UTC)
        local = moment.astimezone(EASTERN)
    else:
        local = dt.datetime.combine(submitted, NOON, tzinfo=EASTERN)
    deadline_day = local.date()
    if local.time() >= DEADLINE or deadline_day.weekday() >= 5:
        deadline_day = _next_weekday(deadline_day)  # missed today's deadline: the next weekday's
    return _next_weekday(deadline_day)


def listing_day(
    first_submitted: dt.datetime | dt.date | None, datestamp: dt.date | None, *, new: bool
) -> dt.date | None:
    """The day a harvested record belongs on: its announcement.

    For a new paper (one version) the OAI-PMH datestamp is the day arXiv announced it, unless it
    is far later than the schedule allows (then it records a later metadata change). Replacements
    keep the day their first version was announced: they are not new again."""
    expected = announcement_day(first_submitted) if first_submitted is not None else None
    plausible = expected is None or (
        datestamp is not None
        and expected - dt.timedelta(days=3) <= datestamp <= expected + ANNOUNCEMENT_SLACK
    )
    if new and datestamp is not None and plausible:
        return datestamp
    return expected or datestamp
