"""A bounded load run on loopback: simulated users browse, search and vote for a fixed time.

    python benchmarks/load_test.py --backend sqlite --users 50 --seconds 60
    python benchmarks/load_test.py --backend postgresql --users 50 --seconds 60 --workers 2
    python benchmarks/load_test.py --backend postgresql --papers 1000000   # a large synthetic store
    python benchmarks/load_test.py --data-dir /path/to/store --users 50 --seconds 60   # a store of your own

Sets up its own instance (demo data, or with `--papers N` the synthetic store of the semantic
benchmark: N papers, real-shaped vectors of the default model; one account per simulated user),
or uses the instance in `--data-dir` (adding the accounts it lacks), starts `paperfeed serve` on
127.0.0.1, and reports
requests/s, latency percentiles (overall and per kind of request) and errors. Searches use every
mode, a third of them with filters (a category, a date range, or both). At the end it checks
that every vote a user saw acknowledged is in the database: no lost updates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

QUERIES = [
    "diffusion",
    "language models",
    "sparse attention",
    "mixture of experts",
    "quantization",
    "reasoning",
    '"large language models"',
    "video generation",
    "kv cache",
    "scaling laws",
]
PASSWORD = "load-test-password-1"
MODES = ("keyword", "semantic", "hybrid")
CATEGORIES = ("cs.CL", "cs.CV", "cs.LG", "cs.AI")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(data_dir: Path, database_url: str | None, users: int, *, demo: bool) -> tuple[list[str], bool]:
    """Demo data (when `demo`) and accounts; returns the paper ids to visit, and whether the
    instance's vectors were brought by a benchmark instead of stored (see VectorIndex.build)."""
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import DEMO_DATA

    core = PaperFeed(Settings.from_env(data_dir=data_dir, database_url=database_url))
    if demo:
        core.import_path(DEMO_DATA)
    for number in range(users):
        if core.store.users.by_name(f"loaduser{number}") is None:
            core.create_user(f"loaduser{number}", PASSWORD)
    ids = [p.url_id for p in core.day(per_page=100).papers]
    external = core.vectors.built_outside_the_store
    core.close()
    return ids, external


def build_synthetic(papers: int, data_dir: Path, database_url: str | None) -> None:
    """The semantic benchmark's store: synthetic papers, the default model's vectors of demo
    abstracts mixed and perturbed (see bench_semantic.py), keyword and HNSW indexes."""
    from bench_semantic import build_store

    from paperfeed.config import Settings

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    print(f"building {papers:,} synthetic papers ({settings.embedder}) ...", flush=True)
    build_store(papers, data_dir, settings.model_dir, settings.embedder, database_url)


def search_params(rng: random.Random) -> tuple[str, dict[str, str]]:
    """A search as users make them: any mode, a third of them filtered."""
    mode = rng.choice(MODES)
    params = {"q": rng.choice(QUERIES), "mode": mode}
    if rng.random() < 1 / 3:
        kind = rng.choice(("category", "since", "both"))
        if kind in ("category", "both"):
            params["category"] = rng.choice(CATEGORIES)
        if kind in ("since", "both"):
            params["from"] = "2024-01-01"
        mode += ", filtered"
    return f"search {mode}", params


