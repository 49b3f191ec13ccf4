"""Authors: who wrote what, told apart honestly.

Papers store their authors as written ("J. D. van der Waals", "Waals, Johannes Diderik van der",
"K. M\\"uller"). Two written names are **the same author key** when, after decoding LaTeX
accents, folding accents and case, and reading "Family, Given" order, they have the same family
name (particles such as "van der" or "de la" are part of it), the same given names (initials
with or without dots are the same: "J. R." = "J R"), and the same suffix ("Jr." is another
person than his father). So `Müller`, `M\\"uller`, `MÜLLER` and `Muller` are one key: many
sources drop accents. Han-script names (王伟) are compared as written; a romanised Chinese name
is not reordered ("Wang Wei" and "Wei Wang" are different keys), and a single-word name
("Plato", "ATLAS Collaboration") is only ever itself.

Different keys that *could* be one person are **variants**: the family names agree (or agree
once umlauts are transliterated: `Mueller` ~ `Müller`) and each given name agrees with the
other's or is its initial ("J. Smith" ~ "John Smith" ~ "John A. Smith", but not "Jane Smith").
A variant is joined to an author only on evidence: the two share a co-author on papers in the
store. It is never joined when both names are on one paper (two people), nor when the evidence
is ambiguous (the initials fit two full names, say John and Jane Smith, that both share
co-authors with it). The papers carry no author identifiers (arXiv's metadata has none), so a
shared co-author is the only evidence used. Author pages name every variant they did not join,
and why.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paperfeed import tex
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.library.names import SUFFIXES, NameParts, split_name
from paperfeed.models import User
from paperfeed.store import Store
from paperfeed.store.author_follows import AuthorFollow
from paperfeed.store.papers import AuthorListing

if TYPE_CHECKING:  # the index imports this module's index_term
    from paperfeed.search.keyword import KeywordIndex

MAX_NAME = 200  # characters of a name asked for (the follows table keeps keys this long)
PROFILES_KEPT = 256
_FOLDS = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae",
                        "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i"})  # fmt: skip
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_GIVEN_SPLIT = re.compile(r"[\s.\-‐]+")
_ASCII_FOLD = {
    code: chr(code).lower() if chr(code).isalnum() else " " if chr(code) in " -" else None for code in range(128)
}
_E_AFTER_VOWEL = re.compile(r"(?<=[aou])e+")  # the "e" of a transliterated umlaut


def fold(text: str) -> str:
    """Lower case without accents, letters of every script kept ("Müller" → "muller", 王伟 stays);
    hyphens and spaces between words become one space, other punctuation goes."""
    if text.isascii():  # most names: the same result at a fraction of the cost
        return " ".join(text.translate(_ASCII_FOLD).split())
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLDS))
    kept = "".join(
        c if c.isalnum() else " " if c in " -‐" else "" for c in decomposed if not unicodedata.combining(c)
    )
    return " ".join(kept.casefold().split())


@dataclass(slots=True, frozen=True)
class AuthorName:
    """One written name, parsed for matching."""

    written: str  # LaTeX decoded, spaces collapsed: what pages show
    surname: str  # the family name as written, without its particles: "Waals"
    family: str  # folded, with its particles: "van der waals"
    family_transliterated: str  # with ä, ö, ü as ae, oe, ue first: "mueller" for Müller
    given: tuple[str, ...]  # folded given names, initials as one letter: ("j", "d")
    suffix: str  # "jr", "iii" or ""
    key: str  # the author key: "family|given names|suffix"
    index_family: str  # family without an "e" after a, o or u: one for Müller, Muller, Mueller

    def could_be(self, other: AuthorName) -> bool:
        """Whether the two names may be one person (see the module's rules); true of equal keys."""
        if self.suffix != other.suffix:
            return False
        if self.family != other.family and self.family_transliterated != other.family_transliterated:
            return False
        if not self.given or not other.given:  # a single-word name is only itself
            return self.given == other.given
        return all(_given_agree(a, b) for a, b in zip(self.given, other.given, strict=False))


def _given_agree(a: str, b: str) -> bool:
    if a == b:
        return True
    return (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def _split(name: str) -> tuple[str, NameParts, str]:
    """The written form of a name, its parts and its suffix: what `parse` and `index_term` share."""
    written = " ".join(tex.decode_accents(name).split())
    written = unicodedata.normalize("NFC", written)
    given_text, suffix = written, ""
    if written.count(",") >= 2:  # "King, Martin Luther, Jr."
        head, _, last = written.rpartition(",")
        if last.strip().lower() in SUFFIXES:
            given_text, suffix = head, last.strip()
    parts = split_name(given_text)
    return written, parts, suffix or parts.suffix


@functools.lru_cache(maxsize=65_536)
def parse(name: str) -> AuthorName:
    """A written name parsed for matching: `parse("Smith, J.").key == parse("J Smith").key`."""
    written, parts, suffix = _split(name)
    family_written = parts.family_with_particle
    given = tuple(word for word in (fold(w) for w in _GIVEN_SPLIT.split(parts.given)) if word)
    family = fold(family_written)
    return AuthorName(
        written=written,
        surname=parts.family,
        family=family,
        family_transliterated=fold(family_written.translate(_UMLAUTS)),
        given=given,
        suffix=fold(suffix),
        key=f"{family}|{' '.join(given)}|{fold(suffix)}",
        index_family=_E_AFTER_VOWEL.sub("", family),
    )


def author_key(name: str) -> str:
    return parse(name).key


@functools.lru_cache(maxsize=65_536)
def index_term(name: str) -> str:
    """The term the keyword index files a written name under, "" for none: "family|first given
    name|suffix", the family with any "e" after a, o or u dropped (so Müller, Muller and Mueller
    share it). Every name that could be one person with a name is under one of the terms
    `index_pattern` matches, so those papers hold an author's papers and variants.

    `parse(name)` gives the same term; this computes only what the term needs, because the index
    files every author of every paper (millions of names in a bulk import)."""
    _written, parts, suffix = _split(name)
    family = fold(parts.family_with_particle)
    if not family:
        return ""
    first_given = next((word for word in map(fold, _GIVEN_SPLIT.split(parts.given)) if word), "")
    return f"{_E_AFTER_VOWEL.sub('', family)}|{first_given}|{fold(suffix) if suffix else ''}"


def index_pattern(name: AuthorName) -> str:
    """A regular expression for the index terms of every name that could be `name`: the first
    given name the same, or its initial (for an initial, any name it begins). Folded names hold
    letters, digits and spaces only, which no regular expression syntax reads as special."""
    if not name.given:
        given = ""
    elif len(name.given[0]) == 1:
        given = f"{name.given[0]}[^|]*"
    else:
        given = f"({name.given[0]}|{name.given[0][0]})"
    return f"{name.index_family}\\|{given}\\|{name.suffix}"


# --- an author's papers, co-authors and variants ---------------------------------------------------


@dataclass(slots=True, frozen=True)
class Variant:
    """Another written name that could be the author's."""

    name: str
    papers: int
    joined: bool
    reason: str  # "shares the co-author A. Jones", "no co-author in common", ...


@dataclass(slots=True)
class AuthorProfile:
    name: str  # the most common written form
    key: str
    paper_ids: list[int]  # newest first
    coauthors: list[tuple[str, int]]  # (name, shared papers), most first
    categories: list[tuple[str, int]]  # most first
    variants: list[Variant] = field(default_factory=list)


class _Group:
    """The papers one author key appears on, and how it is written there."""

    def __init__(self) -> None:
        self.paper_ids: list[int] = []
        self.forms: Counter[str] = Counter()
        self.coauthor_keys: set[str] = set()
        self.coauthor_names: dict[str, str] = {}  # key -> as written somewhere

    @property
    def name(self) -> str:
        return shown_name(self.forms)


def shown_name(forms: Counter[str]) -> str:
    """The way a name is shown: as most often written; among equals, in "Given Family" order and
    with its accents (which a plain spelling may have lost) first."""
    return min(forms.items(), key=lambda item: (-item[1], "," in item[0], item[0].isascii(), item[0]))[0]


def _groups(listings: Iterable[AuthorListing], target: AuthorName) -> dict[str, _Group]:
    """Groups of the target's key and every key that could be the target's."""
    parsed = [(listing, [parse(a) for a in listing.authors]) for listing in listings]
    # Every way the target's key is written: "Muller" is a variant of "Mueller" through "Müller".
    forms = {target.written: target} | {
        n.written: n for _, names in parsed for n in names if n.key == target.key
    }
    groups: dict[str, _Group] = {}
    for listing, names in parsed:
        for name in names:
            # Only a name of the target's index family can be a variant: the cheap test first.
            if name.key != target.key and (
                name.index_family != target.index_family or not any(form.could_be(name) for form in forms.values())
            ):
                continue
            group = groups.setdefault(name.key, _Group())
            if not group.paper_ids or group.paper_ids[-1] != listing.paper_id:
                group.paper_ids.append(listing.paper_id)
            group.forms[name.written] += 1
            for other in names:
                if other.key != name.key:
                    group.coauthor_keys.add(other.key)
                    group.coauthor_names.setdefault(other.key, other.written)
    return groups


def _judge(target_key: str, groups: dict[str, _Group]) -> list[Variant]:
    own = groups.get(target_key)
    variants: list[Variant] = []
    evidenced: dict[str, str] = {}  # key -> reason
    for key, group in groups.items():
        if key == target_key:
            continue
        if own is None:
            reason = "no papers under the name asked for to compare with"
        elif target_key in group.coauthor_keys:
            reason = "both names are on one paper: two people"
        elif shared := sorted((own.coauthor_keys & group.coauthor_keys) - groups.keys()):
            evidenced[key] = f"shares the co-author {own.coauthor_names[shared[0]]}"
            continue
        else:
            reason = "no co-author in common"
        variants.append(Variant(group.name, len(group.paper_ids), False, reason))
    names = {key: parse(groups[key].name) for key in evidenced}
    for key, reason in evidenced.items():
        rivals = [other for other in evidenced if other != key and not names[key].could_be(names[other])]
        if rivals:
            reason = f"ambiguous: {groups[rivals[0]].name} fits the same evidence"
        variants.append(Variant(groups[key].name, len(groups[key].paper_ids), not rivals, reason))
    return sorted(variants, key=lambda v: (not v.joined, -v.papers, v.name))


class Authors:
    """Author pages and following authors; the rules are the module's."""

    def __init__(self, store: Store, index: KeywordIndex) -> None:
        self.store = store
        self.index = index  # finds the papers of the names that could be one asked for
        # Profiles by name, kept until the index changes: paging through a prolific author, their
        # feed and the follow button then read their papers once.
        self._profiles: OrderedDict[tuple[str, str], tuple[str, AuthorProfile]] = OrderedDict()

    def _listings(
        self, target: AuthorName, *, since: dt.date | None = None, first_seen_after: dt.datetime | None = None
    ) -> list[AuthorListing]:
        """The papers any name that could be the target's is on (and some others), newest first:
        only those filed under a term of its index pattern are read from the store."""
        candidates = self.index.author_papers(index_pattern(target), since=since)
        return self.store.papers.author_listings(candidates, since=since, first_seen_after=first_seen_after)

    @staticmethod
    def _target(name: str) -> AuthorName:
        name = " ".join(name.split())
        if len(name) > MAX_NAME:
            raise InvalidInput(f"an author name is at most {MAX_NAME} characters")
        target = parse(name)
        if not target.family:
            raise NotFound(f"there is no author {name[:60]!r}")
        return target

    def profile(self, name: str) -> AuthorProfile:
        """The author written `name`: their papers (joined variants included), co-authors,
        categories and the variants left apart. NotFound when no paper has the name or a variant."""
        target = self._target(name)
        generation = self.index.generation()
        cached = self._profiles.get((target.key, target.written))
        if cached is not None and cached[0] == generation:
            self._profiles.move_to_end((target.key, target.written))
            return cached[1]
        profile = self._build_profile(target)
        self._profiles[target.key, target.written] = (generation, profile)
        if len(self._profiles) > PROFILES_KEPT:
            self._profiles.popitem(last=False)
        return profile

    def _build_profile(self, target: AuthorName) -> AuthorProfile:
        listings = self._listings(target)
        groups = _groups(listings, target)
        if not groups:
            raise NotFound(f"no papers by {target.written}")
        variants = _judge(target.key, groups)
        joined = {target.key} | {parse(v.name).key for v in variants if v.joined}
        paper_ids = {i for key in joined if key in groups for i in groups[key].paper_ids}
        coauthors: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = {}
        categories: Counter[str] = Counter()
        papers = [listing for listing in listings if listing.paper_id in paper_ids]
        for listing in papers:
            categories.update(dict.fromkeys(listing.categories, 1))
            others = {
                parsed.key: parsed for parsed in map(parse, listing.authors) if parsed.key not in joined
            }
            for key, parsed in others.items():
                coauthors[key] += 1
                forms.setdefault(key, Counter())[parsed.written] += 1
        own = groups.get(target.key)
        return AuthorProfile(
            name=own.name if own else target.written,
            key=target.key,
            paper_ids=[listing.paper_id for listing in papers],
            coauthors=sorted(
                ((shown_name(forms[key]), n) for key, n in coauthors.items()),
                key=lambda c: (-c[1], c[0]),
            ),
            categories=sorted(categories.items(), key=lambda c: (-c[1], c[0])),
            variants=variants,
        )

    def new_papers(
        self, name: str, *, since: dt.date, first_seen_after: dt.datetime | None, limit: int
    ) -> list[int]:
        """Ids of the author's papers of `since` or later first seen after `first_seen_after`,
        newest first: variants count only where the author's page joins them."""
        target = self._target(name)
        recent = self._listings(target, since=since, first_seen_after=first_seen_after)
        groups = _groups(recent, target)
        if not groups:
            return []
        if set(groups) == {target.key}:
            ids = groups[target.key].paper_ids
        else:  # a variant wrote something new: whether it is this author takes every paper
            try:
                joined = set(self.profile(name).paper_ids)
            except NotFound:
                return []
            ids = [i for group in groups.values() for i in group.paper_ids if i in joined]
            order = {listing.paper_id: n for n, listing in enumerate(recent)}
            ids = sorted(set(ids), key=order.__getitem__)
        return ids[:limit]

    # --- following ------------------------------------------------------------------------------

    def follow(self, user: User, name: str, follow: bool, now: dt.datetime) -> AuthorProfile:
        """Follow (or stop following) the author into the user's digest."""
        profile = self.profile(name)
        if follow:
            self.store.author_follows.follow(user.id, profile.key, profile.name, now)
        else:
            self.store.author_follows.unfollow(user.id, profile.key)
        return profile

    def unfollow_key(self, user: User, key: str) -> None:
        """Stop following by key: works even when the author's papers are gone."""
        self.store.author_follows.unfollow(user.id, key)

    def is_following(self, user: User | None, profile: AuthorProfile) -> bool:
        return user is not None and self.store.author_follows.is_following(user.id, profile.key)

    def followed(self, user_id: int) -> list[AuthorFollow]:
        return self.store.author_follows.followed_by(user_id)

    def followed_by_many(self, user_ids: Sequence[int]) -> dict[int, list[AuthorFollow]]:
        return self.store.author_follows.followed_by_many(user_ids)
