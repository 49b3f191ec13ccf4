"""`paperfeed topics`: rebuild the topics from the stored embeddings, list them, and measure how
well they agree with the evaluation set's topic queries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core, progress_bar

topics_app = typer.Typer(help="Topics of papers: rebuild, list, evaluate.", no_args_is_help=True)
DEFAULT_QUERIES = Path("eval") / "queries.jsonl"
DatabaseUrl = Annotated[str | None, typer.Option(help="Database URL.")]


@topics_app.command("rebuild")
def rebuild_command(
    topics: Annotated[
        int | None,
        typer.Option("--topics", "-k", min=1, help="How many topics (default: about sqrt(papers / 2))."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Recompute every topic, its label and the topic map from the stored embeddings."""
    core = open_core(database_url)
    core.sync_indexes()  # every paper embedded first
    with progress_bar("assigning", total=core.store.papers.count()) as advance:
        report = core.insight.rebuild(topics=topics, progress=advance)
    if not report.topics:
        console.print("no papers with embeddings yet: import some first")
        return
    console.print(
        f"{report.topics} topics over {report.papers:,} papers"
        + (f" ({report.kept_ids} kept their id)" if report.kept_ids else "")
    )


@topics_app.command("list")
def list_command(database_url: DatabaseUrl = None) -> None:
    """Every topic, largest first, with its distinctive terms."""
    core = open_core(database_url)
    table = Table("id", "papers", "label", "more terms")
    for topic in core.insight.topics():
        table.add_row(str(topic.id), f"{topic.size:,}", topic.label, ", ".join(topic.terms[3:8]))
    console.print(table)


@topics_app.command("eval")
def eval_command(
    queries_file: Annotated[
        Path, typer.Argument(help='JSONL queries; the lines of kind "topic" are used.')
    ] = (DEFAULT_QUERIES),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One row per topic query.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Purity of the topic queries' relevant papers in the topics, and whether the labels name them."""
    from paperfeed.insight.evaluation import agreement, topic_queries

    core = open_core(database_url)
    result = agreement(core.store, topic_queries(queries_file))
    if verbose:
        table = Table("query", "papers", "purity", "chance", "topic", "label names it")
        for q in result.queries:
            table.add_row(
                q.query[:60],
                str(q.relevant),
                f"{q.purity:.2f}",
                f"{q.chance:.2f}",
                q.topic_label,
                "yes" if q.label_hit else "no",
            )
        console.print(table)
    console.print(
        f"{len(result.queries)} topic queries: purity {result.purity:.3f} (chance {result.chance:.3f}), "
        f"label names the query {result.label_hits:.1%}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
