"""The embedding worker of `paperfeed serve`: embeds, in the background, the papers that have no
vector yet (an import of millions, a sync's new papers, a changed model), while the site serves,
then upgrades first-pass vectors to the default model's (see search/first_pass.py).

Searches see its progress at every checkpoint of the vector index; semantic and hybrid results
say which share of the store they cover. Stopping the server ends a run after its current batch;
the next run carries on from there (see `VectorIndex.sync`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from paperfeed.periodic import PeriodicJob
from paperfeed.search.embeddings import Embedder
from paperfeed.search.vectors import IndexBusy, VectorIndex
from paperfeed.store import Store

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0


def eta_text(done: int, total: int, elapsed: float) -> str:
    """ "12,000 of 50,000 (24%), 110/s, about 6 min left" """
    share = f" ({done / total:.0%})" if total else ""
    line = f"{done:,} of {total:,}{share}"
    if done and elapsed > 0:
        rate = done / elapsed
        left = max(0, total - done) / rate
        line += f", {rate:,.0f}/s, about {duration_text(left)} left"
    return line


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class EmbedWorker(PeriodicJob):
    thread_name = "paperfeed-embed"

    def __init__(
        self,
        store: Store,
        vectors: VectorIndex,
        embedder: Callable[[], Embedder],
        to_embed: Callable[[], int],
        *,
        interval: float = 30.0,
    ) -> None:
        """`to_embed` counts the searchable papers that have no vector yet (for the log's ETA)."""
        super().__init__(interval=interval)
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.to_embed = to_embed
        self.embedded = 0  # papers embedded by this worker since it started

    def run_once(self) -> None:
        try:
            self._run()
        except IndexBusy:
            log.info("embedding: another run is updating the vector index; trying again later")
        except Exception:  # one bad run must not end the loop
            log.exception("embedding run failed")
        finally:
            self.runs += 1

    def _run(self) -> None:
        embedder = self.embedder()
        missing = self.to_embed()
        if missing:
            log.info("embedding %s papers with %s in the background", f"{missing:,}", embedder.key)
        started = time.monotonic()
        embedded = self.vectors.sync(
            self.store, embedder, progress=_logging_progress("embedding", missing), stop=self._stop, wait=False
        )
        self.embedded += embedded
        if embedded:
            log.info("embedding: %s papers embedded in %.0f s", f"{embedded:,}", time.monotonic() - started)
        provisional = self.vectors.provisional_count(self.store, embedder)
        if provisional and not self._stop.is_set():
            log.info("upgrading %s first-pass vectors to %s", f"{provisional:,}", embedder.key)
            started = time.monotonic()
            upgraded = self.vectors.upgrade(
                self.store,
                embedder,
                progress=_logging_progress("upgrading", provisional),
                stop=self._stop,
                wait=False,
            )
            self.embedded += upgraded
            log.info("upgrading: %s vectors upgraded in %.0f s", f"{upgraded:,}", time.monotonic() - started)


def _logging_progress(what: str, total: int) -> Callable[[int], None]:
    """A progress callback that logs a line with the time left every LOG_EVERY_S seconds."""
    started = last_log = time.monotonic()
    done = 0

    def progress(n: int) -> None:
        nonlocal done, last_log
        done += n
        now = time.monotonic()
        if total and now - last_log >= LOG_EVERY_S:
            last_log = now
            log.info("%s: %s", what, eta_text(done, total, now - started))

    return progress
