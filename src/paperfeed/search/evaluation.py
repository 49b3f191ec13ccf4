"""Retrieval evaluation: rank a set of queries with known relevant papers in each search mode
and score the rankings (MRR@10, nDCG@10, Recall@10 and Recall@100, binary relevance), for each
kind of query and overall; and recommendations, for users simulated from the topic queries
(precision@10 and recall@50 of a collection's recommendations against held-out papers).

A query file has one JSON object per line:

    {"query": "...", "kind": "known-item", "split": "tune", "relevant": ["title or id", ...]}

`kind` is what the query tests (KINDS: a description of one paper in other words, a topic with
every relevant paper judged, an exact term with every paper containing it); `split` puts it in
the tuning half (constants are chosen on it, `tune_fusion` reads nothing else) or the test half
(reported). Both are optional: a line without them is of kind "other", in the test half.
Relevant papers are named by any id `paperfeed` resolves (arXiv id, key, DOI) or by title,
matched after normalisation (case, accents, punctuation and spacing ignored).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from paperfeed.errors import InvalidInput
from paperfeed.library.recommend import RIDGE, Recommender
from paperfeed.models import SearchFilters, SearchRequest
from paperfeed.search.hybrid import Fusion, fuse, reciprocal_rank_fusion
from paperfeed.search.rankers import HybridRanker, Query, SemanticRanker, embedding_of
from paperfeed.text import title_key

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

MODES = ("keyword", "semantic", "hybrid")
KINDS = ("known-item", "topic", "exact")
SPLITS = ("tune", "test")
DEPTH = 100  # ranks looked at: Recall@100 needs the first hundred


@dataclass(slots=True)
class EvalQuery:
    query: str
    relevant: list[str]
    line: int = 0
    kind: str = "other"
    split: str = "test"


@dataclass(slots=True)
class Scores:
    mrr_10: float = 0.0
    ndcg_10: float = 0.0
    recall_10: float = 0.0
    recall_100: float = 0.0
    queries: int = 0
    mean_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "MRR@10": self.mrr_10,
            "nDCG@10": self.ndcg_10,
            "Recall@10": self.recall_10,
            "Recall@100": self.recall_100,
        }


@dataclass(slots=True)
class Evaluation:
    by_mode: dict[str, Scores] = field(default_factory=dict)  # every query
    by_kind: dict[str, dict[str, Scores]] = field(default_factory=dict)  # mode -> kind -> scores


# --- metrics ------------------------------------------------------------------------------------


def reciprocal_rank(ranking: Sequence[int], relevant: set[int], k: int = 10) -> float:
    for rank, paper_id in enumerate(ranking[:k], start=1):
        if paper_id in relevant:
            return 1.0 / rank
    return 0.0


def ndcg(ranking: Sequence[int], relevant: set[int], k: int = 10) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, p in enumerate(ranking[:k], start=1) if p in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


def recall(ranking: Sequence[int], relevant: set[int], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & relevant) / len(relevant)


def score_rankings(rankings: Sequence[Sequence[int]], relevant: Sequence[set[int]]) -> Scores:
    """Metrics averaged over queries (each ranking paired with its relevant set)."""
    n = len(rankings)
    if n == 0:
        return Scores()
    pairs = list(zip(rankings, relevant, strict=True))
    return Scores(
        mrr_10=sum(reciprocal_rank(r, rel) for r, rel in pairs) / n,
        ndcg_10=sum(ndcg(r, rel) for r, rel in pairs) / n,
        recall_10=sum(recall(r, rel, 10) for r, rel in pairs) / n,
        recall_100=sum(recall(r, rel, 100) for r, rel in pairs) / n,
        queries=n,
    )


# --- query files --------------------------------------------------------------------------------


def load_queries(path: Path) -> list[EvalQuery]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    queries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc})") from exc
        query = item.get("query") if isinstance(item, dict) else None
        relevant = item.get("relevant") if isinstance(item, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput(f'{path}:{number}: needs a non-empty "query" string')
        if not isinstance(relevant, list) or not relevant or not all(isinstance(r, str) for r in relevant):
            raise InvalidInput(f'{path}:{number}: needs "relevant", a non-empty list of titles or ids')
        kind, split = item.get("kind", "other"), item.get("split", "test")
        if kind not in (*KINDS, "other"):
            raise InvalidInput(f"{path}:{number}: unknown kind {kind!r}: use one of {', '.join(KINDS)}")
        if split not in SPLITS:
            raise InvalidInput(f"{path}:{number}: unknown split {split!r}: use tune or test")
        queries.append(EvalQuery(query=query, relevant=relevant, line=number, kind=kind, split=split))
    if not queries:
        raise InvalidInput(f"{path}: no queries")
    return queries


def of_split(queries: Sequence[EvalQuery], split: str) -> list[EvalQuery]:
    """The queries of one half ("tune" or "test"), or all of them ("all")."""
    if split == "all":
        return list(queries)
    if split not in SPLITS:
        raise InvalidInput(f"unknown split {split!r}: use tune, test or all")
    chosen = [q for q in queries if q.split == split]
    if not chosen:
        raise InvalidInput(f"no queries in the {split} half")
    return chosen


def resolve_relevant(core: PaperFeed, queries: Sequence[EvalQuery], path: Path | str = "") -> list[set[int]]:
    """Paper ids of each query's relevant items; an item that names no paper is an error."""
    by_title: dict[str, list[int]] | None = None
    resolved = []
    for query in queries:
        ids: set[int] = set()
        for ref in query.relevant:
            paper = core.store.papers.resolve(ref)
            if paper is not None:
                ids.add(paper.id)
                continue
            if by_title is None:
                by_title = _titles(core)
            matches = by_title.get(title_key(ref))
            if not matches:
                raise InvalidInput(f"{path}:{query.line}: no paper has the id or title {ref!r}")
            ids.update(matches)
        resolved.append(ids)
    return resolved


