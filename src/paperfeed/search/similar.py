""""Find similar" from anything: a text (an abstract pasted in, a draft, a description), one
paper, or a set of papers (a collection). Each becomes one point in embedding space (a text's
embedding, a paper's vector, or the normalised mean of the papers' vectors) and the answer is
the papers nearest to it, with the same filters as semantic search, never one of the examples
themselves nor a duplicate of a single example paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paperfeed.models import SearchFilters
from paperfeed.search.rankers import SEMANTIC_DEPTH, Ranking, SemanticRanker
from paperfeed.search.vectors import VectorIndex

DUPLICATE_SIMILARITY = 0.985  # nearer than this to a single example: the same paper again
MAX_TEXT = 20_000


@dataclass(slots=True)
class Example:
    """What to find papers like: a point in embedding space, and the papers it was made of."""

    vector: np.ndarray
    papers: frozenset[int] = frozenset()


def mean_direction(vectors: np.ndarray) -> np.ndarray:
    """The unit vector of the mean of unit vectors: the centre of a set of papers."""
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


class SimilarRanker:
    name = "similar"

    def __init__(self, semantic: SemanticRanker, vectors: VectorIndex, *, depth: int = SEMANTIC_DEPTH) -> None:
        self.semantic = semantic
        self.vectors = vectors
        self.depth = depth

    def of_papers(self, paper_ids: Sequence[int]) -> Example | None:
        """The example of these papers (None when none of them is in the vector index)."""
        found = [v for v in (self.vectors.vector_of(paper_id) for paper_id in paper_ids) if v is not None]
        if not found:
            return None
        return Example(mean_direction(np.vstack(found)), frozenset(paper_ids))

    def rank(self, example: Example, filters: SearchFilters, *, limit: int, offset: int = 0) -> Ranking:
        depth = self.depth + len(example.papers)
        nearest = self.semantic.nearest(example.vector, filters, depth)
        single = len(example.papers) == 1
        kept = [
            (paper_id, score)
            for paper_id, score in nearest
            if paper_id not in example.papers and not (single and score >= DUPLICATE_SIMILARITY)
        ][: self.depth]
        return Ranking(kept[offset : offset + limit], len(kept))

    def closest_example(self, paper_id: int, examples: Sequence[int]) -> int | None:
        """The example paper most like `paper_id`: what a recommendation says it is "like"."""
        vector = self.vectors.vector_of(paper_id)
        if vector is None or not examples:
            return None
        ids, _ = self.vectors.search(vector, 1, among=list(examples))
        return ids[0] if ids else None
