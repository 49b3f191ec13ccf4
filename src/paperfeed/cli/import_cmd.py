"""`paperfeed import PATH`: import a file or a directory of files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core, progress_bar
from paperfeed.errors import InvalidInput
from paperfeed.ingest import DEMO_DATA, FILE_FORMATS, open_sources
from paperfeed.models import ImportReport

SHOWN_REJECTIONS = 20


def print_reports(reports: list[ImportReport]) -> None:
    table = Table(title="Import report", title_justify="left")
    for column in ("source", "format", "added", "updated", "unchanged", "rejected", "seconds"):
        table.add_column(
            column, justify="left" if column in {"source", "format"} else "right", overflow="fold"
        )
    for r in reports:
        resumed = f" (resumed after record {r.resumed_from})" if r.resumed_from else ""
        table.add_row(
            r.source + resumed,
            r.fmt,
            f"{r.added:,}",
            f"{r.updated:,}",
            f"{r.unchanged:,}",
            f"{r.rejected:,}",
            f"{r.seconds:.2f}",
        )
    console.print(table)
    for r in reports:
        for rejection in r.rejections[:SHOWN_REJECTIONS]:
            console.print(
                f"[yellow]rejected[/] {r.source}:{rejection.record_no}: {rejection.reason}", highlight=False
            )
        if r.rejected > SHOWN_REJECTIONS:
            console.print(f"[yellow]… and {r.rejected - SHOWN_REJECTIONS:,} more rejections in {r.source}[/]")


def import_command(
    path: Annotated[
        Path | None, typer.Argument(help="A file, or a directory whose files are all imported.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help=f"One of: {', '.join(FILE_FORMATS)}. Guessed from the file when omitted."
        ),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Import the bundled Daily Papers demo pages.")] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (default: PAPERFEED_DATABASE_URL or SQLite).")
    ] = None,
) -> None:
    """Import papers from files: Daily Papers text pages, the arXiv metadata snapshot (JSONL),
    arXiv API Atom responses, OAI-PMH responses or BibTeX. Re-running is safe: nothing is
    duplicated, and an interrupted import resumes."""
    if (path is None) == (not demo):
        raise InvalidInput("give a PATH to import, or --demo for the bundled demo data (not both)")
    core = open_core(database_url)
    sources = open_sources(DEMO_DATA if demo else path, fmt)
    with progress_bar("importing") as advance:
        reports = core.import_sources(sources, progress=advance, sync=False)
    with progress_bar("indexing") as advance:
        core.keyword.sync(core.store, progress=advance)
    with progress_bar("embedding") as advance:
        core.sync_vectors(progress=advance)
    print_reports(reports)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
