"""`paperfeed embed`: embed the papers that have no vector yet, for semantic and hybrid search."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core, progress_bar
from paperfeed.core import PaperFeed
from paperfeed.search.first_pass import SAMPLE_SIZE as FIRST_PASS_SAMPLE

# From about this many papers the default model takes hours (about 100 a second on two cores).
FIRST_PASS_ADVISED = 100_000
FIRST_PASS_HINT = "; for semantic search over all of them within minutes, run paperfeed embed --first-pass"


def embed_command(
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
    first_pass: Annotated[
        bool,
        typer.Option(
            "--first-pass",
            help="Give papers without a vector a provisional one from a fast model trained on "
            "this store (thousands a second); `paperfeed serve` or `paperfeed embed` upgrade them.",
        ),
    ] = False,
    sample: Annotated[
        int, typer.Option(min=10, help="Papers the default model embeds to train the first-pass model.")
    ] = FIRST_PASS_SAMPLE,
) -> None:
    """Embed every paper that has no vector for the current model, then upgrade first-pass
    vectors to it. Vectors are stored batch by batch: an interrupted run (Ctrl-C, a crash,
    kill -9) loses at most the batch in flight, and running the command again carries on.
    Search works throughout; `paperfeed serve` does the same in the background."""
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
        if first_pass:
            embedded = run_first_pass(core, sample, stop)
        else:
            with progress_bar("embedding", total=missing or None) as advance:
                embedded = core.sync_vectors(progress=advance, stop=stop)
            provisional = core.provisional_vectors()
            if provisional and not stop.is_set():
                with progress_bar("upgrading first-pass vectors", total=provisional) as advance:
                    embedded += core.upgrade_vectors(progress=advance, stop=stop)
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
    provisional = core.provisional_vectors()
    if provisional:
        console.print(
            f"{provisional:,} papers have first-pass vectors: `paperfeed serve` upgrades them to the "
            "default model in the background (`paperfeed embed` does it now)"
        )


def run_first_pass(core: PaperFeed, sample: int, stop: threading.Event) -> int:
    """Train the first-pass model if this store has none, then embed with it; returns how many
    papers got a provisional vector."""
    with progress_bar("training the first-pass model") as advance:
        model, report = core.train_first_pass(progress=advance, sample_size=sample)
    if report is not None:
        console.print(
            f"first-pass model trained on {report.papers:,} papers and {report.pieces:,} sentences "
            f"(mean cosine with the default model {report.mean_cosine:.3f})"
        )
    with progress_bar("first pass", total=core.papers_to_embed() or None) as advance:
        return core.sync_vectors(progress=advance, stop=stop, first_pass=model)


def register(app: typer.Typer) -> None:
    app.command("embed")(embed_command)
