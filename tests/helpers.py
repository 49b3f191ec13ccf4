"""Shared test helpers: small stores built without a file format, and test doubles for
clocks, HTTP transports, imports that die halfway or meet another writer, and many threads
acting at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

from paperfeed.core import PaperFeed
from paperfeed.errors import PermissionDenied, TooManyRequests
from paperfeed.ingest.base import Source
from paperfeed.models import PaperRecord, SourceItem
from paperfeed.text import finish_record


def paper(title: str, abstract: str | None = None, **fields) -> PaperRecord:
    fields.setdefault("source", "test")
    return PaperRecord(
        title=title,
        abstract=f"An abstract about {title.lower()}." if abstract is None else abstract,
        **fields,
    )


def add_papers(core: PaperFeed, *records: PaperRecord) -> None:
    """Merge records into the store exactly as an import does, then update the indexes."""
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, [finish_record(r) for r in records])
    core.sync_indexes()


# Hand-made embeddings for recommendation tests: axes 0-2 are topics, 3 and up details.
MODEL = "test-embedder@1"
DIM = 16


def axis(*weights: tuple[int, float]) -> np.ndarray:
    """A vector in the tests' embedding space, from (axis, weight) pairs."""
    vector = np.zeros(DIM, dtype=np.float32)
    for index, weight in weights:
        vector[index] = weight
    return vector


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class FakeClock:
    """Time that passes only when slept: it records the pauses asked for and waits for none."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A transport handler that remembers the requests it answered."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def params(self, key: str) -> list[str | None]:
        return [r.url.params.get(key) for r in self.requests]


class Killed(Exception):
    """Stands for the process dying in the middle of an import."""


class DiesAfter:
    """The same content as `source`, but the reading stops with `Killed` after `limit` items."""

    def __init__(self, source: Source, limit: int) -> None:
        self.source, self.limit = source, limit
        self.fmt, self.location = source.fmt, source.location

    def fingerprint(self) -> str:
        return self.source.fingerprint()

    def items(self) -> Iterator[SourceItem]:
        for count, item in enumerate(self.source.items()):
            if count == self.limit:
                raise Killed
            yield item


class ActsAfter(DiesAfter):
    """The same content as `source`, with `act` run (as another writer would) after `limit` items."""

    def __init__(self, source: Source, limit: int, act: Callable[[], object]) -> None:
        super().__init__(source, limit)
        self.act = act

    def items(self) -> Iterator[SourceItem]:
        for count, item in enumerate(self.source.items()):
            if count == self.limit:
                self.act()
            yield item


def all_at_once(count: int, attempt: Callable[[int], object]) -> Counter[str]:
    """Run `attempt(0..count-1)` in `count` threads released together; how each one ended:
    "ok", "refused" (PermissionDenied) or "throttled" (TooManyRequests)."""
    barrier = threading.Barrier(count)

    def one(number: int) -> str:
        barrier.wait()
        try:
            attempt(number)
        except TooManyRequests:
            return "throttled"
        except PermissionDenied:
            return "refused"
        return "ok"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(one, range(count)))
