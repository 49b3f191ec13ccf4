"""The search modes as rankers of one protocol: each takes a query and filters and answers with
scored paper ids, best first, and how many papers match. `PaperFeed.search` picks one by name
and turns its answer into a `ResultPage`; nothing else needs to know which mode ran.

- `KeywordRanker`: BM25 in the tantivy index (every paper matching a query word counts).
- `SemanticRanker`: nearest papers by embedding, only those above a similarity floor.
- `HybridRanker`: both, fused by calibrated scores (see `paperfeed.search.hybrid`).
- `RelatedRanker`: papers like a given paper (not a query), for paper pages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from paperfeed.models import SearchFilters
from paperfeed.search.embeddings import Embedder, model_words, query_text
from paperfeed.search.hybrid import DEFAULT_FUSION, SEMANTIC_FLOOR, Fusion, fuse
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.query import ParsedQuery, parse_user_query
from paperfeed.search.vectors import VectorIndex

# Rankings by meaning have no natural end: semantic search looks at this many nearest papers
# at most, and hybrid search fuses this many from each of its two rankings.
SEMANTIC_DEPTH = 200
HYBRID_DEPTH = 100
# A filtered semantic search either scores every allowed paper exactly or takes nearest
# neighbours from the HNSW graph, in proportion to the share the filters allow, until enough
# pass. Scoring exactly costs about 0.3 µs a paper (int8 rows of the memory-mapped matrix); a
# graph search for k neighbours 5-8 µs a neighbour once k runs into the thousands (1M papers,
# one core). So it scores exactly up to FILTERED_EXACT_LIMIT papers, and beyond that while the
# papers to score cost less than the neighbours the graph would have to give.
FILTERED_EXACT_LIMIT = 20_000
NEIGHBOUR_COST_IN_PAPERS = 20  # one neighbour from the graph costs as much as scoring this many
# Threads for the keyword half of hybrid searches (one per search the server runs at once).
_KEYWORD_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hybrid-keyword")


@dataclass(slots=True)
class Query:
    """What the user typed, parsed once for every ranker: words for BM25, text to embed, and
    its embedding, computed at most once however many rankers ask."""

    raw: str
    parsed: ParsedQuery
    meaning: str
    _embed: Callable[[str], np.ndarray] | None = None
    _vector: np.ndarray | None = field(default=None, repr=False)
    # Whether a paper contains one of its words or the model knows one whole (worked out once).
    has_known_words: bool | None = None

    @classmethod
    def of(cls, raw: str, embed: Callable[[str], np.ndarray] | None = None) -> Query:
        return cls(raw=raw, parsed=parse_user_query(raw), meaning=query_text(raw), _embed=embed)

    @property
    def length(self) -> int:
        """Words as typed (split at spaces): "SWE-bench" is one, a description many."""
        return len(self.meaning.split())

    @property
    def is_empty(self) -> bool:
        return self.parsed.is_empty or not self.meaning

    @property
    def vector(self) -> np.ndarray:
        if self._vector is None:
            if self._embed is None:
                raise RuntimeError("this query has no embedder")
            self._vector = self._embed(self.meaning)
        return self._vector


@dataclass(slots=True)
class Ranking:
    """Scored paper ids, best first (one page of them, or the whole ranking), and the number of
    papers that match in all."""

    scored: list[tuple[int, float]]
    total: int


class Ranker(Protocol):
    name: str
    uses_vectors: bool  # answers from embeddings, so only from the papers embedded so far

    def rank(self, query: Query, filters: SearchFilters, *, limit: int, offset: int = 0) -> Ranking:
        """The papers ranked `offset` to `offset + limit` for `query` among those `filters` allow."""
        ...


class KeywordRanker:
    name = "keyword"
    uses_vectors = False

    def __init__(self, index: KeywordIndex) -> None:
        self.index = index

    def rank(self, query: Query, filters: SearchFilters, *, limit: int, offset: int = 0) -> Ranking:
        hits = self.index.search(query.parsed, filters, limit=limit, offset=offset)
        return Ranking(list(zip(hits.ids, hits.scores, strict=True)), hits.total)

    def candidates(self, query: Query, filters: SearchFilters, *, limit: int) -> list[tuple[int, float]]:
        """The first `limit` papers with their scores, without counting every match: what a
        fusion of rankings takes."""
        hits = self.index.search(query.parsed, filters, limit=limit, counted=False)
        return list(zip(hits.ids, hits.scores, strict=True))


class SemanticRanker:
    name = "semantic"
    uses_vectors = True

    def __init__(
        self,
        vectors: VectorIndex,
        keyword: KeywordIndex,
        *,
        depth: int = SEMANTIC_DEPTH,
        floor: float = SEMANTIC_FLOOR,
        lexicon: Callable[[], frozenset[str]] = model_words,
    ) -> None:
        self.vectors = vectors
        self.keyword = keyword  # applies filters exactly as keyword search does
        self.depth = depth
        self.floor = floor
        self.lexicon = lexicon  # words the embedding model knows whole

    def rank(self, query: Query, filters: SearchFilters, *, limit: int, offset: int = 0) -> Ranking:
        if not self.understands(query):
            return Ranking([], 0)
        nearest = [(i, s) for i, s in self.nearest(query.vector, filters, self.depth) if s > self.floor]
        return Ranking(nearest[offset : offset + limit], len(nearest))

    def understands(self, query: Query) -> bool:
        """Whether the query has a word that some paper contains or that the model knows whole.
        One without (gibberish, or every word misspelt) resembles papers only by accident of its
        subword pieces: "xyzzyqwertyplugh" reaches a cosine of 0.25 with some paper under
        MiniLM and 0.57 under the static model, as high as real matches, so no similarity floor
        can tell it apart."""
        if query.has_known_words is None:
            query.has_known_words = self.knows_a_word(query) or self.keyword.matches_any(query.parsed)
        return query.has_known_words

    def knows_a_word(self, query: Query) -> bool:
        """Whether the model knows one of the query's words whole (no index needed)."""
        lexicon = self.lexicon()
        return any(word in lexicon for word in query.parsed.words)

    def nearest(self, vector: np.ndarray, filters: SearchFilters, depth: int) -> list[tuple[int, float]]:
        """The `depth` papers nearest in meaning to `vector` among those `filters` allow."""
        if filters.is_empty():
            ids, scores = self.vectors.search(vector, depth)
            return list(zip(ids, scores, strict=True))
        size = len(self.vectors)
        # Fetching 2 * depth * size / count neighbours costs more than scoring `count` papers
        # while count**2 < NEIGHBOUR_COST_IN_PAPERS * 2 * depth * size.
        exact_up_to = max(FILTERED_EXACT_LIMIT, math.isqrt(NEIGHBOUR_COST_IN_PAPERS * 2 * depth * size))
        allowed = self.keyword.allowed(filters, ids_at_once=exact_up_to)
        if allowed.count == 0 or size == 0:
            return []
        if allowed.count <= exact_up_to and allowed.ids is not None:
            # Not too many papers pass: score each of them exactly.
            ids, scores = self.vectors.search(vector, depth, among=allowed.ids)
            return list(zip(ids, scores, strict=True))
        # Many pass: take nearest neighbours in proportion to what the filters let through,
        # more until enough of them pass.
        share = allowed.count / size
        fetch = min(size, max(depth * 2, -(-depth * 2 * size // allowed.count)))
        while True:
            ids, scores = self.vectors.search(vector, fetch)
            if allowed.ids is not None:
                passes = allowed.contains(np.asarray(ids, dtype=np.int64)).tolist()
                kept = [(i, s) for i, s, ok in zip(ids, scores, passes, strict=True) if ok]
            else:  # too many to hold: ask the index about these
                kept = self._passing(list(zip(ids, scores, strict=True)), filters, depth, share)
            if len(kept) >= depth or fetch >= size:
                return kept[:depth]
            fetch = min(size, fetch * 4)

    def _passing(
        self, candidates: list[tuple[int, float]], filters: SearchFilters, depth: int, share: float
    ) -> list[tuple[int, float]]:
        """The first `depth` of the (best first) `candidates` that `filters` allow. The index is
        asked about them a slice at a time, each as long as should hold the papers still wanted
        (with a quarter to spare): it costs about 2.5 µs a paper at 1M papers, and the fetch holds
        twice what the filters are expected to let through."""
        kept: list[tuple[int, float]] = []
        start = 0
        while start < len(candidates) and len(kept) < depth:
            wanted = depth - len(kept)
            end = min(len(candidates), start + max(wanted, math.ceil(1.25 * wanted / share)))
            ids = [paper_id for paper_id, _score in candidates[start:end]]
            passing = set(self.keyword.filter_matches(filters, among=ids, limit=len(ids)).ids)
            kept.extend(candidate for candidate in candidates[start:end] if candidate[0] in passing)
            start = end
        return kept


class HybridRanker:
    name = "hybrid"
    uses_vectors = True

    def __init__(
        self,
        keyword: KeywordRanker,
        semantic: SemanticRanker,
        *,
        depth: int = HYBRID_DEPTH,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> None:
        self.keyword = keyword
        self.semantic = semantic
        self.depth = depth
        self.fusion = fusion

    def candidates(
        self, query: Query, filters: SearchFilters
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """Each ranking's first `depth` papers: what fusion combines. The keyword search runs
        in another thread while this one embeds the query and searches by meaning: tantivy
        and ONNX Runtime both let go of the GIL, so the two halves take the time of the longer."""
        pending = _KEYWORD_THREADS.submit(self.keyword.candidates, query, filters, limit=self.depth)
        if not self.semantic.knows_a_word(query) and pending.result():
            query.has_known_words = True  # a paper contains one of its words: meaning is worth asking
        understood = self.semantic.understands(query)
        semantic = self.semantic.nearest(query.vector, filters, self.depth) if understood else []
        return pending.result(), semantic

    def rank(self, query: Query, filters: SearchFilters, *, limit: int, offset: int = 0) -> Ranking:
        keyword, semantic = self.candidates(query, filters)
        fused = fuse(keyword, semantic, query.length, self.fusion)
        return Ranking(fused[offset : offset + limit], len(fused))


class RelatedRanker:
    """Papers like a given paper: its nearest neighbours by embedding, fused with a keyword
    search for its title (papers that name the same method or task). On the topic queries of
    the tuning half, the share of a paper's 10 related papers that share a topic with it rose
    from 0.294 (neighbours alone) to 0.327 with the title at weight 0.2 (eval/README.md)."""

    name = "related"
    uses_vectors = True
    fusion = Fusion(short_weight=0.8, long_weight=0.8)  # the semantic share, for any title length
    duplicate_similarity = 0.985  # nearer than this is the same paper under another record

    def __init__(self, keyword: KeywordRanker, vectors: VectorIndex, *, depth: int = HYBRID_DEPTH) -> None:
        self.keyword = keyword
        self.vectors = vectors
        self.depth = depth

    def rank_like(self, paper_id: int, title: str, vector: np.ndarray) -> list[tuple[int, float]]:
        """Every candidate, best first; never the paper itself nor a near-identical record. The
        title's keyword search runs in another thread while this one searches the graph, as in
        hybrid search."""
        by_title = _KEYWORD_THREADS.submit(
            self.keyword.candidates, Query.of(title), SearchFilters(), limit=self.depth + 1
        )
        ids, scores = self.vectors.search(vector, self.depth + 1)
        duplicates = {i for i, score in zip(ids, scores, strict=True) if score >= self.duplicate_similarity}
        duplicates.add(paper_id)
        semantic = [(i, score) for i, score in zip(ids, scores, strict=True) if i not in duplicates]
        keyword = [(i, score) for i, score in by_title.result() if i not in duplicates]
        return fuse(keyword, semantic, len(title.split()), self.fusion)


def rankers(keyword: KeywordIndex, vectors: VectorIndex) -> dict[str, Ranker]:
    """Every search mode by name."""
    keyword_ranker = KeywordRanker(keyword)
    semantic_ranker = SemanticRanker(vectors, keyword)
    return {
        "keyword": keyword_ranker,
        "semantic": semantic_ranker,
        "hybrid": HybridRanker(keyword_ranker, semantic_ranker),
    }


def embedding_of(embedder: Callable[[], Embedder]) -> Callable[[str], np.ndarray]:
    """A query-embedding function that loads the embedder only when first needed."""
    return lambda text: embedder().embed([text])[0]
