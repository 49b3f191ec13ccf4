"""Retrieval evaluation: rank a set of queries with known relevant papers in each search mode
and score the rankings (MRR@10, nDCG@10, Recall@10 and Recall@100, binary relevance).

A query file has one JSON object per line: {"query": "...", "relevant": ["title or id", ...]}.
Relevant papers are named by any id `paperfeed` resolves (arXiv id, key, DOI) or by title,
matched after normalisation (case, accents, punctuation and spacing ignored).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperfeed.errors import InvalidInput
from paperfeed.models import SearchRequest
from paperfeed.search.hybrid import reciprocal_rank_fusion
from paperfeed.text import title_key

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

MODES = ("keyword", "semantic", "hybrid")
DEPTH = 100  # ranks looked at: Recall@100 needs the first hundred


@dataclass(slots=True)
class EvalQuery:
    query: str
    relevant: list[str]
    line: int = 0


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
    by_mode: dict[str, Scores] = field(default_factory=dict)


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
        queries.append(EvalQuery(query=query, relevant=relevant, line=number))
    if not queries:
        raise InvalidInput(f"{path}: no queries")
    return queries


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
        scores = score_rankings(rankings, relevant)
        scores.mean_ms = (time.perf_counter() - started) * 1000 / len(queries)
        evaluation.by_mode[mode] = scores
    return evaluation


@dataclass(slots=True)
class FusionTrial:
    k: float
    keyword_weight: float
    semantic_weight: float
    scores: Scores


def tune_fusion(
    core: PaperFeed,
    queries: Sequence[EvalQuery],
    *,
    ks: Sequence[float] = (2, 5, 10, 20, 40, 60),
    semantic_weights: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    path: str = "",
) -> list[FusionTrial]:
    """Every (k, weight) pair of reciprocal rank fusion scored on the queries, best first (by
    nDCG@10, then MRR@10); the keyword ranking's weight stays 1."""
    from paperfeed.core import HYBRID_DEPTH

    relevant = resolve_relevant(core, queries, path)
    keyword = [rank(core, q.query, "keyword", HYBRID_DEPTH) for q in queries]
    semantic = [rank(core, q.query, "semantic", HYBRID_DEPTH) for q in queries]
    trials = []
    for k in ks:
        for weight in semantic_weights:
            fused = [
                [paper_id for paper_id, _ in reciprocal_rank_fusion([kw, sem], [1.0, weight], k=k)]
                for kw, sem in zip(keyword, semantic, strict=True)
            ]
            trials.append(FusionTrial(k, 1.0, weight, score_rankings(fused, relevant)))
    trials.sort(key=lambda t: (-t.scores.ndcg_10, -t.scores.mrr_10))
    return trials
