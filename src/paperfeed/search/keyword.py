"""BM25 keyword search over title, abstract and authors, with a tantivy index on disk.

Each author is also filed under a term of the author-name rules (`author_terms`, see
paperfeed.library.authors.index_term): author pages find an author's papers by it.

Title and abstract share one field, the title written twice (TITLE_REPEATS): BM25 then weighs
a title word like two abstract words, against one length norm. Separate fields with a title
boost score far worse on queries that describe a paper in other words (a short title field
makes any title hit dominate); see eval/README.md for the measurement.

The index is derived data: it holds paper ids, not papers. `sync` brings it up to date
from the store incrementally (papers changed since the last sync) and rebuilds it when it
is missing, from another version, or was built from a different database. `following` is the
same sync spread over a bulk import: the rows each batch commits are indexed as it commits
them (on the import's other core, in tantivy's threads), and the sync at its end reads back
only what the import did not write itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy

from paperfeed.errors import StoreError
from paperfeed.library.authors import index_term
from paperfeed.models import SearchFilters
from paperfeed.search.query import STOP_WORDS, ParsedQuery, author_phrase, parse_user_query
from paperfeed.search.spelling import VOCABULARY_FILE, Vocabulary
from paperfeed.store import Store
from paperfeed.store.papers import MergeOutcome

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
# Title and abstract words: tantivy's `en_stem` chain (split at non-alphanumerics, drop tokens of
# 40 bytes or more, lower-case, Snowball English stems) with STOP_WORDS left out. Those 33 words
# ("the", "of", "and", ...) are in nearly every paper, so they weigh almost nothing in BM25, yet
# a researcher's description of a paper is full of them: they were 78% of the postings a query
# of the evaluation read at 1M papers, and reading them was most of its time.
TEXT_ANALYZER = "paper_text"
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
# Batches the feed may lag behind an import (each about 2,000 papers), and the most batch times
# the closing sync leaves out by name: past that it reads every changed paper back instead.
FEED_QUEUE_BATCHES = 4
MAX_SKIPPED_WRITE_TIMES = 10_000
# Searches by meaning with filters ask which papers the filters allow; the answer is kept, for
# this many filters, until the index next changes (the same category or dates come back search
# after search). The ids are kept for at most ALLOWED_IDS_LIMIT papers (8 bytes each): reading
# them out of tantivy costs about 0.5 µs a paper, once.
ALLOWED_CACHE_ENTRIES = 32
ALLOWED_IDS_LIMIT = 250_000


class OutdatedIndex(StoreError):
    """The index on disk has fields other than this release's."""


IndexBatch = Callable[[MergeOutcome], None]  # called with each committed batch of an import


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    # The id again, as text: tantivy looks a set of ids up several times faster as text terms
    # than as integer ones, and filtered search by meaning asks which of its nearest neighbours
    # a filter allows (README, "Ids as text terms").
    builder.add_text_field("id_text", tokenizer_name="raw")
    builder.add_text_field("text", tokenizer_name=TEXT_ANALYZER)  # title (repeated) + abstract
    builder.add_text_field("authors", tokenizer_name="default")
    builder.add_text_field("author_terms", tokenizer_name="raw")  # one term per author
    builder.add_text_field("categories", tokenizer_name="raw")
    builder.add_integer_field("published", indexed=True, fast=True)  # yyyymmdd
    builder.add_integer_field("has_code", indexed=True, fast=True)
    return builder.build()


def _text_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(sorted(STOP_WORDS)))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def day_number(day: dt.date | None) -> int:
    return day.year * 10_000 + day.month * 100 + day.day if day else 0


@dataclass(slots=True)
class KeywordHits:
    ids: list[int]
    scores: list[float]
    total: int


