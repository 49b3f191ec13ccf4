"""Personal recommendations: a per-user linear model over paper embeddings.

As arxiv-sanity-lite does with tf-idf vectors and an SVM, each user gets a linear classifier
trained on the papers they liked (upvoted or saved) against a random sample of other papers;
candidate papers are ranked by its score. The model here is class-balanced ridge regression
solved in closed form: it ranks much like a linear SVM, and since the random negatives are
shared by all users of a run, their part of the solution is computed once and each user costs
only a small solve over their liked papers (see `NegativePrior`), which matters when a run
serves thousands of users. Each recommendation says why: the liked paper it is most similar to.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from paperfeed.core import MAX_PER_PAGE
from paperfeed.errors import InvalidInput
from paperfeed.models import Paper, RankedPaper, ResultPage

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

VectorLookup = Callable[[Sequence[int]], tuple[np.ndarray, np.ndarray]]
LikesLookup = Callable[[Sequence[int]], dict[int, list[int]]]

RANKING = "recommended"
MAX_LIKED = 200  # the most recent likes are what a user cares about now
NEGATIVES = 5_000  # random papers standing for "not liked", drawn once per Recommender
MAX_CANDIDATES = 20_000  # the newest papers of the window
FEED_WINDOW = dt.timedelta(days=30)  # recommendations without a window: the latest month
RIDGE = 1.0
_TITLE_IN_REASON = 90


@dataclass(slots=True)
class _Candidates:
    ids: np.ndarray
    first_seen: np.ndarray  # POSIX seconds
    vectors: np.ndarray  # unit rows


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _augmented(rows: np.ndarray) -> np.ndarray:
    """Rows with a constant 1 appended, so the bias is one more weight."""
    rows = np.asarray(rows, dtype=np.float64)
    return np.hstack([rows, np.ones((rows.shape[0], 1))])


class NegativePrior:
    """The part of every user's ridge system that the shared negatives make, solved once.

    The model minimises sum_neg (x.w + 1)^2 + (n/p) sum_pos (x.w - 1)^2 + ridge |w|^2: targets
    -1 for the negatives and +1 for the p liked papers, weighted so both classes count alike.
    Its normal equations are (M + U U^T) w = b, where M (the negatives' Gram matrix plus the
    ridge) is the same for every user and U has one column per liked paper. With M's inverse
    kept, each user costs a p-by-p solve (Woodbury identity), not a solve in the full dimension."""

    def __init__(self, negatives: np.ndarray, ridge: float = RIDGE) -> None:
        x = _augmented(negatives)
        self.count = len(x)
        self.inverse = np.linalg.inv(x.T @ x + ridge * np.eye(x.shape[1]))
        self.inverse_rhs = self.inverse @ -x.sum(axis=0)

    def fit(self, positives: np.ndarray) -> tuple[np.ndarray, float]:
        """Weights and bias of the user's model."""
        x = _augmented(positives)
        weight = self.count / len(x)
        u = x.T * np.sqrt(weight)
        inverse_u = self.inverse @ u
        inverse_b = self.inverse_rhs + self.inverse @ (weight * x.sum(axis=0))
        inner = np.eye(len(x)) + u.T @ inverse_u
        w = inverse_b - inverse_u @ np.linalg.solve(inner, u.T @ inverse_b)
        return w[:-1].astype(np.float32), float(w[-1])


def fit_linear_model(
    positives: np.ndarray, negatives: np.ndarray, ridge: float = RIDGE
) -> tuple[np.ndarray, float]:
    """Weights and bias of a class-balanced ridge classifier: liked (+1) against negatives (-1)."""
    return NegativePrior(negatives, ridge).fit(positives)


