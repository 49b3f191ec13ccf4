"""Papers: merging incoming records (deduplicated by arXiv id, DOI and normalised title),
and the reads every page needs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.models import Link, Paper, PaperRecord
from paperfeed.store.schema import UTCDateTime, papers
from paperfeed.text import parse_arxiv_id, title_hash, title_key

_MERGED_TEXT_FIELDS = ("title", "abstract", "comments", "journal_ref", "published", "updated")
# Values bound in one IN (...) list: well under what one statement may bind on SQLite (32,766)
# and PostgreSQL (65,535), even with a few lists in one query.
IN_LIST_CHUNK = 5_000
# PostgreSQL enforces VARCHAR lengths where SQLite ignores them; one over-long DOI must not fail
# a whole batch on one backend and pass on the other.
MAX_DOI_CHARS = papers.c.doi.type.length
MERGE_LOCK_KEY = 0x7061706572730001  # any constant shared by every paperfeed process


def chunked(values: Sequence, size: int = IN_LIST_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True, frozen=True)
class AuthorListing:
    """What author pages need of a paper to tell its authors apart: no abstract, no links."""

    paper_id: int
    authors: list[str]
    categories: list[str]
    day: dt.date  # published, else listed


@dataclass(slots=True)
class MergeOutcome:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # The rows the merge inserted (the first `added`) and changed, whole and with their ids, and
    # the `last_updated` it gave them: what derived indexes need to follow a bulk import without
    # reading it back.
    written: list[dict] = field(default_factory=list, compare=False, repr=False)
    written_at: dt.datetime | None = field(default=None, compare=False)


def paper_key(record: PaperRecord) -> str:
    if record.arxiv_id:
        return record.arxiv_id
    digest = hashlib.sha1(f"{title_key(record.title)}|{record.doi or ''}".encode()).hexdigest()
    return f"pf-{digest[:12]}"


def _serialize_merges(conn: Connection) -> None:
    """Concurrent merges take turns, each holding the lock until its transaction ends.

    A merge reads the rows its records may match, then writes. Two importers interleaving those
    steps would both miss each other's new papers; on PostgreSQL the later insert then waits for
    the other's commit and fails on a unique key (or the two deadlock). Taking turns, the later
    merge reads after the earlier one committed and finds its papers. SQLite has one writer at a
    time anyway, and the pipeline retries a batch that still collides."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MERGE_LOCK_KEY})


def _fit_columns(record: PaperRecord) -> PaperRecord:
    """The record without identifiers too long to be real (and to fit their columns)."""
    if record.doi and len(record.doi) > MAX_DOI_CHARS:
        return dataclasses.replace(record, doi=None)
    return record


def _new_row(record: PaperRecord, record_title_hash: str, now: dt.datetime) -> dict:
    links = [link.as_dict() for link in record.links]
    return {
        "key": paper_key(record),
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "doi": record.doi,
        "title": record.title,
        "title_hash": record_title_hash,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "comments": record.comments,
        "journal_ref": record.journal_ref,
        "links": links,
        "published": record.published,
        "updated": record.updated,
        "listed_on": record.listed_on or record.published or now.date(),
        "has_code": any(link["kind"] == "code" for link in links),
        "sources": [record.source] if record.source else [],
        "first_seen": now,
        "last_updated": now,
        "hidden": False,
        "hf_listed_on": record.hf_listed_on,
        "hf_upvotes": record.hf_upvotes,
        "hf_comments": record.hf_comments,
    }


def _merge_into(row: dict, record: PaperRecord, doi_taken: bool) -> dict:
    """The changes `record` brings to `row`. A newer arXiv version overwrites what it knows;
    anything else only fills gaps, so a sparse source never erases a rich one."""
    newer = record.version is not None and (row["version"] is None or record.version > row["version"])
    changes: dict = {}
    for name in _MERGED_TEXT_FIELDS:
        value = getattr(record, name)
        if value and (not row[name] or (newer and row[name] != value)):
            changes[name] = value
    for name in ("authors", "categories"):
        value = list(getattr(record, name))
        if value and (not row[name] or (newer and row[name] != value)):
            changes[name] = value
    if record.arxiv_id and not row["arxiv_id"]:
        changes["arxiv_id"] = record.arxiv_id
    if newer:
        changes["version"] = record.version
    if record.doi and not row["doi"] and not doi_taken:
        changes["doi"] = record.doi
    known = {link["url"] for link in row["links"]}
    extra = [link.as_dict() for link in record.links if link.url not in known]
    if extra:
        changes["links"] = row["links"] + extra
        changes["has_code"] = any(link["kind"] == "code" for link in changes["links"])
    if record.source and record.source not in row["sources"]:
        changes["sources"] = [*row["sources"], record.source]
    # Hugging Face's counts only grow in practice; the larger one wins, so re-importing an older
    # response never turns them back. The first list day it was seen on stays.
    for name in ("hf_upvotes", "hf_comments"):
        value = getattr(record, name)
        if value is not None and (row.get(name) is None or value > row[name]):
            changes[name] = value
    if record.hf_listed_on and not row.get("hf_listed_on"):
        changes["hf_listed_on"] = record.hf_listed_on
    if "title" in changes:
        changes["title_hash"] = title_hash(changes["title"])
    return changes


