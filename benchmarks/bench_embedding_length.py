"""The default embedder's throughput (all-MiniLM-L6-v2, fused int8 ONNX) at several token limits,
on the demo abstracts (title + abstract, as papers are embedded), against the machine's peak.

    .venv/bin/python benchmarks/bench_embedding_length.py               # 128, 256 and 384 tokens
    .venv/bin/python benchmarks/bench_embedding_length.py --lengths 256 --limit 300

Reports, for each limit: the mean number of tokens actually embedded, the transformer's GFLOP per
abstract at those lengths, abstracts per second of wall time as the embedder runs (batches on
every core), abstracts per CPU-second on one core, and the share of the core's int8 peak that
the CPU-second figure reaches. The CPU-second figure is the fair comparison on a shared machine
(it does not count time the process waits for a core); the wall figure is what an idle machine
gives. The last line says how long the whole arXiv (2.6 million abstracts) would take.
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

from machine import cores, cpu_flags, cpu_ghz, describe  # noqa: E402

ARXIV_ABSTRACTS = 2_600_000
LAYERS, HIDDEN, FFN = 6, 384, 1536  # all-MiniLM-L6-v2
# int8 multiply-adds count two operations. Per core and cycle, for each unit the CPU reports
# (its /proc/cpuinfo flag): AMX, one 16×64 by 64×16 tile product (TDPBUSD) every 16 cycles (1,024
# multiply-adds a cycle); AVX-512 VNNI, two 512-bit VPDPBUSD a cycle (2 × 64); AVX-VNNI, the
# same at 256 bits (2 × 32); plain AVX2, two 256-bit VPMADDUBSW a cycle (2 × 32 products, summed
# in pairs; the widening add that follows is not counted, so this peak is generous).
INT8_UNITS = (
    ("AMX", "amx_int8", 2048),
    ("VNNI", "avx512_vnni", 256),
    ("AVX-VNNI", "avx_vnni", 128),
    ("AVX2", "avx2", 128),
)


def int8_ops_per_cycle(flags: set[str]) -> dict[str, int]:
    """One core's int8 operations a cycle on each unit the flags name, widest first: only units
    the CPU has, so a share of peak is never of hardware it lacks."""
    return {unit: ops for unit, flag, ops in INT8_UNITS if flag in flags}


def transformer_flops(tokens: int) -> int:
    """Floating-point (or integer) operations of one text of `tokens` tokens through the encoder:
    the query, key, value and output projections and the two feed-forward matrices, plus the
    attention scores and the weighted sum of values (which grow with the square of the length).
    Layer norms, softmax and GELU are a few percent more and not counted."""
    projections = 2 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = 2 * 2 * tokens * tokens * HIDDEN
    return LAYERS * (projections + attention)


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
    from paperfeed.search.embeddings import OnnxEmbedder, prepare

    model = prepare(models_dir, "model.int8.onnx")
    default = OnnxEmbedder(model, name="bench", max_tokens=max_tokens)
    lengths = [len(e.ids) for e in default._tokenizer.encode_batch(texts)]
    default.embed(texts[:8])  # warm up
    started = time.perf_counter()
    default.embed(texts)
    wall = time.perf_counter() - started

    single = OnnxEmbedder(model, name="bench", max_tokens=max_tokens, workers=1)
    single.embed(texts[:8])
    cpu_started = time.process_time()
    single.embed(texts)
    cpu = time.process_time() - cpu_started
    return {
        "tokens": sum(lengths) / len(texts),
        "gflop": sum(transformer_flops(n) for n in lengths) / len(texts) / 1e9,
        "per_second": len(texts) / wall,
        "per_cpu_second": len(texts) / cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="128,256,384", help="token limits, comma-separated")
    parser.add_argument("--limit", type=int, default=707, help="abstracts to embed (the demo has 707)")
    parser.add_argument("--models-dir", type=Path, default=None, help="where prepared models are kept")
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",")]
    models_dir = args.models_dir or Path(tempfile.gettempdir()) / "paperfeed-bench-models"
    texts = demo_texts(args.limit)
    ghz = cpu_ghz()
    peaks = {unit: ops * ghz for unit, ops in int8_ops_per_cycle(cpu_flags()).items()}  # GOP/s of one core
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# {len(texts)} demo abstracts · {describe()} · load average {load}")
    units = " / ".join(peaks) or "no int8 unit reported"
    print(
        f"# int8 peak of one core at {ghz:.1f} GHz: "
        + (", ".join(f"{unit} {peak:,.0f} GOP/s" for unit, peak in peaks.items()) or units)
    )
    print(
        f"| token limit | mean tokens embedded | GFLOP per abstract | abstracts/s (wall, {cores()} cores) "
        f"| abstracts per CPU-second (1 core) | share of one core's int8 peak ({units}) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    base = None
    for length in lengths:
        result = measure(texts, length, models_dir)
        base = base or result
        relative = base["per_cpu_second"] / result["per_cpu_second"]
        achieved = result["per_cpu_second"] * result["gflop"]  # GOP/s of one core
        print(
            f"| {length} | {result['tokens']:.0f} | {result['gflop']:.2f} | {result['per_second']:.1f} | "
            f"{result['per_cpu_second']:.1f} ({relative:.2f}× the cost of {lengths[0]}) | "
            f"{' / '.join(f'{achieved / peak:.1%}' for peak in peaks.values()) or 'n/a'} |"
        )
        print(
            f"# {length} tokens: the whole arXiv ({ARXIV_ABSTRACTS / 1e6:.1f}M abstracts) in "
            f"{ARXIV_ABSTRACTS / result['per_second'] / 3600:.1f} h at the wall rate, "
            f"{ARXIV_ABSTRACTS / (result['per_cpu_second'] * cores()) / 3600:.1f} h with "
            f"{cores()} cores free at the CPU-second rate"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
