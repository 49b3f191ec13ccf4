"""`paperfeed tldr`: a paper's one-line TL;DR, and its agreement with hand labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core

tldr_app = typer.Typer(help="One-line TL;DRs of papers.", no_args_is_help=True)
DEFAULT_LABELS = Path("eval") / "tldr_labels.jsonl"
DatabaseUrl = Annotated[str | None, typer.Option(help="Database URL.")]


@tldr_app.command("show")
def show_command(
    paper: Annotated[str, typer.Argument(help="A paper id or URL.")], database_url: DatabaseUrl = None
) -> None:
    """Print a paper's TL;DR."""
    from paperfeed.insight import tldr

    found = open_core(database_url).paper(paper)
    console.print(tldr(found.abstract) or "(no abstract)", highlight=False)


@tldr_app.command("eval")
def eval_command(
    labels_file: Annotated[
        Path, typer.Argument(help='JSONL, one {"paper", "contribution", "also"} a line.')
    ] = (DEFAULT_LABELS),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every disagreement.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """How often the TL;DR is the sentence the labels name as the contribution."""
    from paperfeed.insight.evaluation import tldr_agreement

    result = tldr_agreement(open_core(database_url).store, labels_file)
    if verbose:
        for key, chosen, wanted in result.misses:
            console.print(f"{key}\n  chosen:   {chosen[:150]}\n  labelled: {wanted}", highlight=False)
    console.print(
        f"{result.labelled} labelled abstracts: TL;DR is the labelled sentence {result.exact:.1%}, "
        f"an accepted one {result.acceptable:.1%} (first sentence {result.first_sentence:.1%}, "
        f'first sentence with "we" {result.first_we:.1%})'
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tldr_app, name="tldr")
