"""The store: the one source of truth, on SQLite (embedded default) or PostgreSQL.

All SQL lives in this package. Everything else asks a `Store` and gets domain objects back.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.errors import StoreError
from paperfeed.store import dismissals, schema  # noqa: F401  (their tables join the schema)
from paperfeed.store.author_follows import AuthorFollowStorage
from paperfeed.store.collections import CollectionStorage
from paperfeed.store.community import CommunityStorage
from paperfeed.store.dismissals import DismissalStorage
from paperfeed.store.embeddings import EmbeddingStorage
from paperfeed.store.follows import FollowStorage
from paperfeed.store.imports import ImportStorage
from paperfeed.store.notes import NoteStorage
from paperfeed.store.papers import PaperStorage
from paperfeed.store.subscriptions import SubscriptionStorage
from paperfeed.store.topics import TopicStorage
from paperfeed.store.users import UserStorage

__all__ = ["STORAGE_FAILURES", "Store", "create_engine", "failure_message", "insert_ignoring_conflicts"]

DISK_FULL = (
    "cannot write to the database or index: the disk is full or failing (free some space and try again)"
)
# How SQLite and the operating system say it; PostgreSQL says "could not extend file" and the like.
_DISK_FULL_SIGNS = (
    "database or disk is full",
    "disk i/o error",
    "no space left on device",
    "could not extend file",
)


# What a failing disk raises, for interfaces that answer it themselves (see failure_message).
STORAGE_FAILURES: tuple[type[Exception], ...] = (sa.exc.OperationalError, OSError)


def failure_message(exc: BaseException) -> str | None:
    """One line for a storage failure the user can act on (a full disk, a database error), or None
    if `exc` is not one. Never the SQL or the rows: a failed INSERT would otherwise quote papers."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DISK_FULL
    if isinstance(exc, sa.exc.DBAPIError):
        detail = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "unknown failure"
        if any(sign in detail.lower() for sign in _DISK_FULL_SIGNS):
            return DISK_FULL
        return f"database error: {detail}"
    text = str(exc).lower()
    if isinstance(exc, (OSError, ValueError)) and "no space left on device" in text:
        return DISK_FULL  # tantivy reports a full disk as a ValueError carrying the OS message
    return None


def insert_ignoring_conflicts(conn: Connection, table: sa.Table) -> sa.Insert:
    """INSERT that skips rows clashing with a unique key (ON CONFLICT DO NOTHING on both backends)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


# orjson is several times faster than json for the JSON columns written by bulk imports.
_JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _sqlite_read_only(path: str):
    """A connection factory opening the file read-only. If SQLite cannot even make the WAL index
    (a full disk), and no other process holds a WAL, the file is read as immutable: it is then
    exactly what is on disk, and reading is all a read-only command needs."""
    import sqlite3

    uri = Path(path).resolve().as_uri()

    def connect() -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            wal = Path(path + "-wal")
            if "disk i/o error" not in str(exc).lower() or (wal.exists() and wal.stat().st_size > 0):
                raise
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)

    return connect


def create_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if read_only and path and path != ":memory:":
            return sa.create_engine("sqlite://", creator=_sqlite_read_only(path), **_JSON_CODEC)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **_JSON_CODEC)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the web server read while an import writes; NORMAL is durable at checkpoints.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **_JSON_CODEC)


class Store:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        try:
            self.engine = create_engine(url, read_only=read_only)
        except StoreError:
            raise
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open database {url!r}: {exc}") from exc
        self.papers = PaperStorage(self.engine)
        self.imports = ImportStorage(self.engine)
        self.embeddings = EmbeddingStorage(self.engine)
        self.users = UserStorage(self.engine)
        self.community = CommunityStorage(self.engine)
        self.subscriptions = SubscriptionStorage(self.engine)
        self.follows = FollowStorage(self.engine)
        self.topics = TopicStorage(self.engine)
        self.author_follows = AuthorFollowStorage(self.engine)
        self.collections = CollectionStorage(self.engine)
        self.notes = NoteStorage(self.engine)
        self.dismissals = DismissalStorage(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, read_only: bool = False) -> Store:
        """The store at `url`, migrated to the newest schema. `read_only` (for commands that only
        read) opens a SQLite file read-only when its schema is current, so they work on a full
        disk; an older or missing schema is migrated as usual."""
        path = sa.engine.make_url(url).database if url.startswith("sqlite") else None
        if read_only and path and path != ":memory:" and Path(path).exists():
            store = cls(url, read_only=True)
            try:
                if store.schema_is_current():
                    return store
            except sa.exc.DBAPIError as exc:
                store.close()
                message = failure_message(exc)
                raise StoreError(f"cannot read database {store.safe_url}: {message}") from exc
            store.close()
        store = cls(url)
        if migrate:
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
        return store

    def migrate(self, revision: str = "head") -> None:
        from paperfeed.store.migrate import upgrade

        # Nothing to do is the common case: checking first writes nothing (a full disk is then
        # reported by what needed to write, not as a failed migration).
        if revision == "head" and self.schema_is_current():
            return
        try:
            upgrade(self.engine, revision)
        except sa.exc.OperationalError as exc:
            message = failure_message(exc)
            if message == DISK_FULL:
                raise StoreError(f"cannot migrate database {self.safe_url}: {DISK_FULL}") from exc
            raise StoreError(f"cannot migrate database {self.safe_url}: {exc.orig}") from exc

    def schema_is_current(self) -> bool:
        from paperfeed.store.migrate import current_revision, head_revision

        return current_revision(self.engine) == head_revision()

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def instance_id(self) -> str:
        """A random id made once per database, so derived indexes notice a replaced store."""
        query = sa.select(schema.meta.c.value).where(schema.meta.c.name == "instance_id")
        with self.engine.begin() as conn:
            value = conn.execute(query).scalar()
            if value is None:
                # Two processes may both see none: the first insert wins and both read it back.
                row = {"name": "instance_id", "value": uuid.uuid4().hex}
                conn.execute(insert_ignoring_conflicts(conn, schema.meta).values(**row))
                value = conn.execute(query).scalar_one()
            return value

    def size_bytes(self) -> int | None:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                path = sa.engine.make_url(self.url).database  # the read-only engine's URL has none
                if not path or path == ":memory:":
                    return None
                return sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*"))
            if self.dialect == "postgresql":
                return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        return None

    def close(self) -> None:
        self.engine.dispose()
