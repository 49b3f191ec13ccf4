"""Whole-instance backups and copies between databases.

An export is JSON Lines: a header, one line per row of every exported table, and a trailer
with the row counts (so a truncated file is refused, not half restored):

    {"type": "paperfeed-export", "format": 1, "schema": "0004", "exported_at": "..."}
    {"type": "paper", "row": {"id": 1, "key": "2401.00001", "title": "...", ...}}
    ...
    {"type": "end", "counts": {"paper": 707, ...}}

Rows keep their ids, so rows pointing at other rows (votes at papers, comments at users) stay
connected. A restore goes into an empty database, in one transaction: it all lands or nothing.
The same row stream copies one database into another (`copy_instance`), e.g. SQLite to
PostgreSQL.

To export a new table, add it to EXPORTED_TABLES (after the tables it points at), or to
NOT_EXPORTED with the reason; a test fails until every table is in one of them.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import sqlalchemy as sa

from paperfeed.errors import InvalidInput, StoreError
from paperfeed.store import Store, schema

FORMAT = 1
HEADER_TYPE = "paperfeed-export"
END_TYPE = "end"
INSERT_BATCH = 1_000

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ExportedTable:
    type: str  # the "type" of this table's lines in an export
    table: str  # its name in the schema

    @property
    def sa_table(self) -> sa.Table:
        return schema.metadata.tables[self.table]


# Parents before children: a restore inserts in this order, so every reference finds its row.
EXPORTED_TABLES: tuple[ExportedTable, ...] = (
    ExportedTable("paper", "papers"),
    ExportedTable("paper_embedding", "paper_embeddings"),  # hours of computing to make again
    ExportedTable("import_run", "import_runs"),
    ExportedTable("import_rejection", "import_rejections"),
    ExportedTable("user", "users"),
    ExportedTable("vote", "votes"),
    ExportedTable("comment", "comments"),
    ExportedTable("submission", "submissions"),
    ExportedTable("subscription", "subscriptions"),
    ExportedTable("digest_sent", "digest_ledger"),  # so a restored instance sends no digest twice
    ExportedTable("collection", "collections"),
    ExportedTable("saved_paper", "saved_papers"),
    ExportedTable("note", "paper_notes"),
    ExportedTable("followed_source", "followed_sources"),  # with watermarks: no re-harvest after a restore
    ExportedTable("topic", "topics"),  # followed topics keep their ids and labels
    ExportedTable("paper_topic", "paper_topics"),  # what the next rebuild continues from
    ExportedTable("topic_follow", "topic_follows"),
    ExportedTable("paper_dismissal", "paper_dismissals"),
    ExportedTable("author_follow", "author_follows"),
)

NOT_EXPORTED: dict[str, str] = {
    "meta": "the instance id belongs to one database; a restored copy is a new instance",
    "user_sessions": "log-ins do not survive a restore; people log in again",
    "rate_limit_events": "counters that expire within hours",
    "alembic_version": "the schema revision is in the header; the target is migrated by paperfeed",
}

BY_TYPE = {exported.type: exported for exported in EXPORTED_TABLES}


# --- values in JSON --------------------------------------------------------------------------------


def _plain_type(column: sa.Column) -> sa.types.TypeEngine:
    kind = column.type
    while isinstance(kind, sa.TypeDecorator):  # e.g. UTCDateTime: a DateTime underneath
        kind = kind.impl_instance
    return kind


def _encoder(column: sa.Column) -> Callable[[Any], Any] | None:
    kind = _plain_type(column)
    if isinstance(kind, sa.DateTime | sa.Date):
        return lambda value: value.isoformat()
    if isinstance(kind, sa.LargeBinary):
        return lambda value: base64.b64encode(value).decode()
    return None


def _decoder(column: sa.Column) -> Callable[[Any], Any] | None:
    kind = _plain_type(column)
    if isinstance(kind, sa.DateTime):
        return dt.datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    return None


def _codecs(table: sa.Table, make: Callable) -> dict[str, Callable]:
    return {column.name: codec for column in table.columns if (codec := make(column)) is not None}


def encode_row(table: sa.Table, row: dict) -> dict:
    codecs = _codecs(table, _encoder)
    return {
        str(name): codecs[name](value) if value is not None and name in codecs else value
        for name, value in row.items()  # str(): SQLAlchemy's names are a str subclass orjson refuses
    }


def decode_row(table: sa.Table, row: dict) -> dict:
    """Python values for a row read from JSON; ValueError names what does not fit."""
    unknown = set(row) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))} (exported by a newer paperfeed?)")
    codecs = _codecs(table, _decoder)
    decoded = {}
    for name, value in row.items():
        try:
            decoded[name] = codecs[name](value) if value is not None and name in codecs else value
        except (TypeError, ValueError) as exc:
            raise ValueError(f"field {name!r}: {exc}") from None
    return decoded


# --- reading an instance -----------------------------------------------------------------------


@contextmanager
def _snapshot(store: Store) -> Iterator[sa.Connection]:
    """One connection seeing every table as of one moment, even while others write."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
        else:
            conn.exec_driver_sql("BEGIN")  # SQLite's read snapshot lasts until the transaction ends
            try:
                yield conn
            finally:
                conn.rollback()


