"""Citations of papers in BibTeX, RIS and CSL-JSON.

arXiv papers are cited as arXiv itself exports them: `eprint`, `archivePrefix = {arXiv}` and
`primaryClass` in BibTeX; the arXiv id as the number and arXiv as the publisher in CSL-JSON
and RIS, with the DOI wherever one is known. Citation keys are made from the paper alone
(first author's family name, year, first word of the title that is not a stop word), so a
paper keeps its key from one export to the next; papers of one export that would share a key
get a, b, c... in the order they are given. BibTeX values are LaTeX-escaped (accents become
LaTeX accents, `&`, `%`, `$`, `#`, `_`, braces and the like are escaped), and titles are
braced so bibliography styles keep their capitals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import rispy
from pylatexenc.latexencode import unicode_to_latex

from paperfeed.library.names import ascii_fold, split_name
from paperfeed.models import Paper

CitationFormat = Literal["bibtex", "ris", "csl-json"]
FORMATS: tuple[CitationFormat, ...] = ("bibtex", "ris", "csl-json")
EXTENSIONS = {"bibtex": "bib", "ris": "ris", "csl-json": "json"}
MEDIA_TYPES = {
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csl-json": "application/vnd.citationstyles.csl+json; charset=utf-8",
}
_STOP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "is", "are", "at", "by", "from"}


def parse_format(text: str) -> CitationFormat:
    """A format by name or file extension: bibtex/bib, ris, csl-json/csl/json."""
    value = text.strip().lower().lstrip(".")
    aliases = {"bib": "bibtex", "bibtex": "bibtex", "ris": "ris", "csl": "csl-json", "json": "csl-json",
               "csl-json": "csl-json", "csljson": "csl-json"}  # fmt: skip
    if value not in aliases:
        raise ValueError(f"unknown citation format {text!r}: use bibtex, ris or csl-json")
    return aliases[value]  # type: ignore[return-value]


def _year(paper: Paper) -> int | None:
    day = paper.published or paper.listed_on
    return day.year if day else None


def base_key(paper: Paper) -> str:
    """The citation key a paper has on its own, e.g. "vaswani2017attention"."""
    family = ascii_fold(split_name(paper.authors[0]).family).lower() if paper.authors else ""
    words = [ascii_fold(w).lower() for w in paper.title.split()]
    word = next((w for w in words if w and w not in _STOP_WORDS), "")
    key = f"{family or 'anon'}{_year(paper) or ''}{word}"
    return key[:60]


def citation_keys(papers: Sequence[Paper]) -> list[str]:
    """A key for each paper, unique within the list."""
    counts: dict[str, int] = {}
    for paper in papers:
        counts[base_key(paper)] = counts.get(base_key(paper), 0) + 1
    seen: dict[str, int] = {}
    keys = []
    for paper in papers:
        key = base_key(paper)
        if counts[key] > 1:
            n = seen.get(key, 0)
            seen[key] = n + 1
            key += _letters(n)
        keys.append(key)
    return keys


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def _latex(text: str) -> str:
    return unicode_to_latex(" ".join(text.split()), non_ascii_only=False, replacement_latex_protection="braces")


def _url(paper: Paper) -> str | None:
    if paper.arxiv_id:
        return f"https://arxiv.org/abs/{paper.arxiv_id}"
    for kind in ("doi", "abs"):
        for link in paper.links_of(kind):  # type: ignore[arg-type]
            if link.url.startswith(("https://", "http://")):
                return link.url
    return f"https://doi.org/{paper.doi}" if paper.doi else None


def _bib_name(name: str) -> str:
    parts = split_name(name)
    family = parts.family_with_particle
    if not parts.given:
        return "{" + _latex(family) + "}"
    suffix = f", {_latex(parts.suffix)}" if parts.suffix else ""
    return f"{_latex(family)}{suffix}, {_latex(parts.given)}"


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def bibtex_entry(paper: Paper, key: str) -> str:
    day = paper.published or paper.listed_on
    fields: list[tuple[str, str]] = [("title", "{" + _latex(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_bib_name(a) for a in paper.authors)))
    if day:
        fields.append(("year", str(day.year)))
    kind = "misc"
    if paper.arxiv_id:
        fields.append(("eprint", paper.arxiv_id))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", paper.categories[0]))
    elif paper.journal_ref:
        kind = "article"
        fields.append(("journal", _latex(paper.journal_ref)))
    if paper.doi:
        fields.append(("doi", paper.doi))  # not escaped: a DOI is an identifier, used verbatim
    url = _url(paper)
    if url:
        fields.append(("url", url))
    if paper.arxiv_id and paper.journal_ref:
        fields.append(("note", _latex(paper.journal_ref)))
    lines = [f"@{kind}{{{key},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields]
    if day:
        lines.insert(len(lines), f"  month = {_MONTHS[day.month - 1]},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    return "\n".join(lines)


def to_bibtex(papers: Sequence[Paper]) -> str:
    return "\n\n".join(bibtex_entry(p, k) for p, k in zip(papers, citation_keys(papers), strict=True)) + "\n"


def _ris_record(paper: Paper, key: str) -> dict:
    day = paper.published or paper.listed_on
    record: dict = {
        "type_of_reference": "JOUR" if paper.journal_ref and not paper.arxiv_id else "UNPB",
        "id": key,
        "title": paper.title,
        "authors": [_ris_name(a) for a in paper.authors],
    }
    if day:
        record["year"] = str(day.year)
        record["date"] = f"{day.year}/{day.month:02d}/{day.day:02d}"
    if paper.abstract:
        record["abstract"] = " ".join(paper.abstract.split())
    if paper.doi:
        record["doi"] = paper.doi
    url = _url(paper)
    if url:
        record["urls"] = [url]
    if paper.categories:
        record["keywords"] = list(paper.categories)
    if paper.arxiv_id:
        record["publisher"] = "arXiv"
        record["number"] = f"arXiv:{paper.arxiv_id}"
    if paper.journal_ref:
        record["journal_name"] = paper.journal_ref
    return record


def _ris_name(name: str) -> str:
    parts = split_name(name)
    family = parts.family_with_particle
    return f"{family}, {parts.given}" + (f", {parts.suffix}" if parts.suffix else "") if parts.given else family


def to_ris(papers: Sequence[Paper]) -> str:
    records = [_ris_record(p, k) for p, k in zip(papers, citation_keys(papers), strict=True)]
    return rispy.dumps(records, skip_unknown_tags=False) if records else ""


def csl_item(paper: Paper, key: str) -> dict:
    day = paper.published or paper.listed_on
    item: dict = {"id": key, "type": "article" if paper.arxiv_id else "article-journal", "title": paper.title}
    if paper.authors:
        item["author"] = [_csl_name(a) for a in paper.authors]
    if day:
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if paper.abstract:
        item["abstract"] = " ".join(paper.abstract.split())
    if paper.doi:
        item["DOI"] = paper.doi
    url = _url(paper)
    if url:
        item["URL"] = url
    if paper.arxiv_id:
        item["number"] = f"arXiv:{paper.arxiv_id}"
        item["publisher"] = "arXiv"
        item["genre"] = "preprint"
    if paper.journal_ref:
        item["container-title"] = paper.journal_ref
    if paper.categories:
        item["categories"] = list(paper.categories)
    return item


def _csl_name(name: str) -> dict:
    parts = split_name(name)
    if not parts.given:
        return {"literal": parts.family}
    out = {"family": parts.family, "given": parts.given}
    if parts.particle:
        out["non-dropping-particle"] = parts.particle
    if parts.suffix:
        out["suffix"] = parts.suffix
    return out


def to_csl_json(papers: Sequence[Paper]) -> str:
    items = [csl_item(p, k) for p, k in zip(papers, citation_keys(papers), strict=True)]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def export(papers: Sequence[Paper], fmt: CitationFormat) -> str:
    if fmt == "bibtex":
        return to_bibtex(papers)
    if fmt == "ris":
        return to_ris(papers)
    return to_csl_json(papers)
