"""`paperfeed follow add|list|remove`: the sources `paperfeed sync` keeps the feed filled from."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core
from paperfeed.models import FollowedSource

follow_app = typer.Typer(
    help="Follow arXiv categories, arXiv queries and Hugging Face Daily Papers (synced by `paperfeed sync`).",
    no_args_is_help=True,
)

DatabaseOption = Annotated[
    str | None, typer.Option(help="Database URL (default: PAPERFEED_DATABASE_URL or SQLite).")
]


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def sources_table(sources: list[FollowedSource], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "source", "watermark", "last success", "next run", "last error"):
        table.add_column(column, overflow="fold")
    for s in sources:
        error = f"{s.last_error} ({when(s.last_error_at)})" if s.failures and s.last_error else "—"
        table.add_row(
            str(s.id),
            s.label,
            s.watermark.isoformat() if s.watermark else "—",
            when(s.last_success_at),
            when(s.next_run_at) if s.next_run_at else "now",
            error,
        )
    return table


@follow_app.command("add")
def follow_add(
    kind: Annotated[str, typer.Argument(help="arxiv (a category over OAI-PMH), arxiv-query, or hf.")],
    target: Annotated[
        str | None,
        typer.Argument(help='The category (cs.CL, hep-th, math) or the query ("cat:cs.CL AND abs:rag").'),
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day of the first sync (default: a week ago)."),
    ] = None,
    metadata_prefix: Annotated[
        str | None, typer.Option(help="OAI-PMH format of a category: arXivRaw (default) or arXiv.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Follow a source."""
    core = open_core(database_url)
    source = core.follow(kind, target, since=since.date() if since else None, metadata_prefix=metadata_prefix)
    console.print(f"following {source.label} (id {source.id}); `paperfeed sync` imports it", highlight=False)


@follow_app.command("list")
def follow_list(database_url: DatabaseOption = None) -> None:
    """The followed sources and where each stands."""
    sources = open_core(database_url).followed()
    if not sources:
        console.print("no followed sources; add one with `paperfeed follow add arxiv cs.CL`")
        return
    console.print(sources_table(sources, "Followed sources"))


@follow_app.command("remove")
def follow_remove(
    source_id: Annotated[int, typer.Argument(help="The id shown by `paperfeed follow list`.")],
    database_url: DatabaseOption = None,
) -> None:
    """Stop following a source (papers already imported stay)."""
    source = open_core(database_url).unfollow(source_id)
    console.print(f"no longer following {source.label}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(follow_app, name="follow")
