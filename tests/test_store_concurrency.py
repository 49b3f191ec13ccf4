"""Writers at the same time: concurrent imports into one database duplicate nothing."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperfeed.ingest.hf_daily import HFDailyTextSource
from paperfeed.ingest.pipeline import run_import
from paperfeed.store import Store
from paperfeed.store.papers import paper_key, utcnow
from paperfeed.store.schema import papers
from paperfeed.text import finish_record, title_hash

SMALL_BATCH = 20  # many small transactions, so two importers interleave often
LISTING = "Jan 5, 2026"


def title_of(n: int) -> str:
    return f"Paper {n:04d}: Sharing One Database Between Importers"


def write_daily_page(path: Path, numbers) -> Path:
    lines = [LISTING]
    for n in numbers:
        lines += [title_of(n), f"Paper {n} shows that two importers can share a database without duplicates."]
    path.write_text("\n".join(lines) + "\n")
    return path


def _import_in_step(url: str, path: str, barrier, results) -> None:
    """One importing process: opens the store, waits for the other, then imports."""
    store = Store.open(url, migrate=False)
    try:
        source = HFDailyTextSource(Path(path))
        barrier.wait(timeout=60)
        report = run_import(store, source, batch_size=SMALL_BATCH)
        results.put((path, report.as_dict()))
    except BaseException as exc:
        results.put((path, f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()


def test_two_processes_importing_overlapping_files_at_once_store_each_paper_once(database_url, tmp_path):
    first = write_daily_page(tmp_path / "first.txt", range(0, 300))
    # Overlapping papers in the opposite order: the writers meet head-on.
    second = write_daily_page(tmp_path / "second.txt", reversed(range(150, 450)))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_import_in_step, args=(database_url, str(path), barrier, results))
        for path in (first, second)
    ]
    for worker in workers:
        worker.start()
    reports = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)

    assert all(isinstance(report, dict) for report in reports.values()), "\n".join(map(str, reports.values()))
    assert sum(report["added"] for report in reports.values()) == 450
    assert all(report["added"] + report["unchanged"] == 300 for report in reports.values())
    store = Store.open(database_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            titles = conn.execute(sa.select(papers.c.title)).scalars().all()
    finally:
        store.close()
    assert sorted(titles) == sorted(title_of(n) for n in range(450))


def _wait_until_a_query_waits_for_a_lock(engine: sa.Engine, timeout: float = 20) -> None:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.02)
    pytest.fail("the import never waited for the other writer")


@pytest.mark.backends("postgresql")
def test_a_batch_failing_on_another_writers_paper_is_retried_in_a_new_transaction(core, tmp_path):
    """On PostgreSQL a failed statement aborts its whole transaction, so the retry must start over."""
    page = write_daily_page(tmp_path / "page.txt", range(5))
    record = finish_record(next(HFDailyTextSource(page).items()).item)
    now = utcnow()
    other_writer = core.store.engine.connect()
    other_writer.begin()
    other_writer.execute(
        sa.insert(papers).values(
            key=paper_key(record), title=record.title, title_hash=title_hash(record.title),
            abstract=record.abstract, authors=[], categories=[], links=[], listed_on=record.listed_on,
            sources=[record.source], first_seen=now, last_updated=now,
        )
    )  # fmt: skip
    outcome: dict = {}
    importer = threading.Thread(
        target=lambda: outcome.update(report=run_import(core.store, HFDailyTextSource(page))), daemon=True
    )
    importer.start()
    try:
        # The import's insert now waits on the other writer's uncommitted paper ...
        _wait_until_a_query_waits_for_a_lock(core.store.engine)
    finally:
        other_writer.commit()  # ... and fails on its key once that commits
        other_writer.close()
    importer.join(timeout=30)

    report = outcome["report"]
    assert (report.added, report.unchanged, report.rejected) == (4, 1, 0)
    assert core.store.papers.count() == 5
