"""`paperfeed stats`: what the store holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core


def stats_command(database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None) -> None:
    """Show how many papers, days and sources the store holds."""
    stats = open_core(database_url, read_only=True).stats()
    table = Table(show_header=False, title="paperfeed", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("papers", f"{stats.papers:,}"),
        ("with arXiv id", f"{stats.with_arxiv_id:,}"),
        ("with code", f"{stats.with_code:,}"),
        ("days", f"{stats.days:,} ({stats.first_day} … {stats.last_day})" if stats.days else "0"),
        ("by source", ", ".join(f"{k}: {v:,}" for k, v in stats.by_source.items()) or "-"),
        ("database", stats.database),
        ("database size", f"{stats.database_bytes / 1e6:,.1f} MB" if stats.database_bytes else "-"),
        ("search index", f"{stats.index_docs:,} papers" if stats.index_docs is not None else "missing"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_command)
