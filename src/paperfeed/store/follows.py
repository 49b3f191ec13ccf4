"""Followed sources: what `paperfeed sync` imports, each with its watermark and its last outcome."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.errors import InvalidInput, NotFound
from paperfeed.models import FollowedSource
from paperfeed.store.schema import followed_sources


def follow_key(kind: str, target: str) -> str:
    return hashlib.sha256(f"{kind}\x00{target}".encode()).hexdigest()


def _source(row: sa.Row) -> FollowedSource:
    m = row._mapping
    return FollowedSource(
        id=m["id"], kind=m["kind"], target=m["target"], options=dict(m["options"] or {}),
        created_at=m["created_at"], watermark=m["watermark"], window_from=m["window_from"],
        window_until=m["window_until"], last_run_at=m["last_run_at"], last_success_at=m["last_success_at"],
        last_error=m["last_error"], last_error_at=m["last_error_at"], failures=m["failures"],
        next_run_at=m["next_run_at"], last_report=m["last_report"],
    )  # fmt: skip


class FollowStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, kind: str, target: str, options: dict, now: dt.datetime) -> FollowedSource:
        row = {
            "kind": kind,
            "target": target,
            "key": follow_key(kind, target),
            "options": options,
            "created_at": now,
            "failures": 0,
        }
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    sa.insert(followed_sources).values(**row).returning(followed_sources.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            label = FollowedSource(0, kind, target, options, now).label  # type: ignore[arg-type]
            raise InvalidInput(f"{label} is followed already") from None
        return self.get(new_id)

    def get(self, source_id: int) -> FollowedSource:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(followed_sources).where(followed_sources.c.id == source_id)).first()
        if row is None:
            raise NotFound(f"no followed source {source_id}")
        return _source(row)

    def all(self) -> list[FollowedSource]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(followed_sources).order_by(followed_sources.c.id))
            return [_source(row) for row in rows]

    def remove(self, source_id: int) -> FollowedSource:
        source = self.get(source_id)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(followed_sources).where(followed_sources.c.id == source_id))
        return source

    def claim(self, source_id: int, *, due_by: dt.datetime | None, hold_until: dt.datetime) -> bool:
        """Take the source for one run if it is due by `due_by` (None: whenever it is due or not).

        Moving its next run ahead in the same statement makes the claim atomic: another process
        or timer finds it no longer due and leaves it alone."""
        query = sa.update(followed_sources).where(followed_sources.c.id == source_id)
        if due_by is not None:
            query = query.where(
                sa.or_(followed_sources.c.next_run_at.is_(None), followed_sources.c.next_run_at <= due_by)
            )
        with self.engine.begin() as conn:
            return conn.execute(query.values(next_run_at=hold_until)).rowcount == 1

    def begin_window(self, source_id: int, first: dt.date, last: dt.date, now: dt.datetime) -> None:
        """The window a run imports, kept until it has all been committed."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(followed_sources)
                .where(followed_sources.c.id == source_id)
                .values(window_from=first, window_until=last, last_run_at=now)
            )

    def succeeded(
        self, source_id: int, *, watermark: dt.date, report: dict, now: dt.datetime, next_run_at: dt.datetime
    ) -> None:
        """Called only after every record of the window is committed: the watermark moves to its end."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(followed_sources)
                .where(followed_sources.c.id == source_id)
                .values(
                    watermark=watermark,
                    window_from=None,
                    window_until=None,
                    last_success_at=now,
                    failures=0,
                    next_run_at=next_run_at,
                    last_report=report,
                )
            )

    def failed(
        self, source_id: int, *, error: str, report: dict, now: dt.datetime, next_run_at: dt.datetime
    ) -> None:
        """The watermark stays; the window stays too, so the next run resumes the same import."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(followed_sources)
                .where(followed_sources.c.id == source_id)
                .values(
                    last_error=error.replace("\x00", "\ufffd")[:2000],
                    last_error_at=now,
                    failures=followed_sources.c.failures + 1,
                    next_run_at=next_run_at,
                    last_report=report,
                )
            )

    def release(self, source_id: int, next_run_at: dt.datetime | None) -> None:
        """Give back a claim without a run (a dry run)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(followed_sources)
                .where(followed_sources.c.id == source_id)
                .values(next_run_at=next_run_at)
            )
