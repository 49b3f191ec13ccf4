"""BibTeX files: one paper per entry, LaTeX decoded to plain Unicode.

bibtexparser splits the file into blocks (with their line numbers) and resolves @string
macros; entries that fail to parse, repeat a key or lack a title become rejections while
the rest of the file still imports.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bibtexparser
from bibtexparser.exceptions import BlockAbortedException
from bibtexparser.library import Library
from bibtexparser.middlewares import (
    LibraryMiddleware,
    RemoveEnclosingMiddleware,
    ResolveStringReferencesMiddleware,
)
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
    String,
)
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from paperfeed.errors import InvalidInput
from paperfeed.ingest.base import FileSource, build_item
from paperfeed.models import Link, PaperRecord, Rejected, SourceItem
from paperfeed.text import InvalidRecord, find_links, normalize_doi, parse_arxiv_id

FMT = "bibtex"
MAX_FILE_BYTES = 200 * 1024 * 1024  # a bibliography, not a dump; larger files would sit in memory whole

_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTHS = {name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MONTH_MACROS = {name[:3]: name.capitalize() for name in _MONTH_NAMES}  # BibTeX's predefined jan..dec
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ISO_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_BARE_PERCENT_RE = re.compile(r"(?<!\\)%")
_LATEX_CHARS = frozenset("\\{}~$-`'%")


def _latex_decoder() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    # \url{...} is the address itself, not "<address>"
    context.add_context_category("paperfeed", prepend=True, macros=[MacroTextSpec("url", simplify_repl="%s")])
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


_DECODER = _latex_decoder()


def latex_to_text(value: str) -> str:
    """Plain Unicode from BibTeX/LaTeX markup: accents, protective braces, ~, --, \\emph{...}."""
    if not _LATEX_CHARS.intersection(value):
        return value
    # In a field value "%" is text; to LaTeX it would start a comment that eats the rest of the line.
    value = _BARE_PERCENT_RE.sub(r"\\%", value)
    try:
        return _DECODER.latex_to_text(value)
    except Exception:  # pylatexenc gives up on some malformed markup; the raw text is still readable
        return value


# --- @string concatenation --------------------------------------------------------------------


def _split_concatenation(value: str) -> list[str] | None:
    """The operands of `"a" # macro # {b}`, or None when `value` is no concatenation."""
    if "#" not in value:
        return None
    parts, depth, in_quotes, start = [], 0, False, 0
    for index, char in enumerate(value):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0 and (index == 0 or value[index - 1] != "\\"):
            in_quotes = not in_quotes
        elif char == "#" and depth == 0 and not in_quotes:
            parts.append(value[start:index].strip())
            start = index + 1
    parts.append(value[start:].strip())
    return parts if len(parts) > 1 else None


def _operand_text(operand: str, strings: dict[str, str]) -> str:
    if len(operand) >= 2 and operand[0] + operand[-1] in ('""', "{}"):
        return operand[1:-1]
    if operand.isdigit():
        return operand
    name = operand.lower()
    return strings.get(name) or _MONTH_MACROS.get(name) or operand


def _unenclosed(value: str) -> str:
    if len(value) >= 2 and value[0] + value[-1] in ('""', "{}"):
        return value[1:-1]
    return value


class ResolveConcatenationMiddleware(LibraryMiddleware):
    """Joins `"Proc. " # icml # {, 2020}` into one braced value. bibtexparser resolves a field
    that is a single macro, but not concatenations; this runs before it, on the raw values."""

    def __init__(self) -> None:
        super().__init__(allow_inplace_modification=True)

    @classmethod
    def metadata_key(cls) -> str:
        return "paperfeed_concatenation"

    def transform(self, library: Library) -> Library:
        strings: dict[str, str] = {}
        for block in library.blocks:  # in file order: a macro may use the ones defined before it
            if isinstance(block, String) and isinstance(block.value, str):
                operands = _split_concatenation(block.value)
                if operands is not None:
                    block.value = "{" + "".join(_operand_text(o, strings) for o in operands) + "}"
                strings[block.key.lower()] = _unenclosed(block.value)
        for entry in library.entries:
            for field in entry.fields:
                if isinstance(field.value, str):
                    operands = _split_concatenation(field.value)
                    if operands is not None:
                        field.value = "{" + "".join(_operand_text(o, strings) for o in operands) + "}"
        return library


_PARSE_STACK = (ResolveConcatenationMiddleware, ResolveStringReferencesMiddleware, RemoveEnclosingMiddleware)


# --- reading the file -------------------------------------------------------------------------


def read_bibtex_text(path: Path) -> str:
    """The file as text. BibTeX declares no encoding: lines that are not UTF-8 are read as
    Windows-1252/Latin-1, which is what older bibliographies use, so nothing is lost."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path} is too large for a BibTeX file ({size:,} bytes, at most {MAX_FILE_BYTES:,})"
        )
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_decode_line(line) for line in data.splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return line.decode("cp1252")
        except UnicodeDecodeError:
            return line.decode("latin-1")


@contextmanager
def _quiet_splitter() -> Iterator[None]:
    """bibtexparser logs each broken block as a warning; we report them as rejections instead."""
    splitter_log = logging.getLogger("bibtexparser.splitter")
    level = splitter_log.level
    splitter_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splitter_log.setLevel(level)


def parse_library(text: str) -> Library:
    with _quiet_splitter():
        return bibtexparser.parse_string(text, parse_stack=[middleware() for middleware in _PARSE_STACK])


# --- entries to records -----------------------------------------------------------------------


def _fields(entry: Entry) -> dict[str, str]:
    """Field values by lower-case name (BibTeX field names are case-insensitive)."""
    return {field.key.lower(): str(field.value).strip() for field in entry.fields if field.value is not None}


