"""The import pipeline shared by every source.

Records are merged in batches; each batch, its rejections and the run's progress commit in
one transaction. A crash or kill therefore loses at most the batch in flight, and running
the same import again resumes after the last committed record. Because merging is
idempotent, re-importing finished content adds nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import gc
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from paperfeed.errors import ImportFailed
from paperfeed.ingest.base import Source
from paperfeed.models import ImportReport, PaperRecord, Rejected, Rejection, SourceItem
from paperfeed.store import Store
from paperfeed.store.papers import MergeOutcome

DEFAULT_BATCH = 2_000
ProgressCallback = Callable[[int], None]  # called with the number of records just processed
CommittedCallback = Callable[[MergeOutcome], None]  # called with each batch once it is committed
# Parsing in a second process pays off only for big files: starting it costs about a second.
READ_AHEAD_MIN_BYTES = 32 << 20
_CHUNK = 1_000
# An import allocates millions of short-lived, acyclic tuples and strings: at Python's default
# of a young-generation collection every 700 allocations, the cyclic collector took about a
# seventh of the import's Python time in a sampling profile, finding nothing to free
# (refcounting frees them).
IMPORT_GC_THRESHOLD = 50_000


_PR_SET_PDEATHSIG = 1

_gc_lock = threading.Lock()
_gc_imports = 0  # imports running in this process (a server may run several at once)
_gc_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cycles less often while an import runs: what the process held before is frozen
    (never scanned again until the end) and the young generation fills up longer. A forked
    parser inherits both. The collector's settings are restored when the last import ends."""
    global _gc_imports, _gc_saved
    with _gc_lock:
        if _gc_imports == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(IMPORT_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_imports += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_imports -= 1
            if _gc_imports == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()


def _die_with(parent_pid: int) -> None:
    """Tie this child's life to its parent's: a parent killed with SIGKILL runs no clean-up, and
    the child would otherwise wait forever on a full queue nobody reads. Linux sends us SIGKILL
    when the parent dies; elsewhere (and as a second line) a watchdog thread notices."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent_pid:  # the parent died before the death signal was set up
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(PaperRecord))
# A parsed item on its way between the processes: (record number, the record's field values in
# order) or (record number, rejection reason). Pickling plain tuples instead of dataclasses
# halves the cost of the hand-over, which is paid on both cores for every record.
_PackedItem = tuple[int, tuple | str]


def _pack(item: SourceItem) -> _PackedItem:
    record = item.item
    if isinstance(record, Rejected):
        return item.record_no, record.reason
    return item.record_no, tuple([getattr(record, name) for name in _RECORD_FIELDS])


def _unpack(packed: _PackedItem) -> SourceItem:
    record_no, content = packed
    return SourceItem(record_no, Rejected(content) if isinstance(content, str) else PaperRecord(*content))


def _parse_into(source: Source, skip_through: int, chunks: multiprocessing.Queue, parent_pid: int) -> None:
    """Child process: parse the source and hand over items in chunks; None marks the end."""
    _die_with(parent_pid)
    try:
        chunk: list[_PackedItem] = []
        for item in source.items():
            if item.record_no > skip_through:
                chunk.append(_pack(item))
                if len(chunk) >= _CHUNK:
                    chunks.put(chunk)
                    chunk = []
        chunks.put(chunk)
        chunks.put(None)
    except BaseException as exc:
        chunks.put(f"{type(exc).__name__}: {exc}")


def _read_ahead(source: Source, skip_through: int) -> Iterator[SourceItem]:
    """Items parsed in a second process while this one merges and commits: parsing and the
    database then use both cores. Falls back to parsing inline for small or unpicklable sources."""
    path = getattr(source, "path", None)
    big = path is not None and os.path.isfile(path) and os.path.getsize(path) >= READ_AHEAD_MIN_BYTES
    if not (getattr(source, "parse_in_subprocess", False) and big and (os.cpu_count() or 1) > 1):
        yield from source.items()
        return
    # fork, not spawn: spawn re-imports the caller's main module, which breaks scripts without a
    # __main__ guard. The child only reads and parses; it touches no lock, database or index.
    context = multiprocessing.get_context("fork")
    chunks: multiprocessing.Queue = context.Queue(maxsize=8)
    worker = context.Process(
        target=_parse_into, args=(source, skip_through, chunks, os.getpid()), daemon=True
    )
    worker.start()
    try:
        while True:
            try:
                chunk = chunks.get(timeout=5)
            except queue.Empty:
                if not worker.is_alive():
                    raise ImportFailed(f"the parser of {source.location} stopped unexpectedly") from None
                continue
            if chunk is None:
                return
            if isinstance(chunk, str):
                raise ImportFailed(f"reading {source.location} failed: {chunk}")
            yield from map(_unpack, chunk)
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=5)


def run_import(
    store: Store,
    source: Source,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: ProgressCallback | None = None,
    committed: CommittedCallback | None = None,
) -> ImportReport:
    started = time.perf_counter()
    run = store.imports.start(source.fmt, source.location, source.fingerprint())
    report = ImportReport(source=source.location, fmt=source.fmt, resumed_from=run.records_done)
    # Rejections of the records an earlier, interrupted run already committed still belong in the report.
    report.rejections.extend(store.imports.rejections(run.id, after_record=run.records_done))
    if run.records_done:
        report.added, report.updated, report.unchanged = run.added, run.updated, run.unchanged

    records: list[PaperRecord] = []
    rejections: list[Rejection] = []
    last_no = run.records_done

    def flush() -> None:
        outcome = None
        for attempt in range(3):
            try:
                with store.engine.begin() as conn:
                    outcome = store.papers.merge_batch(conn, records)
                    store.imports.record_batch(conn, run.id, last_no, outcome, rejections)
                break
            except sa.exc.IntegrityError:
                # Another writer inserted one of these papers since we looked: merge again.
                if attempt == 2:
                    raise
        assert outcome is not None
        if committed:
            committed(outcome)
        report.added += outcome.added
        report.updated += outcome.updated
        report.unchanged += outcome.unchanged
        report.rejections.extend(rejections)
        if progress:
            progress(len(records) + len(rejections))
        records.clear()
        rejections.clear()

    try:
        with fewer_collections():
            for source_item in _read_ahead(source, run.records_done):
                if source_item.record_no <= run.records_done:
                    continue  # committed by the interrupted run we are resuming
                last_no = source_item.record_no
                if isinstance(source_item.item, Rejected):
                    rejections.append(Rejection(source_item.record_no, source_item.item.reason))
                else:
                    records.append(source_item.item)
                if len(records) + len(rejections) >= batch_size:
                    flush()
            if records or rejections:
                flush()
    except BaseException as exc:
        # The batch in flight is lost; everything before it is committed and will be resumed.
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        store.imports.finish(run.id, error=message[:2000])
        if isinstance(exc, (OSError, sa.exc.SQLAlchemyError)):
            raise ImportFailed(
                f"import of {source.location} stopped after record {last_no}: {message}"
            ) from exc
        raise
    store.imports.finish(run.id)
    report.seconds = time.perf_counter() - started
    return report
