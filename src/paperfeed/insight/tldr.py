"""A one-line TL;DR of a paper: the sentence of its abstract that states its contribution.

Extractive and offline: the abstract is split into sentences and each is scored by

    score = cue + position

- cue: the strongest contribution phrase in the sentence. "we propose / introduce / present",
  "this paper presents", "in this work, we", "we develop" score 3; a named system ("called X",
  "named X", "X, a ...") 1 more; "we show / find / demonstrate" (a finding, often the
  contribution of an analysis paper) 2; "our method / approach" 1. Background phrases ("recent
  advances", "has been", "remains", "however", "existing methods") cost 2, and result phrases
  that only report numbers ("outperforms", "achieves ... %", "experiments") cost 1.
- position: abstracts state the problem first and results last; the first sentence loses 1,
  the last loses 0.5, and the second and third gain 0.5.

The best-scoring sentence wins; ties go to the earlier one. An abstract with no cue at all gets
its first sentence that is not background, else its first sentence. Agreement with hand labels
of demo abstracts is measured by `paperfeed tldr eval` (eval/tldr_labels.jsonl).
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_CHARS = 300  # a TL;DR is one line: longer sentences are cut at a word boundary

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = (
    "e.g",
    "i.e",
    "et al",
    "etc",
    "vs",
    "cf",
    "fig",
    "figs",
    "eq",
    "eqs",
    "sec",
    "no",
    "approx",
    "resp",
    "incl",
    "dr",
    "mr",
    "ms",
    "prof",
    "st",
    "vol",
    "al",
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”')\]]?\s+(?=[\"“'(\[]?[A-Z0-9])")
_ABBREVIATION_END = re.compile(
    r"(?:\b(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")|\b[A-Z])\.$", re.IGNORECASE
)

_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), weight)
    for pattern, weight in (
        (
            r"\b(?:we|this (?:paper|work|study|article)|our (?:paper|work))\s+(?:\w+ly\s+)?"
            r"(?:propose|introduce|present|develop|design|build|construct|release|contribute|offer|"
            r"formulate|establish|devise|create|curate)s?\b",
            3.0,
        ),
        (r"\bin this (?:paper|work|study|article)\b", 3.0),
        (
            r"\b(?:here|to (?:address|tackle|bridge|fill|overcome|solve|close) (?:this|these|the)\b[^,]*,)\s*we\b",
            3.0,
        ),
        (
            r"\bwe (?:\w+ly\s+)?(?:show|find|demonstrate|prove|reveal|argue|observe|investigate|study|"
            r"explore|analy[sz]e|examine|report|discover|identify|conduct)\b",
            2.0,
        ),
        (
            r"\b(?:this|our) (?:paper|work|study) (?:shows|finds|demonstrates|investigates|studies|"
            r"explores|examines|analy[sz]es|reveals)\b",
            2.0,
        ),
        (r"\bour (?:method|approach|framework|model|system|technique|algorithm)\b", 1.0),
    )
)
_NAMED = re.compile(
    r"\b(?:called|named|dubbed|termed)\b|\b[A-Z][A-Za-z0-9\-]*[A-Z][A-Za-z0-9\-]*\s*(?:\([^)]*\))?,\s+an?\b"
)
_BACKGROUND = re.compile(
    r"\b(?:recent(?:ly)? (?:advances|progress|years|work|studies|success)|has been|have been|"
    r"remains?|however|existing (?:methods|approaches|work|models)|despite|while .* (?:have|has)|"
    r"is (?:a|an) (?:key|fundamental|critical|important|crucial|central))\b",
    re.IGNORECASE,
)
_RESULTS = re.compile(
    r"\b(?:outperform\w*|experiments?|empirical(?:ly)?|evaluations?|benchmarks? show|achiev\w+ .*\d+(?:\.\d+)?\s*[%×x])\b",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """The sentences of an abstract, in order."""
    text = " ".join(text.split())
    if not text:
        return []
    parts: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()].rstrip()
        if _ABBREVIATION_END.search(candidate):
            continue
        parts.append(text[start : match.end()].strip())
        start = match.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def cue_weight(sentence: str) -> float:
    """The weight of the strongest contribution phrase in the sentence (0 without one)."""
    return max((weight for pattern, weight in _CUES if pattern.search(sentence)), default=0.0)


def sentence_score(sentence: str, index: int, count: int, *, cue: float | None = None) -> float:
    """`cue`: the sentence's `cue_weight`, when already known."""
    if cue is None:
        cue = cue_weight(sentence)
    if cue >= 3.0 and _NAMED.search(sentence):
        cue += 1.0
    score = cue
    if _BACKGROUND.search(sentence):
        score -= 2.0
    if _RESULTS.search(sentence):
        score -= 1.0
    if count > 1:
        if index == 0:
            score -= 1.0
        elif index == count - 1:
            score -= 0.5
        elif index in (1, 2):
            score += 0.5
    return score


def contribution_index(parts: list[str]) -> int:
    """Which sentence states the contribution (see the module docstring)."""
    if not parts:
        return -1
    cues = [cue_weight(s) for s in parts]  # every cue weighs more than 0
    if not any(cues):
        return next((i for i, s in enumerate(parts) if not _BACKGROUND.search(s)), 0)
    scored = [sentence_score(s, i, len(parts), cue=cue) for i, (s, cue) in enumerate(zip(parts, cues, strict=True))]
    best = max(scored)
    return scored.index(best)


@lru_cache(maxsize=50_000)
def tldr(abstract: str) -> str:
    """The abstract's contribution sentence, at most one line long ("" without an abstract)."""
    parts = sentences(abstract or "")
    if not parts:
        return ""
    chosen = parts[contribution_index(parts)]
    if len(chosen) <= MAX_CHARS:
        return chosen
    return chosen[:MAX_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