def _titles(core: PaperFeed) -> dict[str, list[int]]:
    titles: dict[str, list[int]] = {}
    for chunk in core.store.papers.changed_since(None):
        for paper in chunk:
            if not paper.hidden:
                titles.setdefault(title_key(paper.title), []).append(paper.id)
    return titles


# --- running ------------------------------------------------------------------------------------


def rank(core: PaperFeed, query: str, mode: str, depth: int = DEPTH) -> list[int]:
    result = core.search(SearchRequest(query=query, mode=mode, per_page=depth))  # type: ignore[arg-type]
    return [item.paper.id for item in result.items]


def evaluate(
    core: PaperFeed, queries: Sequence[EvalQuery], modes: Iterable[str] = MODES, *, path: str = ""
) -> Evaluation:
    relevant = resolve_relevant(core, queries, path)
    evaluation = Evaluation()
    for mode in modes:
        if mode not in MODES:
            raise InvalidInput(f"unknown mode {mode!r}: choose from {', '.join(MODES)}")
        started = time.perf_counter()
        rankings = [rank(core, q.query, mode) for q in queries]
        mean_ms = (time.perf_counter() - started) * 1000 / len(queries)
        evaluation.by_mode[mode] = score_rankings(rankings, relevant)
        evaluation.by_mode[mode].mean_ms = mean_ms
        evaluation.by_kind[mode] = by_kind(queries, rankings, relevant)
    return evaluation


def by_kind(
    queries: Sequence[EvalQuery], rankings: Sequence[Sequence[int]], relevant: Sequence[set[int]]
) -> dict[str, Scores]:
    """Scores of each kind of query present, in KINDS order."""
    kinds = [k for k in (*KINDS, "other") if any(q.kind == k for q in queries)]
    out = {}
    for kind in kinds:
        rows = [i for i, q in enumerate(queries) if q.kind == kind]
        out[kind] = score_rankings([rankings[i] for i in rows], [relevant[i] for i in rows])
    return out


@dataclass(slots=True)
class FusionTrial:
    fusion: Fusion
    scores: Scores
    kinds: dict[str, Scores]


# The grid `tune_fusion` searches: semantic weights for short and long queries, and where each
# ends (in query words).
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SHORT_WORDS = (1, 2, 3)
LONG_WORDS = (6, 10, 14, 20)


