"""Realistic synthetic corpora in the arXiv metadata snapshot format (JSONL).

Vocabulary comes from the bundled Daily Papers abstracts, drawn with a Zipf-like law, so
term statistics resemble real abstracts. Output is deterministic for a given seed.

    python benchmarks/corpus.py 100000 benchmarks/out/corpus-100k.jsonl
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import orjson

DEMO = Path(__file__).resolve().parents[1] / "src" / "paperfeed" / "demo" / "hf-daily-papers"
CATEGORIES = [
    "cs.CL",
    "cs.LG",
    "cs.CV",
    "cs.AI",
    "stat.ML",
    "cs.IR",
    "cs.RO",
    "cs.NE",
    "math.OC",
    "eess.AS",
    "cs.DC",
    "cs.SE",
    "q-bio.NC",
    "physics.comp-ph",
    "cs.CR",
]
FIRST = [
    "Wei",
    "Anna",
    "Jun",
    "Maria",
    "Ahmed",
    "Olga",
    "Pierre",
    "Yuki",
    "Sara",
    "Ravi",
    "Lena",
    "Tom",
    "Chen",
    "Fatima",
    "Diego",
    "Ines",
    "Kai",
    "Noor",
    "Ivan",
    "Mei",
    "Lucas",
    "Amara",
    "Jonas",
    "Priya",
    "Hugo",
]
LAST = [
    "Zhang",
    "Smith",
    "Müller",
    "Kim",
    "Garcia",
    "Rossi",
    "Nguyen",
    "Ivanova",
    "Tanaka",
    "Patel",
    "Dubois",
    "Cohen",
    "Silva",
    "Haddad",
    "Novak",
    "Larsen",
    "Okafor",
    "Wang",
    "Li",
    "Lopez",
    "Schmidt",
    "Sato",
    "Brown",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def vocabulary() -> list[str]:
    counts: dict[str, int] = {}
    for path in sorted(DEMO.glob("*.txt")):
        for word in re.findall(r"[A-Za-z][A-Za-z\-]{1,}", path.read_text(encoding="utf-8")):
            counts[word.lower()] = counts.get(word.lower(), 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: -kv[1])]


def generate(n: int, out, seed: int = 7) -> None:
    rng = random.Random(seed)
    words = vocabulary()
    # Zipf weights: the k-th most frequent word is drawn with probability ~ 1/k
    weights = [1.0 / (k + 1) for k in range(len(words))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    authors_pool = [
        f"{f} {chr(65 + i % 26)}. {last}" for i, (f, last) in enumerate((f, la) for f in FIRST for la in LAST)
    ]

    def sentence(k: int) -> str:
        return " ".join(rng.choices(words, cum_weights=cumulative, k=k))

    for i in range(n):
        year = 2007 + (i * 19) // max(n, 1)
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        # Unique: a year spans fewer than 100k consecutive papers even in a 1M corpus.
        arxiv_id = f"{year % 100:02d}{month:02d}.{i % 100000:05d}"
        versions = rng.choice([1, 1, 1, 2, 2, 3])
        n_authors = rng.randint(1, 8)
        authors = rng.sample(authors_pool, n_authors)
        abstract = (
            ". ".join(sentence(rng.randint(12, 24)).capitalize() for _ in range(rng.randint(5, 8))) + "."
        )
        if rng.random() < 0.15:
            abstract += f" Code is available at https://github.com/lab{i % 997}/project{i}."
        record = {
            "id": arxiv_id,
            "submitter": authors[0],
            "authors": ", ".join(authors[:-1]) + (" and " if n_authors > 1 else "") + authors[-1],
            "title": sentence(rng.randint(5, 14)).title(),
            "comments": f"{rng.randint(6, 40)} pages, {rng.randint(1, 12)} figures",
            "journal-ref": None,
            "doi": None,
            "report-no": None,
            "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 3))),
            "license": None,
            "abstract": abstract,
            "versions": [
                {
                    "version": f"v{v}",
                    "created": f"{rng.choice(DAYS)}, {day} {MONTHS[month - 1]} {year} 12:00:00 GMT",
                }
                for v in range(1, versions + 1)
            ],
            "update_date": f"{year}-{month:02d}-{day:02d}",
            "authors_parsed": [[a.split()[-1], " ".join(a.split()[:-1]), ""] for a in authors],
        }
        out.write(orjson.dumps(record) + b"\n")


if __name__ == "__main__":
    count, target = int(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        generate(count, fh)
    print(f"wrote {count:,} papers to {target}")