@dataclass(frozen=True, slots=True)
class AllowedPapers:
    """The papers some filters allow: how many, and their ids (sorted) unless there are more
    than ALLOWED_IDS_LIMIT."""

    count: int
    ids: np.ndarray | None

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` are allowed (needs `self.ids`)."""
        assert self.ids is not None
        if not len(self.ids):
            return np.zeros(len(ids), dtype=bool)
        at = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return self.ids[at] == ids


class KeywordIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = _build_schema()
        self._index: tantivy.Index | None = None
        self._last_reload = 0.0
        self._lock = threading.Lock()
        self._generation = ""
        self.vocabulary = Vocabulary(self.path / VOCABULARY_FILE)
        self._allowed: OrderedDict[tuple, AllowedPapers] = OrderedDict()
        self._reading: dict[tuple, threading.Lock] = {}  # one lock per filter being read
        self._allowed_lock = threading.Lock()

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
        try:
            index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        except ValueError as exc:  # the binding raises ValueError for every kind of failure
            if "schema does not match" not in str(exc):
                raise
            raise OutdatedIndex(
                f"the keyword index in {self.path} was made by another release of paperfeed: "
                "rebuild it with paperfeed reindex (paperfeed serve rebuilds it as it starts)"
            ) from None
        index.register_tokenizer(TEXT_ANALYZER, _text_analyzer())  # known only to this handle
        self._index = index
        return index

    @property
    def index(self) -> tantivy.Index:
        return self._index or self._open()

    def _writer(self, *, rebuild: bool) -> tantivy.IndexWriter | None:
        try:
            return self.index.writer(
                heap_size=WRITER_HEAP_BYTES, num_threads=REBUILD_THREADS if rebuild else 1
            )
        except ValueError:
            log.info("keyword index is being written by another process; skipping sync")
            return None

    def _begin(self, store: Store) -> tuple[str, bool, dt.datetime | None, list[dt.datetime]]:
        """The store's identity, whether the index must be rebuilt, the last sync's time, and the
        write times of the import batches it had indexed as they committed."""
        state = self._state()
        instance = store.instance_id()
        rebuild = (
            state.get("schema") != SCHEMA_VERSION
            or state.get("instance") != instance
            or not self.vocabulary.path.exists()
        )
        try:
            self._open(fresh=rebuild)
        except OutdatedIndex:
            rebuild = True
            self._open(fresh=True)
        if rebuild:
            return instance, True, None, []
        indexed_writes = [t for t in map(_parse_time, state.get("indexed_writes", [])) if t is not None]
        return instance, False, _parse_time(state.get("watermark")), indexed_writes

    def sync(self, store: Store, *, progress: Callable[[int], None] | None = None) -> int:
        """Index what changed in the store since the last sync; returns papers (re)indexed."""
        with self._lock:
            instance, rebuild, since, indexed_writes = self._begin(store)
            writer = self._writer(rebuild=rebuild)
            if writer is None:
                return 0
            # Word counts for spelling suggestions; an incremental sync adds the changed papers'
            # words again, which only makes frequent words look a little more frequent.
            words = Counter() if rebuild else self.vocabulary.load()
            return self._finish(
                store,
                writer,
                instance,
                since,
                words,
                rebuild=rebuild,
                progress=progress,
                written_at=indexed_writes,
            )

    def _finish(
        self,
        store: Store,
        writer: tantivy.IndexWriter,
        instance: str,
        since: dt.datetime | None,
        words: Counter[str],
        *,
        rebuild: bool,
        progress: Callable[[int], None] | None = None,
        written_at: Sequence[dt.datetime] = (),
        fed: int = 0,
    ) -> int:
        """Index the papers changed since `since` but not last written at one of `written_at`
        (those are indexed already), commit, and record the sync."""
        sync_started = _utcnow()
        count = 0
        try:
            changed = store.papers.changed_since(
                since - SYNC_OVERLAP if since else None,
                columns=INDEXED_COLUMNS,
                not_written_at=written_at,
            )
            for chunk in changed:
                for paper in chunk:
                    self._add(writer, paper._mapping, words, replace=since is not None or fed > 0)
                count += len(chunk)
                if progress:
                    progress(len(chunk))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        if count or fed or rebuild:
            self.vocabulary.save(words)
        # The next sync reads back from shortly before this one (SYNC_OVERLAP); batches indexed
        # as they committed within that stretch are left out again.
        recent = [t.isoformat() for t in written_at if t >= sync_started - SYNC_OVERLAP]
        self._write_state(
            {
                "schema": SCHEMA_VERSION,
                "instance": instance,
                "watermark": sync_started.isoformat(),
                "indexed_writes": recent,
            }
        )
        self.index.reload()
        return count + fed

    def _add(
        self, writer: tantivy.IndexWriter, paper: Mapping, words: Counter[str], *, replace: bool
    ) -> None:
        """Index one paper (`replace`: in place of any earlier document of it)."""
        if replace:
            writer.delete_documents_by_term("id", paper["id"])
        if not paper["hidden"]:
            writer.add_document(_document(paper))
            if weight := Vocabulary.weight_of(paper["id"]):
                Vocabulary.count((paper["title"], paper["abstract"] or ""), words, weight=weight)

    @contextlib.contextmanager
    def following(self, store: Store) -> Iterator[IndexBatch | None]:
        """Keep the index up to date through a bulk import: hand each committed batch
        (`MergeOutcome`) to the function this yields. At the end, committed or failed, the index
        holds exactly the store's committed papers, as after a sync. Yields None (the import then
        just runs, and a later sync indexes it) when another process is writing the index."""
        with self._lock:
            instance, rebuild, since, indexed_writes = self._begin(store)
            writer = self._writer(rebuild=True)  # a bulk job, like a rebuild: two tantivy threads
            if writer is None:
                yield None
                return
            words = Counter() if rebuild else self.vocabulary.load()
            feed = _Feed(self, writer, words, indexed_writes)
            try:
                yield feed
            except BaseException:
                feed.close()
                try:
                    self._finish(store, writer, instance, since, words, rebuild=rebuild, **feed.done())
                except Exception:  # the import's own error is the one to report
                    log.exception("keyword index not brought up to date after the failed import")
                raise
            feed.close()
            self._finish(store, writer, instance, since, words, rebuild=rebuild, **feed.done())

    def rebuild(self, store: Store, *, progress: Callable[[int], None] | None = None) -> int:
        with self._lock:
            if self.path.exists():
                shutil.rmtree(self.path)
            self._index = None
        return self.sync(store, progress=progress)

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
        return self.matches_any(parse_user_query(word))

    def matches_any(self, parsed: ParsedQuery) -> bool:
        """Whether any paper matches the query (found by asking for one paper, uncounted)."""
        return not parsed.is_empty and bool(self.search(parsed, SearchFilters(), limit=1, counted=False).ids)

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
        counted: bool = True,
    ) -> KeywordHits:
        """The papers ranked `offset` to `offset + limit` by BM25 (or newest first), and how many
        match in all; unless not `counted`, when the total is just the papers returned. Counting
        visits every match: a fifth of a long query's time at 1M papers, wasted on a ranking that
        only fuses the first hits.

        A short plain query also scores its words as one phrase. Asked together, the phrase takes
        tantivy off its fast union of term postings, which doubled the time of such a query at
        1M papers; so the words and the phrase are two searches: the words alone (exact for
        papers without the phrase), and the papers with the phrase scored by words and phrase
        (exact for those), each paper keeping its better score: the same ranking, the same
        scores, as the one query."""
        self._maybe_reload()
        index = self.index
        filter_clauses = [(tantivy.Occur.Must, q) for q in self._filter_queries(filters)]
        if parsed.is_empty:
            newest_first = True  # nothing to rank by relevance
            words = None
        else:
            words, _errors = index.parse_query_lenient(
                parsed.to_tantivy(with_phrase=False), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
            )
        searcher = index.searcher()
        query = _all_of([(tantivy.Occur.Must, words)] if words else [], filter_clauses)
        if newest_first:  # the phrase changes scores only, not which papers match
            result = searcher.search(
                query,
                limit=limit,
                offset=offset,
                count=True,
                order_by_field="published",
                order=tantivy.Order.Desc,
            )
            return self._hits(searcher, [(0.0, address) for _key, address in result.hits], result.count)
        result = searcher.search(query, limit=offset + limit, count=counted)
        hits = result.hits
        if parsed.phrase_boost and words is not None:
            phrase, _errors = index.parse_query_lenient(
                parsed.phrase_boost, list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
            )
            with_phrase = _all_of(
                [(tantivy.Occur.Must, phrase), (tantivy.Occur.Should, words)], filter_clauses
            )
            hits = _best_of(hits, searcher.search(with_phrase, limit=offset + limit, count=False).hits)
        page = hits[offset : offset + limit]
        return self._hits(searcher, page, result.count if counted else len(page))

    @staticmethod
    def _hits(searcher: tantivy.Searcher, hits: list, total: int | None) -> KeywordHits:
        addresses = [address for _score, address in hits]
        # Ids from the fast (columnar) field: a stored-document fetch per hit costs far more.
        ids = [int(i) for i in searcher.fast_field_values("id", addresses)] if addresses else []
        return KeywordHits(ids=ids, scores=[float(score) for score, _address in hits], total=total or 0)

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

    def allowed(self, filters: SearchFilters, *, ids_at_once: int = 0) -> AllowedPapers:
        """What `filters` let through, remembered until the index changes. The ids come with it
        at once when at most `ids_at_once` papers pass; else from the second time the same
        filters are asked for (reading them costs more than a filter used once saves). One
        thread reads what a filter allows while others asking for the same filter wait for its
        answer: reading 100,000 ids holds the GIL for tens of milliseconds, so searches reading
        the same ids at once would each pay that and hold up every other request meanwhile."""
        # A sync marks a new generation; papers an import indexes meanwhile change the count.
        generation = (self.generation(), self.doc_count(fresh=False))
        key = (
            generation,
            (filters.date_from, filters.date_to, filters.author, filters.category, filters.has_code),
        )
        with self._allowed_lock:
            found = self._remembered(key)
            if found is not None and (found.ids is not None or found.count > ALLOWED_IDS_LIMIT):
                return found
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:
            with self._allowed_lock:
                found = self._remembered(key) or found
            if found is None:
                found = AllowedPapers(count=self.filter_matches(filters, limit=1).total, ids=None)
                wanted = found.count <= ids_at_once
            else:
                wanted = found.ids is None
            if wanted and found.count <= ALLOWED_IDS_LIMIT:
                ids = self.filter_matches(filters, limit=found.count).ids
                found = AllowedPapers(count=found.count, ids=np.sort(np.asarray(ids, dtype=np.int64)))
            with self._allowed_lock:
                self._remembered(key)  # forgets older generations
                self._allowed[key] = found
                while len(self._allowed) > ALLOWED_CACHE_ENTRIES:
                    self._allowed.popitem(last=False)
                if len(self._reading) > 4 * ALLOWED_CACHE_ENTRIES:
                    self._reading = {k: lock for k, lock in self._reading.items() if lock.locked()}
        return found

    def _remembered(self, key: tuple) -> AllowedPapers | None:
        """The remembered answer for `key`, after forgetting those of older generations (under
        `_allowed_lock`)."""
        if self._allowed and next(iter(self._allowed))[0] != key[0]:
            self._allowed.clear()  # the index changed since: every answer may have
            self._reading = {k: lock for k, lock in self._reading.items() if k[0] == key[0]}
        found = self._allowed.get(key)
        if found is not None:
            self._allowed.move_to_end(key)
        return found

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
            queries.append(tantivy.Query.term_set_query(self.schema, "id_text", [str(i) for i in among]))
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


def _all_of(
    clauses: list[tuple[tantivy.Occur, tantivy.Query]], filters: list[tuple[tantivy.Occur, tantivy.Query]]
) -> tantivy.Query:
    """One query of the clauses and the filters (every paper when there are none)."""
    clauses = clauses + filters
    if not clauses:
        return tantivy.Query.all_query()
    if len(clauses) == 1 and clauses[0][0] == tantivy.Occur.Must:
        return clauses[0][1]
    return tantivy.Query.boolean_query(clauses)


def _best_of(*rankings: list) -> list:
    """(score, address) hits of several searches, each paper once with its best score, best first
    (ties in index order)."""
    best: dict[tuple[int, int], tuple[float, tantivy.DocAddress]] = {}
    for hits in rankings:
        for score, address in hits:
            key = (address.segment_ord, address.doc)
            if key not in best or score > best[key][0]:
                best[key] = (score, address)
    return [best[key] for key in sorted(best, key=lambda key: (-best[key][0], key))]


def _document(paper: Mapping) -> tantivy.Document:
    """The index document of a paper (a row's mapping: from the store, or as a merge wrote it)."""
    authors = paper["authors"]
    return tantivy.Document(
        id=paper["id"],
        id_text=str(paper["id"]),
        text=[paper["title"]] * TITLE_REPEATS + [paper["abstract"] or ""],
        authors=" ; ".join(authors),
        author_terms=sorted({term for term in map(index_term, authors) if term}),
        categories=paper["categories"],
        published=day_number(paper["published"] or paper["listed_on"]),
        has_code=int(paper["has_code"]),
    )


class _Feed:
    """Indexes the rows of an import's committed batches in a thread of its own, while the
    import goes on to the next batch: the store's driver and tantivy's indexing threads release
    the interpreter, so the two overlap on two cores."""

    def __init__(
        self,
        keyword: KeywordIndex,
        writer: tantivy.IndexWriter,
        words: Counter[str],
        indexed_writes: Sequence[dt.datetime],
    ) -> None:
        self._keyword = keyword
        self._writer = writer
        self._words = words
        self._batches: queue.Queue[MergeOutcome | None] = queue.Queue(maxsize=FEED_QUEUE_BATCHES)
        self._written_at: set[dt.datetime] = set(indexed_writes)  # by an import the last sync followed
        self._indexed = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="keyword-feed")
        self._thread.start()

    def __call__(self, outcome: MergeOutcome) -> None:
        if self._error is None and outcome.written:
            self._batches.put(outcome)

    def _run(self) -> None:
        while (outcome := self._batches.get()) is not None:
            if self._error is not None:
                continue  # drain: the closing sync reads everything back
            try:
                for position, row in enumerate(outcome.written):
                    self._indexed += 1  # counted first: after a failure, the closing sync replaces
                    # A paper new to the store has no document yet; one the batch changed may have.
                    self._keyword._add(self._writer, row, self._words, replace=position >= outcome.added)
                assert outcome.written_at is not None
                self._written_at.add(outcome.written_at)
            except BaseException as exc:  # e.g. a full disk: the closing sync tries again
                log.warning("indexing an imported batch failed (%s); indexing it at the end", exc)
                self._error = exc

    def close(self) -> None:
        self._batches.put(None)
        self._thread.join()

    def done(self) -> dict:
        """What the closing sync needs: the write times of the batches indexed here (none when
        feeding failed, or too many to leave out by name), and how many papers that was."""
        if self._error is not None or len(self._written_at) > MAX_SKIPPED_WRITE_TIMES:
            return {"written_at": (), "fed": self._indexed}
        return {"written_at": sorted(self._written_at), "fed": self._indexed}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
