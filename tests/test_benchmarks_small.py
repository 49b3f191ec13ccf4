"""Each benchmark, run at a tiny scale, so that it keeps working (figures come from full runs)."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import orjson

from paperfeed.ingest.arxiv_snapshot import ArxivSnapshotSource
from paperfeed.models import PaperRecord, Rejected
from paperfeed.search.vectors import VectorIndex

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_embedding_length_benchmark_reports_throughput_and_share_of_peak_for_each_token_limit(
    models_dir: Path,
) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_embedding_length.py"), "--lengths", "16,32",
               "--limit", "8", "--models-dir", str(models_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 16 |") or line.startswith("| 32 |")]
    assert len(rows) == 2
    assert "× the cost of 16" in rows[1]
    cells = [cell.strip() for cell in rows[1].strip("|").split("|")]
    assert float(cells[1]) == 32  # the demo abstracts are longer than 32 tokens
    assert float(cells[2]) == 0.69  # GFLOP of a 32-token text: 6 × (2·32·(4·384² + 2·384·1536) + 4·32²·384)
    assert cells[5].endswith("%") or cells[5] == "n/a"  # shares of the peaks of the CPU's own units
    assert "load average" in done.stdout and "GOP/s" in done.stdout
    assert "# 32 tokens: the whole arXiv (2.6M abstracts) in " in done.stdout


def test_the_flop_count_of_a_text_grows_linearly_in_the_projections_and_quadratically_in_attention() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from bench_embedding_length import transformer_flops

    projections_per_token = 6 * 2 * (4 * 384 * 384 + 2 * 384 * 1536)
    assert transformer_flops(1) == projections_per_token + 6 * 4 * 384
    assert transformer_flops(256) == 256 * projections_per_token + 6 * 4 * 256 * 256 * 384
    assert round(transformer_flops(241) / 1e9, 2) == 5.65


def test_the_share_of_peak_counts_only_the_int8_units_the_cpu_reports() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from bench_embedding_length import int8_ops_per_cycle

    assert int8_ops_per_cycle({"fma", "avx", "avx2"}) == {"AVX2": 128}
    assert int8_ops_per_cycle({"avx2", "avx512f", "avx512_vnni", "amx_int8", "amx_tile"}) == {
        "AMX": 2048,
        "VNNI": 256,
        "AVX2": 128,
    }
    assert int8_ops_per_cycle(set()) == {}


def arxiv_shaped(n: int, seed: int = 7) -> bytes:
    sys.path.insert(0, str(BENCHMARKS))
    from arxiv_shape import generate

    buffer = io.BytesIO()
    generate(n, buffer, seed)
    return buffer.getvalue()


def test_the_arxiv_shaped_corpus_is_the_same_for_a_seed_and_every_record_imports(tmp_path: Path) -> None:
    corpus = arxiv_shaped(2_000)
    assert corpus == arxiv_shaped(2_000)
    assert corpus != arxiv_shaped(2_000, seed=8)
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(corpus)
    items = [item.item for item in ArxivSnapshotSource(path).items()]
    assert len(items) == 2_000
    assert all(isinstance(item, PaperRecord) for item in items), [i for i in items if isinstance(i, Rejected)]
    assert len({item.arxiv_id for item in items}) == 2_000
    assert any("/" in item.arxiv_id for item in items) and any("." in item.arxiv_id for item in items)


def test_the_arxiv_shaped_corpus_has_the_snapshots_mix_lengths_and_tails() -> None:
    records = [orjson.loads(line) for line in arxiv_shaped(20_000).splitlines()]
    years = [int(r["versions"][0]["created"].split()[3]) for r in records]
    assert min(years) <= 1993 and max(years) == 2026
    assert sum(y >= 2016 for y in years) > sum(y < 2016 for y in years)  # arXiv's growth curve

    def share(archive: str, among: list[dict]) -> float:
        return sum(r["categories"].split()[0].split(".")[0] == archive for r in among) / len(among)

    early = [r for r, y in zip(records, years, strict=True) if y < 2000]
    late = [r for r, y in zip(records, years, strict=True) if y >= 2020]
    assert share("cs", late) > 0.35 > 0.02 > share("cs", early)
    assert share("hep-th", early) > 0.1 > share("hep-th", late)
    primaries = {r["categories"].split()[0].split(".")[0] for r in records}
    assert {"math", "cond-mat", "astro-ph", "quant-ph", "physics", "stat", "eess", "q-bio"} <= primaries
    assert 0.4 < sum(len(r["categories"].split()) == 1 for r in records) / len(records) < 0.6

    assert 8 <= statistics.median(len(r["title"].split()) for r in records) <= 11
    assert 100 <= statistics.median(len(r["abstract"].split()) for r in records) <= 180
    assert max(len(r["abstract"]) for r in records) <= 1_921  # arXiv's limit, and the final newline
    authors = [len(r["authors_parsed"]) for r in records]
    assert 2 <= statistics.median(authors) <= 5 and max(authors) >= 100
    versions = [len(r["versions"]) for r in records]
    assert 0.5 < versions.count(1) / len(versions) < 0.7 and max(versions) >= 5
    assert 0.3 < sum(r["doi"] is not None for r in records) / len(records) < 0.6


def test_the_import_benchmark_reports_throughput_searchability_sizes_and_memory(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_import.py"), "--papers", "3000", "--backend", "sqlite",
               "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("| sqlite | ") and "papers/s" in line for line in done.stdout.splitlines())
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["papers"] == 3_000 and "cores" in figures["machine"]
    sqlite = figures["results"]["sqlite"]
    assert sqlite["papers"] + sqlite["rejected"] == 3_000
    assert 0 < sqlite["import_s"] < sqlite["searchable_s"]
    assert sqlite["db_bytes"] > 0 and sqlite["index_bytes"] > 0 and sqlite["rss_mb"] > 0
    assert list(tmp_path.iterdir()) == []  # the corpus it made and the store are deleted


def test_the_digest_benchmark_reports_per_digest_times_and_reuses_the_store_it_built(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_digest.py"), "--papers", "2000", "--subscriptions", "200",
               "--out", str(tmp_path), "--reuse"]  # fmt: skip

    def run() -> tuple[dict, dict]:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        setup, result = done.stdout.split("\n", 1)
        return json.loads(setup), json.loads(result)

    setup, result = run()
    assert setup["papers"] == 2_000 and setup["users"] == 50 and setup["saved"] > 0
    assert result["digests"] == 200 and result["empty"] < 200 and result["papers_per_digest"] > 0
    assert 0 < result["per_digest_p50_ms"] <= result["per_digest_p95_ms"] <= result["per_digest_max_ms"]
    assert "cores" in result["machine"]
    built = (tmp_path / "digest-data-2000-200" / "paperfeed.db").stat().st_mtime_ns

    again, result = run()
    assert again == setup  # the store built the first time, not a new import
    assert result["digests"] == 200
    assert (tmp_path / "digest-data-2000-200" / "paperfeed.db").stat().st_mtime_ns == built


def test_the_semantic_search_benchmark_reports_every_mode_with_real_shaped_vectors(
    models_dir: Path, tmp_path: Path
) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_semantic.py"), "--sizes", "2000", "--skip-embedders",
               "--embedder", "minilm-static", "--models-dir", str(models_dir), "--work-dir", str(tmp_path),
               "--rounds", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|") for line in done.stdout.splitlines() if line.startswith("| 2,000 |")]
    assert [row[2].strip() for row in rows] == [
        "keyword", "semantic", "hybrid", "hybrid, filtered", "hybrid, filtered, each filter new"
    ]
    assert all(float(row[5]) >= 0.9 for row in rows)  # HNSW recall@10 of real queries
    assert (tmp_path / "store-2000" / "index" / "vectors" / "matrix.i8.npy").exists()


def test_the_first_pass_benchmark_compares_cross_fitted_provisional_vectors_with_the_default(
    models_dir: Path, tmp_path: Path
) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_first_pass.py"), "--folds", "2", "--speed-papers", "300",
               "--embedder", "minilm-static", "--models-dir", str(models_dir), "--data-dir", str(tmp_path),
               "--json", str(tmp_path / "results.json")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "hybrid nDCG@10" in done.stdout and "abstracts/s" in done.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    first_pass = next(label for label in results if label.startswith("first pass"))
    for mode in ("semantic", "hybrid"):
        assert set(results[first_pass][mode]) == {"known-item", "topic", "exact", "all"}
        assert 0 < results[first_pass][mode]["all"][1] <= 1


def test_the_load_test_reports_latency_per_kind_of_request_and_checks_every_vote(models_dir: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "load_test.py"), "--users", "4", "--seconds", "4",
               "--think", "0.05", "0.1"]  # fmt: skip
    env = {**os.environ, "PAPERFEED_MODELS_DIR": str(models_dir), "PAPERFEED_EMBEDDER": "minilm-static"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "errors:    0" in done.stdout and "0 lost or phantom votes" in done.stdout
    kinds = {line.split("|")[1].strip() for line in done.stdout.splitlines() if line.startswith("| ")}
    assert {"home", "paper page"} <= kinds and any(kind.startswith("search ") for kind in kinds)


def test_the_load_test_builds_a_synthetic_store_of_the_size_asked(models_dir: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "load_test.py"), "--papers", "1500", "--users", "3",
               "--seconds", "3", "--think", "0.05", "0.1"]  # fmt: skip
    env = {**os.environ, "PAPERFEED_MODELS_DIR": str(models_dir), "PAPERFEED_EMBEDDER": "minilm-static"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "building 1,500 synthetic papers (minilm-static)" in done.stdout
    assert "errors:    0" in done.stdout and "0 lost or phantom votes" in done.stdout
    searches = [line for line in done.stdout.splitlines() if line.startswith("| search ")]
    assert searches  # the synthetic store answers every mode


def test_the_load_test_on_a_store_of_the_semantic_benchmark_serves_the_vectors_it_brought(
    models_dir: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PAPERFEED_MODELS_DIR": str(models_dir), "PAPERFEED_EMBEDDER": "minilm-static"}
    build = [sys.executable, str(BENCHMARKS / "bench_semantic.py"), "--sizes", "1500", "--skip-embedders",
             "--embedder", "minilm-static", "--models-dir", str(models_dir), "--work-dir", str(tmp_path),
             "--rounds", "1"]  # fmt: skip
    assert subprocess.run(build, capture_output=True, timeout=600, check=False, env=env).returncode == 0
    vectors = tmp_path / "store-1500" / "index" / "vectors"
    graph = (vectors / "vectors.usearch").stat().st_mtime_ns
    command = [sys.executable, str(BENCHMARKS / "load_test.py"), "--data-dir", str(tmp_path / "store-1500"),
               "--users", "3", "--seconds", "4", "--think", "0.05", "0.1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "serving without the embedding worker" in done.stdout and "errors:    0" in done.stdout
    # Not replaced by a new index of the store's papers, embedded while the load ran.
    assert (vectors / "vectors.usearch").stat().st_mtime_ns == graph
    assert VectorIndex(vectors).built_outside_the_store