def parse_authors(value: str) -> list[str]:
    """ "Last, First and Other, Name" -> ["First Last", "Name Other"], LaTeX decoded."""
    names = []
    for raw in split_multiple_persons_names(value):
        if raw.strip().lower() == "others":  # "and others" is BibTeX for "et al."
            continue
        parts = parse_single_name_into_parts(raw, strict=False)
        name = latex_to_text(parts.merge_first_name_first).strip()
        if name:
            names.append(name)
    return names


def parse_month(value: str) -> int | None:
    value = latex_to_text(value).strip().lower()
    digits = value[:2] if value[:2].isdigit() else value[:1]
    if digits.isdigit():
        month = int(digits)
        return month if 1 <= month <= 12 else None
    return _MONTHS.get(value[:3])


def parse_published(fields: dict[str, str]) -> dt.date | None:
    """From biblatex's `date` (2017-12-04, 2017-12, 2017), else year, month and day; the first of
    the month, or January 1 when only the year is known. None when nothing usable is given."""
    date_match = _ISO_DATE_RE.match(fields.get("date", ""))
    if date_match:
        year, month, day = (int(g) if g else None for g in date_match.groups())
    else:
        year_match = _YEAR_RE.search(fields.get("year", ""))
        if not year_match:
            return None
        year = int(year_match.group(1))
        month = parse_month(fields["month"]) if fields.get("month") else None
        day = int(fields["day"]) if month and fields.get("day", "").isdigit() else None
    assert year is not None
    for candidate in ((year, month or 1, day or 1), (year, month or 1, 1), (year, 1, 1)):
        try:
            return dt.date(*candidate)
        except ValueError:
            continue
    return None


def _arxiv_identity(fields: dict[str, str]) -> tuple[str, int | None] | None:
    eprint = fields.get("eprint", "")
    archive = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint and archive in ("", "arxiv"):
        found = parse_arxiv_id(eprint)
        if found:
            return found
    # an arxiv.org URL, or Google Scholar's "arXiv preprint arXiv:1810.04805"
    for name in ("url", "journal", "note", "howpublished"):
        value = fields.get(name, "")
        lowered = value.lower()
        if "arxiv.org" in lowered:
            found = parse_arxiv_id(value)
        elif "arxiv:" in lowered:
            found = parse_arxiv_id(value[lowered.index("arxiv:") :].split()[0].rstrip(".,;}"))
        else:
            found = None
        if found:
            return found
    return None


def _is_arxiv_preprint_venue(value: str) -> bool:
    """Google Scholar's `journal = {arXiv preprint arXiv:...}` names no journal."""
    lowered = value.lower()
    return lowered.startswith(("arxiv", "corr")) and len(lowered) < 60


def record_from_entry(entry: Entry) -> PaperRecord:
    fields = _fields(entry)
    title = latex_to_text(fields.get("title", ""))
    if not title.strip():
        raise InvalidRecord(f"entry {entry.key!r} has no title")
    arxiv = _arxiv_identity(fields)
    doi = normalize_doi(fields.get("doi"))
    links: list[Link] = []
    url = fields.get("url", "")
    if url:
        if doi is None and "doi.org/" in url.lower():
            doi = normalize_doi(url)
        elif "arxiv.org" not in url.lower() and "doi.org/" not in url.lower():
            links = find_links(url)
    venue = latex_to_text(fields.get("journal") or fields.get("booktitle") or "")
    if _is_arxiv_preprint_venue(venue):
        venue = ""
    return PaperRecord(
        title=title,
        abstract=latex_to_text(fields.get("abstract", "")),
        authors=parse_authors(fields.get("author", "")),
        arxiv_id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        doi=doi,
        published=parse_published(fields),
        journal_ref=venue or None,
        links=links,
        source=FMT,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _failure_reason(block: ParsingFailedBlock) -> str:
    if isinstance(block, DuplicateBlockKeyBlock):
        first = block.previous_block.start_line
        what = "@string" if isinstance(block.ignore_error_block, String) else "entry"
        return f"duplicate {what} key {block.key!r} (first defined at line {first + 1})"
    if isinstance(block, DuplicateFieldKeyBlock):
        key = block.ignore_error_block.key if isinstance(block.ignore_error_block, Entry) else "?"
        return f"entry {key!r} repeats the field(s) {', '.join(sorted(block.duplicate_keys))}"
    error = block.error
    detail = error.abort_reason if isinstance(error, BlockAbortedException) else str(error)
    return _one_line(f"cannot parse {_raw_entry_name(block.raw)}: {detail or type(error).__name__}")


def _raw_entry_name(raw: str | None) -> str:
    """ "entry 'key'" from the raw text of a block that failed to parse, as far as it can be read."""
    head = (raw or "").split(",", 1)[0]
    if "{" in head and "\n" not in head:
        key = head.split("{", 1)[1].strip()
        if key:
            return f"entry {key!r}"
    return "the entry"


class BibTeXSource(FileSource):
    fmt = FMT

    def items(self) -> Iterator[SourceItem]:
        text = read_bibtex_text(self.path)
        blocks: list[Block] = sorted(parse_library(text).blocks, key=lambda b: b.start_line or 0)
        for block in blocks:
            record_no = (block.start_line or 0) + 1  # bibtexparser counts lines from 0
            if isinstance(block, ParsingFailedBlock):
                yield SourceItem(record_no, Rejected(_failure_reason(block)))
            elif isinstance(block, Entry):
                yield build_item(record_no, lambda entry=block: record_from_entry(entry))
            # @string, @preamble and comments carry no papers
