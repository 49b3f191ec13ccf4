"""`paperfeed embed`: embed the papers that have no vector yet, for semantic and hybrid search."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core, progress_bar


def embed_command(
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Embed every paper that has no vector for the current model. Vectors are stored batch by
    batch: an interrupted run (Ctrl-C, a crash, kill -9) loses at most the batch in flight, and
    running the command again carries on. Search works throughout; `paperfeed serve` does the
    same in the background."""
    core = open_core(database_url)
    core.keyword.sync(core.store)  # the papers search can find are the ones to embed
    missing = core.papers_to_embed()
    stop = threading.Event()

    def stop_after_batch(signum: int, frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: stop at once (the batch in flight is lost)
            raise KeyboardInterrupt
        stop.set()
        console.print("stopping after this batch (Ctrl-C again to stop now)", style="yellow")

    previous = signal.signal(signal.SIGINT, stop_after_batch)
    try:
        with progress_bar("embedding", total=missing or None) as advance:
            embedded = core.sync_vectors(progress=advance, stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    left = core.papers_to_embed()
    if stop.is_set() and left:
        console.print(
            f"stopped: {embedded:,} papers embedded, {left:,} left; run paperfeed embed again to go on"
        )
    else:
        console.print(
            f"{embedded:,} papers embedded; semantic search covers "
            f"{core.semantic_coverage():.0%} of the searchable papers"
        )


def register(app: typer.Typer) -> None:
    app.command("embed")(embed_command)