@dataclass(slots=True)
class RankFusionTrial:
    k: float
    semantic_weight: float
    scores: Scores
    kinds: dict[str, Scores]


RRF_KS = (2, 5, 10, 20, 60)
RRF_WEIGHTS = (0.5, 1.0, 2.0)


def _tuning_candidates(core: PaperFeed, queries: Sequence[EvalQuery], path: str):
    tuning = of_split(queries, "tune")
    relevant = resolve_relevant(core, tuning, path)
    hybrid = core.rankers["hybrid"]
    assert isinstance(hybrid, HybridRanker)
    embed = embedding_of(lambda: core.embedder)
    parsed = [Query.of(q.query, embed) for q in tuning]
    candidates = [hybrid.candidates(query, SearchFilters()) for query in parsed]
    return tuning, relevant, hybrid, parsed, candidates


def tune_rank_fusion(core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "") -> list[RankFusionTrial]:
    """The baseline: weighted reciprocal rank fusion of the same two rankings, every (k, semantic
    weight) of its grid scored on the tuning half, best first."""
    tuning, relevant, _hybrid, _parsed, candidates = _tuning_candidates(core, queries, path)
    trials = []
    for k, weight in itertools.product(RRF_KS, RRF_WEIGHTS):
        rankings = [
            [i for i, _ in reciprocal_rank_fusion([[i for i, _ in kw], [i for i, _ in sem]], [1.0, weight], k=k)]
            for kw, sem in candidates
        ]
        trials.append(
            RankFusionTrial(k, weight, score_rankings(rankings, relevant), by_kind(tuning, rankings, relevant))
        )
    trials.sort(key=lambda t: (-t.scores.ndcg_10, -t.scores.mrr_10))
    return trials


def tune_fusion(core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "") -> list[FusionTrial]:
    """Every fusion setting of the grid scored on the tuning half of `queries` (the test half is
    never read), best first by nDCG@10, then MRR@10."""
    tuning, relevant, hybrid, parsed, candidates = _tuning_candidates(core, queries, path)
    trials = []
    for short_weight, long_weight, short_words, long_words in itertools.product(
        WEIGHTS, WEIGHTS, SHORT_WORDS, LONG_WORDS
    ):
        fusion = replace(
            hybrid.fusion,
            short_weight=short_weight,
            long_weight=long_weight,
            short_words=short_words,
            long_words=long_words,
        )
        rankings = [
            [paper_id for paper_id, _ in fuse(keyword, semantic, query.length, fusion)]
            for (keyword, semantic), query in zip(candidates, parsed, strict=True)
        ]
        trials.append(
            FusionTrial(fusion, score_rankings(rankings, relevant), by_kind(tuning, rankings, relevant))
        )
    trials.sort(key=lambda t: (-t.scores.ndcg_10, -t.scores.mrr_10))
    return trials


FLOORS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def floor_recall(core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "") -> dict[float, float]:
    """For each candidate similarity floor, the share of the relevant papers among the first
    DEPTH semantic results of the tuning-half queries that are above it (what it keeps)."""
    tuning = of_split(queries, "tune")
    relevant = resolve_relevant(core, tuning, path)
    semantic = core.rankers["semantic"]
    assert isinstance(semantic, SemanticRanker)
    embed = embedding_of(lambda: core.embedder)
    similarities = []
    for query, wanted in zip(tuning, relevant, strict=True):
        nearest = semantic.nearest(Query.of(query.query, embed).vector, SearchFilters(), DEPTH)
        similarities += [score for paper_id, score in nearest if paper_id in wanted]
    if not similarities:
        return dict.fromkeys(FLOORS, 1.0)
    return {floor: sum(s > floor for s in similarities) / len(similarities) for floor in FLOORS}


