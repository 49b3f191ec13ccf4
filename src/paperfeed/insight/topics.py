"""Topics: the store's papers clustered by meaning (k-means over their embeddings, scikit-learn),
each labelled by its most distinctive terms (`labels`) and represented by the paper nearest its
centre, and laid out on a 2D map (`projection`).

Why k-means: the embeddings are unit vectors, where k-means finds compact groups of similar
papers, scales to millions (mini-batches) and gives centroids, so a new paper joins a topic by
one dot product without a rebuild. (HDBSCAN leaves many papers as noise and cannot assign new
ones without refitting.)

A build fits on a sample of at most `FIT_SAMPLE` papers, then assigns every paper in chunks, so
memory stays bounded whatever the store holds. A rebuild keeps the id of each old topic that a
new one continues (most of the same papers), so followers and links survive it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from paperfeed.errors import InvalidInput
from paperfeed.insight import labels, projection
from paperfeed.store import Store
from paperfeed.store.topics import NewTopic

FIT_SAMPLE = 50_000
LABEL_SAMPLE = 150  # papers per topic read for its terms
MIN_TOPICS, MAX_TOPICS = 2, 400
CONTINUES = 0.3  # a new topic continues an old one when their papers overlap this much (Jaccard)
MiniBatchAbove = 10_000  # papers fitted; above it mini-batch k-means


def default_topic_count(papers: int) -> int:
    """About sqrt(n / 2) topics: 19 for the 707 demo papers, 224 for 100,000, capped at 400."""
    return max(MIN_TOPICS, min(MAX_TOPICS, round(math.sqrt(papers / 2))))


@dataclass(slots=True)
class BuildReport:
    papers: int
    topics: int
    model: str | None
    kept_ids: int = 0  # topics that kept their id from the previous build


def _model(store: Store) -> str | None:
    """The embedding model most papers have vectors of."""
    models = store.embeddings.models()
    return max(models, key=models.get) if models else None


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def build(
    store: Store,
    *,
    topics: int | None = None,
    seed: int = 0,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BuildReport:
    """Recompute every topic and assignment from the stored embeddings."""
    model = _model(store)
    if model is None:
        return BuildReport(papers=0, topics=0, model=None)
    total = store.embeddings.count(model)
    rng = np.random.default_rng(seed)
    # A uniform sample in one pass, chunk by chunk (reservoir-free: each chunk keeps its share).
    keep = min(1.0, FIT_SAMPLE / max(total, 1))
    sample_ids: list[np.ndarray] = []
    sample_vectors: list[np.ndarray] = []
    sample_texts: list[str] = []
    for ids, vectors, texts in store.topics.embedded_papers(model):
        chosen = np.flatnonzero(rng.random(len(ids)) < keep) if keep < 1 else np.arange(len(ids))
        sample_ids.append(ids[chosen])
        sample_vectors.append(_unit(vectors[chosen]))
        sample_texts.extend(texts[i] for i in chosen)
    if not sample_ids or not sum(len(i) for i in sample_ids):
        return BuildReport(papers=0, topics=0, model=model)
    fit_ids = np.concatenate(sample_ids)
    fit = np.vstack(sample_vectors)
    k = topics if topics is not None else default_topic_count(total)
    if k < 1:
        raise InvalidInput("the number of topics must be at least 1")
    k = min(k, len(fit))
    centroids, fit_labels = _kmeans(fit, k, seed)
    # Empty clusters are dropped; labels are renumbered densely.
    used = np.unique(fit_labels)
    centroids = centroids[used]
    fit_labels = np.searchsorted(used, fit_labels)
    k = len(used)

    # The map: t-SNE over a sample of the fitted papers, the rest placed among them.
    map_count = min(projection.MAP_SAMPLE, len(fit))
    map_rows = np.sort(rng.choice(len(fit), size=map_count, replace=False))
    anchors = fit[map_rows]
    anchor_points = projection.layout(anchors, seed=seed)

    # Assign every paper (not just the sample) to its nearest centroid, and place it.
    members: list[list[np.ndarray]] = [[] for _ in range(k)]  # per topic: (ids, sims, xs, ys) chunks
    anchor_of = dict(zip(fit_ids[map_rows].tolist(), range(map_count), strict=True))
    for ids, vectors, _texts in store.topics.embedded_papers(model, texts=False):
        unit = _unit(vectors)
        similarities = unit @ centroids.T
        nearest = similarities.argmax(axis=1)
        best = similarities[np.arange(len(ids)), nearest]
        points = projection.place(unit, anchors, anchor_points)
        for row, paper_id in enumerate(ids.tolist()):
            if paper_id in anchor_of:  # laid out by t-SNE itself
                points[row] = anchor_points[anchor_of[paper_id]]
        for topic in np.unique(nearest):
            rows = np.flatnonzero(nearest == topic)
            members[topic].append(np.column_stack([ids[rows], best[rows], points[rows, 0], points[rows, 1]]))
        if progress:
            progress(len(ids))

    # Labels from a sample of each topic's fitted papers.
    label_rows = _label_sample(fit_labels, k, rng)
    terms = labels.distinctive_terms([sample_texts[i] for i in label_rows], fit_labels[label_rows], k)

    previous = store.topics.memberships()
    new_topics: list[NewTopic] = []
    for topic in range(k):
        if not members[topic]:
            continue
        table = np.vstack(members[topic])
        paper_ids = table[:, 0].astype(np.int64)
        sims = table[:, 1]
        centre = np.median(table[:, 2:4], axis=0)
        new_topics.append(
            NewTopic(
                label=labels.label_of(terms[topic]),
                terms=terms[topic],
                representative_id=int(paper_ids[int(sims.argmax())]),
                centroid=centroids[topic],
                x=float(centre[0]),
                y=float(centre[1]),
                paper_ids=paper_ids,
                similarities=sims,
                xs=table[:, 2],
                ys=table[:, 3],
            )
        )
    kept = _continue_ids(new_topics, previous)
    store.topics.replace_all(model, new_topics, now=now or dt.datetime.now(dt.UTC))
    return BuildReport(
        papers=sum(len(t.paper_ids) for t in new_topics), topics=len(new_topics), model=model, kept_ids=kept
    )


def _kmeans(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(vectors) > MiniBatchAbove:
        # One initialisation: k-means++ over tens of thousands of points dominates the cost, and
        # more barely lowers the inertia at this size.
        fitted = MiniBatchKMeans(
            n_clusters=k, random_state=seed, n_init=1, batch_size=4096, max_no_improvement=20
        ).fit(vectors)
    else:
        fitted = KMeans(n_clusters=k, random_state=seed, n_init=4).fit(vectors)
    return _unit(fitted.cluster_centers_.astype(np.float32)), fitted.labels_


def _label_sample(fit_labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    rows: list[np.ndarray] = []
    for topic in range(k):
        members = np.flatnonzero(fit_labels == topic)
        if len(members) > LABEL_SAMPLE:
            members = rng.choice(members, size=LABEL_SAMPLE, replace=False)
        rows.append(members)
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)


def _continue_ids(new_topics: list[NewTopic], previous: dict[int, set[int]]) -> int:
    """Give each new topic the id of the old topic it most overlaps (one to one, Jaccard at least
    `CONTINUES`); returns how many kept an id."""
    if not previous:
        return 0
    owner = {paper_id: topic_id for topic_id, ids in previous.items() for paper_id in ids}
    pairs: list[tuple[float, int, int]] = []
    for index, topic in enumerate(new_topics):
        overlap: dict[int, int] = {}
        for paper_id in topic.paper_ids.tolist():
            old = owner.get(paper_id)
            if old is not None:
                overlap[old] = overlap.get(old, 0) + 1
        for old, shared in overlap.items():
            jaccard = shared / (len(topic.paper_ids) + len(previous[old]) - shared)
            if jaccard >= CONTINUES:
                pairs.append((jaccard, index, old))
    taken_new: set[int] = set()
    taken_old: set[int] = set()
    for _jaccard, index, old in sorted(pairs, reverse=True):
        if index not in taken_new and old not in taken_old:
            new_topics[index].reuse_id = old
            taken_new.add(index)
            taken_old.add(old)
    return len(taken_new)


def assign_new(store: Store, neighbours: Callable[[np.ndarray, int], list[int]] | None = None) -> int:
    """Give papers that arrived since the last build their nearest topic and a place on the map
    near their nearest placed neighbours (`neighbours(vector, k)`: paper ids, nearest first).
    Returns how many papers were assigned; nothing happens before the first build."""
    model, topic_ids, centroids = store.topics.centroids()
    if model is None:
        return 0
    assigned = 0
    while True:
        pending = store.topics.unassigned_paper_ids(model)
        if not pending:
            return assigned
        found = store.embeddings.get_many(pending, model)
        ids = [paper_id for paper_id in pending if paper_id in found]
        if not ids:
            return assigned
        unit = _unit(np.vstack([found[paper_id][1] for paper_id in ids]))
        if unit.shape[1] != centroids.shape[1]:
            return assigned  # another model's vectors: wait for a rebuild
        similarities = unit @ centroids.T
        nearest = similarities.argmax(axis=1)
        points = _places_near(store, ids, unit, neighbours)
        rows = []
        for row, paper_id in enumerate(ids):
            topic = int(nearest[row])
            x, y = points[row]
            rows.append((paper_id, int(topic_ids[topic]), float(similarities[row, topic]), x, y))
        store.topics.assign(rows)
        assigned += len(rows)


def _places_near(
    store: Store,
    ids: list[int],
    unit: np.ndarray,
    neighbours: Callable[[np.ndarray, int], list[int]] | None,
) -> list[tuple[float, float]]:
    """Each paper's place: the mean place of its nearest neighbours already on the map."""
    if neighbours is None:
        return [(0.0, 0.0)] * len(ids)
    near = [
        [other for other in neighbours(unit[row], projection.NEIGHBOURS + 1) if other != paper_id]
        for row, paper_id in enumerate(ids)
    ]
    positions = store.topics.positions(sorted({other for others in near for other in others}))
    places = []
    for others in near:
        placed = [positions[other] for other in others if other in positions]
        if placed:
            x, y = np.mean(np.asarray(placed), axis=0)
            places.append((float(x), float(y)))
        else:
            places.append((0.0, 0.0))
    return places
