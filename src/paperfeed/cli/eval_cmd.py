"""`paperfeed eval [QUERIES.jsonl]`: how well each search mode finds the papers a query set
names as relevant (MRR@10, nDCG@10, Recall@10, Recall@100), per kind of query and overall;
with `--recommend`, how well recommendations find the held-out half of a topic's papers from
the other half (precision@10, recall@50), against the papers nearest to the collection's mean.
Reports the test half unless told otherwise; `--tune` chooses settings on the tuning half
and never reads the test half."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core
from paperfeed.errors import InvalidInput
from paperfeed.search.evaluation import (
    MODES,
    RECOMMEND_MIN_RELEVANT,
    Scores,
    evaluate,
    evaluate_recommendations,
    floor_recall,
    load_queries,
    of_split,
    related_precision,
    tune_fusion,
    tune_rank_fusion,
    tune_recommender,
)

DEFAULT_QUERIES = Path("eval") / "queries.jsonl"
TUNING_ROWS = 10
METRICS = ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")


def eval_command(
    queries_file: Annotated[
        Path,
        typer.Argument(help='JSONL, one {"query", "kind", "split", "relevant": [titles or ids]} a line.'),
    ] = DEFAULT_QUERIES,
    modes: Annotated[str, typer.Option(help="Comma-separated modes to compare.")] = ",".join(MODES),
    split: Annotated[str, typer.Option(help="Which half to score: test, tune or all.")] = "test",
    tune: Annotated[
        bool,
        typer.Option("--tune", help="Choose hybrid fusion settings and the similarity floor on the tuning half."),
    ] = False,
    related: Annotated[
        bool, typer.Option("--related", help="Also measure related papers (precision@10 of topic-mates).")
    ] = False,
    recommend: Annotated[
        bool,
        typer.Option(
            "--recommend",
            help="Measure recommendations instead: users whose collection is half of a topic's papers.",
        ),
    ] = False,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Score keyword, semantic and hybrid search (or recommendations) on queries with known
    relevant papers."""
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise InvalidInput(f"unknown mode {', '.join(unknown) or '(none)'}: choose from {', '.join(MODES)}")
    all_queries = load_queries(queries_file)
    core = open_core(database_url)
    core.sync_indexes()
    if recommend:
        _print_recommendations(core, all_queries, split, tune=tune, path=str(queries_file))
        return
    if tune:
        _print_tuning(core, all_queries, str(queries_file))
        return
    queries = of_split(all_queries, split)
    result = evaluate(core, queries, chosen, path=str(queries_file))
    table = Table(
        title=f"{len(queries)} queries · {queries_file.name} · {split} half", title_justify="left"
    )
    table.add_column("mode")
    table.add_column("kind (queries)")
    for metric in (*METRICS, "ms"):
        table.add_column(metric, justify="right")
    for mode, overall in result.by_mode.items():
        kinds = result.by_kind[mode]
        for kind, scores in kinds.items():
            if len(kinds) > 1:
                table.add_row(mode, f"{kind} ({scores.queries})", *_cells(scores), "")
        table.add_row(
            mode, f"all ({overall.queries})", *_cells(overall), f"{overall.mean_ms:.0f}", end_section=True
        )
    console.print(table)
    if related:
        precision = related_precision(core, queries, path=str(queries_file))
        console.print(f"related papers: precision@10 of topic-mates {precision:.3f}")


def _cells(scores: Scores) -> list[str]:
    return [f"{value:.3f}" for value in scores.as_dict().values()]


def _print_tuning(core, queries, path: str) -> None:
    tuning = of_split(queries, "tune")
    trials = tune_fusion(core, queries, path=path)
    table = Table(
        title=f"hybrid fusion on the tuning half ({len(tuning)} queries), best first",
        title_justify="left",
    )
    kinds = list(trials[0].kinds) if trials else []
    for column in ("short w", "≤ words", "long w", "≥ words", "MRR@10", "nDCG@10", *kinds):
        table.add_column(column, justify="right")
    for trial in trials[:TUNING_ROWS]:
        fusion = trial.fusion
        table.add_row(
            f"{fusion.short_weight:g}",
            str(fusion.short_words),
            f"{fusion.long_weight:g}",
            str(fusion.long_words),
            f"{trial.scores.mrr_10:.3f}",
            f"{trial.scores.ndcg_10:.3f}",
            *(f"{s.mrr_10:.3f}/{s.ndcg_10:.3f}" for s in trial.kinds.values()),
        )
    console.print(table)
    console.print("per kind: MRR@10 / nDCG@10")
    best = tune_rank_fusion(core, queries, path=path)[0]
    console.print(
        f"baseline, the best reciprocal rank fusion (k={best.k:g}, semantic weight {best.semantic_weight:g}): "
        f"MRR@10 {best.scores.mrr_10:.3f}, nDCG@10 {best.scores.ndcg_10:.3f}; "
        + ", ".join(f"{k} {s.mrr_10:.3f}/{s.ndcg_10:.3f}" for k, s in best.kinds.items())
    )
    kept = floor_recall(core, queries, path=path)
    console.print(
        "similarity floor: share of the relevant papers in the tuning queries' first 100 semantic "
        "results that each floor keeps: " + ", ".join(f"{floor:g}: {share:.3f}" for floor, share in kept.items())
    )


def _print_recommendations(core, queries, split: str, *, tune: bool, path: str) -> None:
    if tune:
        table = Table(title="recommender ridge strength on the tuning half", title_justify="left")
        for column in ("ridge", "users", "precision@10", "recall@50"):
            table.add_column(column, justify="right")
        for ridge, scores in tune_recommender(core, queries, path=path).items():
            table.add_row(f"{ridge:g}", str(scores.users), f"{scores.precision_10:.3f}", f"{scores.recall_50:.3f}")
        console.print(table)
        return
    result = evaluate_recommendations(core, of_split(queries, split), path=path)
    table = Table(
        title=f"recommendations for {result.model.users} simulated user{'' if result.model.users == 1 else 's'} · "
        f"{split} half "
        f"(topic queries with ≥ {RECOMMEND_MIN_RELEVANT} relevant papers: a seeded half is the "
        "collection, the other half is what should be recommended)",
        title_justify="left",
    )
    table.add_column("method")
    table.add_column("precision@10", justify="right")
    table.add_column("recall@50", justify="right")
    for name, scores in (
        ("ridge model (paperfeed)", result.model),
        ("nearest to the collection's mean vector", result.baseline),
    ):
        table.add_row(name, f"{scores.precision_10:.3f}", f"{scores.recall_50:.3f}")
    table.add_row("(a perfect ranking)", f"{result.best_precision_10:.3f}", "1.000", style="dim")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
