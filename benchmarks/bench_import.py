"""Full-scale import: the whole arXiv, on SQLite and on PostgreSQL.

    python benchmarks/bench_import.py --papers 2600000 --backend sqlite --backend postgresql

For each backend: import throughput, the time from the import's start until every paper is
keyword-searchable (the import indexes as it goes; a sync then finds what is left, if anything),
database and keyword index size, and peak memory. The corpus is an arXiv-shaped synthetic
snapshot (arxiv_shape.py), generated once into benchmarks/out/ and reused. Each backend's import
runs in a fresh process, so its peak RSS is its own. PostgreSQL is the test suite's throwaway
server on loopback, here with fsync on; the peak of its processes' summed RSS is reported apart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test suite's throwaway PostgreSQL server

BACKENDS = ("sqlite", "postgresql")
# Durable like a real installation (the test suite turns fsync off to be fast); commits may lag
# a little, as with SQLite's WAL at synchronous=NORMAL.
POSTGRES_OPTIONS = "-c synchronous_commit=off -c shared_buffers=256MB -c max_wal_size=4GB"


def phase_import(data_dir: str, corpus: str, database_url: str) -> None:
    """In a fresh process: import, index, check that every paper is searchable, report."""
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources

    settings = Settings(data_dir=Path(data_dir), database_url=database_url or None)
    core = PaperFeed(settings)
    started = time.perf_counter()
    [report] = core.import_sources(open_sources(Path(corpus), "arxiv-snapshot"), sync=False)
    imported = time.perf_counter()
    core.keyword.sync(core.store)
    searchable = time.perf_counter()
    own, parser = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    papers = core.store.papers.count()
    indexed = core.keyword.doc_count()
    if indexed != papers:
        sys.exit(f"{indexed:,} papers in the keyword index, {papers:,} in the store")
    print(
        json.dumps(
            {
                "papers": papers,
                "added": report.added,
                "rejected": len(report.rejections),
                "import_s": imported - started,
                "searchable_s": searchable - started,
                "db_bytes": core.store.size_bytes(),
                "index_bytes": sum(p.stat().st_size for p in settings.index_dir.rglob("*") if p.is_file()),
                # CPU time tells more than wall time on a machine shared with other work.
                "cpu_s": own.ru_utime + own.ru_stime + parser.ru_utime + parser.ru_stime,
                "rss_mb": own.ru_maxrss / 1024,
                "parser_rss_mb": parser.ru_maxrss / 1024,
            }
        )
    )


class PeakRss:
    """The peak total RSS of a process tree (the PostgreSQL server), sampled twice a second."""

    def __init__(self, root_pid: int) -> None:
        import psutil

        self.root = psutil.Process(root_pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.5):
            total = 0
            for process in [self.root, *self.root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a backend that just ended
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_import(data_dir: Path, corpus: Path, database_url: str = "") -> dict:
    command = [sys.executable, __file__, "_import", str(data_dir), str(corpus), database_url]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"import failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_backend(backend: str, corpus: Path, n: int, out: Path) -> dict:
    data_dir = out / f"import-{backend}-{n}"
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        if backend == "sqlite":
            return run_import(data_dir, corpus)
        from backends import PostgresServer

        server = PostgresServer.start(options=POSTGRES_OPTIONS)
        try:
            url = server.create_database("paperfeed_bench", template="template0")
            pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
            with PeakRss(pid) as server_rss:
                figures = run_import(data_dir, corpus, url)
            return {**figures, "server_rss_mb": server_rss.peak / 2**20}
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def size(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.2f} GB" if n_bytes >= 1e9 else f"{n_bytes / 1e6:,.0f} MB"


def table(results: dict[str, dict]) -> str:
    lines = [
        "| backend | import | keyword-searchable after | CPU time | database | keyword index | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        rss = f"{r['rss_mb']:,.0f} MB (parser {r['parser_rss_mb']:,.0f} MB"
        rss += f", server {r['server_rss_mb']:,.0f} MB)" if "server_rss_mb" in r else ")"
        lines.append(
            f"| {backend} | {r['papers'] / r['import_s']:,.0f} papers/s ({r['import_s']:,.0f} s) "
            f"| {r['searchable_s']:,.0f} s | {r['cpu_s']:,.0f} s | {size(r['db_bytes'])} | {size(r['index_bytes'])} "
            f"| {rss} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--papers", type=int, default=2_600_000, help="corpus size (default: the whole arXiv)"
    )
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="repeatable; default: sqlite")
    parser.add_argument(
        "--keep-corpus", action="store_true", help="keep a corpus this run generates, for the next run"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"where corpus and data go (default {OUT})")
    args = parser.parse_args()
    from arxiv_shape import generate
    from machine import describe

    corpus = args.out / f"arxiv-{args.papers}.jsonl"
    generated = not corpus.exists()
    if generated:
        args.out.mkdir(parents=True, exist_ok=True)
        partial = corpus.with_suffix(".partial")
        with partial.open("wb") as fh:
            generate(args.papers, fh)
        partial.replace(corpus)
    results = {}
    try:
        for backend in args.backend or ["sqlite"]:
            results[backend] = bench_backend(backend, corpus, args.papers, args.out)
    finally:
        if generated and not args.keep_corpus:
            corpus.unlink(missing_ok=True)  # gigabytes at full scale
    machine = describe()
    print(f"{args.papers:,} arXiv-shaped papers ({corpus.name}); machine: {machine}\n")
    print(table(results))
    print(json.dumps({"benchmark": "import", "papers": args.papers, "machine": machine, "results": results}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_import":
        phase_import(*sys.argv[2:5])
    else:
        main()
