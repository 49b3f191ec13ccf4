"""Searching one's own library: the papers in any of a user's collections or carrying their
note, matched on title, authors, abstract and the note itself.

A library is at most some thousands of papers, so it is matched in memory, without an index;
words match as case-insensitive prefixes ("transform" finds "Transformers")."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from paperfeed.models import RankedPaper, ResultPage, User
from paperfeed.search.highlight import match_pattern, snippet
from paperfeed.search.query import parse_user_query

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

WEIGHTS = {"title": 3.0, "note": 2.0, "authors": 1.5, "abstract": 1.0}


def _words(query: str) -> list[str]:
    parsed = parse_user_query(query)
    return [w.casefold() for w in parsed.words if w.strip()]


def search_library(core: PaperFeed, user: User, query: str, *, page: int, per_page: int) -> ResultPage:
    started = time.perf_counter()
    words = _words(query)
    library = list(dict.fromkeys(core.store.collections.saved_paper_ids(user.id) + core.store.notes.paper_ids(user.id)))
    notes = core.store.notes.of_papers(user.id, library)
    patterns = [re.compile(r"\b" + re.escape(word), re.IGNORECASE) for word in words]
    scored: list[tuple[float, int, RankedPaper]] = []
    pattern = match_pattern(words)
    for position, paper in enumerate(core.store.papers.get_many(library)):
        note = notes.get(paper.id)
        fields = {
            "title": paper.title,
            "note": note.body if note else "",
            "authors": " ".join(paper.authors),
            "abstract": paper.abstract,
        }
        score = 0.0
        for word_pattern in patterns:
            hits = [WEIGHTS[name] for name, text in fields.items() if word_pattern.search(text)]
            if not hits:
                break
            score += max(hits)
        else:
            in_note = bool(note) and any(p.search(note.body) for p in patterns)
            text = note.body if in_note and note else paper.abstract
            scored.append(
                (
                    -score,
                    position,
                    RankedPaper(
                        paper=paper,
                        score=score,
                        snippet_html=snippet(text, pattern) if words else None,
                        reason="matches your note" if in_note and words else None,
                    ),
                )
            )
    scored.sort(key=lambda t: (t[0], t[1]))
    items = [item for _, _, item in scored]
    return ResultPage(
        items=items[(page - 1) * per_page : page * per_page],
        total=len(items),
        page=page,
        per_page=per_page,
        ranking="library",
        took_ms=(time.perf_counter() - started) * 1000,
    )
