"""Hybrid ranking: keyword (BM25) and semantic (cosine) scores fused into one.

Each ranking's scores are put on a common scale where its best paper scores 1:

    keyword_norm  = bm25 / best_bm25                          (any paper matching a word is > 0)
    semantic_norm = (cos - floor) / (best_cos - floor), or 0 below the similarity floor

and a paper one ranking did not return scores 0 there. The fused score is a weighted sum:

    fused = (1 - w) * keyword_norm + w * semantic_norm

Dividing BM25 by its best score, rather than min-max scaling it, keeps every paper that
contains the query's words above zero: for a rare term ("RadixAttention") the third and last
paper containing it still ranks above papers that merely resemble it in meaning.

with the semantic weight `w` depending on what the query looks like: a lone acronym or name
("GRPO", "SWE-bench") is a keyword matter, a sentence-long description a semantic one, so `w`
rises with the number of query words from `short_weight` (at `short_words` words or fewer) to
`long_weight` (at `long_words` or more), linearly in between.

Unlike reciprocal rank fusion, this keeps how far ahead a ranking's best papers are. Every
constant below was chosen on the tuning half of eval/queries.jsonl (`paperfeed eval --tune`);
README.md reports the test half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
# Cosine similarity below which a paper is no semantic match at all (all-MiniLM-L6-v2 puts
# unrelated texts near 0): see `paperfeed eval --tune`, which prints the least similar relevant
# paper of the tuning half, and tests/test_search_quality.py for nonsense queries.
SEMANTIC_FLOOR = 0.15


@dataclass(frozen=True, slots=True)
class Fusion:
    """The semantic weight: `short_weight` for queries of `short_words` words or fewer,
    `long_weight` from `long_words` on. Defaults: the best of `paperfeed eval --tune`'s grid on
    the tuning half (nDCG@10 0.864; a plateau: every short weight from 0 to 0.4 scores within
    0.002 of it, while the long weight must be 0.5 and the ramp end at about 6 words)."""

    short_weight: float = 0.2
    long_weight: float = 0.5
    short_words: int = 1
    long_words: int = 6
    semantic_floor: float = SEMANTIC_FLOOR

    def semantic_weight(self, words: int) -> float:
        if words <= self.short_words:
            return self.short_weight
        if words >= self.long_words:
            return self.long_weight
        share = (words - self.short_words) / (self.long_words - self.short_words)
        return self.short_weight + (self.long_weight - self.short_weight) * share


DEFAULT_FUSION = Fusion()


def _scaled(scored: Sequence[tuple[int, float]], floor: float = 0.0) -> dict[int, float]:
    """Scores mapped to (score - floor) / (best - floor), those at or below the floor left out."""
    if not scored:
        return {}
    span = max(score for _, score in scored) - floor
    if span <= 0:
        return {}
    return {paper_id: (score - floor) / span for paper_id, score in scored if score > floor}


def fuse(
    keyword: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    query_words: int,
    fusion: Fusion = DEFAULT_FUSION,
) -> list[tuple[int, float]]:
    """Papers of both rankings, best first by fused score, for a query of `query_words` words
    (as typed, split at spaces). A paper is a candidate when it matched a query word or is more
    than `semantic_floor` similar; ties go to the keyword rank."""
    weight = fusion.semantic_weight(query_words)
    keyword_norm = _scaled(keyword)
    semantic_norm = _scaled(semantic, fusion.semantic_floor)
    candidates = list(keyword_norm)
    seen = set(candidates)
    candidates += [paper_id for paper_id in semantic_norm if paper_id not in seen]
    fused = {
        paper_id: (1 - weight) * keyword_norm.get(paper_id, 0.0) + weight * semantic_norm.get(paper_id, 0.0)
        for paper_id in candidates
    }
    order = {paper_id: rank for rank, paper_id in enumerate(candidates)}
    ranked = sorted(candidates, key=lambda paper_id: (-fused[paper_id], order[paper_id]))
    return [(paper_id, fused[paper_id]) for paper_id in ranked]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], *, k: float = RRF_K
) -> list[tuple[int, float]]:
    """Ids of every ranking, fused best first by sum(weight / (k + rank)). Ties go to the paper
    ranked best anywhere, then to the earlier ranking."""
    scores: dict[int, float] = {}
    best: dict[int, tuple[int, int]] = {}
    for which, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        for rank, paper_id in enumerate(ranking, start=1):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight / (k + rank)
            best[paper_id] = min(best.get(paper_id, (rank, which)), (rank, which))
    order = sorted(scores, key=lambda paper_id: (-scores[paper_id], best[paper_id]))
    return [(paper_id, scores[paper_id]) for paper_id in order]