class VirtualUser:
    def __init__(
        self, number: int, base: str, paper_ids: list[str], deadline: float, think: tuple[float, float]
    ) -> None:
        self.think = think
        self.name = f"loaduser{number}"
        self.client = httpx.AsyncClient(base_url=base, timeout=30)
        self.paper_ids = paper_ids
        self.deadline = deadline
        self.rng = random.Random(number)
        self.csrf = ""
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.voted: dict[str, bool] = {}  # paper -> state the server last acknowledged

    async def log_in(self) -> None:
        session = (await self.client.get("/api/session")).json()
        self.csrf = session["csrf_token"]
        response = await self.client.post(
            "/login", data={"name": self.name, "password": PASSWORD, "csrf_token": self.csrf}
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{self.name} could not log in: {response.status_code}")
        self.csrf = (await self.client.get("/api/session")).json()["csrf_token"]

    async def step(self) -> None:
        roll = self.rng.random()
        paper = self.rng.choice(self.paper_ids)
        started = time.perf_counter()
        kind = "vote"
        try:
            if roll < 0.30:
                kind = "home" if self.rng.random() < 0.5 else "trending"
                response = await self.client.get("/" if kind == "home" else "/trending?period=week")
            elif roll < 0.60:
                kind, params = search_params(self.rng)
                response = await self.client.get("/search", params=params)
            elif roll < 0.85:
                kind = "paper page"
                response = await self.client.get(f"/papers/{paper}")
            else:
                response = await self.client.post(
                    f"/api/papers/{paper}/vote", headers={"X-CSRF-Token": self.csrf}
                )
                if response.status_code == 200:
                    self.voted[paper] = response.json()["voted"]
            if response.status_code >= 400:
                self.errors[f"HTTP {response.status_code}"] += 1
        except httpx.HTTPError as exc:
            self.errors[type(exc).__name__] += 1
        elapsed = (time.perf_counter() - started) * 1000
        self.latencies.append(elapsed)
        self.by_kind.setdefault(kind, []).append(elapsed)

    async def run(self) -> None:
        # People arrive at random moments, not all with the same click: fifty first requests at
        # one instant queued for over a second behind each other, on any server.
        if self.think[1] > 0:
            await asyncio.sleep(self.rng.uniform(0, self.think[1]))
        while time.monotonic() < self.deadline:
            await self.step()
            if self.think[1] > 0:  # a person reads the page before the next click
                await asyncio.sleep(self.rng.uniform(*self.think))
        await self.client.aclose()


async def load(
    base: str, users: int, seconds: float, paper_ids: list[str], think: tuple[float, float]
) -> tuple[list[VirtualUser], float]:
    crowd = [VirtualUser(n, base, paper_ids, 0, think) for n in range(users)]
    # People log in over time, not all within the same instant: the failed-log-in limit of one
    # address reserves a slot for every log-in in flight (20), so a burst of 50 at once is refused.
    gate = asyncio.Semaphore(10)

    async def log_in(user: VirtualUser) -> None:
        async with gate:
            await user.log_in()

    await asyncio.gather(*(log_in(u) for u in crowd))
    started = time.monotonic()
    for user in crowd:
        user.deadline = started + seconds
    await asyncio.gather(*(u.run() for u in crowd))
    return crowd, time.monotonic() - started


def lost_votes(data_dir: Path, database_url: str | None, crowd: list[VirtualUser]) -> int:
    """Acknowledged votes missing from the store, plus stored votes the users withdrew."""
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed

    core = PaperFeed(Settings.from_env(data_dir=data_dir, database_url=database_url))
    wrong = 0
    for user in crowd:
        account = core.store.users.by_name(user.name)
        for ref, voted in user.voted.items():
            paper = core.paper(ref)
            state = core.vote_states([paper.id], account)[paper.id]
            wrong += state.voted != voted
    core.close()
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="use this instance instead of a fresh demo one")
    parser.add_argument("--papers", type=int, help="a fresh instance of this many synthetic papers, not the demo")
    parser.add_argument("--database-url", help="with --data-dir: the instance's database, if not SQLite")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds each user waits between clicks (uniform); 0 0 for a closed loop at full speed",
    )
    args = parser.parse_args()
    from machine import describe

    print(f"machine: {describe()}")
    server_pg = None
    with tempfile.TemporaryDirectory(prefix="paperfeed-load-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        database_url = args.database_url
        if args.backend == "postgresql" and not args.data_dir:
            from backends import PostgresServer

            server_pg = PostgresServer.start()
            database_url = server_pg.new_database(migrated=False)
        env = {**os.environ, "PAPERFEED_DATA_DIR": str(data_dir)}
        if args.papers and not args.data_dir:
            build_synthetic(args.papers, data_dir, database_url)
            # Its vectors go straight into the index, not the store: nothing is left to embed.
            env["PAPERFEED_EMBED_WORKER"] = "0"
        elif args.data_dir is None:
            # The fresh demo instance embeds quickly with the static model; an instance of your
            # own keeps its embedder (another would re-embed it, and embed queries differently).
            env.setdefault("PAPERFEED_EMBEDDER", "minilm-static")
        if database_url:
            env["PAPERFEED_DATABASE_URL"] = database_url
        os.environ.update(env)
        paper_ids, external_vectors = prepare(
            data_dir, database_url, args.users, demo=args.data_dir is None and not args.papers
        )
        if external_vectors and env.get("PAPERFEED_EMBED_WORKER") != "0":
            # The server's embedding worker would not take that index for the store's: it would
            # start a new one and embed every paper again while the load ran.
            print("vectors brought by the semantic benchmark: serving without the embedding worker")
            env["PAPERFEED_EMBED_WORKER"] = "0"
        port = free_port()
        server_log = Path(tmp) / "server.log"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paperfeed.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log.open("w"),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Ready when a cheap page answers: a probe that can time out would pile requests up
            # in a server still busy with the ones it abandoned.
            for _ in range(600):
                try:
                    if httpx.get(base + "/api/session", timeout=30).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            crowd, elapsed = asyncio.run(load(base, args.users, args.seconds, paper_ids, tuple(args.think)))
        finally:
            server.terminate()
            server.wait(timeout=30)
        latencies = sorted(ms for user in crowd for ms in user.latencies)
        errors = sum((user.errors for user in crowd), Counter())
        wrong = lost_votes(data_dir, database_url, crowd)
        failures = [
            line for line in server_log.read_text().splitlines() if "Error" in line or "error" in line
        ]
        if failures:
            print("server errors (last 5):", *failures[-5:], sep="\n  ")
        if server_pg is not None:
            server_pg.stop()
    count = len(latencies)
    print(
        f"\n== load: {args.users} users for {args.seconds:.0f} s, {args.backend}, {args.workers} worker(s) =="
    )
    print(f"requests:  {count:,} ({count / elapsed:,.0f}/s)")
    print(
        f"latency:   p50 {statistics.median(latencies):.1f} ms, p95 {latencies[int(count * 0.95) - 1]:.1f} ms, "
        f"p99 {latencies[int(count * 0.99) - 1]:.1f} ms"
    )
    print(f"errors:    {sum(errors.values())} {dict(errors) if errors else ''}")
    kinds: dict[str, list[float]] = {}
    for user in crowd:
        for kind, values in user.by_kind.items():
            kinds.setdefault(kind, []).extend(values)
    print("\n| request | count | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for kind, values in sorted(kinds.items()):
        values.sort()
        print(f"| {kind} | {len(values):,} | {statistics.median(values):.1f} | {values[max(0, int(len(values) * 0.95) - 1)]:.1f} |")
    print(f"votes:     {sum(len(u.voted) for u in crowd):,} papers voted on; {wrong} lost or phantom votes")


if __name__ == "__main__":
    main()
