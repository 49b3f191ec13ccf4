"""Running due digests from inside a long-lived process (`paperfeed serve --with-scheduler`).

A daemon thread calls `run_due` once a minute. Because the ledger makes every run safe, this
can run in several server processes at once, and next to a cron job, without doubling mails.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from paperfeed.digest.runner import run_due
from paperfeed.errors import PaperfeedError
from paperfeed.periodic import PeriodicJob

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0


class DigestScheduler(PeriodicJob):
    thread_name = "paperfeed-digests"

    def __init__(self, core: PaperFeed, *, interval: float = INTERVAL_SECONDS) -> None:
        super().__init__(interval=interval)
        self.core = core

    def run_once(self) -> None:
        try:
            report = run_due(self.core, dt.datetime.now(dt.UTC))
        except PaperfeedError as exc:  # e.g. mail not configured: say so, keep going
            log.warning("digests not sent: %s", exc)
        except Exception:  # one bad run must not end the loop
            log.exception("digest run failed")
        else:
            if report.due:
                log.info("digests: %s", report.as_dict())
        finally:
            self.runs += 1
