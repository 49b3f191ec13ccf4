"""What the commands share: the core, consoles and progress bars."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.engine import make_url

from paperfeed import tex
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.models import Paper
from paperfeed.search.embed_worker import duration_text

console = Console()
console_err = Console(stderr=True)


def open_core(
    database_url: str | None = None, *, create: bool = False, read_only: bool = False
) -> PaperFeed:
    """The core over the configured database; `read_only` for commands that never write. A
    SQLite file named by --database-url or PAPERFEED_DATABASE_URL must exist unless the command
    `create`s one: a mistyped path must not quietly become a new, empty instance. (The default
    file in the data directory is made on first use.)"""
    settings = Settings.from_env(database_url=database_url)
    if not create and settings.database_url:
        missing = missing_sqlite_file(settings.database_url)
        if missing is not None:
            raise InvalidInput(
                f"there is no database at {missing}; check --database-url or PAPERFEED_DATABASE_URL "
                "(paperfeed import creates a new one)"
            )
    return PaperFeed(settings, read_only=read_only)


def missing_sqlite_file(url: str) -> Path | None:
    """The file a sqlite:/// URL names when it does not exist, else None."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL at all: the store explains that when it opens it
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def paper_cell(core: PaperFeed, paper: Paper) -> Text:
    """A paper in a table: its title (cut to fit 80 columns), its authors and address beneath."""
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    address = next(
        (link.url for link in paper.links if link.kind == "abs"),
        f"{core.settings.public_url}/papers/{paper.url_id}",
    )
    cell = Text(tex.plain(paper.title), style="bold")
    cell.append(f"\n{authors}" if authors else "", style="dim")
    cell.append(f"\n{address}", style="cyan")
    return cell


PROGRESS_EVERY = 5.0  # seconds between progress lines when the output is not a terminal


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator:
    """A rich progress bar; yields a callback advancing it by n. When stderr is not a terminal
    (a log file, a pipe, cron), a plain line every few seconds and one at the end instead."""
    if not console_err.is_terminal:
        with progress_lines(description, total) as advance:
            yield advance
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        *([TextColumn("left"), TimeRemainingColumn()] if total else []),
        console=console_err,
        transient=False,
        disable=not console_err.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            elapsed = bar.tasks[task].elapsed or 0
            if elapsed > 0.5:
                bar.update(task, rate=f"{bar.tasks[task].completed / elapsed:,.0f}/s")

        yield advance


@contextmanager
def progress_lines(description: str, total: int | None = None) -> Iterator:
    started = last = time.monotonic()
    done = 0

    def line(final: bool) -> str:
        elapsed = time.monotonic() - started
        of = f" of {total:,}" if total else ""
        rate = f", {done / elapsed:,.0f}/s" if elapsed > 0.5 and done else ""
        left = ""
        if total and done and elapsed > 0.5 and not final:
            left = f", about {duration_text(max(0, total - done) * elapsed / done)} left"
        return f"{description}: {done:,}{of}{' done' if final else ''} ({elapsed:,.1f} s{rate}{left})"

    def advance(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            print(line(False), file=sys.stderr, flush=True)

    yield advance
    print(line(True), file=sys.stderr, flush=True)
