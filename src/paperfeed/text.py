"""Cleaning and identity rules for paper metadata, shared by every importer.

Everything a source gives us passes through here, so the rules for what a title,
an arXiv id or a DOI is live in one place.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

from paperfeed.models import Link, PaperRecord
from paperfeed.tex import decode_accents

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
# Collaboration papers list thousands of authors (ATLAS and CMS together over 5,000); far more is
# broken input.
MAX_AUTHORS = 10_000
MAX_AUTHOR_CHARS = 300

_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# Control characters become spaces; runs of whitespace then collapse to one space.
_CONTROLS_TO_SPACE = {code: " " for code in [*range(0x20), 0x7F]}
# The control characters str.split() does not already treat as whitespace: text without them
# (nearly all) skips the translation.
_NON_SPACE_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_NON_ALNUM_RE = re.compile(r"[\W_]+")

# New-style (0704.0001 .. 2412.99999) and old-style (hep-th/9901001) arXiv ids, optional version.
_ARXIV_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_ARXIV_OLD = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
ARXIV_ID_RE = re.compile(rf"^(?:arxiv:)?(?:{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?$", re.IGNORECASE)
_ARXIV_URL_RE = re.compile(
    rf"arxiv\.org/(?:abs|pdf|html)/(?:{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?", re.IGNORECASE
)
_DOI_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`\[\]]+", re.IGNORECASE)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org", "sr.ht")


class InvalidRecord(ValueError):
    """A record that cannot become a paper; the message is the reason shown to the user."""


def clean_text(value: str | None) -> str:
    """Plain, single-spaced text: HTML tags dropped, entities decoded, control characters removed."""
    if not value:
        return ""
    text = value if value.isascii() else unicodedata.normalize("NFC", value)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if _NON_SPACE_CONTROL_RE.search(text):
        text = text.translate(_CONTROLS_TO_SPACE)
    return " ".join(text.split())


def title_key(title: str) -> str:
    """Normalised title for duplicate detection: case, accents, punctuation and spacing ignored."""
    text = title.casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM_RE.sub(" ", text).strip()


def title_hash(title: str) -> str:
    return hashlib.sha1(title_key(title).encode()).hexdigest()


def parse_arxiv_id(value: str | None) -> tuple[str, int | None] | None:
    """`("2401.01234", 2)` from "2401.01234v2", "arXiv:2401.01234" or an arxiv.org URL; None otherwise."""
    if not value:
        return None
    value = value.strip()
    match = _ARXIV_URL_RE.search(value) if "arxiv.org" in value.lower() else ARXIV_ID_RE.match(value)
    if not match:
        return None
    base = match.group("new") or match.group("old")
    version = match.group("version")
    return base, int(version) if version else None


def normalize_doi(value: str | None) -> str | None:
    if not value:
        return None
    first = value.strip().split()[0] if value.strip() else ""
    match = _DOI_RE.match(first)
    return match.group(1).rstrip(".,;").lower() if match else None


def find_links(*texts: str | None) -> list[Link]:
    """Code repositories and project pages mentioned in an abstract or comments."""
    links: list[Link] = []
    seen: set[str] = set()
    for text in texts:
        if not text or "http" not in text:
            continue
        for raw in _URL_RE.findall(text):
            url = raw.rstrip(".,;:)]}")
            if url in seen or "arxiv.org" in url.lower():
                continue
            seen.add(url)
            host = url.split("/")[2].lower() if url.count("/") >= 2 else ""
            kind = "code" if any(host == h or host.endswith("." + h) for h in _CODE_HOSTS) else "project"
            links.append(Link(kind, url))
    return links


def arxiv_links(arxiv_id: str) -> list[Link]:
    return [
        Link("abs", f"https://arxiv.org/abs/{arxiv_id}"),
        Link("pdf", f"https://arxiv.org/pdf/{arxiv_id}"),
    ]


def split_authors(value: str) -> list[str]:
    """Split an arXiv-style author string ("A, B and C") into names."""
    value = clean_text(value)
    if not value:
        return []
    value = re.sub(r"\s*\([^()]*\)", "", value)  # affiliations in parentheses
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+|;\s*", value)
    return [p.strip() for p in parts if p.strip()]


def finish_record(record: PaperRecord) -> PaperRecord:
    """Validate and complete a record from any source; raises InvalidRecord with the reason."""
    record.title = decode_accents(clean_text(record.title))
    record.abstract = decode_accents(clean_text(record.abstract))
    if not record.title:
        raise InvalidRecord("missing title")
    if len(record.title) > MAX_TITLE_CHARS:
        raise InvalidRecord(f"title too long ({len(record.title)} characters, at most {MAX_TITLE_CHARS})")
    if len(record.abstract) > MAX_ABSTRACT_CHARS:
        raise InvalidRecord(
            f"abstract too long ({len(record.abstract)} characters, at most {MAX_ABSTRACT_CHARS})"
        )
    authors = [decode_accents(clean_text(a)) for a in record.authors]
    record.authors = [a for a in authors if a]
    if len(record.authors) > MAX_AUTHORS:
        raise InvalidRecord(f"too many authors ({len(record.authors)}, at most {MAX_AUTHORS})")
    if any(len(a) > MAX_AUTHOR_CHARS for a in record.authors):
        raise InvalidRecord(f"author name longer than {MAX_AUTHOR_CHARS} characters")
    record.categories = [c.strip() for c in record.categories if c and c.strip()][:50]
    if record.doi is not None:
        record.doi = normalize_doi(record.doi)
    record.comments = clean_text(record.comments) or None
    record.journal_ref = clean_text(record.journal_ref) or None
    known = {link.url for link in record.links}
    for link in find_links(record.abstract, record.comments):
        if link.url not in known:
            record.links.append(link)
            known.add(link.url)
    if record.arxiv_id and not any(link.kind == "abs" for link in record.links):
        record.links[:0] = arxiv_links(record.arxiv_id)
    if record.doi and not any(link.kind == "doi" for link in record.links):
        record.links.append(Link("doi", f"https://doi.org/{record.doi}"))
    return record
