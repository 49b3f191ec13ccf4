"""`paperfeed search QUERY`: search from the terminal, results as a table."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core, paper_cell
from paperfeed.models import SearchFilters, SearchRequest


def search_command(
    query: Annotated[str, typer.Argument(help='Words, "quoted phrases", -excluded words.')] = "",
    author: Annotated[str | None, typer.Option(help="Only papers by this author.")] = None,
    category: Annotated[
        str | None, typer.Option(help="Only papers in this arXiv category, e.g. cs.CL.")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Published on or after.")
    ] = None,
    until: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Published on or before.")
    ] = None,
    has_code: Annotated[
        bool | None, typer.Option("--has-code/--no-code", help="With or without a code link.")
    ] = None,
    sort: Annotated[str, typer.Option(help="relevance or newest.")] = "relevance",
    mode: Annotated[str, typer.Option(help="keyword, semantic or hybrid (default).")] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    page: Annotated[int, typer.Option(min=1)] = 1,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Search papers by keyword, with filters."""
    core = open_core(database_url, read_only=True)
    request = SearchRequest(
        query=query,
        filters=SearchFilters(
            date_from=since.date() if since else None,
            date_to=until.date() if until else None,
            author=author,
            category=category,
            has_code=has_code,
        ),
        sort="newest" if sort == "newest" else "relevance",
        page=page,
        per_page=limit,
        mode=mode,  # type: ignore[arg-type]
    )
    result = core.search(request)
    table = Table(
        title=f"{result.total:,} papers · page {result.page}/{result.pages} · {result.took_ms:.1f} ms",
        title_justify="left",
    )
    # Fits 80 columns: the title is cut with an ellipsis; its authors and address go beneath it.
    table.add_column("#", justify="right")
    table.add_column("paper", ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column("date", no_wrap=True)
    table.add_column("score", justify="right")
    for rank, item in enumerate(result.items, start=request.offset + 1):
        paper = item.paper
        table.add_row(
            str(rank), paper_cell(core, paper), str(paper.published or paper.listed_on), f"{item.score:.2f}"
        )
    console.print(table)
    if result.suggestion:
        console.print(f"Did you mean: {result.suggestion}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
