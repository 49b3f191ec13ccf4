"""`paperfeed sync`: import what is new from every followed source, unattended.

Each source runs on its own: its window of days is imported through the ordinary pipeline
(batches committed with the run's progress), and only when the whole window is committed does
its watermark move to the window's end. A crash or kill leaves the window recorded, and the next
run resumes the same import where it stopped. A failing source (network down, overload past the
retries, a malformed page) is reported, retried later with a doubling backoff, and never holds
up the others.

Sources are claimed before they run (their next run moved ahead in one statement), so a
systemd timer and a server's scheduler can both call this without syncing a source twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paperfeed.errors import PaperfeedError
from paperfeed.ingest.follow import SYNC_ORDER, Clients, source_for, window
from paperfeed.ingest.pipeline import run_import
from paperfeed.models import FollowedSource, ImportReport, PaperRecord, Rejection
from paperfeed.periodic import PeriodicJob
from paperfeed.store import Store

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

log = logging.getLogger(__name__)

DUE_GRACE = dt.timedelta(minutes=10)  # a run this close to its time counts as due (timers drift)
CLAIM_HOLD = dt.timedelta(hours=2)  # how long a claimed source is left alone by other runners
BACKOFF_FIRST = dt.timedelta(minutes=15)
BACKOFF_MAX = dt.timedelta(hours=24)


@dataclass(slots=True)
class SyncReport:
    """What one run did with one source."""

    source_id: int
    label: str
    status: str  # "ok", "failed", "not due", "dry run"
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    import_report: ImportReport | None = None
    kinds: dict[str, int] = field(default_factory=dict)  # new, cross-list, replacement, ...
    error: str | None = None
    watermark: dt.date | None = None  # after the run
    next_run_at: dt.datetime | None = None
    would_add: int | None = None  # dry run: records for papers not stored yet

    def as_dict(self) -> dict:
        r = self.import_report
        return {
            "source": self.label,
            "status": self.status,
            "window": [d.isoformat() for d in (self.first_day, self.last_day) if d],
            "added": r.added if r else 0,
            "updated": r.updated if r else 0,
            "unchanged": r.unchanged if r else 0,
            "rejected": r.rejected if r else 0,
            "resumed_from": r.resumed_from if r else 0,
            "kinds": dict(self.kinds),
            "error": self.error,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "next_run_at": self.next_run_at.isoformat() if self.next_run_at else None,
            "would_add": self.would_add,
        }


def backoff(failures: int) -> dt.timedelta:
    """The wait after the `failures`-th failure in a row: 15 min, 30 min, 1 h, ... at most a day."""
    return min(BACKOFF_FIRST * 2 ** max(0, failures - 1), BACKOFF_MAX)


def _message(exc: BaseException) -> str:
    if isinstance(exc, PaperfeedError):
        return str(exc)
    return f"unexpected failure: {exc}" if str(exc) else "unexpected failure"


def sync_sources(
    store: Store,
    clients: Clients,
    *,
    now: dt.datetime,
    interval: dt.timedelta,
    batch_size: int,
    force: bool = False,
    dry_run: bool = False,
    only: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[SyncReport]:
    """Sync every followed source that is due (all of them with `force`), arXiv ones first."""
    follows = [f for f in store.follows.all() if only is None or f.id in only]
    follows.sort(key=lambda f: (SYNC_ORDER.get(f.kind, 9), f.id))
    reports = []
    for follow in follows:
        due = force or follow.next_run_at is None or follow.next_run_at <= now + DUE_GRACE
        if dry_run:
            reports.append(_dry_run(store, follow, clients, now) if due else _not_due(follow))
            continue
        claimed = store.follows.claim(
            follow.id, due_by=None if force else now + DUE_GRACE, hold_until=now + CLAIM_HOLD
        )
        if not claimed:
            reports.append(_not_due(store.follows.get(follow.id)))
            continue
        report = _sync_one(store, follow, clients, now, interval, batch_size, progress)
        reports.append(report)
        if report.status == "ok" and report.last_day and report.last_day < now.date():
            # That finished an interrupted run's window; go on to today in the same run.
            reports.append(
                _sync_one(store, store.follows.get(follow.id), clients, now, interval, batch_size, progress)
            )
    return reports


def _not_due(follow: FollowedSource) -> SyncReport:
    return SyncReport(
        follow.id, follow.label, "not due", watermark=follow.watermark, next_run_at=follow.next_run_at
    )


def _sync_one(
    store: Store,
    follow: FollowedSource,
    clients: Clients,
    now: dt.datetime,
    interval: dt.timedelta,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> SyncReport:
    first, last = window(follow, now.date())
    report = SyncReport(follow.id, follow.label, "ok", first, last, watermark=follow.watermark)
    source = None
    try:
        store.follows.begin_window(follow.id, first, last, now)
        source = source_for(follow, first, last, clients)
        report.import_report = run_import(store, source, batch_size=batch_size, progress=progress)
    except Exception as exc:  # one source's failure is reported and never stops the others
        if not isinstance(exc, PaperfeedError):
            log.exception("sync of %s failed", follow.label)
        report.status, report.error = "failed", _message(exc)
        report.next_run_at = now + backoff(follow.failures + 1)
        report.kinds = dict(getattr(source, "kinds", {}))
        store.follows.failed(follow.id, error=report.error, report=report.as_dict(), now=now,
                             next_run_at=report.next_run_at)  # fmt: skip
        return report
    finally:
        if source is not None:
            source.close()
    report.kinds = dict(source.kinds)
    report.watermark = last
    report.next_run_at = now + interval
    store.follows.succeeded(
        follow.id, watermark=last, report=report.as_dict(), now=now, next_run_at=report.next_run_at
    )
    return report


def _dry_run(store: Store, follow: FollowedSource, clients: Clients, now: dt.datetime) -> SyncReport:
    """What a run would import, fetched but not written: nothing in the store changes."""
    first, last = window(follow, now.date())
    report = SyncReport(follow.id, follow.label, "dry run", first, last, watermark=follow.watermark)
    source = source_for(follow, first, last, clients)
    counted = ImportReport(source=source.location, fmt=source.fmt)
    arxiv_ids: list[str] = []
    try:
        for source_item in source.items():
            item = source_item.item
            if isinstance(item, PaperRecord):
                counted.unchanged += 1
                if item.arxiv_id:
                    arxiv_ids.append(item.arxiv_id)
            else:
                counted.rejections.append(Rejection(source_item.record_no, item.reason))
    except PaperfeedError as exc:
        report.status, report.error = "failed", str(exc)
    finally:
        source.close()
    known = store.papers.ids_with_keys(arxiv_ids)
    report.would_add = len(set(arxiv_ids) - set(known))
    report.import_report = counted
    report.kinds = dict(source.kinds)
    report.next_run_at = follow.next_run_at
    return report


class SyncScheduler(PeriodicJob):
    """Syncs due sources from inside a long-lived process (`paperfeed serve --with-scheduler`),
    checking once a minute; the claims keep it from doubling a timer's work."""

    thread_name = "paperfeed-sync"

    def __init__(self, core: PaperFeed, *, interval: float = 60.0) -> None:
        super().__init__(interval=interval)
        self.core = core

    def run_once(self) -> None:
        try:
            for report in self.core.sync_followed():
                if report.status == "ok":
                    log.info("sync: %s", report.as_dict())
                elif report.status == "failed":
                    log.warning("sync of %s failed: %s", report.label, report.error)
        except Exception:  # one bad run must not end the loop
            log.exception("sync run failed")
        finally:
            self.runs += 1
