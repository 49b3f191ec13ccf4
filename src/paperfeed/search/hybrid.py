"""Hybrid ranking: keyword and semantic rankings fused by weighted reciprocal rank fusion.

RRF scores a paper by sum(weight / (k + rank)) over the rankings it appears in, so it needs no
calibration between BM25 scores and cosine similarities. The constants were tuned on the
development set (eval/dev_queries.jsonl, 62 queries, `paperfeed eval --tune`, int8 embedder):
every k from 2 to 10 with equal weights lands within 0.01 nDCG@10 of the best (0.898 at k=2);
k=5 sits in the middle of that plateau rather than at its edge, where it would be most likely
fitted to these queries. Larger k (20, 60) score lower; unequal weights gain nothing beyond noise.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 5
KEYWORD_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], *, k: float = RRF_K
) -> list[tuple[int, float]]:
    """Ids of every ranking, fused best first, with their fused scores. Ties go to the paper
    ranked best anywhere, then to the earlier ranking."""
    scores: dict[int, float] = {}
    best: dict[int, tuple[int, int]] = {}
    for which, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        for rank, paper_id in enumerate(ranking, start=1):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight / (k + rank)
            best[paper_id] = min(best.get(paper_id, (rank, which)), (rank, which))
    order = sorted(scores, key=lambda paper_id: (-scores[paper_id], best[paper_id]))
    return [(paper_id, scores[paper_id]) for paper_id in order]
