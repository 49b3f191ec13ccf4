"""`paperfeed reindex`: rebuild the derived search indexes from the store."""

from __future__ import annotations

from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core, progress_bar


def reindex_command(database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None) -> None:
    """Rebuild search indexes from the store (they are derived data and safe to delete)."""
    core = open_core(database_url)
    total = core.store.papers.count()
    with progress_bar("indexing", total=total) as advance:
        count = core.keyword.rebuild(core.store, progress=advance)
    # Stored embeddings are reused: only papers without one for the current model are embedded.
    with progress_bar("embedding", total=total) as advance:
        core.sync_vectors(progress=advance, rebuild=True)
    console.print(f"indexed {count:,} papers")


def register(app: typer.Typer) -> None:
    app.command("reindex")(reindex_command)
