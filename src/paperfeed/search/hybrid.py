"""Hybrid ranking: keyword and semantic rankings fused by weighted reciprocal rank fusion.

RRF scores a paper by sum(weight / (k + rank)) over the rankings it appears in, so it needs no
calibration between BM25 scores and cosine similarities. The constants below were tuned on the
development set (eval/dev_queries.jsonl, `paperfeed eval --tune`): a small k trusts the top of
each ranking more, which suits queries where one of the two is clearly right.
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
