"""Import runs: progress committed with each batch, so a killed import resumes cleanly."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.models import Rejection
from paperfeed.store.papers import MergeOutcome, utcnow
from paperfeed.store.schema import import_rejections, import_runs


@dataclass(slots=True)
class ImportRun:
    id: int
    records_done: int
    added: int
    updated: int
    unchanged: int
    rejected: int


def _storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL characters (SQLite can); a reason may quote raw input."""
    return text.replace("\x00", "\ufffd")


class ImportStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, fmt: str, location: str, fingerprint: str) -> ImportRun:
        """The unfinished run of the same content if there is one (to resume), else a new run."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(import_runs)
                .where(import_runs.c.fingerprint == fingerprint, import_runs.c.fmt == fmt)
                .where(import_runs.c.status != "done")
                .order_by(import_runs.c.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                conn.execute(
                    sa.update(import_runs)
                    .where(import_runs.c.id == row.id)
                    .values(status="running", error=None)
                )
                return ImportRun(
                    row.id, row.records_done, row.added, row.updated, row.unchanged, row.rejected
                )
            run_id = conn.execute(
                sa.insert(import_runs)
                .values(
                    fmt=fmt, location=location, fingerprint=fingerprint, status="running", started_at=utcnow()
                )
                .returning(import_runs.c.id)
            ).scalar_one()
            return ImportRun(run_id, 0, 0, 0, 0, 0)

    def record_batch(
        self,
        conn: Connection,
        run_id: int,
        records_done: int,
        outcome: MergeOutcome,
        rejections: list[Rejection],
    ) -> None:
        """Progress of one batch, written in the batch's own transaction."""
        if rejections:
            conn.execute(
                sa.insert(import_rejections),
                [
                    {"run_id": run_id, "record_no": r.record_no, "reason": _storable(r.reason)}
                    for r in rejections
                ],
            )
        conn.execute(
            sa.update(import_runs)
            .where(import_runs.c.id == run_id)
            .values(
                records_done=records_done,
                added=import_runs.c.added + outcome.added,
                updated=import_runs.c.updated + outcome.updated,
                unchanged=import_runs.c.unchanged + outcome.unchanged,
                rejected=import_runs.c.rejected + len(rejections),
            )
        )

    def finish(self, run_id: int, *, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(import_runs)
                .where(import_runs.c.id == run_id)
                .values(
                    status="failed" if error else "done",
                    error=error and _storable(error),
                    finished_at=utcnow(),
                )
            )

    def rejections(self, run_id: int, *, after_record: int = 0) -> list[Rejection]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(import_rejections.c.record_no, import_rejections.c.reason)
                .where(import_rejections.c.run_id == run_id, import_rejections.c.record_no <= after_record)
                .order_by(import_rejections.c.record_no)
            )
            return [Rejection(r.record_no, r.reason) for r in rows]
