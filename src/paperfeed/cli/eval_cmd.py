"""`paperfeed eval QUERIES.jsonl`: how well each search mode finds the papers a query set
names as relevant (MRR@10, nDCG@10, Recall@10, Recall@100)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core
from paperfeed.errors import InvalidInput
from paperfeed.search.evaluation import MODES, evaluate, load_queries, tune_fusion

TUNING_ROWS = 10


def eval_command(
    queries_file: Annotated[
        Path, typer.Argument(help='JSONL, one {"query": ..., "relevant": [titles or ids]} a line.')
    ],
    modes: Annotated[str, typer.Option(help="Comma-separated modes to compare.")] = ",".join(MODES),
    tune: Annotated[
        bool, typer.Option("--tune", help="Also score hybrid fusion settings (k, weights).")
    ] = False,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Score keyword, semantic and hybrid search on queries with known relevant papers."""
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise InvalidInput(f"unknown mode {', '.join(unknown) or '(none)'}: choose from {', '.join(MODES)}")
    queries = load_queries(queries_file)
    core = open_core(database_url)
    core.sync_indexes()
    result = evaluate(core, queries, chosen, path=str(queries_file))
    table = Table(title=f"{len(queries)} queries · {queries_file.name}", title_justify="left")
    table.add_column("mode")
    for metric in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100", "ms/query"):
        table.add_column(metric, justify="right")
    for mode, scores in result.by_mode.items():
        table.add_row(mode, *(f"{value:.3f}" for value in scores.as_dict().values()), f"{scores.mean_ms:.1f}")
    console.print(table)
    if tune:
        trials = tune_fusion(core, queries, path=str(queries_file))
        tuning = Table(title="hybrid: reciprocal rank fusion settings, best first", title_justify="left")
        for column in (
            "k",
            "keyword weight",
            "semantic weight",
            "MRR@10",
            "nDCG@10",
            "Recall@10",
            "Recall@100",
        ):
            tuning.add_column(column, justify="right")
        for trial in trials[:TUNING_ROWS]:
            tuning.add_row(
                f"{trial.k:g}",
                f"{trial.keyword_weight:g}",
                f"{trial.semantic_weight:g}",
                *(f"{value:.3f}" for value in trial.scores.as_dict().values()),
            )
        console.print(tuning)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
