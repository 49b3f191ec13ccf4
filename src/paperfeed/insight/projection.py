"""The topic map's 2D layout: t-SNE (scikit-learn) over a PCA reduction of the embeddings.

Why t-SNE: the map is for seeing neighbourhoods (which papers sit together, which topics
border), and t-SNE keeps local neighbourhoods best. Why scikit-learn's rather than UMAP: it is
already a dependency, whereas umap-learn brings numba and llvmlite, whose JIT compiles for
tens of seconds in every fresh process.

t-SNE costs grow with the number of points, so it lays out a sample of at most `MAP_SAMPLE`
papers; every other paper is placed at the similarity-weighted mean (a sharp softmax) of its
nearest laid-out neighbours, which is also how t-SNE implementations place new points; a paper
that arrives after the build goes to the mean place of its nearest neighbours on the map. The layout is scaled into [-1, 1] on both axes.
"""

from __future__ import annotations

import numpy as np

MAP_SAMPLE = 5_000
NEIGHBOURS = 10
PCA_DIMENSIONS = 50
TSNE_ITERATIONS = 500
PLACE_BLOCK = 1_024
PLACE_TEMPERATURE = 0.02


def layout(vectors: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """2D positions of unit vectors (rows), in [-1, 1]."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n < 4:  # t-SNE needs more points than its perplexity allows; a line will do
        xs = np.linspace(-1, 1, n) if n > 1 else np.zeros(1)
        return np.column_stack([xs, np.zeros(n)]).astype(np.float32)
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    reduced = PCA(n_components=min(PCA_DIMENSIONS, n - 1, vectors.shape[1]), random_state=seed).fit_transform(
        vectors
    )
    perplexity = float(min(30, max(2, (n - 1) // 3)))
    # One thread: Barnes-Hut t-SNE gains little from more, and oversubscribed BLAS threads make
    # it several times slower on a busy machine. 500 iterations: the layout has settled by then.
    with threadpool_limits(1):
        points = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            random_state=seed,
            learning_rate="auto",
            max_iter=TSNE_ITERATIONS,
            n_jobs=1,
        ).fit_transform(reduced)
    return normalise(points)


def normalise(points: np.ndarray) -> np.ndarray:
    centre = (points.max(axis=0) + points.min(axis=0)) / 2
    half = max(float((points.max(axis=0) - points.min(axis=0)).max()) / 2, 1e-9)
    return ((points - centre) / half).astype(np.float32)


def place(vectors: np.ndarray, anchors: np.ndarray, anchor_points: np.ndarray) -> np.ndarray:
    """Positions for `vectors` among laid-out `anchors` (unit rows) at `anchor_points`."""
    if len(vectors) == 0 or len(anchors) == 0:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    if len(vectors) > PLACE_BLOCK:  # a block's similarity matrix stays a few MB
        return np.vstack([
            place(vectors[start : start + PLACE_BLOCK], anchors, anchor_points)
            for start in range(0, len(vectors), PLACE_BLOCK)
        ])  # fmt: skip
    similarities = vectors @ anchors.T
    k = min(NEIGHBOURS, len(anchors))
    nearest = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    weights = np.take_along_axis(similarities, nearest, axis=1)
    # A softmax over similarity: a neighbour 0.05 less similar than the nearest weighs 8% as much,
    # so a paper nearly identical to a laid-out one lands beside it, not between its neighbours.
    weights = np.exp((weights - weights.max(axis=1, keepdims=True)) / PLACE_TEMPERATURE)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, anchor_points[nearest]).astype(np.float32)
