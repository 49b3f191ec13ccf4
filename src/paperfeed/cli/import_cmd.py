"""`paperfeed import PATH`: import a file or a directory of files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core, progress_bar
from paperfeed.cli.embed_cmd import FIRST_PASS_ADVISED, FIRST_PASS_HINT
from paperfeed.errors import InvalidInput
from paperfeed.ingest import DEMO_DATA, FILE_FORMATS, open_sources
from paperfeed.models import ImportReport

SHOWN_REJECTIONS = 20


def shown_source(location: str) -> str:
    """A file's name rather than its whole path (the table must fit in 80 columns)."""
    path = Path(location)
    return path.name if path.is_absolute() or len(path.parts) > 1 else location


def print_reports(reports: list[ImportReport]) -> None:
    seconds = sum(r.seconds for r in reports)
    table = Table(title=f"Import report ({seconds:,.1f} s)", title_justify="left")
    for column in ("source", "format", "added", "updated", "unchanged", "rejected"):
        table.add_column(
            column, justify="left" if column in {"source", "format"} else "right", overflow="fold"
        )
    for r in reports:
        resumed = f" (resumed after record {r.resumed_from})" if r.resumed_from else ""
        table.add_row(
            shown_source(r.source) + resumed,
            r.fmt,
            f"{r.added:,}",
            f"{r.updated:,}",
            f"{r.unchanged:,}",
            f"{r.rejected:,}",
        )
    console.print(table)
    for r in reports:
        for rejection in r.rejections[:SHOWN_REJECTIONS]:
            console.print(
                f"[yellow]rejected[/] {shown_source(r.source)}:{rejection.record_no}: {rejection.reason}",
                highlight=False,
            )
        if r.rejected > SHOWN_REJECTIONS:
            console.print(
                f"[yellow]… and {r.rejected - SHOWN_REJECTIONS:,} more rejections in {shown_source(r.source)}[/]"
            )


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
    embed: Annotated[
        bool,
        typer.Option(help="Also embed the new papers before returning (else: paperfeed embed, or serve)."),
    ] = False,
) -> None:
    """Import papers from files: Daily Papers text pages, the arXiv metadata snapshot (JSONL),
    arXiv API Atom responses, OAI-PMH responses or BibTeX. Re-running is safe: nothing is
    duplicated, and an interrupted import resumes."""
    if (path is None) == (not demo):
        raise InvalidInput("give a PATH to import, or --demo for the bundled demo data (not both)")
    core = open_core(database_url, create=True)
    sources = open_sources(DEMO_DATA if demo else path, fmt)
    with progress_bar("importing") as advance:
        reports = core.import_sources(sources, progress=advance, sync=False)
    with progress_bar("indexing") as advance:
        core.keyword.sync(core.store, progress=advance)
    if embed:
        with progress_bar("embedding", total=core.papers_to_embed() or None) as advance:
            core.sync_vectors(progress=advance)
    print_reports(reports)
    if missing := core.papers_to_embed():
        console.print(
            f"{missing:,} papers await embedding for semantic search (keyword search finds them now): "
            "run paperfeed embed, or leave it to paperfeed serve, which embeds in the background"
            + (FIRST_PASS_HINT if missing >= FIRST_PASS_ADVISED else "")
        )


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