def iter_rows(store: Store, *, progress: Progress | None = None) -> Iterator[tuple[ExportedTable, dict]]:
    """Every row of every exported table, parents first, each table in primary-key order."""
    with _snapshot(store) as conn:
        for exported in EXPORTED_TABLES:
            table = exported.sa_table
            query = sa.select(table).order_by(*table.primary_key.columns)
            result = conn.execution_options(stream_results=True, yield_per=INSERT_BATCH).execute(query)
            for partition in result.mappings().partitions():
                for row in partition:
                    yield exported, dict(row)
                if progress:
                    progress(len(partition))


def row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            exported.type: conn.execute(
                sa.select(sa.func.count()).select_from(exported.sa_table)
            ).scalar_one()
            for exported in EXPORTED_TABLES
        }


def schema_revision(store: Store) -> str | None:
    from paperfeed.store.migrate import current_revision

    return current_revision(store.engine)


# --- writing an instance ---------------------------------------------------------------------------


def _require_empty(store: Store) -> None:
    held = {name: count for name, count in row_counts(store).items() if count}
    if held:
        summary = ", ".join(f"{count:,} {name} rows" for name, count in held.items())
        raise InvalidInput(f"{store.safe_url} is not empty ({summary}); restore into a new, empty database")


def _reset_id_sequences(conn: sa.Connection) -> None:
    """Rows came with their ids; PostgreSQL's id sequences must continue after the highest.
    (SQLite always continues after the highest id by itself.)"""
    if conn.dialect.name != "postgresql":
        return
    for exported in EXPORTED_TABLES:
        table = exported.sa_table
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer) or key[0].autoincrement is False:
            continue
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": key[0].name},
        ).scalar()
        if sequence:
            quote = conn.dialect.identifier_preparer.quote
            column, table_name = quote(key[0].name), quote(table.name)
            conn.execute(
                sa.text(
                    f"SELECT setval(CAST(:sequence AS regclass), COALESCE(MAX({column}), 1), "
                    f"MAX({column}) IS NOT NULL) FROM {table_name}"
                ),
                {"sequence": sequence},
            )


def restore(
    store: Store, rows: Iterable[tuple[ExportedTable, dict]], *, progress: Progress | None = None
) -> dict[str, int]:
    """Insert `rows` into the empty `store` in one transaction; returns rows per type.

    Raises InvalidInput (nothing written) if the store holds data or a row does not fit."""
    _require_empty(store)
    counts = {exported.type: 0 for exported in EXPORTED_TABLES}
    pending: list[dict] = []
    pending_table: ExportedTable | None = None

    def flush(conn: sa.Connection) -> None:
        if pending_table is not None and pending:
            conn.execute(pending_table.sa_table.insert(), pending)
            counts[pending_table.type] += len(pending)
            if progress:
                progress(len(pending))
        pending.clear()

    try:
        with store.engine.begin() as conn:
            for exported, row in rows:
                # One INSERT takes rows with the same fields (an older export may lack some).
                if (
                    exported is not pending_table
                    or len(pending) >= INSERT_BATCH
                    or (pending and row.keys() != pending[0].keys())
                ):
                    flush(conn)
                    pending_table = exported
                pending.append(row)
            flush(conn)
            _reset_id_sequences(conn)
            # The content was replaced wholesale: derived indexes must rebuild, not catch up.
            conn.execute(sa.delete(schema.meta).where(schema.meta.c.name == "instance_id"))
    except sa.exc.IntegrityError as exc:
        raise InvalidInput(f"rows do not fit together, nothing was restored: {exc.orig}") from exc
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"restore into {store.safe_url} failed, nothing was restored: {exc.orig}") from exc
    return counts


# --- export files ----------------------------------------------------------------------------------


def _open_for_writing(path: Path, *, compress: bool) -> IO[bytes]:
    return gzip.open(path, "wb", compresslevel=6) if compress else path.open("wb")


