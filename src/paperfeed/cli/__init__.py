"""The `paperfeed` command: one file per command, all calling `paperfeed.core`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from typer.exceptions import TyperException

from paperfeed.cli import (
    admin_cmd,
    author_cmd,
    collection_cmd,
    digest_cmd,
    embed_cmd,
    eval_cmd,
    export_cmd,
    follow_cmd,
    harvest_cmd,
    import_cmd,
    index_cmd,
    migrate_cmd,
    search_cmd,
    serve_cmd,
    similar_cmd,
    stats_cmd,
    sync_cmd,
    tldr_cmd,
    topics_cmd,
)
from paperfeed.cli.common import console_err
from paperfeed.errors import PaperfeedError
from paperfeed.store import failure_message

app = typer.Typer(
    name="paperfeed",
    help="Self-hosted research-paper discovery: daily papers, search and subscriptions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("paperfeed")
        except PackageNotFoundError:  # a source tree that is not installed
            shown = "unknown"
        typer.echo(f"paperfeed {shown}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Self-hosted research-paper discovery: daily papers, search and subscriptions."""


for module in (
    import_cmd,
    search_cmd,
    author_cmd,
    similar_cmd,
    collection_cmd,
    serve_cmd,
    stats_cmd,
    index_cmd,
    embed_cmd,
    harvest_cmd,
    follow_cmd,
    sync_cmd,
    digest_cmd,
    admin_cmd,
    eval_cmd,
    export_cmd,
    migrate_cmd,
    topics_cmd,
    tldr_cmd,
):
    module.register(app)


def main() -> None:
    """Entry point: user errors are one red line and exit status 1, never a traceback."""
    try:
        app(standalone_mode=False)
    except PaperfeedError as exc:
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console_err.print("[yellow]interrupted[/]")
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        console_err.print("[yellow]aborted[/]")
        sys.exit(1)
    except TyperException as exc:  # usage errors: a wrong option or value
        console_err.print(f"[bold red]error:[/] {usage_message(exc)}", highlight=False)
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:  # anything unforeseen: one line, no traceback, no class names
        # A storage failure (a full disk) is one sentence, never the SQL and rows it was writing.
        message = failure_message(exc) or (str(exc).strip().splitlines() or ["something went wrong"])[0]
        console_err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(1)


def usage_message(exc: TyperException) -> str:
    """A usage error as one sentence, with where to read how the command is used."""
    message = exc.format_message().replace("Value error, ", "").strip()
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "paperfeed"
    return f"{message} (see: {where} --help)"
