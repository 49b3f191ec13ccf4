"""How sane the topics are, measured against the evaluation set's topic queries.

Each topic query ("speculative decoding to speed up LLM generation") comes with the papers
judged relevant to it: a small hand-made topic. For each, we measure

- purity: the share of its relevant papers that fall in the one topic holding most of them
  (1.0: the topic query is inside one topic), against the purity that topics of the same sizes
  would reach by chance (relevant papers scattered at random);
- label hit: whether that topic's distinctive terms name the query (a term shares a word with
  it, plurals folded), i.e. whether someone reading the labels would find it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperfeed.errors import InvalidInput
from paperfeed.store import Store

_WORD = re.compile(r"[a-z0-9]+")
CHANCE_DRAWS = 2_000


@dataclass(slots=True)
class QueryAgreement:
    query: str
    relevant: int
    purity: float
    chance: float
    topic_label: str
    label_hit: bool


@dataclass(slots=True)
class TopicAgreement:
    queries: list[QueryAgreement]

    @property
    def purity(self) -> float:
        return float(np.mean([q.purity for q in self.queries])) if self.queries else 0.0

    @property
    def chance(self) -> float:
        return float(np.mean([q.chance for q in self.queries])) if self.queries else 0.0

    @property
    def label_hits(self) -> float:
        return float(np.mean([q.label_hit for q in self.queries])) if self.queries else 0.0


def _words(text: str) -> set[str]:
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(text.lower())}


def topic_queries(path: Path) -> list[tuple[str, list[str]]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    queries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise InvalidInput(f"{path}:{number}: not a JSON line") from None
        if entry.get("kind") == "topic":
            queries.append((entry["query"], list(entry["relevant"])))
    return queries


def agreement(store: Store, queries: list[tuple[str, list[str]]], *, seed: int = 0) -> TopicAgreement:
    topics = {t.id: t for t in store.topics.all()}
    if not topics:
        raise InvalidInput("no topics yet: run `paperfeed topics rebuild` first")
    sizes = np.array([t.size for t in topics.values()], dtype=np.float64)
    shares = sizes / sizes.sum()
    rng = np.random.default_rng(seed)
    results = []
    for query, keys in queries:
        ids = store.papers.ids_with_keys(keys)
        topic_of = store.topics.topic_of(list(ids.values()))
        placed = [topic_of[paper_id] for paper_id in ids.values() if paper_id in topic_of]
        if not placed:
            continue
        best, count = Counter(placed).most_common(1)[0]
        draws = rng.choice(len(shares), size=(CHANCE_DRAWS, len(placed)), p=shares)
        chance = np.mean([np.bincount(row).max() for row in draws]) / len(placed)
        topic = topics[best]
        hit = (
            bool(_words(query) & set().union(*(_words(term) for term in topic.terms)))
            if topic.terms
            else False
        )
        results.append(
            QueryAgreement(query, len(placed), count / len(placed), float(chance), topic.label, hit)
        )
    return TopicAgreement(results)


# --- TL;DR ------------------------------------------------------------------------------------


@dataclass(slots=True)
class TldrAgreement:
    """How often the TL;DR is the sentence a person labelled as the contribution (`exact`), or one
    they also accepted (`acceptable`), against two baselines: the first sentence, and the first
    sentence with "we" in it."""

    labelled: int
    exact: float
    acceptable: float
    first_sentence: float
    first_we: float
    misses: list[tuple[str, str, str]]  # (paper key, chosen, labelled)


def tldr_agreement(store: Store, path: Path) -> TldrAgreement:
    from paperfeed.insight.tldr import contribution_index, sentences

    try:
        labels = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise InvalidInput(f"{path}: not JSON lines") from None
    ids = store.papers.ids_with_keys([label["paper"] for label in labels])
    papers = {p.key: p for p in store.papers.get_many(list(ids.values()))}
    exact = acceptable = first = first_we = 0
    misses = []
    counted = 0
    for label in labels:
        paper = papers.get(label["paper"])
        if paper is None:
            continue
        parts = sentences(paper.abstract)
        if not parts:
            continue
        counted += 1
        accepted = [label["contribution"], *label.get("also", [])]

        def agrees(sentence: str, prefixes: list[str]) -> bool:
            return any(sentence.startswith(prefix) for prefix in prefixes)

        chosen = parts[contribution_index(parts)]
        exact += agrees(chosen, accepted[:1])
        acceptable += agrees(chosen, accepted)
        first += agrees(parts[0], accepted)
        with_we = next((s for s in parts if re.search(r"\bwe\b", s, re.IGNORECASE)), parts[0])
        first_we += agrees(with_we, accepted)
        if not agrees(chosen, accepted):
            misses.append((paper.key, chosen, label["contribution"]))
    share = (lambda n: n / counted) if counted else (lambda n: 0.0)
    return TldrAgreement(counted, share(exact), share(acceptable), share(first), share(first_we), misses)
