"""Personal names as citations need them: family name, given names, particles and suffixes.

Papers store authors as written ("Ludwig van Beethoven", "Martin Luther King Jr."); citation
formats want the parts apart ("van Beethoven, Ludwig").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PARTICLES = {
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "des", "la", "le", "ter",
    "ten", "dos", "das", "do", "bin", "ibn", "al", "el", "zu", "y",
}  # fmt: skip
SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


@dataclass(slots=True, frozen=True)
class NameParts:
    given: str
    family: str
    particle: str = ""  # "van", "de la": stays with the family name
    suffix: str = ""

    @property
    def family_with_particle(self) -> str:
        return f"{self.particle} {self.family}".strip()


def split_name(name: str) -> NameParts:
    """Parts of a name written "Given [particle] Family [suffix]" or "Family, Given"."""
    name = " ".join(name.split())
    if "," in name:
        family, _, given = name.partition(",")
        family_words = family.split()
        particle = [w for w in family_words[:-1] if w.lower() in PARTICLES]
        return NameParts(given.strip(), " ".join(family_words[len(particle) :]), " ".join(particle))
    words = name.split(" ")
    suffix = ""
    if len(words) > 2 and words[-1].lower().rstrip(",") in SUFFIXES:
        suffix = words.pop()
    if len(words) == 1:
        return NameParts("", words[0], suffix=suffix)
    family = [words.pop()]
    particle: list[str] = []
    while len(words) > 1 and words[-1].lower() in PARTICLES:
        particle.insert(0, words.pop())
    return NameParts(" ".join(words), " ".join(family), " ".join(particle), suffix)


def ascii_fold(text: str) -> str:
    """Letters without their accents ("Müller" → "Muller"), other characters dropped."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ø", "o").replace("ł", "l"))
    return re.sub(r"[^A-Za-z0-9]", "", decomposed.encode("ascii", "ignore").decode())