_INSERTED_COLUMNS = tuple(column.name for column in papers.columns if column.name != "id")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_converters(dialect: sa.Dialect) -> list:
    """Per inserted column, what turns a Python value into what SQLAlchemy would store in SQLite."""
    converters: list = []
    for name in _INSERTED_COLUMNS:
        column_type = papers.c[name].type
        if isinstance(column_type, sa.JSON):
            converters.append(_json_text)
        elif isinstance(column_type, sa.Boolean):
            converters.append(int)
        elif isinstance(column_type, (sa.Date, sa.DateTime, UTCDateTime)):
            # SQLAlchemy's own text form, so that comparisons it binds later match exactly; a
            # batch has few distinct days and one time, so each is converted once.
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            converters.append(_memoized(process) if process else None)
        else:
            converters.append(None)
    return converters


def _memoized(convert: Any) -> Any:
    seen: dict = {}

    def memo(value: Any) -> Any:
        if value is None:
            return None
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = convert(value)
            return converted

    return memo


def _insert_new(conn: Connection, rows: list[dict]) -> None:
    """Insert new rows, bypassing SQLAlchemy's per-value parameter processing, which costs more
    than the database's own work at bulk-import scale: one executemany of ready tuples on
    SQLite, COPY on PostgreSQL. Inside the caller's transaction, like any other statement."""
    columns = ", ".join(f'"{name}"' for name in _INSERTED_COLUMNS)
    if conn.dialect.name == "postgresql":
        json_columns = {i for i, name in enumerate(_INSERTED_COLUMNS) if isinstance(papers.c[name].type, sa.JSON)}
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        statement = f"COPY papers ({columns}) FROM STDIN"
        try:
            with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            _json_text(row[name]) if i in json_columns else row[name]
                            for i, name in enumerate(_INSERTED_COLUMNS)
                        ]
                    )
        except conn.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy raises it for its own statements: a clash with another writer's new
            # paper is an IntegrityError, which the import pipeline retries.
            raise sa.exc.DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc
        return
    converters = _sqlite_converters(conn.dialect)
    named = list(zip(_INSERTED_COLUMNS, converters, strict=True))
    values = [
        tuple(convert(row[name]) if convert else row[name] for name, convert in named) for row in rows
    ]
    placeholders = ", ".join("?" * len(_INSERTED_COLUMNS))
    conn.exec_driver_sql(f"INSERT INTO papers ({columns}) VALUES ({placeholders})", values)


class _BatchIndex:
    """Rows of one batch (existing and new) by each identity, for in-memory deduplication."""

    def __init__(self) -> None:
        self.by_arxiv: dict[str, dict] = {}
        self.by_doi: dict[str, dict] = {}
        self.by_title: dict[str, list[dict]] = {}

    def add(self, row: dict) -> None:
        if row["arxiv_id"]:
            self.by_arxiv[row["arxiv_id"]] = row
        if row["doi"]:
            self.by_doi[row["doi"]] = row
        same_title = self.by_title.setdefault(row["title_hash"], [])
        if row not in same_title:
            same_title.append(row)

    def find(self, record: PaperRecord, record_title_hash: str) -> dict | None:
        if record.arxiv_id and record.arxiv_id in self.by_arxiv:
            return self.by_arxiv[record.arxiv_id]
        if record.doi and record.doi in self.by_doi:
            row = self.by_doi[record.doi]
            if not (record.arxiv_id and row["arxiv_id"]):
                return row
        for row in self.by_title.get(record_title_hash, ()):
            arxiv_clash = record.arxiv_id and row["arxiv_id"] and record.arxiv_id != row["arxiv_id"]
            doi_clash = record.doi and row["doi"] and record.doi != row["doi"]
            if not (arxiv_clash or doi_clash):
                return row
        return None


