"""Building e-mail digests for many subscriptions over a large store.

    python benchmarks/bench_digest.py [--papers 100000] [--subscriptions 10000] [--send]
        [--out DIR] [--reuse]

Setup (not timed as digest building): a synthetic corpus in the arXiv snapshot format from
`corpus.py`, whose newest papers are re-dated over the last 30 days at about 700 a day (arXiv's
current daily rate, so a digest's window holds thousands of new papers), imported with
`core.import_sources(open_sources(path, "arxiv-snapshot"))` and indexed for keyword search; synthetic 384-dimensional embeddings (a mixture of
topic directions plus noise: running the sentence model over 100k abstracts would take far
longer than the benchmark itself and measures the embedder, not the digests); users with
upvotes and saved papers (some upvotes in the last day, for trending); and subscriptions, each
with one to three saved searches drawn from a popularity-skewed pool of queries and filters,
half with trending, half of those owned by users with recommendations.

Timed: composing and rendering (text and HTML) every subscription's digest, as a run does,
with the run-wide caches a run uses. With --send, also a full `run_due` (ledger claims, sending
over SMTP to a local aiosmtpd sink in another process, marking sent).

The corpus and the built store live under --out (default benchmarks/out). With --reuse, a store
built earlier the same day for the same sizes is opened as it is instead of being rebuilt, so
repeated measurements skip the import (a --send run marks its digests sent: rebuild after one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

RECENT_DAYS = 30
PER_DAY = 700
DIM = 384
TOPICS = 60
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_corpus(n: int, today: dt.date, out_dir: Path) -> Path:
    """corpus.py's papers, the newest RECENT_DAYS * PER_DAY of them re-dated into the last month."""
    import io

    from corpus import generate

    path = out_dir / f"corpus-digest-{n}-{today.isoformat()}.jsonl"
    if path.exists():
        return path
    buffer = io.BytesIO()
    generate(n, buffer)
    recent = min(n, RECENT_DAYS * PER_DAY)
    lines = buffer.getvalue().splitlines()
    out_dir.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for i, line in enumerate(lines):
            if i >= n - recent:
                record = orjson.loads(line)
                day = today - dt.timedelta(days=RECENT_DAYS - 1 - (i - (n - recent)) * RECENT_DAYS // recent)
                record["versions"][0]["created"] = (
                    f"Mon, {day.day} {MONTHS[day.month - 1]} {day.year} 12:00:00 GMT"
                )
                record["update_date"] = day.isoformat()
                line = orjson.dumps(record)
            out.write(line + b"\n")
    return path


def query_pool(rng: random.Random) -> list[dict]:
    """Saved searches people might keep: one or two topic words, some with a filter."""
    from corpus import CATEGORIES, vocabulary

    words = [w for w in vocabulary()[40:1500] if len(w) > 4]
    pool = []
    for _ in range(400):
        query = " ".join(rng.sample(words, rng.choice([1, 1, 2])))
        filters: dict = {}
        roll = rng.random()
        if roll < 0.25:
            filters["category"] = rng.choice(CATEGORIES)
        elif roll < 0.35:
            filters["has_code"] = True
        pool.append({"query": query, "mode": "keyword", "filters": filters})
    return pool


def populate(core, n_subscriptions: int, seed: int = 11) -> dict:
    """Embeddings, users with likes and votes, and subscriptions, written in bulk."""
    import sqlalchemy as sa

    from paperfeed.store.collections import DEFAULT_NAME, collections, new_token, saved_papers
    from paperfeed.store.schema import users, votes
    from paperfeed.store.subscriptions import subscriptions

    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    engine = core.store.engine
    with engine.connect() as conn:
        paper_ids = np.array(conn.execute(sa.text("SELECT id FROM papers ORDER BY id")).scalars().all())
    n = len(paper_ids)

    started = time.perf_counter()
    centroids = np_rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    topic_of = np_rng.integers(0, TOPICS, size=n)
    for start in range(0, n, 5_000):
        chunk = slice(start, start + 5_000)
        vectors = centroids[topic_of[chunk]] + 0.8 * np_rng.normal(size=(len(paper_ids[chunk]), DIM)).astype(
            np.float32
        )
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        core.store.embeddings.put_many(
            "synthetic@1", [(int(i), "h", v) for i, v in zip(paper_ids[chunk], vectors, strict=True)]
        )
    embed_s = time.perf_counter() - started

    now = dt.datetime.now(dt.UTC)
    n_users = n_subscriptions // 4  # subscriptions with recommendations belong to users
    by_topic = [paper_ids[topic_of == t] for t in range(TOPICS)]
    recent_ids = paper_ids[-RECENT_DAYS * PER_DAY :]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(users),
            [
                {"name": f"user{i}", "name_key": f"user{i}", "password_hash": "x", "is_admin": False,
                 "suspended": False, "created_at": now - dt.timedelta(days=400)}
                for i in range(n_users)
            ],
        )  # fmt: skip
        user_ids = conn.execute(sa.select(users.c.id).order_by(users.c.id)).scalars().all()
        # Saved papers go into each user's default collection, as the Save button files them.
        conn.execute(
            sa.insert(collections),
            [
                {"user_id": u, "name": DEFAULT_NAME, "default_for": u, "share_token": new_token(),
                 "feed_token": new_token(), "created_at": now, "updated_at": now}
                for u in user_ids
            ],
        )  # fmt: skip
        collection_of = dict(conn.execute(sa.select(collections.c.default_for, collections.c.id)).all())
        vote_rows, saved_rows = [], []
        for user_id in user_ids:
            interests = rng.sample(range(TOPICS), rng.choice([1, 2, 3]))
            liked: set[int] = set()
            for _ in range(rng.randint(5, 40)):
                liked.add(int(rng.choice(by_topic[rng.choice(interests)])))
            for paper_id in liked:
                at = now - dt.timedelta(days=rng.uniform(1, 300))
                if rng.random() < 0.3:
                    saved_rows.append({"collection_id": collection_of[user_id], "user_id": user_id,
                                       "paper_id": paper_id, "created_at": at})  # fmt: skip
                else:
                    vote_rows.append({"user_id": user_id, "paper_id": paper_id, "created_at": at})
            # A few fresh upvotes on recent papers make today's trending list.
            for paper_id in {int(rng.choice(recent_ids)) for _ in range(2)}:
                if paper_id not in liked:
                    vote_rows.append(
                        {
                            "user_id": user_id,
                            "paper_id": paper_id,
                            "created_at": now - dt.timedelta(hours=rng.uniform(0, 20)),
                        }
                    )
        conn.execute(sa.insert(votes), vote_rows)
        conn.execute(sa.insert(saved_papers), saved_rows)

        pool = query_pool(rng)
        weights = [1 / (k + 1) for k in range(len(pool))]
        rows = []
        for i in range(n_subscriptions):
            with_user = i < n_users
            searches = rng.choices(pool, weights=weights, k=rng.choice([1, 2, 3]))
            rows.append(
                {
                    "email": f"reader{i}@bench.example.org",
                    "confirmed_at": now - dt.timedelta(days=30),
                    "user_id": user_ids[i] if with_user else None,
                    "frequency": "weekly" if i % 7 == 0 else "daily",
                    "weekday": 0,
                    "hour": 0,
                    "timezone": "UTC",
                    "include_trending": i % 2 == 0,
                    "top_n": 10,
                    "saved_searches": searches,
                    "include_recommendations": with_user,
                    "feed_token": f"bench-{i}",
                    "created_at": now - dt.timedelta(days=30),
                }
            )
        conn.execute(sa.insert(subscriptions), rows)
    return {
        "embeddings_s": round(embed_s, 1),
        "users": n_users,
        "votes": len(vote_rows),
        "saved": len(saved_rows),
        "distinct_saved_searches": len(
            {json.dumps(s, sort_keys=True) for r in rows for s in r["saved_searches"]}
        ),
        "saved_searches": sum(len(r["saved_searches"]) for r in rows),
    }


