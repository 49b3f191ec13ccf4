""""Did you mean": spelling suggestions from the words of the store's own papers.

The vocabulary (each word of titles and abstracts with the number of papers using it, the
MAX_VOCABULARY most frequent) is derived data kept beside the keyword index and updated by the
same sync. A query word no paper contains is replaced by the most frequent vocabulary word
within two edits (SymSpell, Damerau-Levenshtein: "cahcing" is one transposition from
"caching"); words some paper contains stay as typed, however rare.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from symspellpy import SymSpell, Verbosity

log = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
MAX_VOCABULARY = 20_000  # most frequent words kept: SymSpell holds their deletes, about 2.3 MB per 1,000 words
MAX_EDITS = 2
MIN_WORD = 3  # shorter words are too ambiguous to correct
# Past this many papers (by id) a sample counts: the 20,000 most used words of a large store, and
# their relative counts, come out the same, while a rarer word found only in papers left out is
# still known through the index (Speller.knows) and so never "corrected".
COUNT_EVERY_PAPER_UP_TO = 100_000
SAMPLE_EVERY = 8
_WORD_RE = re.compile(rf"[^\W\d_]{{{MIN_WORD},}}", re.UNICODE)
# The same words in ASCII text (nearly every abstract), found twice as fast in the lowered text:
# the vocabulary is counted for every title and abstract of a bulk import.
_ASCII_WORD_RE = re.compile(rf"[a-z]{{{MIN_WORD},}}")


def words_of(text: str) -> list[str]:
    text = text or ""
    if text.isascii():
        return _ASCII_WORD_RE.findall(text.lower())
    return [w.lower() for w in _WORD_RE.findall(text)]


class Vocabulary:
    """Word → number of papers using it, on disk as JSON (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> Counter[str]:
        try:
            return Counter(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return Counter()

    def save(self, counts: Counter[str]) -> None:
        kept = dict(counts.most_common(MAX_VOCABULARY))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(tmp, self.path)

    @staticmethod
    def count(texts: Iterable[str], into: Counter[str], *, weight: int = 1) -> None:
        """Count each word of one paper's texts once (a title word repeated in the abstract is
        still one paper using it), `weight` times for a paper standing for that many. One pass
        over the joined texts: this runs for every paper indexed."""
        words = set(words_of(" ".join(texts)))
        into.update(words if weight == 1 else dict.fromkeys(words, weight))

    @staticmethod
    def weight_of(paper_id: int) -> int:
        """How many papers `paper_id` counts for in the vocabulary: the first
        COUNT_EVERY_PAPER_UP_TO papers of a store each count, and past them one paper in
        SAMPLE_EVERY counts for SAMPLE_EVERY (0: not counted). Suggestions need how often words
        are used, not every use, and counting every paper cost a bulk import about 60 µs a paper."""
        if paper_id <= COUNT_EVERY_PAPER_UP_TO:
            return 1
        return SAMPLE_EVERY if paper_id % SAMPLE_EVERY == 0 else 0


class Speller:
    def __init__(self, vocabulary: Vocabulary, knows: Callable[[str], bool]) -> None:
        self.vocabulary = vocabulary
        self.knows = knows  # whether any paper contains a word
        self._symspell: SymSpell | None = None
        self._words: frozenset[str] = frozenset()  # the vocabulary's words: known without a search
        self._loaded_mtime: float | None = None
        self._lock = threading.Lock()

    def _current(self) -> SymSpell | None:
        try:
            mtime = self.vocabulary.path.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            if self._symspell is None or mtime != self._loaded_mtime:
                counts = self.vocabulary.load()
                symspell = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=7)
                for word, count in counts.items():
                    symspell.create_dictionary_entry(word, count)
                self._symspell, self._words, self._loaded_mtime = symspell, frozenset(counts), mtime
            return self._symspell

    def suggest(self, query: str) -> str | None:
        """The query with each unknown word corrected, or None when nothing needs correcting."""
        symspell = self._current()
        # A vocabulary word is in some paper; only the others cost a search of the index.
        unknown = {w for w in words_of(query) if w not in self._words and not self.knows(w)}
        if not unknown or symspell is None:
            return None
        changed = False

        def correct(match: re.Match[str]) -> str:
            nonlocal changed
            word = match.group(0)
            lower = word.lower()
            if lower not in unknown:
                return word
            found = symspell.lookup(lower, Verbosity.TOP, max_edit_distance=MAX_EDITS)
            if not found or found[0].term == lower:
                return word
            changed = True
            return found[0].term

        corrected = _WORD_RE.sub(correct, query)
        return corrected if changed else None
