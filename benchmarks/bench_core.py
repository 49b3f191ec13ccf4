"""Import throughput, keyword search latency, database size and peak memory.

    python benchmarks/bench_core.py --papers 100000 [--papers 1000000]

Each phase runs in its own process so peak RSS is measured per phase. The corpus is
generated once (benchmarks/out/) and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

# A fixed query mix: short topic queries, half-remembered titles, phrases, filters.
QUERIES: list[dict] = [
    {"query": "language models"},
    {"query": "diffusion"},
    {"query": "efficient inference"},
    {"query": "sparse attention long context"},
    {"query": "mixture of experts routing"},
    {"query": "reinforcement learning reasoning"},
    {"query": '"large language models"'},
    {"query": "quantization training stability"},
    {"query": "video generation"},
    {"query": "retrieval augmented generation"},
    {"query": "graph neural networks"},
    {"query": "scaling laws compute"},
    {"query": "memory layers transformer"},
    {"query": "speculative decoding"},
    {"query": "kv cache compression"},
    {"query": "benchmark evaluation -survey"},
    {"query": "LLM"},
    {"query": "vision transformers"},
    {"query": "self-supervised"},
    {"query": "optimizer convergence"},
    {"query": "language models", "filters": {"category": "cs.CL"}},
    {"query": "diffusion", "filters": {"has_code": True}},
    {"query": "training", "filters": {"date_from": "2020-01-01", "date_to": "2022-12-31"}},
    {"query": "attention", "sort": "newest"},
    {"query": "models", "filters": {"author": "Wei Zhang"}},
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_import(data_dir: str, corpus: str) -> None:
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources

    core = PaperFeed(Settings(data_dir=Path(data_dir)))
    started = time.perf_counter()
    [report] = core.import_sources(open_sources(Path(corpus), "arxiv-snapshot"), sync=False)
    imported = time.perf_counter() - started
    started = time.perf_counter()
    core.keyword.sync(core.store)  # embeddings are measured by bench_semantic.py
    indexed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "papers": report.added,
                "rejected": report.rejected,
                "import_s": imported,
                "index_s": indexed,
                "db_bytes": core.store.size_bytes(),
                "index_bytes": sum(
                    p.stat().st_size for p in core.settings.index_dir.rglob("*") if p.is_file()
                ),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def phase_search(data_dir: str, rounds: str) -> None:
    import datetime as dt

    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.models import SearchFilters, SearchRequest

    core = PaperFeed(Settings(data_dir=Path(data_dir)))
    requests = []
    for spec in QUERIES:
        filters = dict(spec.get("filters", {}))
        for key in ("date_from", "date_to"):
            if key in filters:
                filters[key] = dt.date.fromisoformat(filters[key])
        requests.append(
            SearchRequest(
                query=spec["query"],
                filters=SearchFilters(**filters),
                sort=spec.get("sort", "relevance"),
                per_page=10,
                mode="keyword",
            )
        )
    for request in requests:  # warm-up: first touches of the index files
        core.search(request)
    latencies = []
    for _ in range(int(rounds)):
        for request in requests:
            started = time.perf_counter()
            core.search(request)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    print(
        json.dumps(
            {
                "queries": len(latencies),
                "p50_ms": statistics.median(latencies),
                "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
                "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def run_phase(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--papers", type=int, action="append", help="corpus size (repeatable); default 100000"
    )
    parser.add_argument("--rounds", type=int, default=8, help="passes over the query mix")
    args = parser.parse_args()
    from machine import describe

    print(f"machine: {describe()}")
    for n in args.papers or [100_000]:
        corpus = OUT / f"corpus-{n}.jsonl"
        if not corpus.exists():
            from corpus import generate

            OUT.mkdir(parents=True, exist_ok=True)
            with corpus.open("wb") as fh:
                generate(n, fh)
        data_dir = OUT / f"data-{n}"
        shutil.rmtree(data_dir, ignore_errors=True)
        imported = run_phase("_import", str(data_dir), str(corpus))
        searched = run_phase("_search", str(data_dir), str(args.rounds))
        print(f"\n== {n:,} papers (arXiv snapshot JSONL, SQLite) ==")
        print(
            f"import:         {imported['papers'] / imported['import_s']:,.0f} papers/s "
            f"({imported['papers']:,} papers in {imported['import_s']:.1f} s, {imported['rejected']} rejected)"
        )
        print(
            f"index build:    {imported['papers'] / imported['index_s']:,.0f} papers/s ({imported['index_s']:.1f} s)"
        )
        print(
            f"keyword search: p50 {searched['p50_ms']:.1f} ms, p95 {searched['p95_ms']:.1f} ms, "
            f"p99 {searched['p99_ms']:.1f} ms over {searched['queries']} queries (top 10, with snippets)"
        )
        print(
            f"database size:  {imported['db_bytes'] / 1e6:,.0f} MB; keyword index {imported['index_bytes'] / 1e6:,.0f} MB"
        )
        print(f"peak RSS:       import {imported['rss_mb']:,.0f} MB, search {searched['rss_mb']:,.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_import":
        phase_import(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_search":
        phase_search(*sys.argv[2:])
    else:
        main()
