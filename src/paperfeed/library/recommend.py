"""Personal recommendations: a per-user linear model over paper embeddings.

As arxiv-sanity-lite does with tf-idf vectors and an SVM, each user gets a linear classifier
trained on the papers they liked (upvoted, or saved in any collection: imported libraries land
in collections) against a random sample of other papers and the papers they marked "not
interested"; candidate papers are ranked by its score. One collection's recommendations learn
from that collection's papers alone. The model is class-balanced ridge regression solved in
closed form: it ranks much like a linear SVM, and since the random negatives are shared by all
users of a run, their part of the solution is computed once and each user costs only a small
solve over their own papers (see `NegativePrior`), which matters when a run serves thousands of
users. Each recommendation says why: the liked papers it is most similar to.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from paperfeed.errors import InvalidInput
from paperfeed.models import Collection, Paper, RankedPaper, ResultPage
from paperfeed.search.similar import mean_direction
from paperfeed.store import Store

VectorLookup = Callable[[Sequence[int]], tuple[np.ndarray, np.ndarray]]
LikesLookup = Callable[[Sequence[int]], dict[int, list[int]]]

RANKING = "recommended"
MAX_LIKED = 200  # the most recent likes are what a user cares about now
MAX_DISMISSED = 500
NEGATIVES = 5_000  # random papers standing for "not liked", drawn once per Recommender
MAX_CANDIDATES = 20_000  # the newest papers of the window
# How far back recommendations look, from the latest paper; without a window, the latest month.
WINDOWS = {"month": dt.timedelta(days=30), "year": dt.timedelta(days=365), "all": None}
# Chosen on the tuning half of the evaluation set (`paperfeed eval --recommend --tune`).
RIDGE = 3.0
# A second liked paper is named in the reason too when it is (almost) as similar as the first.
SECOND_REASON_MARGIN = 0.1
_TITLE_IN_REASON = 90


def embedding_model(store: Store) -> str | None:
    """The model whose stored vectors recommendations use: the one most papers have vectors
    of and, among equals, the one written last (the embedder in use keeps writing)."""
    models = store.subscriptions.embedding_models()
    return max(models, key=lambda m: (m[1], str(m[2])))[0] if models else None


def paper_vectors(store: Store, paper_ids: Sequence[int], model: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The stored embedding vectors of those papers that have one: (ids, float32 rows), in order."""
    if model is None or not len(paper_ids):
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    found = store.embeddings.get_many(list(paper_ids), model)
    ids = [paper_id for paper_id in paper_ids if paper_id in found]
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.vstack([found[paper_id][1] for paper_id in ids])


def _liked_reason(titles: str) -> str:
    return f"because you liked {titles}"


