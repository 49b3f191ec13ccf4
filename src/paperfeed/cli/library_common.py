"""What the library commands share: the user they act for, and a table of ranked papers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from paperfeed.core import PaperFeed
from paperfeed.errors import NotFound
from paperfeed.models import ResultPage, User

UserOption = Annotated[str, typer.Option("--user", "-u", help="Whose library (a user name).")]
DatabaseOption = Annotated[str | None, typer.Option(help="Database URL.")]


def user_named(core: PaperFeed, name: str) -> User:
    user = core.store.users.by_name(name.strip())
    if user is None:
        raise NotFound(f"no user {name!r}")
    return user


def papers_table(result: ResultPage, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("title", ratio=3)
    table.add_column("authors", ratio=1)
    table.add_column("date")
    table.add_column("why", ratio=1)
    first = (result.page - 1) * result.per_page + 1
    for rank, item in enumerate(result.items, start=first):
        paper = item.paper
        authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
        table.add_row(
            str(rank), paper.paper_id, paper.title, authors, str(paper.published or paper.listed_on),
            item.reason or f"{item.score:.2f}",
        )  # fmt: skip
    return table
