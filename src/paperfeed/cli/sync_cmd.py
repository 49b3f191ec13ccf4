"""`paperfeed sync`: import what is new from every followed source; `paperfeed sync status`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, console_err, open_core, progress_bar
from paperfeed.cli.follow_cmd import sources_table, when
from paperfeed.ingest.sync import SyncReport

sync_app = typer.Typer(
    help="Import what is new from every followed source (safe from a timer at any frequency).",
)

DatabaseOption = Annotated[
    str | None, typer.Option(help="Database URL (default: PAPERFEED_DATABASE_URL or SQLite).")
]


def print_sync_reports(reports: list[SyncReport]) -> None:
    table = Table(title="Sync report", title_justify="left")
    for column in ("source", "status", "window", "added", "updated", "unchanged", "rejected", "listing"):
        table.add_column(
            column, overflow="fold", justify="left" if column in {"source", "status"} else "right"
        )
    for r in reports:
        i = r.import_report
        window = f"{r.first_day} … {r.last_day}" if r.first_day else "—"
        status = r.status
        if r.status == "not due":
            status = f"not due until {when(r.next_run_at)}"
        elif r.status == "dry run":
            status = f"dry run: would add {r.would_add}"
        elif i and i.resumed_from:
            status = f"ok (resumed after record {i.resumed_from})"
        numbers = [
            f"{n:,}" if i else "—" for n in ((i.added, i.updated, i.unchanged, i.rejected) if i else (0,) * 4)
        ]
        listing = ", ".join(f"{n} {kind}" for kind, n in sorted(r.kinds.items())) or "—"
        table.add_row(r.label, status, window, *numbers, listing)
    console.print(table)
    for r in reports:
        if r.error:
            when_next = f"; next try {when(r.next_run_at)}" if r.next_run_at else ""
            console_err.print(f"[red]failed[/] {r.label}: {r.error}{when_next}", highlight=False)
        if r.import_report:
            for rejection in r.import_report.rejections[:10]:
                console.print(
                    f"[yellow]rejected[/] {r.label} record {rejection.record_no}: {rejection.reason}",
                    highlight=False,
                )


@sync_app.callback(invoke_without_command=True)
def sync_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fetch and show what would be imported; change nothing.")
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Sync every source now, even those not due (or backing off).")
    ] = False,
    source: Annotated[
        list[int] | None, typer.Option("--source", help="Only this source id; repeat for several.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Sync the followed sources that are due. Exits 1 when a source failed (the others still run)."""
    if ctx.invoked_subcommand is not None:
        return
    core = open_core(database_url)
    if not core.followed():
        console.print("no followed sources; add one with `paperfeed follow add arxiv cs.CL`")
        return
    with progress_bar("syncing") as advance:
        reports = core.sync_followed(force=all_, dry_run=dry_run, only=source or None, progress=advance)
    print_sync_reports(reports)
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@sync_app.command("status")
def sync_status(database_url: DatabaseOption = None) -> None:
    """Each followed source's watermark, last success, next run and last error."""
    sources = open_core(database_url).followed()
    if not sources:
        console.print("no followed sources; add one with `paperfeed follow add arxiv cs.CL`")
        return
    console.print(sources_table(sources, "Sync status"))


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
