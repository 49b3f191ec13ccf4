"""What the commands share: the core, consoles and progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from paperfeed.config import Settings
from paperfeed.core import PaperFeed

console = Console()
console_err = Console(stderr=True)


def open_core(database_url: str | None = None, *, read_only: bool = False) -> PaperFeed:
    """The core of the configured instance; `read_only` for commands that never write."""
    return PaperFeed(Settings.from_env(database_url=database_url), read_only=read_only)


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator:
    """A rich progress bar; yields a callback advancing it by n."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
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
