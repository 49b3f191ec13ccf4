"""Paper embeddings: one vector per paper and model, kept so a lost or rebuilt vector index
never has to run the model again for papers whose text did not change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.store.schema import paper_embeddings

_DTYPE = np.dtype("<f4")
_CHUNK = 900  # ids per IN (...): below SQLite's bound-parameter limit with room to spare


class EmbeddingStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, paper_ids: Sequence[int], model: str) -> dict[int, tuple[str, np.ndarray]]:
        """Stored (text hash, vector) of these papers by `model`; papers without one are absent."""
        found: dict[int, tuple[str, np.ndarray]] = {}
        table = paper_embeddings
        with self.engine.connect() as conn:
            for start in range(0, len(paper_ids), _CHUNK):
                chunk = list(paper_ids[start : start + _CHUNK])
                rows = conn.execute(
                    sa.select(table.c.paper_id, table.c.text_hash, table.c.dim, table.c.vector).where(
                        table.c.model == model, table.c.paper_id.in_(chunk)
                    )
                )
                for paper_id, text_hash, dim, blob in rows:
                    vector = np.frombuffer(blob, dtype=_DTYPE)
                    if vector.shape == (dim,):
                        found[paper_id] = (text_hash, vector.astype(np.float32))
        return found

    def put_many(self, model: str, rows: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """Store (paper id, text hash, vector) rows by `model`, replacing what was there."""
        if not rows:
            return
        now = dt.datetime.now(dt.UTC)
        values = [
            {
                "paper_id": paper_id,
                "model": model,
                "dim": int(vector.shape[0]),
                "vector": np.ascontiguousarray(vector, dtype=_DTYPE).tobytes(),
                "text_hash": text_hash,
                "updated_at": now,
            }
            for paper_id, text_hash, vector in rows
        ]
        with self.engine.begin() as conn:
            for start in range(0, len(values), _CHUNK):
                chunk = values[start : start + _CHUNK]
                conn.execute(
                    sa.delete(paper_embeddings).where(
                        paper_embeddings.c.model == model,
                        paper_embeddings.c.paper_id.in_([v["paper_id"] for v in chunk]),
                    )
                )
                conn.execute(sa.insert(paper_embeddings), chunk)

    def count(self, model: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(paper_embeddings)
        if model is not None:
            query = query.where(paper_embeddings.c.model == model)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def models(self) -> dict[str, int]:
        """Every model with stored vectors, and how many."""
        query = sa.select(paper_embeddings.c.model, sa.func.count()).group_by(paper_embeddings.c.model)
        with self.engine.connect() as conn:
            return {model: n for model, n in conn.execute(query)}

    def paper_ids(self, model: str, *, limit: int) -> list[int]:
        """Up to `limit` ids of papers with a vector by `model`, highest (latest added) first."""
        query = (
            sa.select(paper_embeddings.c.paper_id)
            .where(paper_embeddings.c.model == model)
            .order_by(paper_embeddings.c.paper_id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def delete_many(self, model: str, paper_ids: Sequence[int]) -> None:
        """Drop these papers' vectors by `model`."""
        with self.engine.begin() as conn:
            for start in range(0, len(paper_ids), _CHUNK):
                conn.execute(
                    sa.delete(paper_embeddings).where(
                        paper_embeddings.c.model == model,
                        paper_embeddings.c.paper_id.in_(list(paper_ids[start : start + _CHUNK])),
                    )
                )

    def delete_model(self, model: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(paper_embeddings).where(paper_embeddings.c.model == model)).rowcount
