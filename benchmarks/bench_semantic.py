"""Semantic search benchmark: embedding throughput and dev-set quality of every embedder, then
semantic and hybrid search latency (p50/p95) and peak memory at 100k and 1M papers.

    .venv/bin/python benchmarks/bench_semantic.py            # everything (about 30 minutes)
    .venv/bin/python benchmarks/bench_semantic.py --sizes 100000 --skip-torch   # quicker

Embedding is measured on the 707 demo papers (title + abstract) with each embedder, and the
dev set (eval/dev_queries.jsonl) is scored with the vectors it made. For the large stores the
papers are synthetic (titles and abstracts of words drawn from the demo abstracts) and so are
their vectors, but real-shaped: each is a demo abstract's real embedding, mixed a little with
another's and perturbed by noise (see `synthetic_vectors`). Making 1M real embeddings would take
hours. Query vectors are real (the dev queries through the default embedder), and HNSW recall is
measured for them against exact search over the same vectors. Search is timed through
`PaperFeed.search` end to end (query embedding, index, filters, database, snippets), in a fresh
process that only serves queries, whose peak RSS is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "paperfeed" / "demo" / "hf-daily-papers"
DEV_SET = ROOT / "eval" / "dev_queries.jsonl"
EMBEDDERS = ["minilm", "minilm-onnx", "minilm-int8", "minilm-static"]
CHUNK = 100_000
DIM = 384
NOISE = 0.035  # per dimension: a perturbation of norm about 0.7 on a unit vector


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}; {os.cpu_count()} logical cores ({psutil.cpu_count(logical=False)} physical); "
        f"{memory:.0f} GiB RAM; Python {platform.python_version()}; load average {load}"
    )


def settings(data_dir: Path, embedder: str, models_dir: Path, database_url: str | None = None):
    from paperfeed.config import Settings

    return Settings(data_dir=data_dir, embedder=embedder, models_dir=models_dir, database_url=database_url)


# --- embedders: throughput and quality --------------------------------------------------------------


def bench_embedders(names: list[str], models_dir: Path) -> None:
    from paperfeed.core import PaperFeed
    from paperfeed.search.evaluation import evaluate, load_queries

    queries = load_queries(DEV_SET)
    print(f"\n## Embedders: 707 demo abstracts, dev set of {len(queries)} queries\n")
    print(
        "| embedder | abstracts/s | semantic MRR@10 | nDCG@10 | R@10 | R@100 | hybrid MRR@10 | nDCG@10 | R@10 | R@100 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keyword_row = None
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            core = PaperFeed(settings(Path(tmp), name, models_dir))
            core.import_sources(_demo_sources(), sync=False)
            core.keyword.sync(core.store)
            core.embedder.embed(["warm up"])  # model preparation and loading are not throughput
            started = time.perf_counter()
            embedded = core.sync_vectors()
            rate = embedded / (time.perf_counter() - started)
            result = evaluate(core, queries, ["keyword", "semantic", "hybrid"]).by_mode
            core.close()
        sem, hyb = result["semantic"], result["hybrid"]
        keyword_row = result["keyword"]
        print(
            f"| {name} | {rate:,.0f} | {sem.mrr_10:.3f} | {sem.ndcg_10:.3f} | {sem.recall_10:.3f} | {sem.recall_100:.3f} "
            f"| {hyb.mrr_10:.3f} | {hyb.ndcg_10:.3f} | {hyb.recall_10:.3f} | {hyb.recall_100:.3f} |",
            flush=True,
        )
    if keyword_row:
        k = keyword_row
        print(
            f"\nkeyword alone: MRR@10 {k.mrr_10:.3f}, nDCG@10 {k.ndcg_10:.3f}, "
            f"R@10 {k.recall_10:.3f}, R@100 {k.recall_100:.3f}"
        )


def _demo_sources():
    from paperfeed.ingest import open_sources

    return open_sources(DEMO, None)


# --- large stores ------------------------------------------------------------------------------------


def synthetic_vectors(start: int, count: int, anchors: np.ndarray) -> np.ndarray:
    """Real-shaped unit vectors: each is the embedding of a demo abstract, moved part of the way
    towards another one and perturbed by isotropic noise (about 0.8 cosine from where it started).
    They keep the real embeddings' anisotropy and cluster structure, which decides how hard
    nearest-neighbour search is, at any number of papers."""
    rng = np.random.default_rng(start)
    base = anchors[rng.integers(0, len(anchors), count)]
    other = anchors[rng.integers(0, len(anchors), count)]
    mix = rng.uniform(0.0, 0.4, size=(count, 1))
    vectors = base + mix * (other - base) + rng.normal(scale=NOISE, size=(count, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _anchors(models_dir: Path, embedder: str) -> np.ndarray:
    """The demo abstracts' embeddings by `embedder`: computed once, kept beside the models."""
    cache = models_dir / f"bench-demo-vectors-{embedder}.npy"
    if cache.exists():
        return np.load(cache)
    from paperfeed.search.embeddings import load_embedder, paper_text

    texts = [paper_text(record["title"], record["abstract"]) for record in map(json.loads, _demo_abstracts())]
    vectors = load_embedder(embedder, models_dir).embed(texts).astype(np.float32)
    models_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def build_vectors(core, size: int, anchors: np.ndarray) -> None:
    started = time.perf_counter()
    ids = _paper_ids(core, size)
    chunks = (
        (ids[s : s + CHUNK], synthetic_vectors(s, min(CHUNK, size - s), anchors))
        for s in range(0, size, CHUNK)
    )
    core.vectors.build(chunks, model=core.embedder.key)
    print(f"  vector index (HNSW) in {time.perf_counter() - started:.0f} s", flush=True)


