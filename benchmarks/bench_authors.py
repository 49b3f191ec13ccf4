"""Author pages over a large store: the papers whose authors' terms in the keyword index the
name's pattern matches, their author lists read from the store, then exact name matching.

    python benchmarks/bench_authors.py [--papers 100000] [--database-url URL]

Setup: `--papers` synthetic papers straight into the store, each with one to eight authors
drawn from `corpus.py`'s 575 names (23 share each surname: a surname is on about one paper in
six, a heavier load than arXiv's commonest), plus a family of "Smith" variants; then the keyword
index is built (timed apart). Timed: an author's first view (papers, co-authors, categories
and variants) and the next page (the profile is kept until the index changes), for a frequent
name and for "John Smith" with its variants; the digest's question "what is new by this author
since yesterday" (here every paper is new: the worst case); and, on its own, the index term of
a name never seen before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from corpus import CATEGORIES, FIRST, LAST  # noqa: E402

from paperfeed.config import Settings  # noqa: E402
from paperfeed.core import PaperFeed  # noqa: E402
from paperfeed.library.authors import Authors, index_term, parse  # noqa: E402
from paperfeed.models import PaperRecord  # noqa: E402
from paperfeed.text import finish_record  # noqa: E402

SMITHS = ["John Smith", "J. Smith", "John A. Smith", "Jane Smith", "Smith, John"]


def fill(core: PaperFeed, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    names = [
        f"{f} {chr(65 + i % 26)}. {last}" for i, (f, last) in enumerate((f, la) for f in FIRST for la in LAST)
    ]
    today = dt.date.today()
    batch: list[PaperRecord] = []
    for i in range(n):
        authors = rng.sample(names, rng.randint(1, 8))
        if i % 500 == 0:
            authors.append(SMITHS[(i // 500) % len(SMITHS)])
        record = PaperRecord(
            title=f"Synthetic paper {i}",
            abstract="",
            authors=authors,
            categories=rng.sample(CATEGORIES, 2),
            arxiv_id=f"{2000 + i // 100_000}.{i % 100_000:05d}",
            published=today - dt.timedelta(days=rng.randint(0, 3650)),
            source="bench",
        )
        batch.append(finish_record(record))
        if len(batch) == 5_000 or i == n - 1:
            with core.store.engine.begin() as conn:
                core.store.papers.merge_batch(conn, batch)
            batch.clear()


def timed(action, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        core = PaperFeed(Settings(data_dir=Path(tmp), database_url=args.database_url))
        started = time.perf_counter()
        fill(core, args.papers)
        print(f"{args.papers:,} papers on {core.store.dialect} in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        core.keyword.sync(core.store)
        print(f"keyword index built in {time.perf_counter() - started:.0f} s")
        frequent = core.store.papers.get_many([1])[0].authors[0]
        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        for label, name in (("frequent name", frequent), ("Smith variants", "John Smith")):
            profile = Authors(core.store, core.keyword).profile(name)
            cold = timed(lambda name=name: Authors(core.store, core.keyword).profile(name))  # nothing kept
            warm = timed(lambda name=name: core.author(name, page=2))  # the next page, index unchanged
            print(
                f"{label:>15}: {name!r}: {len(profile.paper_ids)} papers, {len(profile.variants)} variants: "
                f"first view {cold:.0f} ms, next page {warm:.0f} ms"
            )
        ms = timed(
            lambda: core.authors.new_papers(
                "John Smith", since=dt.date.today(), first_seen_after=yesterday, limit=20
            )
        )
        print(f"new papers since yesterday (digest): {ms:.0f} ms")
        core.close()
    print(f"index terms of names not seen before: {term_cost():.1f} µs a name")


def term_cost(count: int = 100_000) -> float:
    """What filing authors costs the keyword index, for names the name cache has not met (the
    store above reuses 575 names, which the cache hides)."""
    rng = random.Random(11)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10))).title()

    names = [f"{word()} {rng.choice(string.ascii_uppercase)}. {word()}" for _ in range(count)]
    parse.cache_clear()
    started = time.perf_counter()
    for name in names:
        index_term(name)
    return (time.perf_counter() - started) / count * 1e6


if __name__ == "__main__":
    main()
