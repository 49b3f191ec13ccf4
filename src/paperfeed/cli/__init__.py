"""The `paperfeed` command: one file per command, all calling `paperfeed.core`."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from paperfeed.cli import (
    admin_cmd,
    digest_cmd,
    eval_cmd,
    export_cmd,
    follow_cmd,
    harvest_cmd,
    import_cmd,
    index_cmd,
    migrate_cmd,
    search_cmd,
    serve_cmd,
    stats_cmd,
    sync_cmd,
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
)
for module in (
    import_cmd,
    search_cmd,
    serve_cmd,
    stats_cmd,
    index_cmd,
    harvest_cmd,
    follow_cmd,
    sync_cmd,
    digest_cmd,
    admin_cmd,
    eval_cmd,
    export_cmd,
    migrate_cmd,
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
    except Exception as exc:  # click's usage errors and anything unforeseen
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            console_err.print("[yellow]aborted[/]")
            sys.exit(1)
        # A storage failure (a full disk) is one sentence, never the SQL and rows it was writing.
        message = failure_message(exc) or (str(exc).strip().splitlines() or ["unexpected failure"])[0]
        console_err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(1)