def build_store(
    size: int, data_dir: Path, models_dir: Path, embedder: str, database_url: str | None = None
) -> None:
    """A store of `size` synthetic papers with keyword and vector indexes (in `database_url`'s
    database when given, else SQLite in `data_dir`)."""
    from paperfeed.core import PaperFeed
    from paperfeed.models import PaperRecord
    from paperfeed.text import finish_record

    core = PaperFeed(settings(data_dir, embedder, models_dir, database_url))
    words = " ".join(json.loads(line)["abstract"] for line in _demo_abstracts()).split()
    rng = random.Random(size)
    categories = ["cs.CL", "cs.LG", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "math.OC"]
    started = time.perf_counter()
    for batch_start in range(0, size, 5_000):
        records = []
        for i in range(batch_start, min(size, batch_start + 5_000)):
            title = " ".join(rng.choices(words, k=8)) + f" {i}"
            abstract = " ".join(rng.choices(words, k=120))
            if rng.random() < 0.3:
                abstract += f" https://github.com/example/p{i}"
            records.append(
                finish_record(
                    PaperRecord(
                        title=title,
                        abstract=abstract,
                        authors=[f"Author {rng.randrange(50_000)}", f"Author {rng.randrange(50_000)}"],
                        categories=[rng.choice(categories)],
                        arxiv_id=f"{1001 + i // 90_000:04d}.{10_000 + i % 90_000:05d}",
                        version=1,
                        published=dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(4_000)),
                        source="synthetic",
                    )
                )
            )
        with core.store.engine.begin() as conn:
            core.store.papers.merge_batch(conn, records)
    print(f"  {size:,} papers stored in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    core.keyword.sync(core.store)
    print(f"  keyword index in {time.perf_counter() - started:.0f} s", flush=True)
    build_vectors(core, size, _anchors(models_dir, embedder))
    core.close()


def _paper_ids(core, size: int) -> np.ndarray:
    ids = []
    for chunk in core.store.papers.changed_since(None, chunk=20_000):
        ids.extend(p.id for p in chunk)
    assert len(ids) == size
    return np.asarray(ids, dtype=np.int64)


def _demo_abstracts():
    from paperfeed.ingest import open_sources
    from paperfeed.models import PaperRecord

    for source in open_sources(DEMO, None):
        for item in source.items():
            if isinstance(item.item, PaperRecord):
                yield json.dumps({"title": item.item.title, "abstract": item.item.abstract})


def recall_at_10(data_dir: Path, size: int, models_dir: Path, embedder: str, queries: np.ndarray) -> float:
    """Recall@10 of the HNSW index against exact search over the same synthetic vectors."""
    from paperfeed.core import PaperFeed
    from paperfeed.search.rankers import HYBRID_DEPTH

    core = PaperFeed(settings(data_dir, embedder, models_dir))
    ids = _paper_ids(core, size)
    anchors = _anchors(models_dir, embedder)
    best_scores = np.full((len(queries), 10), -np.inf)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    for s in range(0, size, CHUNK):
        vectors = synthetic_vectors(s, min(CHUNK, size - s), anchors).astype(np.float16).astype(np.float32)
        scores = queries @ vectors.T
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_ids = np.concatenate(
            [best_ids, np.broadcast_to(ids[s : s + len(vectors)], scores.shape)], axis=1
        )
        top = np.argsort(-merged_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(merged_scores, top, axis=1)
        best_ids = np.take_along_axis(merged_ids, top, axis=1)
    hits = 0
    for query, exact in zip(queries, best_ids, strict=True):
        found, _ = core.vectors.search(query, HYBRID_DEPTH)  # as deep as hybrid search asks
        hits += len(set(found[:10]) & set(exact.tolist()))
    core.close()
    return hits / (10 * len(queries))


def peak_rss_mib() -> float:
    """This process's peak resident set. Not getrusage's ru_maxrss: that keeps the high-water
    mark of the parent it was forked from (here, the process that built the indexes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve_queries(data_dir: str, models_dir: str, embedder: str, rounds: int) -> None:
    """Run in a fresh process: time PaperFeed.search per mode and report peak RSS (JSON)."""
    from paperfeed.core import PaperFeed
    from paperfeed.models import SearchFilters, SearchRequest
    from paperfeed.search.evaluation import load_queries

    core = PaperFeed(settings(Path(data_dir), embedder, Path(models_dir)))
    texts = [q.query for q in load_queries(DEV_SET)]
    results = {}
    for label, mode, filters_of in (
        ("keyword", "keyword", lambda n: SearchFilters()),
        ("semantic", "semantic", lambda n: SearchFilters()),
        ("hybrid", "hybrid", lambda n: SearchFilters()),
        # The same filters again and again: what they allow is read once, then remembered.
        (
            "hybrid, filtered",
            "hybrid",
            lambda n: SearchFilters(category="cs.CL", date_from=dt.date(2020, 1, 1)),
        ),
        # A start date never asked for before, every time: nothing remembered helps.
        (
            "hybrid, filtered, each filter new",
            "hybrid",
            lambda n: SearchFilters(category="cs.CL", date_from=dt.date(2019, 1, 1) + dt.timedelta(days=n)),
        ),
    ):
        core.search(SearchRequest(query=texts[0], mode=mode, filters=filters_of(-1)))  # warm-up
        timings = []
        for _ in range(rounds):
            for text in texts:
                filters = filters_of(len(timings))
                started = time.perf_counter()
                core.search(SearchRequest(query=text, mode=mode, filters=filters, per_page=20))
                timings.append((time.perf_counter() - started) * 1000)
        results[label] = {"p50": float(np.percentile(timings, 50)), "p95": float(np.percentile(timings, 95))}
    results["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(results))


def bench_sizes(
    sizes: list[int], models_dir: Path, embedder: str, work_dir: Path, rounds: int, rebuild_vectors: bool
) -> None:
    from paperfeed.search.embeddings import load_embedder
    from paperfeed.search.evaluation import load_queries

    print(f"\n## Search latency through PaperFeed.search ({embedder} query embedding, 20 results a page)\n")
    print("| papers | mode | p50 ms | p95 ms | HNSW recall@10 | serving process peak RSS |")
    print("|---:|---|---:|---:|---:|---:|")
    query_vectors = load_embedder(embedder, models_dir).embed([q.query for q in load_queries(DEV_SET)])
    for size in sizes:
        data_dir = work_dir / f"store-{size}"
        if not (data_dir / "index" / "vectors" / "vectors.usearch").exists():
            print(f"building {size:,} papers ...", flush=True)
            build_store(size, data_dir, models_dir, embedder)
        elif rebuild_vectors:
            from paperfeed.core import PaperFeed

            print(f"rebuilding the vectors of {size:,} papers ...", flush=True)
            core = PaperFeed(settings(data_dir, embedder, models_dir))
            build_vectors(core, size, _anchors(models_dir, embedder))
            core.close()
        recall = recall_at_10(data_dir, size, models_dir, embedder, query_vectors)
        served = subprocess.run(
            [
                sys.executable,
                __file__,
                "--serve",
                str(data_dir),
                "--models-dir",
                str(models_dir),
                "--embedder",
                embedder,
                "--rounds",
                str(rounds),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(served.stdout.strip().splitlines()[-1])
        for label in (
            "keyword",
            "semantic",
            "hybrid",
            "hybrid, filtered",
            "hybrid, filtered, each filter new",
        ):
            print(
                f"| {size:,} | {label} | {result[label]['p50']:.1f} | {result[label]['p95']:.1f} "
                f"| {recall:.3f} | {result['peak_rss_mib']:,.0f} MiB |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="store sizes for the latency runs")
    parser.add_argument("--embedders", default=",".join(EMBEDDERS))
    parser.add_argument("--skip-torch", action="store_true", help="skip the slow PyTorch reference")
    parser.add_argument("--skip-embedders", action="store_true")
    parser.add_argument("--embedder", default="minilm-int8", help="embedder for the latency runs")
    parser.add_argument("--models-dir", default=str(Path(tempfile.gettempdir()) / "paperfeed-bench-models"))
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "paperfeed-bench"))
    parser.add_argument("--rounds", type=int, default=3, help="passes over the dev queries per mode")
    parser.add_argument("--rebuild-vectors", action="store_true", help="rebuild stored benchmark vectors")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    models_dir = Path(args.models_dir)
    if args.serve:
        serve_queries(args.serve, str(models_dir), args.embedder, args.rounds)
        return
    print(f"# Semantic search benchmark\n\nmachine: {machine()}")
    if not args.skip_embedders:
        names = [n for n in args.embedders.split(",") if n and not (args.skip_torch and n == "minilm")]
        bench_embedders(names, models_dir)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        bench_sizes(sizes, models_dir, args.embedder, Path(args.work_dir), args.rounds, args.rebuild_vectors)


if __name__ == "__main__":
    main()