def row_to_paper(row: sa.Row | dict) -> Paper:
    m = row._mapping if isinstance(row, sa.Row) else row
    return Paper(
        id=m["id"],
        key=m["key"],
        title=m["title"],
        abstract=m["abstract"],
        authors=list(m["authors"] or []),
        categories=list(m["categories"] or []),
        arxiv_id=m["arxiv_id"],
        version=m["version"],
        doi=m["doi"],
        published=m["published"],
        updated=m["updated"],
        comments=m["comments"],
        journal_ref=m["journal_ref"],
        links=[Link(link["kind"], link["url"]) for link in (m["links"] or [])],
        listed_on=m["listed_on"],
        has_code=bool(m["has_code"]),
        sources=list(m["sources"] or []),
        first_seen=m["first_seen"],
        last_updated=m["last_updated"],
        hidden=bool(m["hidden"]),
        hf_listed_on=m.get("hf_listed_on"),
        hf_upvotes=m.get("hf_upvotes"),
        hf_comments=m.get("hf_comments"),
    )


class PaperStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- writing ---------------------------------------------------------------------------

    def merge_batch(self, conn: Connection, records: Sequence[PaperRecord]) -> MergeOutcome:
        """Insert or update `records` inside the caller's transaction."""
        _serialize_merges(conn)
        now = utcnow()
        records = [_fit_columns(r) for r in records]
        hashes = [title_hash(r.title) for r in records]
        index = _BatchIndex()
        for row in self._existing_rows(conn, records, hashes):
            index.add(row)
        outcome = MergeOutcome()
        new_rows: list[dict] = []
        dirty: dict[int, dict] = {}  # id -> changed columns of existing rows
        changed: dict[int, dict] = {}  # id -> the whole existing row, changes applied
        for record, record_hash in zip(records, hashes, strict=True):
            row = index.find(record, record_hash)
            if row is None:
                row = _new_row(record, record_hash, now)
                new_rows.append(row)
                index.add(row)
                outcome.added += 1
                continue
            doi_taken = bool(record.doi) and index.by_doi.get(record.doi, row) is not row
            changes = _merge_into(row, record, doi_taken)
            if not changes:
                outcome.unchanged += 1
                continue
            row.update(changes)
            index.add(row)
            outcome.updated += 1
            if "id" in row:  # an existing row; rows new in this batch are inserted whole below
                dirty.setdefault(row["id"], {}).update(changes, last_updated=now)
                row["last_updated"] = now
                changed[row["id"]] = row
        if new_rows:
            _insert_new(conn, new_rows)  # in source order: ids keep a day's page order
            ids = self._ids_of_keys(conn, [row["key"] for row in new_rows])
            for row in new_rows:
                row["id"] = ids[row["key"]]
        for paper_id, changes in sorted(dirty.items()):  # one lock order for every writer
            conn.execute(sa.update(papers).where(papers.c.id == paper_id).values(**changes))
        outcome.written = new_rows + [changed[paper_id] for paper_id in sorted(dirty)]
        outcome.written_at = now
        return outcome

    @staticmethod
    def _ids_of_keys(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in chunked(keys):
            found.update(conn.execute(sa.select(papers.c.key, papers.c.id).where(papers.c.key.in_(chunk))).all())
        return found

    def _existing_rows(
        self, conn: Connection, records: Sequence[PaperRecord], hashes: list[str]
    ) -> list[dict]:
        rows: dict[int, dict] = {}
        lookups = (
            (papers.c.title_hash, sorted(set(hashes))),
            (papers.c.arxiv_id, sorted({r.arxiv_id for r in records if r.arxiv_id})),
            (papers.c.doi, sorted({r.doi for r in records if r.doi})),
        )
        for column, values in lookups:
            for chunk in chunked(values):
                for row in conn.execute(sa.select(papers).where(column.in_(chunk))):
                    rows.setdefault(row.id, dict(row._mapping))
        return list(rows.values())

    def identify(self, records: Sequence[PaperRecord]) -> list[tuple[int, str] | None]:
        """For each record, the stored paper it is and what told it ("arXiv id", "DOI" or
        "title"), or None: by arXiv id, then DOI, then normalised title, as imports merge."""
        hashes = [title_hash(r.title) for r in records]
        with self.engine.connect() as conn:
            index = _BatchIndex()
            for row in self._existing_rows(conn, records, hashes):
                index.add(row)
        found: list[tuple[int, str] | None] = []
        for record, record_hash in zip(records, hashes, strict=True):
            row = index.find(record, record_hash)
            if row is None:
                found.append(None)
            elif record.arxiv_id and row["arxiv_id"] == record.arxiv_id:
                found.append((row["id"], "arXiv id"))
            elif record.doi and row["doi"] == record.doi:
                found.append((row["id"], "DOI"))
            else:
                found.append((row["id"], "title"))
        return found

    def set_hidden(self, paper_id: int, hidden: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(papers).where(papers.c.id == paper_id).values(hidden=hidden, last_updated=utcnow())
            )

    # --- reading ---------------------------------------------------------------------------

    def get(self, paper_id: int) -> Paper | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(papers).where(papers.c.id == paper_id)).first()
        return row_to_paper(row) if row else None

    def get_many(self, ids: Sequence[int], *, include_hidden: bool = False) -> list[Paper]:
        """Papers in the order of `ids`; unknown (or hidden) ids are skipped."""
        found: dict[int, Paper] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(ids))):
                query = sa.select(papers).where(papers.c.id.in_(chunk))
                if not include_hidden:
                    query = query.where(papers.c.hidden.is_(False))
                found.update((row.id, row_to_paper(row)) for row in conn.execute(query))
        return [found[i] for i in ids if i in found]

    def resolve(self, ref: str) -> Paper | None:
        """A paper by any of its names: arXiv id (any version) or URL, stable key, DOI, or row id."""
        ref = ref.strip()
        parsed = parse_arxiv_id(ref)
        clauses = []
        if parsed:
            clauses.append(papers.c.arxiv_id == parsed[0])
        clauses.append(papers.c.key == ref)
        if ref.lower().startswith("10."):
            clauses.append(papers.c.doi == ref.lower())
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(papers).where(sa.or_(*clauses)).limit(1)).first()
        return row_to_paper(row) if row else None

    def on_day(self, day: dt.date, *, limit: int = 50, offset: int = 0) -> tuple[list[Paper], int]:
        """A page of the day's visible papers, most upvoted first, and how many there are."""
        return self.on_days(day, day, limit=limit, offset=offset)

    def on_days(
        self, first: dt.date, last: dt.date, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Paper], int]:
        """A page of the visible papers listed from `first` to `last` (both included), most upvoted
        first, and how many there are."""
        from paperfeed.store.schema import votes  # community tables live beside the papers

        listed = sa.and_(papers.c.listed_on.between(first, last), papers.c.hidden.is_(False))
        upvotes = (
            sa.select(votes.c.paper_id, sa.func.count().label("n"))
            .join(papers, papers.c.id == votes.c.paper_id)
            .where(listed)
            .group_by(votes.c.paper_id)
            .subquery()
        )
        query = (
            sa.select(papers)
            .outerjoin(upvotes, upvotes.c.paper_id == papers.c.id)
            .where(listed)
            .order_by(sa.func.coalesce(upvotes.c.n, 0).desc(), papers.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            found = [row_to_paper(row) for row in conn.execute(query)]
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(listed)).scalar_one()
        return found, total

    def position_on_day(self, paper_id: int, day: dt.date) -> int | None:
        """Where a paper stands in its day's list (1 = first), in `on_day`'s order."""
        from paperfeed.store.schema import votes

        listed = sa.and_(papers.c.listed_on == day, papers.c.hidden.is_(False))
        upvotes = sa.func.coalesce(
            sa.select(sa.func.count()).where(votes.c.paper_id == papers.c.id).scalar_subquery(), 0
        )
        with self.engine.connect() as conn:
            mine = conn.execute(sa.select(upvotes).where(listed, papers.c.id == paper_id)).scalar()
            if mine is None:
                return None
            ahead = conn.execute(
                sa.select(sa.func.count())
                .select_from(papers)
                .where(listed, sa.or_(upvotes > mine, sa.and_(upvotes == mine, papers.c.id < paper_id)))
            ).scalar_one()
        return ahead + 1

    def latest_day(self) -> dt.date | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.max(papers.c.listed_on)).where(papers.c.hidden.is_(False))
            ).scalar()

    def neighbour_days(self, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
        visible = papers.c.hidden.is_(False)
        with self.engine.connect() as conn:
            prev_day = conn.execute(
                sa.select(sa.func.max(papers.c.listed_on)).where(papers.c.listed_on < day, visible)
            ).scalar()
            next_day = conn.execute(
                sa.select(sa.func.min(papers.c.listed_on)).where(papers.c.listed_on > day, visible)
            ).scalar()
        return prev_day, next_day

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one()

    def summary(self) -> dict:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.count(papers.c.arxiv_id),
                    sa.func.count().filter(papers.c.has_code.is_(True)),
                    sa.func.count(sa.distinct(papers.c.listed_on)),
                    sa.func.min(papers.c.listed_on),
                    sa.func.max(papers.c.listed_on),
                )
            ).one()
            # Grouped in the database: few distinct source lists, where reading every paper's
            # list took seconds at a million papers. (PostgreSQL's json type has no equality.)
            as_text = sa.cast(papers.c.sources, sa.Text)
            by_source: Counter[str] = Counter()
            for text, count in conn.execute(sa.select(as_text, sa.func.count()).group_by(as_text)):
                for source in json.loads(text) if text else []:
                    by_source[source] += count
        return {
            "papers": row[0],
            "with_arxiv_id": row[1],
            "with_code": row[2],
            "days": row[3],
            "first_day": row[4],
            "last_day": row[5],
            "by_source": dict(by_source.most_common()),
        }

    def changed_since(
        self,
        since: dt.datetime | None,
        *,
        chunk: int = 5_000,
        columns: Sequence[str] | None = None,
        not_written_at: Sequence[dt.datetime] = (),
    ) -> Iterator[list]:
        """Papers changed at or after `since` (all when None), in chunks, for derived indexes;
        without those last written at one of the times `not_written_at` (a bulk import's batches,
        which the index followed as they committed).

        With `columns`, rows carry only those columns (plus id and hidden) as attributes, which
        is several times cheaper than whole `Paper`s when (re)indexing millions of papers."""
        selected = (
            [
                papers.c.id,
                papers.c.hidden,
                *(papers.c[name] for name in columns if name not in {"id", "hidden"}),
            ]
            if columns
            else [papers]
        )
        last_id = 0
        while True:
            query = sa.select(*selected).where(papers.c.id > last_id).order_by(papers.c.id).limit(chunk)
            if since is not None:
                query = query.where(papers.c.last_updated >= since)
            for times in chunked(not_written_at):
                query = query.where(papers.c.last_updated.not_in(times))
            with self.engine.connect() as conn:
                result = conn.execute(query)
                rows = list(result) if columns else [row_to_paper(row) for row in result]
            if not rows:
                return
            yield rows
            last_id = rows[-1].id

    def spread_sample(self, size: int, *, columns: Sequence[str]) -> list:
        """About `size` visible papers spread evenly over the whole store (every n-th id), so a
        sample holds old and new papers alike; rows carry `columns` plus id and hidden."""
        visible = papers.c.hidden.is_(False)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).where(visible)).scalar_one()
            if total == 0 or size <= 0:
                return []
            stride = max(1, total // size)
            query = (
                sa.select(papers.c.id, papers.c.hidden, *(papers.c[name] for name in columns))
                .where(visible, (papers.c.id % stride) == 0)
                .order_by(papers.c.id)
                .limit(size)
            )
            return list(conn.execute(query))

    def author_listings(
        self,
        ids: Iterable[int],
        *,
        first_seen_after: dt.datetime | None = None,
        since: dt.date | None = None,
    ) -> list[AuthorListing]:
        """The author lists of the visible papers among `ids` (of `since` or later, first seen
        after `first_seen_after`), newest first."""
        day = sa.func.coalesce(papers.c.published, papers.c.listed_on)
        where = [papers.c.hidden.is_(False)]
        if first_seen_after is not None:
            where.append(papers.c.first_seen >= first_seen_after)
        if since is not None:
            where.append(day >= since)
        selected = (papers.c.id, papers.c.authors, papers.c.categories, day.label("day"))
        found: list[AuthorListing] = []
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(ids))):
                rows = conn.execute(sa.select(*selected).where(papers.c.id.in_(chunk), *where))
                found.extend(
                    AuthorListing(row.id, list(row.authors or []), list(row.categories or []), row.day)
                    for row in rows
                )
        return sorted(found, key=lambda listing: (listing.day, listing.paper_id), reverse=True)

    def ids_with_keys(self, keys: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(keys))):
                rows = conn.execute(sa.select(papers.c.key, papers.c.id).where(papers.c.key.in_(chunk)))
                found.update({key: paper_id for key, paper_id in rows})
        return found