def related_precision(core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "", k: int = 10) -> float:
    """Of each topic query's relevant papers, the share of its `k` related papers that are
    relevant to the same topic query (its topic-mates), averaged over papers."""
    topics = [q for q in queries if q.kind == "topic"]
    if not topics:
        raise InvalidInput("no topic queries to measure related papers on")
    mates: dict[int, set[int]] = {}
    for wanted in resolve_relevant(core, topics, path):
        for paper_id in wanted:
            mates.setdefault(paper_id, set()).update(wanted - {paper_id})
    precisions = []
    for paper_id, others in mates.items():
        related = core.related(core.store.papers.get(paper_id), limit=k)
        precisions.append(sum(item.paper.id in others for item in related.items) / k)
    return sum(precisions) / len(precisions)


# --- recommendations ------------------------------------------------------------------------------
# Simulated users: for each topic query with enough relevant papers, a user whose collection is a
# fixed half of them (drawn with a seed), and whose recommendations are scored against the other
# half. Every paper of the store is a candidate, so the held-out half can be found whatever its date.

RECOMMEND_MIN_RELEVANT = 4
RECOMMEND_SEED = 2026
RIDGES = (0.1, 0.3, 1.0, 3.0, 10.0)  # the grid `tune_recommender` scores on the tuning half


@dataclass(slots=True)
class RecommendScores:
    precision_10: float = 0.0
    recall_50: float = 0.0
    users: int = 0


@dataclass(slots=True)
class RecommendEvaluation:
    model: RecommendScores  # the ridge model of paperfeed.library.recommend
    baseline: RecommendScores  # the papers nearest to the collection's mean vector
    best_precision_10: float  # what a perfect ranking scores: some users hold out fewer than 10


def simulated_collections(
    core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "", seed: int = RECOMMEND_SEED
) -> list[tuple[list[int], set[int]]]:
    """(collection, held-out papers) of each topic query with at least RECOMMEND_MIN_RELEVANT
    relevant papers: a seeded half of them, and the other half. A query's halves depend on the
    seed and its line only, not on which other queries are scored."""
    topics = [q for q in queries if q.kind == "topic"]
    users = []
    for query, wanted in zip(topics, resolve_relevant(core, topics, path), strict=True):
        if len(wanted) < RECOMMEND_MIN_RELEVANT:
            continue
        ordered = sorted(wanted)
        collection = sorted(random.Random(seed * 100_003 + query.line).sample(ordered, len(ordered) // 2))
        users.append((collection, set(ordered) - set(collection)))
    return users


def evaluate_recommendations(
    core: PaperFeed,
    queries: Sequence[EvalQuery],
    *,
    path: str = "",
    seed: int = RECOMMEND_SEED,
    ridge: float = RIDGE,
) -> RecommendEvaluation:
    """Precision@10 and recall@50 of each simulated user's recommendations against their held-out
    papers, for the recommender and for the baseline, averaged over users."""
    users = simulated_collections(core, queries, path=path, seed=seed)
    if not users:
        raise InvalidInput(f"no topic queries with at least {RECOMMEND_MIN_RELEVANT} relevant papers")
    recommender = Recommender(core.store, ridge=ridge)
    model, baseline = [], []
    for collection, held_out in users:
        page = recommender.rank(collection, since=dt.date.min, per_page=50)
        model.append(([item.paper.id for item in page.items], held_out))
        baseline.append((recommender.nearest_to_mean(collection, since=dt.date.min, limit=50), held_out))
    best = sum(min(len(held_out), 10) / 10 for _, held_out in users) / len(users)
    return RecommendEvaluation(
        model=_recommend_scores(model), baseline=_recommend_scores(baseline), best_precision_10=best
    )


def _recommend_scores(rankings: Sequence[tuple[Sequence[int], set[int]]]) -> RecommendScores:
    n = len(rankings)
    return RecommendScores(
        precision_10=sum(len(set(r[:10]) & held) / 10 for r, held in rankings) / n,
        recall_50=sum(recall(r, held, 50) for r, held in rankings) / n,
        users=n,
    )


def tune_recommender(core: PaperFeed, queries: Sequence[EvalQuery], *, path: str = "") -> dict[float, RecommendScores]:
    """The recommender's scores on the tuning half for each ridge strength of RIDGES (the test
    half is never read)."""
    tuning = of_split(queries, "tune")
    return {ridge: evaluate_recommendations(core, tuning, path=path, ridge=ridge).model for ridge in RIDGES}