class Recommender:
    """Recommendations for many users; one instance serves a run and caches what users share.

    A digest run calls `prefetch` with all its users first, so that what they need comes from
    the store in a few large reads instead of several small ones per user."""

    def __init__(
        self,
        core: PaperFeed,
        *,
        vectors: VectorLookup | None = None,
        likes: LikesLookup | None = None,
    ) -> None:
        from paperfeed.digest import sources

        self.core = core
        if vectors is None:
            model = sources.embedding_model(core)
            vectors = lambda ids: sources.paper_vectors(core, ids, model)  # noqa: E731
        self._vectors = vectors
        self._likes = likes or (lambda user_ids: sources.liked_paper_ids(core, user_ids))
        self._candidates: dict[dt.date, _Candidates] = {}
        self._prior: NegativePrior | None = None
        self._liked: dict[int, list[int]] = {}
        self._vector_of: dict[int, np.ndarray] = {}  # liked papers' unit vectors
        self._titles: dict[int, str] = {}  # liked papers' titles, for the reasons
        self._papers: dict[int, Paper] = {}
        self._load_candidate_papers = False

    # --- what the model is trained and applied on -------------------------------------------------

    def prefetch_likes(self, user_ids: Sequence[int]) -> None:
        """Load many users' likes in one go."""
        missing = [u for u in dict.fromkeys(user_ids) if u not in self._liked]
        if missing:
            self._liked.update(self._likes(missing))

    def prefetch(self, user_ids: Sequence[int]) -> None:
        """Load what these users' recommendations need: likes, the liked papers' vectors and
        titles, and (on first use of a window) every candidate paper."""
        self.prefetch_likes(user_ids)
        liked = {paper_id for user_id in user_ids for paper_id in self._liked_of(user_id)}
        self._load_liked(sorted(liked))
        self._load_candidate_papers = True

    def _liked_of(self, user_id: int) -> list[int]:
        if user_id not in self._liked:
            self._liked.update(self._likes([user_id]))
        return self._liked.get(user_id, [])[:MAX_LIKED]

    def _load_liked(self, paper_ids: Sequence[int]) -> None:
        missing = [i for i in paper_ids if i not in self._vector_of]
        if missing:
            ids, vectors = self._vectors(missing)
            if len(ids):
                self._vector_of.update(zip((int(i) for i in ids), _unit_rows(vectors), strict=True))
        untitled = [i for i in paper_ids if i not in self._titles]
        if untitled:
            self._titles.update(self.core.store.subscriptions.paper_titles(untitled))

    def _candidate_set(self, since: dt.date) -> _Candidates:
        if since not in self._candidates:
            recent = self.core.store.subscriptions.recent_papers(since, MAX_CANDIDATES)
            first_seen = dict(recent)
            ids, vectors = self._vectors([paper_id for paper_id, _ in recent])
            self._candidates[since] = _Candidates(
                ids=np.asarray(ids, dtype=np.int64),
                first_seen=np.array([first_seen[int(i)].timestamp() for i in ids], dtype=np.float64),
                vectors=_unit_rows(vectors) if len(ids) else np.zeros((0, 0), dtype=np.float32),
            )
            if self._load_candidate_papers:
                self._paper_map([int(i) for i in ids])
        return self._candidates[since]

    def _negatives(self) -> NegativePrior | None:
        """Random papers standing for "not liked", shared by every user of this run."""
        if self._prior is None:
            ids = self.core.store.subscriptions.random_paper_ids(NEGATIVES)
            _, vectors = self._vectors(ids)
            if not len(vectors):
                return None
            self._prior = NegativePrior(_unit_rows(vectors))
        return self._prior

    def _paper_map(self, ids: Sequence[int]) -> dict[int, Paper]:
        missing = [i for i in ids if i not in self._papers]
        for start in range(0, len(missing), 5_000):
            for paper in self.core.store.papers.get_many(missing[start : start + 5_000]):
                self._papers[paper.id] = paper
        return {i: self._papers[i] for i in ids if i in self._papers}

    def _default_since(self) -> dt.date:
        latest = self.core.store.papers.latest_day() or dt.date.today()
        return latest - FEED_WINDOW

    # --- recommending ----------------------------------------------------------------------------

    def recommend(
        self,
        user_id: int,
        *,
        since: dt.date | None = None,
        page: int = 1,
        per_page: int = 10,
        first_seen_after: dt.datetime | None = None,
    ) -> ResultPage:
        """Papers dated on or after `since` (default: the latest month) ranked for this user,
        each with the liked paper it resembles most; papers first seen before
        `first_seen_after` are left out (a digest mails only what is new to the user)."""
        started = time.perf_counter()

        def answer(items: list[RankedPaper], total: int) -> ResultPage:
            took = (time.perf_counter() - started) * 1000
            return ResultPage(
                items=items, total=total, page=page, per_page=per_page, ranking=RANKING, took_ms=took
            )

        liked = self._liked_of(user_id)
        candidates = self._candidate_set(since or self._default_since())
        prior = self._negatives() if liked and len(candidates.ids) else None
        if prior is None:
            return answer([], 0)
        self._load_liked(liked)
        liked_ids = [paper_id for paper_id in liked if paper_id in self._vector_of]
        if not liked_ids:
            return answer([], 0)
        liked_vectors = np.vstack([self._vector_of[paper_id] for paper_id in liked_ids])
        w, b = prior.fit(liked_vectors)

        scores = candidates.vectors @ w + b
        eligible = ~np.isin(candidates.ids, np.asarray(liked_ids, dtype=np.int64))
        if first_seen_after is not None:
            eligible &= candidates.first_seen > first_seen_after.timestamp()
        scores = np.where(eligible, scores, -np.inf)
        total = int(eligible.sum())
        offset = (page - 1) * per_page
        wanted = min(offset + per_page, total)
        if wanted <= offset:
            return answer([], total)
        top = np.argpartition(-scores, wanted - 1)[:wanted]
        top = top[np.argsort(-scores[top], kind="stable")][offset:]

        # Why: the liked paper closest to each recommendation, among those that may be named
        # (a paper hidden since it was liked still counts, but is never quoted).
        quotable = np.array([paper_id in self._titles for paper_id in liked_ids])
        similarity = np.where(quotable, candidates.vectors[top] @ liked_vectors.T, -np.inf)
        nearest = np.argmax(similarity, axis=1)
        papers = self._paper_map([int(candidates.ids[i]) for i in top])
        items = []
        for i, j in zip(top, nearest, strict=True):
            paper = papers.get(int(candidates.ids[i]))
            if paper is None:
                continue
            title = self._titles.get(liked_ids[j])
            reason = f"because you liked “{_short(title)}”" if title else None
            items.append(RankedPaper(paper=paper, score=float(scores[i]), reason=reason))
        return answer(items, total)


def _short(title: str) -> str:
    return title if len(title) <= _TITLE_IN_REASON else title[: _TITLE_IN_REASON - 1].rstrip() + "…"


def recommended(
    core: PaperFeed, user_id: int, *, page: int = 1, per_page: int = 20, since: dt.date | None = None
) -> ResultPage:
    """Recent papers ranked for a user by a model of their upvoted and saved papers, each
    with the liked paper it resembles ("because you liked ...")."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return Recommender(core).recommend(user_id, since=since, page=page, per_page=per_page)
