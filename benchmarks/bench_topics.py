"""Topics and the topic map at scale: `paperfeed topics rebuild` time and peak memory, and the map
page's load time and frame rate in headless Chromium.

    python benchmarks/bench_topics.py --papers 100000 --papers 1000000 [--map]

Each size gets a fresh SQLite store: a synthetic corpus (benchmarks/corpus.py) imported as the
arXiv snapshot, and one synthetic unit vector per paper drawn around 300 random centres, stored
as the `minilm-static` embedder's (so the server finds every paper embedded; the embedders
themselves are measured by bench_semantic.py). The rebuild and the
map run in their own processes, so each peak RSS is that phase's alone. The map is measured
on the first size: page load (navigation to every point drawn) and frames while zooming and
panning continuously for five seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

EMBEDDER = "minilm-static"
CENTRES = 300
CHROMIUM = "/usr/bin/chromium"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_prepare(data_dir: str, papers: str) -> None:
    from corpus import generate

    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources

    n = int(papers)
    corpus = Path(data_dir) / "corpus.jsonl"
    with corpus.open("wb") as out:
        generate(n, out)
    from paperfeed.search.vectors import text_hash

    core = PaperFeed(_settings(data_dir))
    core.import_sources(open_sources(corpus, "arxiv-snapshot"), sync=False)
    corpus.unlink()
    model, dim = core.embedder.key, core.embedder.dim
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, dim)).astype(np.float32)
    for rows in core.store.papers.changed_since(None, columns=("title", "abstract"), chunk=20_000):
        noise = rng.standard_normal((len(rows), dim)).astype(np.float32)
        vectors = centres[rng.integers(0, CENTRES, len(rows))] + 0.8 * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        core.store.embeddings.put_many(
            model, [(r.id, text_hash(r), v) for r, v in zip(rows, vectors, strict=True)]
        )
    core.keyword.sync(core.store)  # the map's search reads the keyword index
    print(json.dumps({"papers": core.store.papers.count()}))


def _settings(data_dir: str):
    from paperfeed.config import Settings

    return Settings(data_dir=Path(data_dir), embedder=EMBEDDER, models_dir=_models_dir())


def _models_dir() -> Path:
    return Path(
        os.environ.get("PAPERFEED_MODELS_DIR") or Path(tempfile.gettempdir()) / "paperfeed-test-models"
    )


def phase_build(data_dir: str) -> None:
    from paperfeed.core import PaperFeed

    core = PaperFeed(_settings(data_dir))
    started = time.perf_counter()
    report = core.insight.rebuild()
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {"papers": report.papers, "topics": report.topics, "build_s": elapsed, "rss_mb": peak_rss_mb()}
        )
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FRAMES_JS = """async () => {
  const m = paperMap; const times = []; const start = performance.now(); let frames = 0;
  await new Promise((done) => {
    const step = (now) => {
      const t = (now - start) / 1000;
      m.scale = 1 + 3 * (0.5 - 0.5 * Math.cos(t * 1.3)); m.tx = 120 * Math.sin(t); m.ty = 80 * Math.cos(t * 0.7);
      m.draw(); times.push(m.lastFrameMs); frames++;
      if (now - start < 5000) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  times.sort((a, b) => a - b);
  return { fps: frames / ((performance.now() - start) / 1000), p50: times[times.length >> 1],
           p95: times[Math.floor(times.length * 0.95)], points: m.count };
}"""


def phase_map(data_dir: str) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env.update(
        PAPERFEED_DATA_DIR=data_dir, PAPERFEED_EMBEDDER=EMBEDDER, PAPERFEED_MODELS_DIR=str(_models_dir())
    )
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("paperfeed")), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/topics", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        httpx.get(base + "/map/points.json", timeout=120)  # warm the server's caches once
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            loads = []
            for _ in range(3):
                started = time.perf_counter()
                page.goto(base + "/map")
                page.wait_for_selector("#topic-map[data-ready=true]", timeout=120_000)
                page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
                loads.append(time.perf_counter() - started)
            frames = page.evaluate(FRAMES_JS)
            size = len(httpx.get(base + "/map/points.json", timeout=120).content)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({"load_s": sorted(loads)[1], "json_bytes": size, **frames}))


def run_phase(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, action="append", help="store size (repeatable); default 100000")
    parser.add_argument("--map", action="store_true", help="also measure the map page on the first size")
    args = parser.parse_args()
    from machine import describe

    print(describe())
    for i, n in enumerate(args.papers or [100_000]):
        with tempfile.TemporaryDirectory(prefix="paperfeed-bench-topics-") as data_dir:
            prepared = run_phase("prepare", data_dir, str(n))
            built = run_phase("build", data_dir)
            print(
                f"{prepared['papers']:>9,} papers: {built['topics']} topics built in {built['build_s']:.1f} s, "
                f"peak RSS {built['rss_mb']:,.0f} MB"
            )
            if args.map and i == 0:
                shown = run_phase("map", data_dir)
                print(
                    f"  map of {shown['points']:,} points: page load {shown['load_s']:.2f} s "
                    f"({shown['json_bytes'] / 1e6:.1f} MB of points), {shown['fps']:.0f} frames/s while zooming "
                    f"and panning, draw p50 {shown['p50']:.1f} ms / p95 {shown['p95']:.1f} ms"
                )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in {"prepare", "build", "map"}:
        {"prepare": phase_prepare, "build": phase_build, "map": phase_map}[sys.argv[1]](*sys.argv[2:])
    else:
        main()
