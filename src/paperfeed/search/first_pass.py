"""The first pass: vectors for a whole large store in minutes, upgraded later in the background.

The default model embeds about a hundred abstracts a second on two cores, so a store of millions
waits hours for semantic search. A first pass gives every paper a provisional vector from a
static model (one vector per vocabulary token, averaged: thousands of abstracts a second) that
was trained on this store, in the way of tokenlearn: a sample of the store's papers, and the
sentences of those papers, are embedded by the default model, and the token vectors are fitted
so that their average reproduces those embeddings. The provisional vectors therefore live in the
default model's space: queries are still embedded by the default model, provisional and default
vectors sit in one index, and the upgrade replaces them one batch at a time with no rebuild.

Provisional vectors are stored under their own model key (the default key + FIRST_PASS_SUFFIX),
so the upgrade finds them in the store and a killed run loses nothing (see VectorIndex.upgrade).
Quality and speed: benchmarks/bench_first_pass.py and README "Embedding and semantic search".
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from paperfeed.search.embeddings import Embedder, StaticEmbedder, paper_text, text_hash
from paperfeed.store import Store

log = logging.getLogger(__name__)

FIRST_PASS_SUFFIX = "+first-pass"
TABLE_FILE = "first-pass.npy"
INFO_FILE = "first-pass.json"
SAMPLE_SIZE = 2_000  # papers the default model embeds to teach the first-pass model
STRENGTH = 0.003  # ridge pull towards the distilled token vectors (chosen on the tuning half)
ITERATIONS = 60  # conjugate-gradient steps of the fit
MIN_PIECE_WORDS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def first_pass_key(model_key: str) -> str:
    """The model key provisional vectors for `model_key` are stored under."""
    return f"{model_key}{FIRST_PASS_SUFFIX}"


def training_pieces(text: str) -> list[str]:
    """What of a paper's text the model learns from besides the whole: each sentence and each
    pair of sentences. Short texts teach single words their meaning far better than whole
    abstracts, where every word is averaged with two hundred others."""
    sentences = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= MIN_PIECE_WORDS]
    pairs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences) - 1, 2)]
    return sentences + pairs


def token_features(embedder: StaticEmbedder, texts: Sequence[str]) -> sp.csr_matrix:
    """Each text as the mean of its tokens (a row of token shares), as the static model reads it."""
    rows, cols = [], []
    for row, text in enumerate(texts):
        ids = embedder.token_ids(text)
        rows.extend([row] * len(ids))
        cols.extend(ids)
    counts = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (rows, cols)), shape=(len(texts), embedder.vocab_size)
    )
    counts.sum_duplicates()
    lengths = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1)
    return (sp.diags((1 / lengths).astype(np.float32)) @ counts).tocsr()


def fit_table(
    features: sp.csr_matrix,
    targets: np.ndarray,
    base: np.ndarray,
    *,
    strength: float = STRENGTH,
    iterations: int = ITERATIONS,
) -> np.ndarray:
    """Token vectors W minimising |features·W − targets|² + strength·|W − W₀|², where W₀ is the
    distilled table scaled to the targets' length: tokens the sample never shows keep their
    distilled vector. Solved by conjugate gradients on the normal equations, all 384 target
    dimensions at once (each step is two sparse products)."""
    scale = 1.0 / max(float(np.median(np.linalg.norm(features @ base, axis=1))), 1e-6)
    table = (base * scale).astype(np.float32)
    # Tokens no text contains have no gradient: solve for the others alone (far fewer, often).
    seen = np.unique(features.indices)
    features = features[:, seen]
    transpose = features.T.tocsr()
    residual = transpose @ (targets - features @ table[seen])
    delta = np.zeros_like(residual)
    direction = residual.copy()
    norms = np.einsum("ij,ij->j", residual, residual)
    for _ in range(iterations):
        product = transpose @ (features @ direction) + strength * direction
        step = norms / np.maximum(np.einsum("ij,ij->j", direction, product), 1e-30)
        delta += direction * step
        residual -= product * step
        new_norms = np.einsum("ij,ij->j", residual, residual)
        direction = residual + direction * (new_norms / np.maximum(norms, 1e-30))
        norms = new_norms
    table[seen] += delta
    return table


@dataclass(frozen=True)
class TrainingReport:
    papers: int
    pieces: int
    mean_cosine: float  # of the fitted model's vectors with the default model's, on the sample


def fit(
    texts: Sequence[str],
    targets: np.ndarray,
    pieces: Sequence[str],
    piece_targets: np.ndarray,
    base: StaticEmbedder,
    *,
    strength: float = STRENGTH,
    iterations: int = ITERATIONS,
) -> tuple[np.ndarray, TrainingReport]:
    """A first-pass table fitted to the default model's vectors of `texts` (`targets`) and of
    their training pieces (`piece_targets`), starting from the distilled table of `base`."""
    features = sp.vstack([token_features(base, texts), token_features(base, pieces)]).tocsr()
    table = fit_table(
        features,
        np.vstack([targets, piece_targets]).astype(np.float32),
        base.table,
        strength=strength,
        iterations=iterations,
    )
    fitted = features[: len(texts)] @ table
    fitted /= np.maximum(np.linalg.norm(fitted, axis=1, keepdims=True), 1e-12)
    cosine = float(np.mean(np.einsum("ij,ij->i", fitted, targets))) if len(texts) else 0.0
    return table, TrainingReport(papers=len(texts), pieces=len(pieces), mean_cosine=cosine)


def embed_in_batches(
    embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    out = [np.zeros((0, embedder.dim), np.float32)]
    for start in range(0, len(texts), 256):
        batch = texts[start : start + 256]
        out.append(embedder.embed(batch))
        if progress:
            progress(len(batch))
    return np.vstack(out)


class FirstPassEmbedder(StaticEmbedder):
    """The trained static model; its vectors are stored under first_pass_key(default key)."""

    def __init__(self, table: np.ndarray, *, model_key: str) -> None:
        super().__init__(table, name="first-pass")
        self.model_key = model_key

    @property
    def key(self) -> str:
        return first_pass_key(self.model_key)


def load(directory: Path, model_key: str) -> FirstPassEmbedder | None:
    """The first-pass model trained in `directory` for `model_key`, if there is one."""
    try:
        info = json.loads((directory / INFO_FILE).read_text())
        if info.get("model") != model_key:
            return None
        table = np.load(directory / TABLE_FILE)
    except (OSError, ValueError):
        return None
    return FirstPassEmbedder(table, model_key=model_key)


def save(directory: Path, model_key: str, table: np.ndarray, report: TrainingReport) -> FirstPassEmbedder:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TABLE_FILE, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        np.save(handle, table.astype(np.float32))
    os.replace(tmp, directory / TABLE_FILE)
    info = {"model": model_key, "papers": report.papers, "pieces": report.pieces, "cosine": report.mean_cosine}
    (directory / INFO_FILE).write_text(json.dumps(info))
    return FirstPassEmbedder(table, model_key=model_key)


def prepare(
    store: Store,
    embedder: Embedder,
    base: StaticEmbedder,
    directory: Path,
    *,
    sample_size: int = SAMPLE_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[FirstPassEmbedder, TrainingReport | None]:
    """The first-pass model of this store, trained now unless one was trained for `embedder`.
    The sample's own vectors by the default model are stored, so they are final, never redone."""
    ready = load(directory, embedder.key)
    if ready is not None:
        return ready, None
    rows = store.papers.spread_sample(sample_size, columns=("title", "abstract"))
    texts = [paper_text(row.title, row.abstract) for row in rows]
    stored = store.embeddings.get_many([row.id for row in rows], embedder.key)
    vectors = np.zeros((len(rows), embedder.dim), np.float32)
    for start in range(0, len(rows), 256):
        batch = range(start, min(start + 256, len(rows)))
        hashes = {rows[i].id: text_hash(rows[i]) for i in batch}
        missing = [i for i in batch if stored.get(rows[i].id, ("",))[0] != hashes[rows[i].id]]
        if missing:
            vectors[missing] = embedder.embed([texts[i] for i in missing])
            store.embeddings.put_many(
                embedder.key, [(rows[i].id, hashes[rows[i].id], vectors[i]) for i in missing]
            )
        for i in batch:
            if i not in missing:
                vectors[i] = stored[rows[i].id][1]
        if progress:
            progress(len(batch))
    pieces = [piece for text in texts for piece in training_pieces(text)]
    table, report = fit(texts, vectors, pieces, embed_in_batches(embedder, pieces, progress), base)
    log.info(
        "first-pass model trained on %d papers and %d pieces (mean cosine %.3f)",
        report.papers, report.pieces, report.mean_cosine,
    )
    return save(directory, embedder.key, table, report), report
