"""`paperfeed author NAME`: an author's papers, newest first, with co-authors, categories and the
name variants joined or left apart."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core, paper_cell
from paperfeed.cli.library_common import DatabaseOption

SHOWN_FACETS = 5  # co-authors and categories named above the table


def author_command(
    name: Annotated[str, typer.Argument(help='The name as written on a paper, e.g. "Ada Lovelace".')],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
    page: Annotated[int, typer.Option(min=1)] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """An author's papers, newest first."""
    core = open_core(database_url, read_only=True)
    profile, result = core.author(name, page=page, per_page=limit)
    console.print(f"{profile.name} · {result.total:,} papers", style="bold", markup=False, highlight=False)
    facts = [
        ("co-authors", ", ".join(f"{n} ({c})" for n, c in profile.coauthors[:SHOWN_FACETS])),
        ("categories", ", ".join(f"{n} ({c})" for n, c in profile.categories[:SHOWN_FACETS])),
    ]
    for label, text in facts:
        if text:
            console.print(f"{label}: {text}", markup=False, highlight=False)
    for variant in profile.variants:
        verdict = "joined" if variant.joined else "not joined"
        console.print(
            f"also written as {variant.name} ({variant.papers}) — {verdict}: {variant.reason}",
            markup=False,
            highlight=False,
        )
    table = Table(title=f"page {result.page}/{result.pages}, newest first", title_justify="left")
    # Fits 80 columns: the title is cut with an ellipsis; its authors and address go beneath it.
    table.add_column("#", justify="right")
    table.add_column("paper", ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column("date", no_wrap=True)
    first = (result.page - 1) * result.per_page + 1
    for rank, item in enumerate(result.items, start=first):
        table.add_row(
            str(rank), paper_cell(core, item.paper), str(item.paper.published or item.paper.listed_on)
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("author")(author_command)
