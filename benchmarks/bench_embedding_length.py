"""What reading more of each abstract costs: the default embedder (all-MiniLM-L6-v2, int8 ONNX)
cut at several token limits, on the demo abstracts (title + abstract, as papers are embedded).

    .venv/bin/python benchmarks/bench_embedding_length.py               # 128, 256 and 384 tokens
    .venv/bin/python benchmarks/bench_embedding_length.py --lengths 128,256 --limit 300

Reports, for each limit: the mean number of tokens actually embedded, abstracts per second of
wall time with ONNX Runtime's default threads, and abstracts per CPU-second on one thread.
The CPU-second figure is the fair comparison on a shared machine (it does not count time the
process waits for a core); the wall figure is what an idle machine gives.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "paperfeed" / "demo" / "hf-daily-papers"
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import describe  # noqa: E402


def demo_texts(limit: int) -> list[str]:
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources
    from paperfeed.search.embeddings import paper_text

    with tempfile.TemporaryDirectory() as data_dir:
        core = PaperFeed(Settings(data_dir=Path(data_dir)))
        core.import_sources(open_sources(DEMO, None), sync=False)
        texts = [
            paper_text(paper.title, paper.abstract)
            for chunk in core.store.papers.changed_since(None)
            for paper in chunk
        ]
        core.close()
    return texts[:limit]


def measure(texts: list[str], max_tokens: int, models_dir: Path) -> dict[str, float]:
    import onnxruntime as ort

    from paperfeed.search import embeddings
    from paperfeed.search.embeddings import OnnxEmbedder, prepare

    model = prepare(models_dir, "model.int8.onnx")
    default = OnnxEmbedder(model, name="bench", max_tokens=max_tokens)
    tokens = sum(len(e.ids) for e in default._tokenizer.encode_batch(texts)) / len(texts)
    default.embed(texts[:8])  # warm up
    started = time.perf_counter()
    default.embed(texts)
    wall = time.perf_counter() - started

    def one_thread(path: Path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    real_session = embeddings._onnx_session
    embeddings._onnx_session = one_thread
    try:
        single = OnnxEmbedder(model, name="bench", max_tokens=max_tokens)
    finally:
        embeddings._onnx_session = real_session
    single.embed(texts[:8])
    cpu_started = time.process_time()
    single.embed(texts)
    cpu = time.process_time() - cpu_started
    return {"tokens": tokens, "per_second": len(texts) / wall, "per_cpu_second": len(texts) / cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="128,256,384", help="token limits, comma-separated")
    parser.add_argument("--limit", type=int, default=707, help="abstracts to embed (the demo has 707)")
    parser.add_argument("--models-dir", type=Path, default=None, help="where prepared models are kept")
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",")]
    models_dir = args.models_dir or Path(tempfile.gettempdir()) / "paperfeed-bench-models"
    texts = demo_texts(args.limit)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# {len(texts)} demo abstracts · {describe()} · load average {load}")
    print("| token limit | mean tokens embedded | abstracts/s (default threads) | abstracts per CPU-second (1 thread) |")
    print("|---:|---:|---:|---:|")
    base = None
    for length in lengths:
        result = measure(texts, length, models_dir)
        base = base or result
        relative = base["per_cpu_second"] / result["per_cpu_second"]
        print(
            f"| {length} | {result['tokens']:.0f} | {result['per_second']:.1f} | "
            f"{result['per_cpu_second']:.1f} ({relative:.2f}× the cost of {lengths[0]}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
