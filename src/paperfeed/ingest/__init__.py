"""Importers: one module per source format, all yielding `SourceItem`s into one pipeline."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from paperfeed.errors import InvalidInput
from paperfeed.ingest.base import Source

# Real Daily Papers pages shipped with paperfeed, so a new instance has something to show.
DEMO_DATA = Path(__file__).resolve().parents[1] / "demo" / "hf-daily-papers"

# format name -> (module, class) of its file source; modules load only when used
FILE_FORMATS: dict[str, tuple[str, str]] = {
    "hf-daily": ("paperfeed.ingest.hf_daily", "HFDailyTextSource"),
    "hf-daily-json": ("paperfeed.ingest.hf_api", "HFDailyJSONFileSource"),
    "arxiv-snapshot": ("paperfeed.ingest.arxiv_snapshot", "ArxivSnapshotSource"),
    "arxiv-atom": ("paperfeed.ingest.arxiv_api", "ArxivAtomFileSource"),
    "oai-pmh": ("paperfeed.ingest.oai_pmh", "OAIPMHFileSource"),
    "bibtex": ("paperfeed.ingest.bibtex", "BibTeXSource"),
}


def detect_format(path: Path) -> str:
    """The format of a file, from its first bytes and its extension. A Daily Papers API response
    (a JSON list of listings) is told by its content, whatever the file is called."""
    from paperfeed.ingest.hf_api import looks_like_daily_papers

    with path.open("rb") as fh:
        first_bytes = fh.read(4096)
    if looks_like_daily_papers(first_bytes):
        return "hf-daily-json"
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return "arxiv-snapshot"
    if suffix in {".bib", ".bibtex"}:
        return "bibtex"
    if suffix in {".txt", ".text"}:
        return "hf-daily"
    if suffix in {".xml", ".atom"}:
        head = first_bytes.decode("utf-8", "replace")
        if "<OAI-PMH" in head:
            return "oai-pmh"
        if "<feed" in head:
            return "arxiv-atom"
    raise InvalidInput(
        f"cannot tell the format of {path}; pass --format with one of: {', '.join(FILE_FORMATS)}"
    )


def source_factory(fmt: str) -> Callable[[Path], Source]:
    try:
        module_name, class_name = FILE_FORMATS[fmt]
    except KeyError:
        raise InvalidInput(f"unknown format {fmt!r}; known formats: {', '.join(FILE_FORMATS)}") from None
    return getattr(import_module(module_name), class_name)


def open_sources(path: Path, fmt: str | None = None) -> list[Source]:
    """Sources for a file, or for every file of a directory (sorted, so imports are repeatable)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no such file or directory: {path}")
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if path.is_dir()
        else [path]
    )
    if not files:
        raise InvalidInput(f"no files to import in {path}")
    return [source_factory(fmt or detect_format(f))(f) for f in files]
