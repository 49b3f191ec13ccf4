"""BM25 keyword search over title, abstract and authors, with a tantivy index on disk.

Each author is also filed under a term of the author-name rules (`author_terms`, see
paperfeed.library.authors.index_term): author pages find an author's papers by it.

Title and abstract share one field, the title written twice (TITLE_REPEATS): BM25 then weighs
a title word like two abstract words, against one length norm. Separate fields with a title
boost score far worse on queries that describe a paper in other words (a short title field
makes any title hit dominate); see eval/README.md for the measurement.

The index is derived data: it holds paper ids, not papers. `sync` brings it up to date
from the store incrementally (papers changed since the last sync) and rebuilds it when it
is missing, from another version, or was built from a different database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import tantivy

from paperfeed.library.authors import index_term
from paperfeed.models import Paper, SearchFilters
from paperfeed.search.query import ParsedQuery, author_phrase, parse_user_query
from paperfeed.search.spelling import VOCABULARY_FILE, Vocabulary
from paperfeed.store import Store

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
TITLE_REPEATS = 2
FIELD_BOOSTS = {"text": 1.0, "authors": 1.0}
STATE_FILE = "paperfeed-state.json"
INDEXED_COLUMNS = ("title", "abstract", "authors", "categories", "published", "listed_on", "has_code")
# Re-read rows changed shortly before the last sync: a transaction that started earlier may
# have committed after it. Re-indexing a paper is idempotent, so overlap costs little.
SYNC_OVERLAP = dt.timedelta(minutes=2)
RELOAD_EVERY_S = 1.0
AUTHOR_HITS = 2_000  # papers of an author's name asked for at first
WRITER_HEAP_BYTES = 128_000_000
# Tantivy tokenises in its own threads while Python reads the store. A rebuild (after a bulk
# import) has the machine to itself and takes two; incremental syncs run beside the web server.
REBUILD_THREADS = min(2, os.cpu_count() or 1)


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="en_stem")  # title (repeated) + abstract
    builder.add_text_field("authors", tokenizer_name="default")
    builder.add_text_field("author_terms", tokenizer_name="raw")  # one term per author
    builder.add_text_field("categories", tokenizer_name="raw")
    builder.add_integer_field("published", indexed=True, fast=True)  # yyyymmdd
    builder.add_integer_field("has_code", indexed=True, fast=True)
    return builder.build()


def day_number(day: dt.date | None) -> int:
    return day.year * 10_000 + day.month * 100 + day.day if day else 0


@dataclass(slots=True)
class KeywordHits:
    ids: list[int]
    scores: list[float]
    total: int


class KeywordIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = _build_schema()
        self._index: tantivy.Index | None = None
        self._last_reload = 0.0
        self._lock = threading.Lock()
        self._generation = ""
        self.vocabulary = Vocabulary(self.path / VOCABULARY_FILE)

    # --- lifecycle ---------------------------------------------------------------------------

    def _state(self) -> dict:
        try:
            return json.loads((self.path / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self, state: dict) -> None:
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path / STATE_FILE)

    def _open(self, *, fresh: bool = False) -> tantivy.Index:
        if fresh and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        return self._index

    @property
    def index(self) -> tantivy.Index:
        return self._index or self._open()

    def sync(self, store: Store, *, progress: Callable[[int], None] | None = None) -> int:
        """Index what changed in the store since the last sync; returns papers (re)indexed."""
        with self._lock:
            state = self._state()
            instance = store.instance_id()
            rebuild = (
                state.get("schema") != SCHEMA_VERSION
                or state.get("instance") != instance
                or not self.vocabulary.path.exists()
            )
            index = self._open(fresh=rebuild)
            since = None if rebuild else _parse_time(state.get("watermark"))
            try:
                writer = index.writer(
                    heap_size=WRITER_HEAP_BYTES, num_threads=REBUILD_THREADS if rebuild else 1
                )
            except ValueError:
                log.info("keyword index is being written by another process; skipping sync")
                return 0
            sync_started = _utcnow()
            count = 0
            # Word counts for spelling suggestions; an incremental sync adds the changed papers'
            # words again, which only makes frequent words look a little more frequent.
            words = Counter() if rebuild else self.vocabulary.load()
            try:
                changed = store.papers.changed_since(
                    since - SYNC_OVERLAP if since else None, columns=INDEXED_COLUMNS
                )
                for chunk in changed:
                    for paper in chunk:
                        if since is not None:
                            writer.delete_documents_by_term("id", paper.id)
                        if not paper.hidden:
                            writer.add_document(self._document(paper))
                            Vocabulary.count((paper.title, paper.abstract or ""), words)
                    count += len(chunk)
                    if progress:
                        progress(len(chunk))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            if count or rebuild:
                self.vocabulary.save(words)
            self._write_state(
                {"schema": SCHEMA_VERSION, "instance": instance, "watermark": sync_started.isoformat()}
            )
            index.reload()
            return count

    def rebuild(self, store: Store, *, progress: Callable[[int], None] | None = None) -> int:
        with self._lock:
            if self.path.exists():
                shutil.rmtree(self.path)
            self._index = None
        return self.sync(store, progress=progress)

    def _document(self, paper: Paper | sa.Row) -> tantivy.Document:
        return tantivy.Document(
            id=paper.id,
            text=[paper.title] * TITLE_REPEATS + [paper.abstract or ""],
            authors=" ; ".join(paper.authors),
            author_terms=sorted({term for term in map(index_term, paper.authors) if term}),
            categories=paper.categories,
            published=day_number(paper.published or paper.listed_on),
            has_code=int(paper.has_code),
        )

    def generation(self) -> str:
        """A mark that changes with every sync (in this process or another), after which the
        searcher sees at least that sync: what was read from the index stays true until then."""
        generation = str(self._state().get("watermark", ""))
        if generation != self._generation:
            self._maybe_reload(force=True)
            self._generation = generation
        return generation

    def knows(self, word: str) -> bool:
        """Whether any paper contains `word` (after stemming, as searches match it)."""
        parsed = parse_user_query(word)
        return not parsed.is_empty and self.search(parsed, SearchFilters(), limit=1).total > 0

    def doc_count(self, *, fresh: bool = True) -> int:
        """Papers in the index; `fresh=False` accepts the view of up to a second ago (cheaper)."""
        self._maybe_reload(force=fresh)
        return self.index.searcher().num_docs

    # --- searching ---------------------------------------------------------------------------

    def _maybe_reload(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_reload > RELOAD_EVERY_S:
            self.index.reload()  # picks up commits made by other processes
            self._last_reload = now

    def _filter_queries(self, filters: SearchFilters) -> list[tantivy.Query]:
        schema, queries = self.schema, []
        if filters.date_from or filters.date_to:
            queries.append(
                tantivy.Query.range_query(
                    schema,
                    "published",
                    tantivy.FieldType.Integer,
                    day_number(filters.date_from) if filters.date_from else None,
                    day_number(filters.date_to) if filters.date_to else None,
                )
            )
        if filters.category:
            queries.append(tantivy.Query.term_query(schema, "categories", filters.category.strip()))
        if filters.has_code is not None:
            queries.append(tantivy.Query.term_query(schema, "has_code", int(filters.has_code)))
        if filters.author:
            phrase = author_phrase(filters.author)
            if phrase:
                query, _errors = self.index.parse_query_lenient(phrase, ["authors"])
                queries.append(query)
        return queries

    def search(
        self,
        parsed: ParsedQuery,
        filters: SearchFilters,
        *,
        limit: int,
        offset: int = 0,
        newest_first: bool = False,
    ) -> KeywordHits:
        self._maybe_reload()
        index = self.index
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if not parsed.is_empty:
            text_query, _errors = index.parse_query_lenient(
                parsed.to_tantivy(), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
            )
            clauses.append((tantivy.Occur.Must, text_query))
        clauses.extend((tantivy.Occur.Must, q) for q in self._filter_queries(filters))
        if not clauses:
            query = tantivy.Query.all_query()
            newest_first = True
        elif len(clauses) == 1:
            query = clauses[0][1]
        else:
            query = tantivy.Query.boolean_query(clauses)
        if parsed.is_empty:
            newest_first = True  # nothing to rank by relevance
        searcher = index.searcher()
        kwargs = {"order_by_field": "published", "order": tantivy.Order.Desc} if newest_first else {}
        result = searcher.search(query, limit=limit, offset=offset, count=True, **kwargs)
        addresses = [address for _score, address in result.hits]
        # Ids from the fast (columnar) field: a stored-document fetch per hit costs far more.
        ids = [int(i) for i in searcher.fast_field_values("id", addresses)] if addresses else []
        scores = [float(score) if not newest_first else 0.0 for score, _address in result.hits]
        return KeywordHits(ids=ids, scores=scores, total=result.count or 0)

    def author_papers(self, pattern: str, *, since: dt.date | None = None) -> list[int]:
        """Ids of the indexed papers with an author filed under a term the regular expression
        `pattern` matches in full (see paperfeed.library.authors.index_pattern), published (else
        listed) on `since` or later; in no particular order."""
        if not pattern:
            return []
        self._maybe_reload()
        query = tantivy.Query.regex_query(self.schema, "author_terms", pattern)
        if since is not None:
            day = tantivy.Query.range_query(
                self.schema, "published", tantivy.FieldType.Integer, day_number(since), None
            )
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, day)])
        searcher = self.index.searcher()
        result = searcher.search(query, limit=AUTHOR_HITS, count=True)
        if (result.count or 0) > len(result.hits):  # a prolific name: ask again for every hit
            result = searcher.search(query, limit=result.count)
        addresses = [address for _score, address in result.hits]
        return [int(i) for i in searcher.fast_field_values("id", addresses)] if addresses else []

    def filter_matches(
        self,
        filters: SearchFilters,
        *,
        limit: int,
        among: Sequence[int] | None = None,
        newest_first: bool = False,
    ) -> KeywordHits:
        """Papers that `filters` allow (only those in `among`, when given), unranked or newest
        first: lets other rankings (semantic, hybrid) apply exactly the filters keyword search does."""
        self._maybe_reload()
        queries = self._filter_queries(filters)
        if among is not None:
            if not among:
                return KeywordHits(ids=[], scores=[], total=0)
            queries.append(tantivy.Query.term_set_query(self.schema, "id", list(among)))
        if not queries:
            query = tantivy.Query.all_query()
        elif len(queries) == 1:
            query = queries[0]
        else:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])
        searcher = self.index.searcher()
        kwargs = {"order_by_field": "published", "order": tantivy.Order.Desc} if newest_first else {}
        result = searcher.search(query, limit=max(1, limit), count=True, **kwargs)
        addresses = [address for _key, address in result.hits]
        ids = [int(i) for i in searcher.fast_field_values("id", addresses)] if addresses else []
        return KeywordHits(ids=ids, scores=[0.0] * len(ids), total=result.count or 0)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
