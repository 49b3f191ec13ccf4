"""The first pass (search/first_pass.py): how good its provisional vectors are for search, and how
fast it embeds, against the default model.

    python benchmarks/bench_first_pass.py                     # test half, 4 folds, 20,000 abstracts for speed
    python benchmarks/bench_first_pass.py --split tune --strength 0.001 --strength 0.003 --strength 0.01

Quality, on the demo corpus and the search-quality queries (eval/queries.jsonl): the demo is
imported into a scratch directory and embedded by the default model. Then every paper gets a
first-pass vector by cross-fitting: the papers are split into `--folds` parts, and each part is
embedded by a first-pass model trained (as `paperfeed embed --first-pass` trains it) on the
other parts only, so no paper's vector comes from a model that saw it. Every paper's vector is
provisional here, the state right after a first pass (a real first pass also keeps the default
vectors of its training sample). The demo has 707 papers, so each model learns from about
530 of them; `paperfeed embed --first-pass` samples 2,000 by default. Scores are those of
`paperfeed eval`: semantic and hybrid search through the same code as the site.

Speed, on synthetic abstracts from arxiv_shape.py (arXiv's length distribution, words drawn
from the demo's vocabulary): abstracts a second of wall time, and per CPU-second, for the
first-pass model (cold word cache) and the default model (on the first 500 of them).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402

QUERIES = ROOT / "eval" / "queries.jsonl"
DEMO = ROOT / "src" / "paperfeed" / "demo" / "hf-daily-papers"
MODES = ("semantic", "hybrid")


def demo_core(data_dir: Path, **settings):
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources

    core = PaperFeed(Settings.from_env(data_dir=data_dir, **settings))
    if core.store.papers.count() == 0:
        core.import_sources(open_sources(DEMO, None), sync=False)
    core.keyword.sync(core.store)
    core.sync_vectors()
    return core


def corpus(core):
    from paperfeed.search.embeddings import paper_text
    from paperfeed.search.vectors import TEXT_COLUMNS

    rows = [r for chunk in core.store.papers.changed_since(None, columns=TEXT_COLUMNS) for r in chunk if not r.hidden]
    ids = np.array([r.id for r in rows], dtype=np.int64)
    texts = [paper_text(r.title, r.abstract) for r in rows]
    stored = core.store.embeddings.get_many(ids.tolist(), core.embedder.key)
    targets = np.stack([stored[int(i)][1] for i in ids])
    return ids, texts, targets


def cross_fitted(texts, targets, pieces, owners, piece_targets, base, *, folds: int, strength: float):
    """Each paper's vector from a first-pass model trained on the other folds."""
    from paperfeed.search import first_pass

    fold = np.random.default_rng(2026).permutation(len(texts)) % folds
    out = np.zeros_like(targets)
    for f in range(folds):
        train = np.flatnonzero(fold != f)
        held = np.flatnonzero(fold == f)
        in_train = np.isin(owners, train)
        table, _ = first_pass.fit(
            [texts[i] for i in train],
            targets[train],
            [p for p, keep in zip(pieces, in_train, strict=True) if keep],
            piece_targets[in_train],
            base,
            strength=strength,
        )
        out[held] = first_pass.FirstPassEmbedder(table, model_key="").embed([texts[i] for i in held])
    return out


def scores(core, ids, vectors, split: str) -> dict[str, dict[str, tuple[float, float]]]:
    from paperfeed.search.evaluation import evaluate, load_queries, of_split
    from paperfeed.search.vectors import RELOAD_EVERY_S

    core.vectors.build([(ids.tolist(), vectors)], model=core.embedder.key)
    time.sleep(RELOAD_EVERY_S + 0.1)  # searches re-read the index at most this often
    evaluation = evaluate(core, of_split(load_queries(QUERIES), split), MODES)
    return {
        mode: {
            kind: (s.mrr_10, s.ndcg_10)
            for kind, s in {**evaluation.by_kind[mode], "all": evaluation.by_mode[mode]}.items()
        }
        for mode in MODES
    }