def build_all(core, now: dt.datetime) -> dict:
    """Compose and render every due digest, as `run_due` does, without sending."""
    from paperfeed.digest.links import Links
    from paperfeed.digest.runner import due_subscriptions, single_threaded_blas, start_composing

    started, cpu_started = time.perf_counter(), time.process_time()
    due = due_subscriptions(core, now)
    per_digest, papers, empty = [], 0, 0
    with single_threaded_blas():
        composer, since = start_composing(core, Links(core.settings), due, now)
        setup_s = time.perf_counter() - started
        for subscription, period in due:
            t0 = time.perf_counter()
            digest = composer.compose(subscription, period, since=since.get(subscription.id))
            if digest.is_empty:
                empty += 1
            else:
                composer.render(digest)
            per_digest.append((time.perf_counter() - t0) * 1000)
            papers += digest.paper_count
    total_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started  # on a shared machine, less noisy than the wall clock
    per_digest.sort()
    return {
        "digests": len(due),
        "empty": empty,
        "papers_per_digest": round(papers / max(len(due), 1), 1),
        "total_s": round(total_s, 1),
        "cpu_s": round(cpu_s, 1),
        "setup_s": round(setup_s, 2),
        "per_digest_mean_ms": round(statistics.fmean(per_digest), 2),
        "per_digest_p50_ms": round(per_digest[len(per_digest) // 2], 2),
        "per_digest_p95_ms": round(per_digest[int(len(per_digest) * 0.95)], 2),
        "per_digest_max_ms": round(per_digest[-1], 1),
        "rss_mb": round(peak_rss_mb()),
    }


def send_all(core, now: dt.datetime) -> dict:
    """A full run: claims, composing, SMTP to a sink in another process, marking sent."""
    from paperfeed.digest.runner import run_due

    port = 20_000 + random.randrange(20_000)
    sink = subprocess.Popen(
        [sys.executable, "-c", f"""
import asyncio
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port={port}); c.start()
import time; time.sleep(3600)
"""],
    )  # fmt: skip
    time.sleep(1.5)
    try:
        core.settings = core.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        )
        started = time.perf_counter()
        report = run_due(core, now)
        return {
            "run_s": round(time.perf_counter() - started, 1),
            **report.as_dict(),
            "errors": len(report.errors),
        }
    finally:
        sink.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--send", action="store_true", help="also time a full run_due sending over SMTP")
    parser.add_argument("--out", type=Path, default=OUT, help="where the corpus and the built store go")
    parser.add_argument("--reuse", action="store_true", help="open a store built today for these sizes as it is")
    args = parser.parse_args()

    from machine import describe

    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed

    today = dt.datetime.now(dt.UTC).date()
    data_dir = args.out / f"digest-data-{args.papers}-{args.subscriptions}"
    # Written last, so a store whose setup was interrupted is never reused.
    built = data_dir / "bench-setup.json"
    if args.reuse and built.exists() and json.loads(built.read_text())["date"] == today.isoformat():
        core = PaperFeed(Settings(data_dir=data_dir, base_url="https://papers.example.org"))
        print(built.read_text(), flush=True)
    else:
        corpus = make_corpus(args.papers, today, args.out)
        shutil.rmtree(data_dir, ignore_errors=True)
        core = PaperFeed(Settings(data_dir=data_dir, base_url="https://papers.example.org"))

        from paperfeed.ingest import open_sources

        started = time.perf_counter()
        # The keyword index only: the synthetic embeddings below stand in for the sentence model's.
        [report] = core.import_sources(open_sources(corpus, "arxiv-snapshot"), sync=False)
        core.keyword.sync(core.store)
        import_s = time.perf_counter() - started
        setup = populate(core, args.subscriptions)
        summary = json.dumps(
            {"date": today.isoformat(), "papers": report.added, "import_and_index_s": round(import_s, 1), **setup}
        )
        built.write_text(summary)
        print(summary, flush=True)

    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    result = {"machine": describe(), **build_all(core, now)}
    if args.send:
        result["send"] = send_all(core, now)
    print(json.dumps(result, indent=2))
    core.close()


if __name__ == "__main__":
    main()
