"""The vector index for semantic search and related papers: paper ids and their embeddings,
on disk under the index directory.

Vectors are kept in a usearch index (int8, cosine; indexes written before int8 keep float16
until rebuilt). Below `exact_limit` papers every query is
answered by brute force, which is exact and, at that size, faster than any graph; above it the
index's HNSW graph answers approximately (recall measured in benchmarks/bench_semantic.py).
The graph is maintained as papers are added, so crossing the limit needs no rebuild.

Like the keyword index this is derived data: `sync` adds papers changed since the last sync
(embedding only those whose text has no stored vector yet), removes hidden ones, and starts
over when the index is lost, was built from another database, or the embedding model changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from usearch.index import Index, MetricKind, ScalarKind
from usearch.index import search as brute_force_search

from paperfeed.models import Paper
from paperfeed.search.embeddings import Embedder, paper_text, text_hash
from paperfeed.search.first_pass import first_pass_key
from paperfeed.store import Store

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATE_FILE = "state.json"
INDEX_FILE = "vectors.usearch"
# Every vector again as one int8 matrix, rows in the order of a sorted id array, memory-mapped by
# searches: a filtered search gathers its allowed rows with one fancy index and scores them with
# usearch's SIMD brute force, instead of asking the graph for each key (which builds a Python
# object per vector: 137 ms against about 20 ms for 13.6k allowed papers of 200k). Each row is
# scaled to fill int8's range; cosine does not see the scale, and the score stays within 0.002.
MATRIX_FILE = "matrix.i8.npy"
MATRIX_IDS_FILE = "matrix.ids.npy"
EXPORT_CHUNK = 50_000
# Exact search up to this many papers: brute force over 50k float16 vectors takes ~5 ms on two
# cores, within the latency budget; past it, the HNSW graph keeps queries in single-digit ms.
EXACT_LIMIT = 50_000
CONNECTIVITY = 16  # HNSW edges per node (see benchmarks/bench_semantic.py for the recall it gives)
EXPANSION_ADD = 64  # build cost halves against 128 at the same measured recall
# Candidates kept while searching. On 1M real-shaped vectors (benchmarks/bench_semantic.py) the
# int8 graph's recall@10 is 0.77 at 512, 0.84 at 768, 0.87 at 1024 (float16: 0.82, 0.86, 0.89):
# int8 rounding reorders near-ties, and 768 wins back float16's recall at 512, still faster.
EXPANSION_SEARCH = 768
EMBED_BATCH = 256  # papers embedded and stored per step (and per progress tick)
SYNC_OVERLAP = dt.timedelta(minutes=2)  # as in the keyword index: late-committing transactions
RELOAD_EVERY_S = 1.0
# A long embedding run saves the index this often, so searches see its progress and a killed run
# resumes from there; a save of 1M f16 vectors takes about a second.
CHECKPOINT_EVERY_S = 60.0
TEXT_COLUMNS = ("title", "abstract")  # all the sync reads of a paper, besides id and hidden
# The graph's vectors: int8, each row scaled to fill int8's range (see _to_int8), half the size of
# float16, so the graph of 2.6M papers maps 1.3 GB instead of 2.4 GB. usearch's own cast to int8
# scales a unit vector by 127, which leaves its components (about ±0.05 in 384 dimensions) a few
# levels each; vectors and queries are therefore scaled here and handed over as int8.
# An index file records its own type, and loading or mapping it keeps that: an index of an
# earlier release stays float16 until rebuilt.
VECTOR_DTYPE = "i8"


class IndexBusy(RuntimeError):
    """Another run is updating the vector index."""


def _to_int8(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to fill int8's range and rounded (cosine is blind to the scale)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    peaks = np.maximum(np.abs(vectors).max(axis=-1, keepdims=True), 1e-12)
    return np.round(vectors * (127 / peaks)).astype(np.int8)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows at unit length: what the graph gives back is scaled (int8) or rounded (float16)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _as_stored(index: Index, vectors: np.ndarray) -> np.ndarray:
    """Vectors (or one query) in the form `index` keeps them."""
    if index.dtype == ScalarKind.I8:
        return _to_int8(vectors)
    return np.asarray(vectors, dtype=np.float32)


def _add_rows(index: Index, keys: np.ndarray | Sequence[int], vectors: np.ndarray) -> None:
    index.add(np.asarray(keys, dtype=np.uint64), _as_stored(index, vectors))


def _add(index: Index, vectors: dict[int, np.ndarray]) -> None:
    keys = list(vectors)
    _add_rows(index, keys, np.stack([vectors[k] for k in keys]))


class VectorIndex:
    def __init__(self, path: Path, *, exact_limit: int = EXACT_LIMIT) -> None:
        self.path = Path(path)
        self.exact_limit = exact_limit
        self._index: Index | None = None
        self._generation: int | None = None
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None  # see _load_matrix
        self._last_check = 0.0
        self._lock = threading.RLock()  # guards the mapped index searches read
        # Writers take their own lock: searches must not wait for an embedding run of hours.
        self._write_lock = threading.Lock()

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

    @contextlib.contextmanager
    def _writing(self, *, wait: bool = True) -> Iterator[None]:
        """One writer at a time, across processes (an import while the web server syncs)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not self._write_lock.acquire(blocking=wait):
            raise IndexBusy("the vector index is being updated by another run")
        try:
            with open(self.path / ".lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    raise IndexBusy("the vector index is being updated by another process") from None
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    @staticmethod
    def _new_index(dim: int) -> Index:
        return Index(
            ndim=dim,
            metric="cos",
            dtype=VECTOR_DTYPE,  # a file loaded or mapped into it brings its own
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def _load(self, state: dict, *, writable: bool) -> Index | None:
        """The index on disk: read into memory to change it, else memory-mapped, so a process
        that only searches holds just the pages its queries touch."""
        path = self.path / INDEX_FILE
        if not path.is_file() or not state.get("dim"):
            return None
        index = self._new_index(int(state["dim"]))
        if writable:
            index.load(str(path))
        else:
            index.view(str(path))
        return index

    def _save(self, index: Index) -> None:
        tmp = self.path / (INDEX_FILE + ".tmp")
        index.save(str(tmp))
        os.replace(tmp, self.path / INDEX_FILE)

    def _save_matrix(self, index: Index) -> None:
        """Write every vector of `index` as the int8 matrix searches map (see MATRIX_FILE)."""
        keys = np.sort(np.asarray(index.keys, dtype=np.uint64)) if len(index) else np.zeros(0, np.uint64)
        temporary = {name: self.path / (name + ".tmp") for name in (MATRIX_FILE, MATRIX_IDS_FILE)}
        rows = np.lib.format.open_memmap(
            temporary[MATRIX_FILE], mode="w+", dtype=np.int8, shape=(len(keys), index.ndim)
        )
        for start in range(0, len(keys), EXPORT_CHUNK):
            chunk = keys[start : start + EXPORT_CHUNK]
            vectors = np.asarray(index.get(chunk, dtype="f32"), dtype=np.float32).reshape(len(chunk), -1)
            rows[start : start + len(chunk)] = _to_int8(vectors)
        rows.flush()
        del rows
        with open(temporary[MATRIX_IDS_FILE], "wb") as out:
            np.save(out, keys)
        for name, path in temporary.items():
            os.replace(path, self.path / name)

    @property
    def built_outside_the_store(self) -> bool:
        """Whether the index holds vectors brought by `build` rather than stored ones: a sync
        would not recognise it as the store's, and would replace it."""
        state = self._state()
        return bool(state) and "instance" not in state and (self.path / INDEX_FILE).is_file()

    def is_current(self, store: Store, embedder: Embedder) -> bool:
        state = self._state()
        return (
            state.get("schema") == SCHEMA_VERSION
            and state.get("instance") == store.instance_id()
            and state.get("model") == embedder.key
            and (self.path / INDEX_FILE).is_file()
        )

    def sync(
        self,
        store: Store,
        embedder: Embedder,
        *,
        progress: Callable[[int], None] | None = None,
        rebuild: bool = False,
        checkpoint_every: float = CHECKPOINT_EVERY_S,
        stop: threading.Event | None = None,
        wait: bool = True,
        first_pass: Embedder | None = None,
    ) -> int:
        """Bring the index up to date with the store; returns how many papers were embedded.
        With `first_pass` (see search/first_pass.py), papers are embedded by that fast model,
        provisionally, and `upgrade` later replaces those vectors with the default model's.

        A long run saves the index every `checkpoint_every` seconds, so searches see its progress
        and a killed run resumes where it stopped: vectors are stored batch by batch, and the next
        run reuses every stored one. `stop` ends the run early at the next batch (after a save).
        With `wait=False` a run already in progress elsewhere raises IndexBusy instead of waiting."""
        with self._writing(wait=wait):
            state = self._state()
            instance = store.instance_id()
            fresh = rebuild or not (
                state.get("schema") == SCHEMA_VERSION
                and state.get("instance") == instance
                and state.get("model") == embedder.key
                and state.get("dim") == embedder.dim
            )
            index = None if fresh else self._load(state, writable=True)
            if index is None:
                fresh, index = True, self._new_index(embedder.dim)
            # The watermark moves only when a run completes: a checkpoint keeps the previous one,
            # so the run after an interruption looks at every paper the interrupted run had to.
            watermark = None if fresh else state.get("watermark")
            since = _parse_time(watermark)
            sync_started = dt.datetime.now(dt.UTC)
            last_save = time.monotonic()

            def save(new_watermark: str | None, *, index_changed: bool = True, final: bool = False) -> None:
                nonlocal last_save
                held = {
                    "schema": SCHEMA_VERSION,
                    "instance": instance,
                    "model": embedder.key,
                    "dim": embedder.dim,
                    "watermark": new_watermark,
                }
                self._checkpoint(index, held, index_changed=index_changed, final=final)
                last_save = time.monotonic()

            def after_batch() -> bool:
                """Save when a checkpoint is due; True when the run should stop."""
                stopping = stop is not None and stop.is_set()
                if stopping or time.monotonic() - last_save >= checkpoint_every:
                    save(watermark)
                return stopping

            embedded = 0
            changed = store.papers.changed_since(
                since - SYNC_OVERLAP if since else None, columns=TEXT_COLUMNS
            )
            stopped = touched = False
            for chunk in changed:
                touched = True
                done, stopped = self._apply(
                    index, chunk, store, embedder, first_pass or embedder, progress, after_batch
                )
                embedded += done
                if stopped:
                    break
            if not stopped:
                save(sync_started.isoformat(), index_changed=touched or fresh, final=True)
            self._index = None  # searches map the saved file instead of keeping this copy in memory
            if embedded:
                log.info("embedded %d papers with %s", embedded, embedder.key)
            return embedded

    def _apply(
        self,
        index: Index,
        papers: list[Paper | sa.Row],
        store: Store,
        embedder: Embedder,
        embed_with: Embedder,
        progress: Callable[[int], None] | None,
        after_batch: Callable[[], bool],
    ) -> tuple[int, bool]:
        """Index one chunk of changed papers: reuse stored vectors (the default model's, else
        provisional ones), embed the rest with `embed_with`, drop hidden papers.
        Returns how many were embedded, and whether `after_batch` asked to stop."""
        hashes = {p.id: text_hash(p) for p in papers if not p.hidden}
        stored = store.embeddings.get_many(list(hashes), embedder.key)
        provisional = [i for i in hashes if stored.get(i, ("",))[0] != hashes[i]]
        if provisional:
            for paper_id, have in store.embeddings.get_many(provisional, first_pass_key(embedder.key)).items():
                if have[0] == hashes[paper_id]:
                    stored[paper_id] = have
        ids = np.array([p.id for p in papers], dtype=np.uint64)
        present = (
            np.asarray(index.contains(ids), dtype=bool).reshape(-1)
            if len(index)
            else np.zeros(len(ids), bool)
        )
        # A paper keeps its place when it is visible, indexed, and its stored vector is current.
        reused: dict[int, np.ndarray] = {}
        to_embed: list[Paper | sa.Row] = []
        stale: list[int] = []
        for paper, is_present in zip(papers, present, strict=True):
            if paper.hidden:
                if is_present:
                    stale.append(paper.id)
                continue
            have = stored.get(paper.id)
            if have is not None and have[0] == hashes[paper.id]:
                if not is_present:
                    reused[paper.id] = have[1]
                continue
            to_embed.append(paper)
            if is_present:
                stale.append(paper.id)
        if stale:
            index.remove(np.array(stale, dtype=np.uint64))
        if reused:
            _add(index, reused)
        skipped = len(papers) - len(to_embed)
        if progress and skipped:
            progress(skipped)
        embedded = 0
        for start in range(0, len(to_embed), EMBED_BATCH):
            batch = to_embed[start : start + EMBED_BATCH]
            matrix = embed_with.embed([paper_text(p.title, p.abstract) for p in batch])
            store.embeddings.put_many(
                embed_with.key, [(p.id, hashes[p.id], matrix[i]) for i, p in enumerate(batch)]
            )
            _add(index, {p.id: matrix[i] for i, p in enumerate(batch)})
            embedded += len(batch)
            if progress:
                progress(len(batch))
            if after_batch():
                return embedded, True
        return embedded, False

    def upgrade(
        self,
        store: Store,
        embedder: Embedder,
        *,
        progress: Callable[[int], None] | None = None,
        checkpoint_every: float = CHECKPOINT_EVERY_S,
        stop: threading.Event | None = None,
        wait: bool = True,
    ) -> int:
        """Replace provisional first-pass vectors with the default model's, batch by batch, the
        papers added last first (an import of a snapshot adds the newest last); returns how many
        were replaced. Each batch's vectors are stored before its provisional
        rows are dropped, so a killed run loses at most the batch in flight, and the next run
        finds what is left in the store. The index is saved as `sync` saves it."""
        provisional_key = first_pass_key(embedder.key)
        if not store.embeddings.count(provisional_key):
            return 0
        with self._writing(wait=wait):
            state = self._state()
            if state.get("model") != embedder.key or state.get("instance") != store.instance_id():
                return 0  # a sync for this model and store comes first, and reuses the rows
            index = self._load(state, writable=True)
            if index is None:
                return 0
            upgraded = 0
            last_save = time.monotonic()
            stopping = False
            while not stopping:
                ids = store.embeddings.paper_ids(provisional_key, limit=EMBED_BATCH)
                if not ids:
                    break
                papers = {p.id: p for p in store.papers.get_many(ids, include_hidden=True)}
                visible = [papers[i] for i in ids if i in papers and not papers[i].hidden]
                hashes = {p.id: text_hash(p) for p in visible}
                current = store.embeddings.get_many(list(hashes), embedder.key)
                to_embed = [p for p in visible if current.get(p.id, ("",))[0] != hashes[p.id]]
                vectors = {p.id: current[p.id][1] for p in visible if p.id in current}
                if to_embed:
                    matrix = embedder.embed([paper_text(p.title, p.abstract) for p in to_embed])
                    store.embeddings.put_many(
                        embedder.key, [(p.id, hashes[p.id], matrix[i]) for i, p in enumerate(to_embed)]
                    )
                    vectors.update((p.id, matrix[i]) for i, p in enumerate(to_embed))
                # Only papers the index holds are replaced: a hidden or removed one stays out.
                keys = np.array(list(vectors), dtype=np.uint64)
                present = keys[np.asarray(index.contains(keys), dtype=bool).reshape(-1)] if len(keys) else keys
                if len(present):
                    index.remove(present)
                    _add(index, {int(k): vectors[int(k)] for k in present})
                store.embeddings.delete_many(provisional_key, ids)
                upgraded += len(to_embed)
                if progress:
                    progress(len(ids))
                stopping = stop is not None and stop.is_set()
                if stopping or time.monotonic() - last_save >= checkpoint_every:
                    self._checkpoint(index, state)
                    last_save = time.monotonic()
            if not stopping:
                self._checkpoint(index, state, final=True)
            self._index = None
            if upgraded:
                log.info("upgraded %d first-pass vectors to %s", upgraded, embedder.key)
            return upgraded

    def _checkpoint(self, index: Index, state: dict, *, index_changed: bool = True, final: bool = False) -> None:
        """Write `state` (what the index holds: model, instance, watermark), saving `index` first
        when it changed; each save counts a generation, so searches know to map it again. `final`
        also writes the int8 matrix filtered searches score (checkpoints skip it: filtered
        searches read newer rows from the graph)."""
        previous = self._state()
        generation = int(previous.get("generation", 0))
        matrix_generation = previous.get("matrix_generation")
        if index_changed:  # else only the watermark moves, and readers keep their map
            self._save(index)
            generation += 1
            if final:
                self._save_matrix(index)
                matrix_generation = generation
        self._write_state(
            {**state, "generation": generation, "matrix_generation": matrix_generation, "count": len(index)}
        )

    def provisional_count(self, store: Store, embedder: Embedder) -> int:
        """Papers whose vector is still the first pass's."""
        return store.embeddings.count(first_pass_key(embedder.key))

    def coverage(self, visible_papers: int) -> float:
        """The share of `visible_papers` this index holds a vector for (1.0 for an empty store)."""
        if visible_papers <= 0:
            return 1.0
        return min(1.0, len(self) / visible_papers)

    def build(self, chunks: Iterable[tuple[Sequence[int], np.ndarray]], *, model: str = "external") -> int:
        """Replace the index with the given (ids, vectors) chunks, bypassing the store: for
        benchmarks and tools that bring their own vectors. Returns the number of vectors."""
        with self._writing():
            index: Index | None = None
            for ids, vectors in chunks:
                if index is None:
                    index = self._new_index(int(vectors.shape[1]))
                _add_rows(index, ids, vectors)
            if index is None:
                return 0
            self._save(index)
            self._save_matrix(index)
            generation = int(self._state().get("generation", 0)) + 1
            self._write_state(
                {
                    "schema": SCHEMA_VERSION,
                    "model": model,
                    "dim": index.ndim,
                    "generation": generation,
                    "matrix_generation": generation,
                }
            )
            self._index = None
            return len(index)

    # --- reading -----------------------------------------------------------------------------

    def _current(self) -> Index | None:
        """The index as last written by any process (re-read at most once a second)."""
        with self._lock:
            now = time.monotonic()
            if self._index is None or now - self._last_check > RELOAD_EVERY_S:
                self._last_check = now
                state = self._state()
                if state.get("generation") != self._generation or self._index is None:
                    self._index = self._load(state, writable=False)
                    self._generation = state.get("generation")
                    self._matrix = self._load_matrix(state)
            return self._index

    def _load_matrix(self, state: dict) -> tuple[np.ndarray, np.ndarray] | None:
        """(sorted ids, int8 rows memory-mapped) as last written, or None."""
        if state.get("matrix_generation") is None:
            return None
        try:
            ids = np.load(self.path / MATRIX_IDS_FILE)
            rows = np.load(self.path / MATRIX_FILE, mmap_mode="r")
        except (OSError, ValueError):
            return None
        return (ids, rows) if len(ids) == len(rows) else None

    def __len__(self) -> int:
        index = self._current()
        return len(index) if index is not None else 0

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        index = self._current()
        if index is None or not index.contains(paper_id):
            return None
        return _unit_rows(np.asarray(index.get(paper_id, dtype="f32")).reshape(-1))

    def search(
        self, vector: np.ndarray, k: int, *, among: Sequence[int] | None = None, exact: bool | None = None
    ) -> tuple[list[int], list[float]]:
        """The `k` papers nearest to `vector` (cosine similarity, best first); only those in
        `among` when given, which is searched exactly."""
        index = self._current()
        if index is None or len(index) == 0 or k <= 0:
            return [], []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if among is not None:
            return self._search_among(index, query, among, k)
        if exact is None:
            exact = len(index) <= self.exact_limit
        found = index.search(_as_stored(index, query), min(k, len(index)), exact=exact)
        return [int(key) for key in found.keys], [1.0 - float(d) for d in found.distances]

    def _search_among(
        self, index: Index, query: np.ndarray, among: Sequence[int], k: int
    ) -> tuple[list[int], list[float]]:
        keys = np.asarray(among, dtype=np.uint64)
        if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            keys = np.unique(keys)  # callers mostly pass sorted ids already: no need to sort
        if len(keys) == 0:
            return [], []
        found_keys, found_scores = [], []
        matrix = self._matrix
        if matrix is not None and len(matrix[0]):
            ids, rows = matrix
            at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
            in_matrix = ids[at] == keys
            subset = np.ascontiguousarray(rows[at[in_matrix]])
            if len(subset):
                kept_keys, kept_scores = self._best_rows(index, subset, keys[in_matrix], query, k)
                found_keys.append(kept_keys)
                found_scores.append(kept_scores)
            keys = keys[~in_matrix]  # added since the matrix was written: ask the graph
        if len(keys):
            keys = keys[np.asarray(index.contains(keys), dtype=bool).reshape(-1)]
        if len(keys):
            found_keys.append(keys)
            vectors = _unit_rows(np.asarray(index.get(keys, dtype="f32")).reshape(len(keys), -1))
            found_scores.append(vectors @ _unit_rows(query))
        if not found_keys:
            return [], []
        keys = np.concatenate(found_keys)
        scores = np.concatenate(found_scores)
        top = np.argsort(-scores, kind="stable")[:k]
        return [int(keys[i]) for i in top], [float(scores[i]) for i in top]

    @staticmethod
    def _best_rows(
        index: Index, rows: np.ndarray, keys: np.ndarray, query: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best of the matrix `rows` (of `keys`) that the graph still holds. The matrix
        is rewritten only at the end of an embedding run, so it may keep a paper the graph has
        dropped since; asking the graph about the best few costs less than about every key."""
        wanted = min(len(rows), 2 * k)
        while True:
            found = brute_force_search(rows, _to_int8(query[None, :])[0], wanted, MetricKind.Cos, exact=True)
            best = keys[np.asarray(found.keys, dtype=np.int64)]
            held = np.asarray(index.contains(best), dtype=bool).reshape(-1)
            if held.sum() >= k or wanted == len(rows):
                return best[held], (1.0 - np.asarray(found.distances, dtype=np.float32))[held]
            wanted = min(len(rows), wanted * 4)


def _parse_time(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
