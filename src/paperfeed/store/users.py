"""Accounts: users, their sessions (stored as token hashes) and rate-limit counters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.errors import InvalidInput
from paperfeed.models import User
from paperfeed.store.schema import rate_limit_events, user_sessions, users


def row_to_user(row: sa.Row) -> User:
    m = row._mapping
    return User(
        id=m["id"], name=m["name"], is_admin=bool(m["is_admin"]), suspended=bool(m["suspended"]),
        created_at=m["created_at"],
    )  # fmt: skip


def name_key(name: str) -> str:
    return name.casefold()


_USER_COLUMNS = (users.c.id, users.c.name, users.c.is_admin, users.c.suspended, users.c.created_at)


class UserStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users -------------------------------------------------------------------------------

    def create(self, name: str, password_hash: str, *, is_admin: bool, now: dt.datetime) -> User:
        values = {
            "name": name, "name_key": name_key(name), "password_hash": password_hash,
            "is_admin": is_admin, "suspended": False, "created_at": now,
        }  # fmt: skip
        try:
            with self.engine.begin() as conn:
                user_id = conn.execute(sa.insert(users).values(**values).returning(users.c.id)).scalar_one()
        except sa.exc.IntegrityError:
            raise InvalidInput(f"the name {name!r} is taken; choose another") from None
        return User(id=user_id, name=name, is_admin=is_admin, suspended=False, created_at=now)

    def get(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
        return row_to_user(row) if row else None

    def by_name(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.name_key == name_key(name))).first()
        return row_to_user(row) if row else None

    def credentials(self, name: str) -> tuple[User, str] | None:
        """The user of this name and their password hash."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(*_USER_COLUMNS, users.c.password_hash).where(users.c.name_key == name_key(name))
            ).first()
        return (row_to_user(row), row.password_hash) if row else None

    def password_hash(self, user_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar()

    def set_password_hash(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        """A new password; every session but `keep_session` (a token hash) is logged out."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            ended = sa.delete(user_sessions).where(user_sessions.c.user_id == user_id)
            if keep_session:
                ended = ended.where(user_sessions.c.token_hash != keep_session)
            conn.execute(ended)

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.id == user_id).values(is_admin=is_admin))

    def set_suspended(self, user_id: int, suspended: bool) -> None:
        """Suspending also ends every session of the user at once."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.id == user_id).values(suspended=suspended))
            if suspended:
                conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == user_id))

    def suspended(self) -> list[User]:
        query = sa.select(*_USER_COLUMNS).where(users.c.suspended.is_(True)).order_by(users.c.name_key)
        with self.engine.connect() as conn:
            return [row_to_user(row) for row in conn.execute(query)]

    @staticmethod
    def lock_active(conn: Connection, user_id: int, now: dt.datetime) -> bool:
        """Inside the caller's transaction: whether the user exists and is not suspended.

        It is a write, on purpose: it takes the user's row lock on PostgreSQL and the write lock
        on SQLite before anything is read, so one user's concurrent actions run one after the
        other and a suspension cannot slip between the check and the action."""
        result = conn.execute(
            sa.update(users)
            .where(users.c.id == user_id, users.c.suspended.is_(False))
            .values(last_active_at=now)
        )
        return result.rowcount == 1

    # --- sessions ----------------------------------------------------------------------------

    def add_session(
        self, user_id: int, token_hash: str, *, now: dt.datetime, expires_at: dt.datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(user_sessions).values(
                    user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
                )
            )
            # Expired sessions of this user are of no use to anyone.
            conn.execute(
                sa.delete(user_sessions).where(
                    user_sessions.c.user_id == user_id, user_sessions.c.expires_at < now
                )
            )

    def session_user(self, token_hash: str, now: dt.datetime) -> User | None:
        """The active (unexpired, not suspended) user of a session."""
        query = (
            sa.select(*_USER_COLUMNS)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(
                user_sessions.c.token_hash == token_hash,
                user_sessions.c.expires_at > now,
                users.c.suspended.is_(False),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return row_to_user(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(user_sessions).where(user_sessions.c.token_hash == token_hash))

    # --- rate limits -------------------------------------------------------------------------

    @contextmanager
    def rate_buckets(self, windows: dict[str, dt.datetime]) -> Iterator[RateCounter]:
        """One transaction holding every bucket of `windows` (bucket -> start of its window)
        exclusively, so that checking a bucket and counting an event in it is one atomic step.

        PostgreSQL takes a transaction-scoped advisory lock per bucket (in sorted order, so two
        callers cannot deadlock); on SQLite the first statement is a write, which takes the
        database's write lock before anything is read. Events older than their window are
        forgotten on the way in."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for bucket in sorted(windows):
                    conn.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(bucket, 0)))
                    )
            for bucket, since in windows.items():
                conn.execute(
                    sa.delete(rate_limit_events).where(
                        rate_limit_events.c.bucket == bucket, rate_limit_events.c.at <= since
                    )
                )
            yield RateCounter(conn, windows)

    def forget_rate_events(self, event_ids: list[int]) -> None:
        if event_ids:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(rate_limit_events).where(rate_limit_events.c.id.in_(event_ids)))

    def clear_rate_events(self, bucket: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(rate_limit_events).where(rate_limit_events.c.bucket == bucket))


class RateCounter:
    """The buckets held by `UserStorage.rate_buckets`, inside its transaction."""

    def __init__(self, conn: Connection, windows: dict[str, dt.datetime]) -> None:
        self.conn = conn
        self.windows = windows

    def events(self, bucket: str) -> list[dt.datetime]:
        """When the bucket's events inside its window happened, oldest first."""
        query = (
            sa.select(rate_limit_events.c.at)
            .where(rate_limit_events.c.bucket == bucket, rate_limit_events.c.at > self.windows[bucket])
            .order_by(rate_limit_events.c.at)
        )
        return list(self.conn.execute(query).scalars())

    def add(self, bucket: str, at: dt.datetime) -> int:
        insert = sa.insert(rate_limit_events).values(bucket=bucket, at=at).returning(rate_limit_events.c.id)
        return self.conn.execute(insert).scalar_one()