def speed(core, first_pass_model, papers: int) -> dict[str, float]:
    import arxiv_shape
    import orjson

    from paperfeed.search.embeddings import paper_text

    buffer = io.BytesIO()
    arxiv_shape.generate(papers, buffer)
    records = [orjson.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    texts = [paper_text(" ".join(r["title"].split()), " ".join(r["abstract"].split())) for r in records]
    out = {}
    for name, embedder, sample in (
        ("first pass", first_pass_model, texts),
        ("default model", core.embedder, texts[:500]),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(sample), 256):
            embedder.embed(sample[start : start + 256])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out[name] = (len(sample) / wall, len(sample) / max(cpu, 1e-9))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=("test", "tune", "all"))
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--strength", type=float, action="append", help="ridge strength (repeatable)")
    parser.add_argument("--speed-papers", type=int, default=20_000, help="0 skips the speed run")
    parser.add_argument("--skip-quality", action="store_true", help="only the speed run")
    parser.add_argument("--data-dir", type=Path, help="reuse this scratch directory (demo + default vectors)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--embedder", help="the default model to compare with (default: the setting's)")
    parser.add_argument("--models-dir", type=Path, help="where prepared models live (default: the setting's)")
    args = parser.parse_args()

    from paperfeed.search import first_pass
    from paperfeed.search.embeddings import load_embedder

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        print(f"machine: {describe()}; load average {os.getloadavg()[0]:.1f}", flush=True)
        started = time.perf_counter()
        settings = {"embedder": args.embedder, "models_dir": args.models_dir}
        core = demo_core(data_dir, **{k: v for k, v in settings.items() if v is not None})
        ids, texts, targets = corpus(core)
        pieces, owners = [], []
        for i, text in enumerate(texts):
            for piece in first_pass.training_pieces(text):
                pieces.append(piece)
                owners.append(i)
        owners = np.array(owners)
        cache = data_dir / f"pieces-{core.embedder.key}.npy"
        if cache.is_file():
            piece_targets = np.load(cache)
        else:
            piece_targets = first_pass.embed_in_batches(core.embedder, pieces)
            np.save(cache, piece_targets)
        print(f"{len(ids)} papers, {len(pieces)} training pieces embedded ({time.perf_counter() - started:.0f} s)")
        base = load_embedder("minilm-static", core.settings.model_dir)

        results: dict[str, dict] = {}
        if not args.skip_quality:
            results["default model"] = scores(core, ids, targets, args.split)
            for strength in args.strength or [first_pass.STRENGTH]:
                vectors = cross_fitted(
                    texts, targets, pieces, owners, piece_targets, base, folds=args.folds, strength=strength
                )
                cosine = float(np.mean(np.einsum("ij,ij->i", vectors, targets)))
                label = f"first pass, strength {strength:g} (cosine with default {cosine:.3f})"
                results[label] = scores(core, ids, vectors, args.split)
            results["distilled static model, untrained"] = scores(core, ids, base.embed(texts), args.split)

            print(f"\n{args.split} half, {args.folds}-fold cross-fitted; MRR@10 / nDCG@10")
            kinds = list(next(iter(results.values()))["hybrid"])
            print(f"| vectors | mode | {' | '.join(kinds)} |")
            print("|---|---|" + "---:|" * len(kinds))
            for label, by_mode in results.items():
                for mode, by_kind in by_mode.items():
                    cells = " | ".join(f"{m:.3f} / {n:.3f}" for m, n in by_kind.values())
                    print(f"| {label} | {mode} | {cells} |")
            default_ndcg = results["default model"]["hybrid"]["all"][1]
            for label, by_mode in results.items():
                if label.startswith("first pass"):
                    loss = 1 - by_mode["hybrid"]["all"][1] / default_ndcg
                    sem_loss = 1 - by_mode["semantic"]["all"][1] / results["default model"]["semantic"]["all"][1]
                    print(f"{label}: hybrid nDCG@10 {loss:.1%} below the default, semantic {sem_loss:.1%}")

        if args.speed_papers:
            table, _ = first_pass.fit(texts, targets, pieces, piece_targets, base)
            rates = speed(core, first_pass.FirstPassEmbedder(table, model_key=""), args.speed_papers)
            print(f"\nspeed on {args.speed_papers:,} synthetic abstracts (load average {os.getloadavg()[0]:.1f}):")
            for name, (wall, per_cpu) in rates.items():
                print(f"  {name}: {wall:,.0f} abstracts/s ({per_cpu:,.0f} per CPU-second)")
            results["speed"] = rates
        core.close()
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
