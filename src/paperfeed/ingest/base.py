"""What every importer is: a `Source` that yields numbered records or rejections.

Parsers stay pure (bytes in, `SourceItem`s out); `pipeline.run_import` does the batching,
deduplication, transactions and resuming for all of them.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from paperfeed.models import PaperRecord, Rejected, SourceItem
from paperfeed.text import InvalidRecord, finish_record

MAX_LINE_BYTES = 1_000_000  # a line longer than this is not metadata; reject it without parsing


class Source(Protocol):
    fmt: str  # short format name, e.g. "hf-daily", "arxiv-snapshot"
    location: str  # shown in reports: a path, a URL or a query

    def fingerprint(self) -> str:
        """Identifies the content, so an interrupted import of the same content is resumed."""
        ...

    def items(self) -> Iterator[SourceItem]:
        """Records in a stable order, numbered from 1."""
        ...


class FileSource:
    """A source read from one file: the path is its location, and the file's content (by
    `file_fingerprint`) identifies it for resuming."""

    fmt: str

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(path)

    def fingerprint(self) -> str:
        return file_fingerprint(self.path, self.fmt)


def file_fingerprint(path: Path, fmt: str) -> str:
    """Hash of format, size and the first and last MiB: cheap even for multi-GB snapshots."""
    digest = hashlib.sha256(fmt.encode())
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(-(1 << 20), 2)
            digest.update(fh.read())
    return digest.hexdigest()


def build_item(record_no: int, build: Callable[[], PaperRecord]) -> SourceItem:
    """Run one record's parser; any failure becomes a rejection with a readable reason."""
    try:
        return SourceItem(record_no, finish_record(build()))
    except InvalidRecord as exc:
        return SourceItem(record_no, Rejected(str(exc)))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return SourceItem(record_no, Rejected(f"malformed record: {type(exc).__name__}: {exc}"[:300]))


def iter_text_lines(path: Path) -> Iterator[tuple[int, str | Rejected]]:
    """Numbered lines of a UTF-8 file (a BOM is fine); an undecodable or oversized line is
    rejected on its own instead of failing the file. UTF-16 files (with BOM) are decoded too."""
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = fh.read().decode("utf-16")
            for number, line in enumerate(text.splitlines(), start=1):
                yield number, line
            return
        for number, raw in enumerate(fh, start=1):
            if len(raw) > MAX_LINE_BYTES:
                yield number, Rejected(f"line too long ({len(raw):,} bytes, at most {MAX_LINE_BYTES:,})")
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield number, Rejected(f"not valid UTF-8 (byte {exc.start + 1} of the line)")
