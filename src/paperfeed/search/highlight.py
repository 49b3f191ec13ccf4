"""Snippets with the query's words marked, escaped for HTML."""

from __future__ import annotations

import bisect
import re
from html import escape

from paperfeed.search.query import STOP_WORDS

_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def match_pattern(words: list[str]) -> re.Pattern[str] | None:
    """Matches any word that starts with the stem of a query word ("models" marks "model")."""
    stems = sorted({_stem(w) for w in words if w and w.lower() not in STOP_WORDS}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)


def mark(text: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(text: str, pattern: re.Pattern[str] | None, width: int = 320) -> str:
    """The `width`-character window of `text` with the most matches, marked and escaped."""
    if len(text) <= width or pattern is None:
        body = text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + " …"
        return mark(body, pattern)
    starts = [m.start() for m in pattern.finditer(text)]
    if not starts:
        return escape(text[:width].rsplit(" ", 1)[0]) + " …"
    best_start, best_count = 0, -1
    for i, start in enumerate(starts):
        count = bisect.bisect_left(starts, start + width - 40, lo=i) - i  # matches in the window
        if count > best_count:
            best_start, best_count = start, count
    begin = max(0, best_start - 60)
    if begin:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < best_start else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > best_start else end
    prefix = "… " if begin else ""
    suffix = " …" if end < len(text) else ""
    return prefix + mark(text[begin:end], pattern) + suffix