def _open_for_reading(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def export_instance(store: Store, path: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write the whole instance to `path` (JSON Lines; gzip-compressed if it ends in .gz).

    The file appears only when complete: a failed export leaves no partial backup behind."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    counts = {exported.type: 0 for exported in EXPORTED_TABLES}
    header = {
        "type": HEADER_TYPE,
        "format": FORMAT,
        "schema": schema_revision(store),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    try:
        with _open_for_writing(partial, compress=path.suffix == ".gz") as out:
            out.write(orjson.dumps(header) + b"\n")
            for exported, row in iter_rows(store, progress=progress):
                line = {"type": exported.type, "row": encode_row(exported.sa_table, row)}
                out.write(orjson.dumps(line) + b"\n")
                counts[exported.type] += 1
            out.write(orjson.dumps({"type": END_TYPE, "counts": counts}) + b"\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


class _ExportReader:
    """The rows of an export file, checked line by line; errors name the line."""

    def __init__(self, path: Path, known_revisions: set[str]) -> None:
        self.path = path
        self.known_revisions = known_revisions
        self.trailer: dict | None = None

    def _fail(self, line_no: int, message: str) -> InvalidInput:
        return InvalidInput(f"{self.path}:{line_no}: {message}; nothing was restored")

    def rows(self) -> Iterator[tuple[ExportedTable, dict]]:
        seen: dict[str, int] = {}
        with _open_for_reading(self.path) as lines:
            line_no = 0
            try:
                for line_no, raw in enumerate(lines, start=1):
                    if not raw.strip():
                        continue
                    try:
                        item = orjson.loads(raw)
                    except orjson.JSONDecodeError as exc:
                        raise self._fail(line_no, f"not JSON ({exc})") from None
                    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                        raise self._fail(line_no, 'not an object with a "type"')
                    if line_no == 1:
                        self._check_header(item)
                        continue
                    if self.trailer is not None:
                        raise self._fail(line_no, "lines after the end of the export")
                    if item["type"] == END_TYPE:
                        self.trailer = item
                        counts = item.get("counts")
                        if not isinstance(counts, dict) or {k: v for k, v in counts.items() if v} != seen:
                            raise self._fail(line_no, f"the rows do not add up to the counts {counts}")
                        continue
                    exported = BY_TYPE.get(item["type"])
                    if exported is None:
                        raise self._fail(line_no, f"unknown type {item['type']!r}")
                    if not isinstance(item.get("row"), dict):
                        raise self._fail(line_no, 'no "row" object')
                    try:
                        row = decode_row(exported.sa_table, item["row"])
                    except ValueError as exc:
                        raise self._fail(line_no, f"{exported.type}: {exc}") from None
                    seen[exported.type] = seen.get(exported.type, 0) + 1
                    yield exported, row
            except (OSError, EOFError) as exc:  # unreadable, or a gzip file cut short
                raise InvalidInput(f"cannot read {self.path}: {exc}; nothing was restored") from exc
        if line_no == 0:
            raise InvalidInput(f"{self.path} is empty; nothing was restored")
        if self.trailer is None:
            raise InvalidInput(f"{self.path} ends early (no end line: cut short?); nothing was restored")

    def _check_header(self, item: dict) -> None:
        if item.get("type") != HEADER_TYPE:
            raise self._fail(1, "not a paperfeed export (no header line)")
        if item.get("format") != FORMAT:
            raise self._fail(
                1, f"export format {item.get('format')!r} is not one this paperfeed reads ({FORMAT})"
            )
        revision = item.get("schema")
        if revision is not None and revision not in self.known_revisions:
            raise self._fail(1, f"made by a newer paperfeed (schema {revision}); upgrade paperfeed first")


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from paperfeed.store.migrate import MIGRATIONS_DIR

    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions("base", "heads")}


def import_instance(store: Store, path: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Restore an export file into the empty `store`; all of it, or nothing."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    return restore(store, _ExportReader(path, known_revisions()).rows(), progress=progress)


def database_exists(url: str) -> bool:
    """False for a SQLite file that is not there (opening it would make an empty one)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return True  # not ours to judge: opening it gives the precise error
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database).is_file()
    return True


def copy_instance(source: Store, target: Store, *, progress: Progress | None = None) -> dict[str, int]:
    """Copy every exported table of `source` into the empty `target` (e.g. SQLite to PostgreSQL)."""
    if sa.engine.make_url(source.url) == sa.engine.make_url(target.url):
        raise InvalidInput("the source and the target are the same database")
    return restore(target, iter_rows(source), progress=progress)
