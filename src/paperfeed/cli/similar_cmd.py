"""`paperfeed similar TEXT | --paper ID | --collection NAME --user U`: the papers nearest in meaning."""

from __future__ import annotations

from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core
from paperfeed.cli.library_common import DatabaseOption, papers_table, user_named


def similar_command(
    text: Annotated[str | None, typer.Argument(help="Any text: an abstract, a draft, a description.")] = None,
    paper: Annotated[str | None, typer.Option(help="A paper id (arXiv id, key or DOI).")] = None,
    collection: Annotated[str | None, typer.Option(help="A collection of --user (name or number).")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Whose collection.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    page: Annotated[int, typer.Option(min=1)] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """Papers like a text, a paper or a collection."""
    core = open_core(database_url)
    chosen = None
    if collection is not None:
        if not user:
            raise typer.BadParameter("--collection needs --user")
        chosen = core.library.find_own(user_named(core, user), collection)
    result = core.similar(
        text=text, paper=core.paper(paper) if paper else None, collection=chosen, page=page, per_page=limit
    )
    console.print(papers_table(result, f"{result.total:,} similar papers · page {result.page}/{result.pages}"))


def register(app: typer.Typer) -> None:
    app.command("similar")(similar_command)
