"""The store: the one source of truth, on SQLite (embedded default) or PostgreSQL.

All SQL lives in this package. Everything else asks a `Store` and gets domain objects back.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.errors import StoreError
from paperfeed.store import schema
from paperfeed.store.collections import CollectionStorage
from paperfeed.store.community import CommunityStorage
from paperfeed.store.embeddings import EmbeddingStorage
from paperfeed.store.follows import FollowStorage
from paperfeed.store.imports import ImportStorage
from paperfeed.store.notes import NoteStorage
from paperfeed.store.papers import PaperStorage
from paperfeed.store.subscriptions import SubscriptionStorage
from paperfeed.store.users import UserStorage

__all__ = ["Store", "create_engine", "insert_ignoring_conflicts"]


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


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
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
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open database {url!r}: {exc}") from exc
        self.papers = PaperStorage(self.engine)
        self.imports = ImportStorage(self.engine)
        self.embeddings = EmbeddingStorage(self.engine)
        self.users = UserStorage(self.engine)
        self.community = CommunityStorage(self.engine)
        self.subscriptions = SubscriptionStorage(self.engine)
        self.follows = FollowStorage(self.engine)
        self.collections = CollectionStorage(self.engine)
        self.notes = NoteStorage(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        store = cls(url)
        if migrate:
            store.migrate()
        return store

    def migrate(self, revision: str = "head") -> None:
        from paperfeed.store.migrate import upgrade

        try:
            upgrade(self.engine, revision)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot migrate database {self.safe_url}: {exc.orig}") from exc

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
                path = self.engine.url.database
                if not path or path == ":memory:":
                    return None
                return sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*"))
            if self.dialect == "postgresql":
                return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        return None

    def close(self) -> None:
        self.engine.dispose()
