"""Checks that the evaluation set tests search rather than title matching: no known-item query
may contain a distinctive word or an acronym of its target's title.

A title word is distinctive when it is not a stop word and fewer than DISTINCTIVE_SHARE of the
corpus's papers use it (so "model" or "language" are not, "Bashforth" is); an acronym is a title
token with two or more capitals or a digit ("AB-Cache", "GPT-4", "LoRA"). A query word counts
as the title word when the two agree on their first PREFIX letters ("caching" and "cache" do
not, "speculative" and "speculation" do), or are equal.

Usage: python eval/check_queries.py [eval/queries.jsonl] [--corpus CORPUS.jsonl]
Without --corpus, the demo corpus is imported into a temporary store. Exits 1 on a violation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

DISTINCTIVE_SHARE = 0.05
PREFIX = 6
STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "into", "is", "it", "its", "of", "on", "or", "our", "the", "their", "this", "to", "via", "we", "what", "when", "where", "which", "while", "who", "why", "with", "without", "towards", "toward", "using", "do", "does", "can", "vs", "versus"]
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]


def is_acronym(token: str) -> bool:
    return sum(c.isupper() for c in token) >= 2 or any(c.isdigit() for c in token)


def same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    return len(a) >= PREFIX and len(b) >= PREFIX and a[:PREFIX] == b[:PREFIX]


def violations(query: str, title: str, document_share: dict[str, float]) -> list[str]:
    """The title words and acronyms that `query` gives away."""
    found = []
    query_words = words(query)
    for token in _WORD.findall(title):
        acronym = is_acronym(token)
        for part in words(token):
            if part in STOP_WORDS or (len(part) < 3 and not acronym):
                continue
            if not acronym and document_share.get(part, 0.0) >= DISTINCTIVE_SHARE:
                continue
            if any(same_word(q, part) for q in query_words):
                found.append(token)
                break
    return found


def corpus_from_demo() -> dict[str, dict]:
    """Every paper of the bundled demo data, imported into a throwaway store."""
    import paperfeed
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed
    from paperfeed.ingest import open_sources

    demo = Path(next(iter(paperfeed.__path__))) / "demo" / "hf-daily-papers"
    with tempfile.TemporaryDirectory() as data_dir:
        core = PaperFeed(Settings(data_dir=Path(data_dir)))
        core.import_sources(open_sources(demo, None), sync=False)
        papers = {}
        for chunk in core.store.papers.changed_since(None):
            for paper in chunk:
                papers[paper.paper_id] = {"title": paper.title, "abstract": paper.abstract}
        core.close()
        return papers


def check(queries_path: Path, corpus: dict[str, dict]) -> list[str]:
    vocabulary: Counter[str] = Counter()
    for paper in corpus.values():
        vocabulary.update(set(words(f"{paper['title']} {paper['abstract']}")))
    share = {word: count / len(corpus) for word, count in vocabulary.items()}
    problems = []
    for number, line in enumerate(queries_path.read_text(encoding="utf-8").splitlines(), start=1):
        item = json.loads(line)
        if item.get("kind") != "known-item":
            continue
        (target,) = item["relevant"]
        given_away = violations(item["query"], corpus[target]["title"], share)
        if given_away:
            problems.append(f"{queries_path}:{number}: {item['query']!r} uses {', '.join(given_away)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="?", type=Path, default=Path(__file__).with_name("queries.jsonl"))
    parser.add_argument("--corpus", type=Path, help="JSONL with id, title, abstract per line")
    args = parser.parse_args()
    if args.corpus:
        corpus = {}
        for line in args.corpus.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            corpus[item["id"]] = item
    else:
        corpus = corpus_from_demo()
    problems = check(args.queries, corpus)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} known-item queries give away a distinctive title word")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
