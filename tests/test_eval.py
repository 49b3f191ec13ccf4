"""The retrieval evaluation: metrics, query files, and the development set over the demo corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from paperfeed.cli import app
from paperfeed.errors import InvalidInput
from paperfeed.search.evaluation import (
    EvalQuery,
    evaluate_recommendations,
    load_queries,
    ndcg,
    recall,
    reciprocal_rank,
    resolve_relevant,
    score_rankings,
    simulated_collections,
)

DEV_SET = Path(__file__).resolve().parents[1] / "eval" / "dev_queries.jsonl"


def test_metrics_on_a_hand_made_example_give_the_exact_numbers() -> None:
    # Query A: relevant {1, 2}; ranked 5, 1, 7, 2. Query B: relevant {9}; not ranked at all.
    ranking_a, relevant_a = [5, 1, 7, 2], {1, 2}
    ranking_b, relevant_b = [3, 4], {9}

    assert reciprocal_rank(ranking_a, relevant_a) == 0.5
    assert reciprocal_rank(ranking_b, relevant_b) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal DCG = 1/log2(2) + 1/log2(3)
    expected_ndcg = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg(ranking_a, relevant_a) == pytest.approx(expected_ndcg)
    assert ndcg(ranking_a, relevant_a) == pytest.approx(0.6509209298)
    assert recall(ranking_a, relevant_a, 2) == 0.5
    assert recall(ranking_a, relevant_a, 10) == 1.0

    scores = score_rankings([ranking_a, ranking_b], [relevant_a, relevant_b])
    assert scores.mrr_10 == 0.25
    assert scores.ndcg_10 == pytest.approx(0.6509209298 / 2)
    assert scores.recall_10 == 0.5
    assert scores.recall_100 == 0.5


def test_relevant_papers_past_rank_ten_count_only_for_recall_at_100() -> None:
    ranking = [*range(100, 111), 1]  # the relevant paper is 12th
    assert reciprocal_rank(ranking, {1}) == 0.0
    assert ndcg(ranking, {1}) == 0.0
    assert recall(ranking, {1}, 10) == 0.0
    assert recall(ranking, {1}, 100) == 1.0


def test_a_bad_line_in_a_query_file_is_named_by_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text('{"query": "a", "relevant": ["x"]}\n\n{"query": "b", "relevant": []}\n')
    with pytest.raises(InvalidInput, match=r"queries.jsonl:3: needs \"relevant\""):
        load_queries(path)
    path.write_text("{not json\n")
    with pytest.raises(InvalidInput, match=r"queries.jsonl:1: not JSON"):
        load_queries(path)


def test_relevant_items_resolve_by_title_whatever_the_case_and_punctuation_or_by_id(demo_core) -> None:
    paper = demo_core.store.papers.get(1)
    sloppy_title = paper.title.upper().replace(":", " ").replace("-", " ")
    queries = [EvalQuery("q", [sloppy_title], line=1), EvalQuery("q", [paper.key], line=2)]

    assert resolve_relevant(demo_core, queries) == [{paper.id}, {paper.id}]

    with pytest.raises(InvalidInput, match=r":7: no paper has the id or title 'No Such Paper'"):
        resolve_relevant(demo_core, [EvalQuery("q", ["No Such Paper"], line=7)])


def test_the_development_set_has_forty_realistic_queries_all_resolving_in_the_demo_corpus(demo_core) -> None:
    queries = load_queries(DEV_SET)
    assert len(queries) >= 40
    assert len({q.query for q in queries}) == len(queries)
    relevant = resolve_relevant(demo_core, queries, DEV_SET)
    assert all(len(ids) == len(q.relevant) for ids, q in zip(relevant, queries, strict=True))


def test_the_eval_command_prints_every_mode_side_by_side(demo_core, tmp_path: Path, capsys) -> None:
    paper = demo_core.store.papers.get(1)
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"query": paper.title, "relevant": [paper.title]}) + "\n")

    app(["eval", str(path)], standalone_mode=False)

    out = capsys.readouterr().out
    for header in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100", "keyword", "semantic", "hybrid"):
        assert header in out
    assert "1.000" in out  # its own title finds the paper first in every mode


# --- recommendations -------------------------------------------------------------------------------

EVAL_SET = Path(__file__).resolve().parents[1] / "eval" / "queries.jsonl"


def two_topic_queries(tmp_path: Path) -> Path:
    """A tiny query file: the evaluation set's first topic query of each half."""
    lines = [json.loads(line) for line in EVAL_SET.read_text().splitlines() if line.strip()]
    chosen = [next(q for q in lines if q["kind"] == "topic" and q["split"] == split) for split in ("tune", "test")]
    path = tmp_path / "topics.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in chosen))
    return path


def test_simulated_users_hold_a_seeded_half_of_a_topics_papers_and_are_scored_on_the_rest(demo_core, tmp_path):
    queries = load_queries(two_topic_queries(tmp_path))
    relevant = resolve_relevant(demo_core, queries)

    users = simulated_collections(demo_core, queries)

    assert len(users) == 2
    for (collection, held_out), wanted in zip(users, relevant, strict=True):
        assert set(collection) | held_out == wanted and not set(collection) & held_out
        assert len(collection) == len(wanted) // 2
    assert simulated_collections(demo_core, queries) == users  # the same halves every run
    assert simulated_collections(demo_core, queries, seed=1) != users


def test_recommendations_are_measured_against_the_baseline_on_a_tiny_set(demo_core, tmp_path):
    queries = load_queries(two_topic_queries(tmp_path))

    result = evaluate_recommendations(demo_core, queries)

    for scores in (result.model, result.baseline):
        assert scores.users == 2
        assert 0.0 <= scores.precision_10 <= result.best_precision_10 <= 1.0
        assert 0.0 <= scores.recall_50 <= 1.0
    assert result.model.recall_50 > 0  # the other half of a topic is found among the first 50


def test_the_eval_command_measures_recommendations_on_the_chosen_half(demo_core, tmp_path, capsys) -> None:
    path = two_topic_queries(tmp_path)

    app(["eval", str(path), "--recommend", "--split", "test"], standalone_mode=False)

    out = capsys.readouterr().out
    for text in ("1 simulated user ·", "test half", "precision@10", "recall@50", "ridge model", "mean vector"):
        assert text in out
    app(["eval", str(path), "--recommend", "--tune"], standalone_mode=False)
    assert "ridge" in capsys.readouterr().out
