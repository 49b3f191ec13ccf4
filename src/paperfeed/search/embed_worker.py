"""The embedding worker of `paperfeed serve`: embeds, in the background, the papers that have no
vector yet (an import of millions, a sync's new papers, a changed model), while the site serves.

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
        started = last_log = time.monotonic()
        done = 0

        def progress(n: int) -> None:
            nonlocal done, last_log
            done += n
            now = time.monotonic()
            if missing and now - last_log >= LOG_EVERY_S:
                last_log = now
                log.info("embedding: %s", eta_text(done, missing, now - started))

        if missing:
            log.info("embedding %s papers with %s in the background", f"{missing:,}", embedder.key)
        embedded = self.vectors.sync(self.store, embedder, progress=progress, stop=self._stop, wait=False)
        self.embedded += embedded
        if embedded:
            log.info("embedding: %s papers embedded in %.0f s", f"{embedded:,}", time.monotonic() - started)
