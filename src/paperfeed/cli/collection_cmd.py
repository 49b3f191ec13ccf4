"""`paperfeed collection list|show|create|add|remove|export`: a user's collections from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core
from paperfeed.cli.library_common import DatabaseOption, UserOption, papers_table, user_named
from paperfeed.errors import InvalidInput
from paperfeed.library import citations

collection_app = typer.Typer(help="A user's collections of papers.", no_args_is_help=True)
CollectionArg = Annotated[str, typer.Argument(help="The collection's name or number.")]


@collection_app.command("list")
def collection_list(user: UserOption, database_url: DatabaseOption = None) -> None:
    """The user's collections."""
    core = open_core(database_url)
    table = Table(title=f"Collections of {user}", title_justify="left")
    for column in ("id", "name", "visibility", "papers", "description"):
        table.add_column(column, overflow="fold")
    for c in core.collections(user_named(core, user)):
        table.add_row(str(c.id), c.name + (" (default)" if c.is_default else ""), c.visibility, str(c.size),
                      c.description)  # fmt: skip
    console.print(table)


@collection_app.command("create")
def collection_create(
    user: UserOption,
    name: Annotated[str, typer.Argument(help="The new collection's name.")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    visibility: Annotated[str, typer.Option(help="private, unlisted or public.")] = "private",
    database_url: DatabaseOption = None,
) -> None:
    """Make a new collection."""
    core = open_core(database_url)
    c = core.create_collection(user_named(core, user), name, description, visibility)
    console.print(f"created collection {c.id}: {c.name} ({c.visibility})", highlight=False)


@collection_app.command("show")
def collection_show(
    user: UserOption,
    collection: CollectionArg,
    page: Annotated[int, typer.Option(min=1)] = 1,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """The papers of a collection, the last added first."""
    core = open_core(database_url)
    chosen = core.library.find_own(user_named(core, user), collection)
    result = core.collection_papers(chosen, page=page, per_page=limit)
    title = f"{chosen.name} · {result.total:,} papers · page {result.page}/{result.pages}"
    console.print(papers_table(result, title))


@collection_app.command("add")
def collection_add(
    user: UserOption,
    collection: CollectionArg,
    papers: Annotated[list[str], typer.Argument(help="Paper ids (arXiv ids, keys or DOIs).")],
    database_url: DatabaseOption = None,
) -> None:
    """Add papers to a collection."""
    core = open_core(database_url)
    owner = user_named(core, user)
    chosen = core.library.find_own(owner, collection)
    added = sum(core.add_to_collection(owner, chosen.id, ref) for ref in papers)
    console.print(f"added {added} of {len(papers)} to {chosen.name}", highlight=False)


@collection_app.command("remove")
def collection_remove(
    user: UserOption,
    collection: CollectionArg,
    papers: Annotated[list[str], typer.Argument(help="Paper ids.")],
    database_url: DatabaseOption = None,
) -> None:
    """Take papers out of a collection."""
    core = open_core(database_url)
    owner = user_named(core, user)
    chosen = core.library.find_own(owner, collection)
    removed = sum(core.remove_from_collection(owner, chosen.id, ref) for ref in papers)
    console.print(f"removed {removed} of {len(papers)} from {chosen.name}", highlight=False)


@collection_app.command("export")
def collection_export(
    user: UserOption,
    collection: CollectionArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="bibtex, ris or csl-json.")] = "bibtex",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """A collection's papers as citations."""
    core = open_core(database_url)
    try:
        chosen_format = citations.parse_format(fmt)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    chosen = core.library.find_own(user_named(core, user), collection)
    text = citations.export(core.collection_paper_list(chosen), chosen_format)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {chosen.size} papers to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(collection_app, name="collection")


@collection_app.command("import")
def collection_import(
    user: UserOption,
    collection: CollectionArg,
    path: Annotated[Path, typer.Argument(help="A BibTeX, RIS or CSL-JSON library (Zotero, Mendeley, ...).")],
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="bibtex, ris or csl-json (default: guessed).")]
    = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import a reference library into a collection: known papers are matched, unknown ones added."""
    from paperfeed.cli.common import progress_bar

    core = open_core(database_url)
    owner = user_named(core, user)
    chosen = core.library.find_own(owner, collection)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    data = path.read_bytes()
    with progress_bar(f"importing into {chosen.name}") as advance:
        seen = [0]

        def progress(done: int, total: int) -> None:
            advance(done - seen[0])
            seen[0] = done

        report = core.import_library(owner, chosen.id, data, fmt, filename=path.name, progress=progress)
    console.print(
        f"{report.records} records: {len(report.matched)} matched, {len(report.added)} added, "
        f"{len(report.rejected)} rejected",
        highlight=False,
    )
    for rejection in report.rejected[:50]:
        console.print(f"  record {rejection.record_no}: {rejection.reason}", highlight=False, markup=False)
    if len(report.rejected) > 50:
        console.print(f"  and {len(report.rejected) - 50} more rejected", highlight=False)