@dataclass(slots=True)
class _Candidates:
    ids: np.ndarray
    first_seen: np.ndarray  # POSIX seconds
    vectors: np.ndarray  # unit rows
    row_of: dict[int, int] = field(default_factory=dict)  # paper id -> its row

    def __post_init__(self) -> None:
        self.row_of = {int(paper_id): row for row, paper_id in enumerate(self.ids)}

    def rows(self, paper_ids: Sequence[int]) -> list[int]:
        """The rows of those papers that are candidates (a user's few papers among thousands:
        looked up one by one, much cheaper than a set operation over every candidate)."""
        return [row for row in map(self.row_of.get, paper_ids) if row is not None]


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

    The model minimises sum_neg (x.w + 1)^2 + (n/p) sum_pos (x.w - 1)^2 + (n/p) sum_dis (x.w + 1)^2
    + ridge |w|^2: targets -1 for the n shared negatives and for the user's dismissed papers, +1 for
    the p liked papers, weighted so that liked papers count as much as the random sample and each
    dismissal as much as a liked paper. Its normal equations are (M + U U^T) w = b, where M (the
    negatives' Gram matrix plus the ridge) is the same for every user and U has one column per
    liked or dismissed paper. With M's inverse kept, each user costs a small solve over their own
    papers (Woodbury identity), not a solve in the full dimension."""

    def __init__(self, negatives: np.ndarray, ridge: float = RIDGE) -> None:
        x = _augmented(negatives)
        self.count = len(x)
        self.inverse = np.linalg.inv(x.T @ x + ridge * np.eye(x.shape[1]))
        self.inverse_rhs = self.inverse @ -x.sum(axis=0)

    def fit(self, positives: np.ndarray, dismissed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Weights and bias of the user's model."""
        liked = _augmented(positives)
        weight = self.count / len(liked)
        x = liked if dismissed is None or not len(dismissed) else np.vstack([liked, _augmented(dismissed)])
        targets = np.ones(len(x))
        targets[len(liked) :] = -1.0
        u = x.T * np.sqrt(weight)
        inverse_u = self.inverse @ u
        inverse_b = self.inverse_rhs + self.inverse @ (weight * (x.T @ targets))
        inner = np.eye(len(x)) + u.T @ inverse_u
        w = inverse_b - inverse_u @ np.linalg.solve(inner, u.T @ inverse_b)
        return w[:-1].astype(np.float32), float(w[-1])


def fit_linear_model(
    positives: np.ndarray, negatives: np.ndarray, ridge: float = RIDGE, dismissed: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Weights and bias of a class-balanced ridge classifier: liked (+1) against negatives and
    dismissed papers (-1)."""
    return NegativePrior(negatives, ridge).fit(positives, dismissed)


class Recommender:
    """Recommendations for many users; one instance serves a run and caches what users share.

    A digest run calls `prefetch` with all its users first, so that what they need comes from
    the store in a few large reads instead of several small ones per user."""

    def __init__(
        self,
        store: Store,
        *,
        vectors: VectorLookup | None = None,
        likes: LikesLookup | None = None,
        ridge: float = RIDGE,
    ) -> None:
        self.store = store
        if vectors is None:
            model = embedding_model(store)
            vectors = lambda ids: paper_vectors(store, ids, model)  # noqa: E731
        self._vectors = vectors
        self._likes = likes or (lambda user_ids: store.subscriptions.liked_paper_ids(user_ids))
        self.ridge = ridge
        self._candidates: dict[dt.date, _Candidates] = {}
        self._prior: NegativePrior | None = None
        self._liked: dict[int, list[int]] = {}
        self._dismissed: dict[int, list[int]] = {}
        self._vector_of: dict[int, np.ndarray] = {}  # liked and dismissed papers' unit vectors
        self._titles: dict[int, str] = {}  # liked papers' titles, for the reasons
        self._papers: dict[int, Paper] = {}
        self._load_candidate_papers = False

    # --- what the model is trained and applied on -------------------------------------------------

    def prefetch_likes(self, user_ids: Sequence[int]) -> None:
        """Load many users' likes and dismissals in one go."""
        missing = [u for u in dict.fromkeys(user_ids) if u not in self._liked]
        if missing:
            self._liked.update(self._likes(missing))
            self._dismissed.update(self.store.dismissals.paper_ids(missing, per_user=MAX_DISMISSED))

    def prefetch(self, user_ids: Sequence[int]) -> None:
        """Load what these users' recommendations need: likes, dismissals, those papers' vectors
        and titles, and (on first use of a window) every candidate paper."""
        self.prefetch_likes(user_ids)
        own = {
            paper_id for user_id in user_ids for paper_id in (*self._liked_of(user_id), *self._dismissed_of(user_id))
        }
        self._load_examples(sorted(own))
        self._load_candidate_papers = True

    def _liked_of(self, user_id: int) -> list[int]:
        self.prefetch_likes([user_id])
        return self._liked.get(user_id, [])[:MAX_LIKED]

    def _dismissed_of(self, user_id: int) -> list[int]:
        self.prefetch_likes([user_id])
        return self._dismissed.get(user_id, [])

    def _load_examples(self, paper_ids: Sequence[int]) -> None:
        missing = [i for i in paper_ids if i not in self._vector_of]
        if missing:
            ids, vectors = self._vectors(missing)
            if len(ids):
                self._vector_of.update(zip((int(i) for i in ids), _unit_rows(vectors), strict=True))
        untitled = [i for i in paper_ids if i not in self._titles]
        if untitled:
            self._titles.update(self.store.subscriptions.paper_titles(untitled))

    def _candidate_set(self, since: dt.date) -> _Candidates:
        if since not in self._candidates:
            recent = self.store.subscriptions.recent_papers(since, MAX_CANDIDATES)
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
            ids = self.store.subscriptions.random_paper_ids(NEGATIVES)
            _, vectors = self._vectors(ids)
            if not len(vectors):
                return None
            self._prior = NegativePrior(_unit_rows(vectors), self.ridge)
        return self._prior

    def _paper_map(self, ids: Sequence[int]) -> dict[int, Paper]:
        missing = [i for i in ids if i not in self._papers]
        for start in range(0, len(missing), 5_000):
            for paper in self.store.papers.get_many(missing[start : start + 5_000]):
                self._papers[paper.id] = paper
        return {i: self._papers[i] for i in ids if i in self._papers}

    def window_start(self, window: str = "month") -> dt.date:
        """The first day of a window ("month", "year" or "all"), counted back from the latest paper."""
        if window not in WINDOWS:
            raise InvalidInput(f"the window is one of {', '.join(WINDOWS)}")
        span = WINDOWS[window]
        if span is None:
            return dt.date.min
        return (self.store.papers.latest_day() or dt.date.today()) - span

    # --- recommending ----------------------------------------------------------------------------

    def recommend(
        self,
        user_id: int,
        *,
        collection: Collection | None = None,
        since: dt.date | None = None,
        page: int = 1,
        per_page: int = 10,
        first_seen_after: dt.datetime | None = None,
    ) -> ResultPage:
        """Papers dated on or after `since` (default: the latest month) ranked for this user, or
        for one of their collections (learning from its papers only), each with the liked papers
        it resembles most. Never a paper the user liked or dismissed; papers first seen before
        `first_seen_after` are left out (a digest mails only what is new to the user)."""
        liked = self._liked_of(user_id)
        if collection is not None:
            examples = self.store.collections.paper_ids(collection.id, limit=MAX_LIKED)
            name = collection.name

            def reason(titles: str) -> str:
                return f"because you saved {titles} in {name}"
        else:
            examples, reason = liked, _liked_reason
        return self.rank(
            examples,
            dismissed=self._dismissed_of(user_id),
            exclude=liked,
            since=since,
            page=page,
            per_page=per_page,
            first_seen_after=first_seen_after,
            reason=reason,
        )

    def rank(
        self,
        examples: Sequence[int],
        *,
        dismissed: Sequence[int] = (),
        exclude: Sequence[int] = (),
        since: dt.date | None = None,
        page: int = 1,
        per_page: int = 10,
        first_seen_after: dt.datetime | None = None,
        reason: Callable[[str], str] = _liked_reason,
    ) -> ResultPage:
        """Candidate papers ranked by a model of the example papers (liked) against the shared
        negatives and the dismissed papers; never an example, a dismissed or an excluded paper.
        `reason` makes the explanation from the nearest examples' titles ("because you liked …")."""
        started = time.perf_counter()

        def answer(items: list[RankedPaper], total: int) -> ResultPage:
            took = (time.perf_counter() - started) * 1000
            return ResultPage(
                items=items, total=total, page=page, per_page=per_page, ranking=RANKING, took_ms=took
            )

        candidates = self._candidate_set(since or self.window_start())
        prior = self._negatives() if examples and len(candidates.ids) else None
        if prior is None:
            return answer([], 0)
        self._load_examples([*examples, *dismissed])
        liked_ids = [paper_id for paper_id in examples if paper_id in self._vector_of]
        if not liked_ids:
            return answer([], 0)
        liked_vectors = np.vstack([self._vector_of[paper_id] for paper_id in liked_ids])
        dismissed_vectors = [self._vector_of[paper_id] for paper_id in dismissed if paper_id in self._vector_of]
        w, b = prior.fit(liked_vectors, np.vstack(dismissed_vectors) if dismissed_vectors else None)

        scores = candidates.vectors @ w + b
        eligible = np.ones(len(candidates.ids), dtype=bool)
        eligible[candidates.rows([*liked_ids, *dismissed, *exclude])] = False
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

        # Why: the liked papers closest to each recommendation, among those that may be named
        # (a paper hidden since it was liked still counts, but is never quoted).
        quotable = np.array([paper_id in self._titles for paper_id in liked_ids])
        similarity = np.where(quotable, candidates.vectors[top] @ liked_vectors.T, -np.inf)
        papers = self._paper_map([int(candidates.ids[i]) for i in top])
        items = []
        for row, i in enumerate(top):
            paper = papers.get(int(candidates.ids[i]))
            if paper is None:
                continue
            named = self._nearest_titles([liked_ids[j] for j in _nearest(similarity[row])])
            items.append(RankedPaper(paper=paper, score=float(scores[i]), reason=reason(named) if named else None))
        return answer(items, total)

    def _nearest_titles(self, paper_ids: list[int]) -> str:
        return " and ".join(f"“{_short(self._titles[paper_id])}”" for paper_id in paper_ids)

    def nearest_to_mean(
        self, examples: Sequence[int], *, since: dt.date | None = None, limit: int = 10
    ) -> list[int]:
        """The baseline: candidate papers nearest to the mean direction of the examples' vectors
        (what "find similar" does for a collection), never an example itself."""
        candidates = self._candidate_set(since or self.window_start())
        self._load_examples(examples)
        found = [self._vector_of[paper_id] for paper_id in examples if paper_id in self._vector_of]
        if not found or not len(candidates.ids):
            return []
        scores = candidates.vectors @ mean_direction(np.vstack(found))
        scores = np.where(np.isin(candidates.ids, np.asarray(examples, dtype=np.int64)), -np.inf, scores)
        order = np.argsort(-scores, kind="stable")[: min(limit, len(scores))]
        return [int(candidates.ids[i]) for i in order if np.isfinite(scores[i])]


def _nearest(similarities: np.ndarray) -> list[int]:
    """The indexes of the one or two quotable examples a recommendation is most like: the
    second only when it is within SECOND_REASON_MARGIN of the first."""
    order = [int(j) for j in np.argsort(-similarities, kind="stable")[:2] if np.isfinite(similarities[j])]
    if len(order) == 2 and similarities[order[1]] < similarities[order[0]] - SECOND_REASON_MARGIN:
        order = order[:1]
    return order


def _short(title: str) -> str:
    return title if len(title) <= _TITLE_IN_REASON else title[: _TITLE_IN_REASON - 1].rstrip() + "…"
