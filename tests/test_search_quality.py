"""Search that finds the paper: the evaluation set, the default model's behaviour at the edges
(gibberish, misspellings, lone terms, phrases), and the hybrid ranking against its parts.

Most tests here run on the default embedder (all-MiniLM-L6-v2, int8 ONNX, 256 tokens) over the
demo corpus, built once for the module: the similarity floor and the fusion were chosen for it.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import DEMO_DIR
from paperfeed.cli import app as cli_app
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.models import SearchRequest
from paperfeed.search.evaluation import (
    KINDS,
    EvalQuery,
    evaluate,
    load_queries,
    of_split,
    resolve_relevant,
    tune_fusion,
)
from paperfeed.search.rankers import Ranking
from paperfeed.web.app import create_app

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
QUERIES = EVAL_DIR / "queries.jsonl"
MODES = ("keyword", "semantic", "hybrid")


@pytest.fixture(scope="module")
def default_core(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[PaperFeed]:
    """The demo corpus searched with the default embedder, as a user's instance is."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("default"), models_dir=models_dir)
    assert settings.embedder == "minilm-int8"
    core = PaperFeed(settings)
    core.import_path(DEMO_DIR)
    yield core
    core.close()


def search(core: PaperFeed, query: str, mode: str = "hybrid", per_page: int = 20):
    return core.search(SearchRequest(query=query, mode=mode, per_page=per_page))  # type: ignore[arg-type]


def contains(term: str):
    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)  # "MMLU-Pro" has MMLU
    return lambda paper: bool(pattern.search(f"{paper.title} {paper.abstract}"))


# --- honest result counts -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query", ["xyzzyqwertyplugh", "asdfgh jklqwe", "zzzzqqq"])
def test_gibberish_finds_nothing_in_any_mode(default_core: PaperFeed, mode: str, query: str) -> None:
    result = search(default_core, query, mode)
    assert result.total == 0
    assert result.items == []


def test_the_api_counts_only_matches(default_core: PaperFeed) -> None:
    client = TestClient(create_app(default_core))
    nonsense = client.get("/api/search", params={"q": "xyzzyqwertyplugh", "mode": "hybrid", "per_page": 100})
    real = client.get("/api/search", params={"q": "caching in diffusion transformers", "per_page": 100})

    assert nonsense.status_code == 200
    assert nonsense.json()["total"] == 0 and nonsense.json()["items"] == []
    # The count is of papers that match a word or are similar enough, not of the whole store.
    assert len(real.json()["items"]) <= real.json()["total"] < default_core.stats().papers


def test_semantic_search_lists_only_papers_above_the_similarity_floor(default_core: PaperFeed) -> None:
    from paperfeed.search.hybrid import SEMANTIC_FLOOR
    from paperfeed.search.rankers import SEMANTIC_DEPTH

    result = search(default_core, "reusing computation across denoising steps", "semantic", per_page=100)
    assert result.items
    assert all(item.score > SEMANTIC_FLOOR for item in result.items)
    assert result.total <= SEMANTIC_DEPTH


# --- did you mean ---------------------------------------------------------------------------------


def test_a_misspelt_query_gets_a_suggestion_from_the_corpus_words(default_core: PaperFeed) -> None:
    result = search(default_core, "difusion cahcing")
    assert result.suggestion == "diffusion caching"
    assert search(default_core, "Speculativ decodng", "keyword").suggestion == "speculative decoding"


def test_a_brief_search_ranks_the_same_papers_without_snippets_suggestion_or_coverage(
    default_core: PaperFeed,
) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        request = SearchRequest(query="diffusion caching", mode=mode, per_page=20)  # type: ignore[arg-type]
        full, brief = default_core.search(request), default_core.search(request, brief=True)
        assert full.items, mode
        assert [(i.paper.id, i.score) for i in brief.items] == [(i.paper.id, i.score) for i in full.items]
        assert brief.total == full.total
        assert all(i.snippet_html for i in full.items) and not any(i.snippet_html for i in brief.items)
        assert (full.coverage is None) == (mode == "keyword") and brief.coverage is None
        misspelt = SearchRequest(query="difusion cahcing", mode=mode)  # type: ignore[arg-type]
        assert default_core.search(misspelt).suggestion == "diffusion caching"
        assert default_core.search(misspelt, brief=True).suggestion is None


def test_correct_and_rare_words_are_left_alone(default_core: PaperFeed) -> None:
    assert search(default_core, "diffusion caching").suggestion is None
    assert search(default_core, "Bashforth").suggestion is None  # in one paper only, but real
    assert search(default_core, "xyzzyqwertyplugh").suggestion is None  # nothing near it


def test_the_suggestion_reaches_the_api_the_page_and_the_cli(
    default_core: PaperFeed, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(default_core))
    api = client.get("/api/search", params={"q": "difusion cahcing"}).json()
    page = client.get("/search", params={"q": "difusion cahcing"})

    assert api["suggestion"] == "diffusion caching"
    assert "Did you mean" in page.text
    assert 'href="/search?q=diffusion+caching"' in page.text

    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(default_core.settings.data_dir))
    monkeypatch.setenv("PAPERFEED_MODELS_DIR", str(default_core.settings.model_dir))
    monkeypatch.delenv("PAPERFEED_DATABASE_URL", raising=False)
    monkeypatch.delenv("PAPERFEED_EMBEDDER", raising=False)
    cli_app(["search", "difusion cahcing"], standalone_mode=False)
    assert "Did you mean: diffusion caching" in capsys.readouterr().out


# --- ranking at the edges -------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["GRPO", "SGLang", "FlashAttention", "LoRA", "MMLU"])
def test_every_paper_with_a_lone_term_ranks_above_every_paper_without_it(
    default_core: PaperFeed, term: str
) -> None:
    has_term = contains(term)
    ranked = [has_term(item.paper) for item in search(default_core, term, per_page=50).items]
    assert ranked and ranked[0]
    assert ranked == sorted(ranked, reverse=True), f"a paper without {term!r} ranks above one with it"


def test_papers_with_the_words_as_a_phrase_rank_first(default_core: PaperFeed) -> None:
    has_phrase = contains("linear attention")
    papers = [item.paper for item in search(default_core, "linear attention", "keyword").items]
    with_phrase = sum(map(has_phrase, [p for p in default_core_papers(default_core)]))
    assert with_phrase >= 3
    assert all(has_phrase(p) for p in papers[:with_phrase])


def default_core_papers(core: PaperFeed):
    for chunk in core.store.papers.changed_since(None):
        yield from chunk


def test_hybrid_is_at_least_as_good_as_either_mode_on_every_kind_of_the_tuning_half(
    default_core: PaperFeed,
) -> None:
    tuning = of_split(load_queries(QUERIES), "tune")
    result = evaluate(default_core, tuning, path=str(QUERIES))
    hybrid = result.by_kind["hybrid"]
    for kind in KINDS:
        for single in ("keyword", "semantic"):
            assert hybrid[kind].ndcg_10 >= result.by_kind[single][kind].ndcg_10 - 1e-9, (kind, single)
    # MRR counts only each query's first relevant paper: on the 32 topic queries, each with many
    # relevant papers, keyword search puts them a hair earlier (0.930 against 0.927), so MRR is
    # held to the whole half.
    for single in ("keyword", "semantic"):
        assert result.by_mode["hybrid"].mrr_10 >= result.by_mode[single].mrr_10
    assert result.by_mode["hybrid"].ndcg_10 > max(result.by_mode[m].ndcg_10 for m in ("keyword", "semantic"))


def test_related_papers_never_include_the_paper_or_its_duplicates(default_core: PaperFeed) -> None:
    paper = next(default_core_papers(default_core))
    related = default_core.related(default_core.store.papers.get(paper.id))
    assert len(related.items) == 10
    assert paper.id not in {item.paper.id for item in related.items}


# --- one protocol for every mode ------------------------------------------------------------------


def test_every_mode_is_a_ranker_the_core_picks_by_name(default_core: PaperFeed) -> None:
    from paperfeed.search.rankers import Query

    assert set(default_core.rankers) == set(MODES)
    for name, ranker in default_core.rankers.items():
        assert ranker.name == name
        ranking = ranker.rank(Query.of("speculative decoding", lambda t: default_core.embedder.embed([t])[0]),
                              SearchRequest().filters, limit=5)  # fmt: skip
        assert isinstance(ranking, Ranking) and len(ranking.scored) == 5
        assert search(default_core, "speculative decoding", name).ranking == name
    with pytest.raises(InvalidInput, match="use keyword, semantic, hybrid"):
        search(default_core, "x", "fuzzy")


# --- the evaluation set and its halves ------------------------------------------------------------


def test_the_evaluation_set_has_every_kind_in_both_halves_and_all_of_it_resolves(demo_core) -> None:
    queries = load_queries(QUERIES)
    kinds = Counter(q.kind for q in queries)
    assert len(queries) >= 150
    assert kinds["known-item"] >= 60 and kinds["topic"] >= 40 and kinds["exact"] >= 30
    assert len({q.query.casefold() for q in queries}) == len(queries)
    for kind in KINDS:
        assert {q.split for q in queries if q.kind == kind} == {"tune", "test"}
    for query, relevant in zip(queries, resolve_relevant(demo_core, queries, QUERIES), strict=True):
        assert len(relevant) == len(query.relevant), query.query  # every name is one paper
        if query.kind == "known-item":
            assert len(relevant) == 1
        if query.kind == "topic":
            assert 3 <= len(relevant) <= 15


def test_no_known_item_query_gives_away_a_distinctive_word_of_its_title(demo_core) -> None:
    sys.path.insert(0, str(EVAL_DIR))
    try:
        import check_queries
    finally:
        sys.path.remove(str(EVAL_DIR))
    corpus = {
        paper.paper_id: {"title": paper.title, "abstract": paper.abstract}
        for paper in default_core_papers(demo_core)
    }
    assert check_queries.check(QUERIES, corpus) == []
    # The check itself: a query that reuses the title's rare words is caught, a paraphrase is not.
    share = {"adams": 0.001, "bashforth": 0.001, "cache": 0.01, "diffusion": 0.2}
    title = "AB-Cache: Training-Free Acceleration of Diffusion Models via Adams-Bashforth Cached Feature Reuse"
    assert check_queries.violations("adams bashforth for diffusion", title, share) == ["Adams-Bashforth"]
    assert check_queries.violations("AB-Cache speedups", title, share) == ["AB-Cache"]
    assert check_queries.violations("reusing computation across denoising steps", title, share) == []


def test_tuning_never_reads_the_test_half(demo_core, tmp_path: Path) -> None:
    paper = next(default_core_papers(demo_core))
    lines = [
        {"query": paper.title, "kind": "known-item", "split": "tune", "relevant": [paper.paper_id]},
        # Reading this line would fail: it names no paper.
        {"query": "anything", "kind": "topic", "split": "test", "relevant": ["No Such Paper At All"]},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    queries = load_queries(path)

    trials = tune_fusion(demo_core, queries, path=str(path))
    assert trials and all(trial.scores.queries == 1 for trial in trials)
    with pytest.raises(InvalidInput, match="no paper has the id or title 'No Such Paper At All'"):
        evaluate(demo_core, of_split(queries, "test"), path=str(path))
    with pytest.raises(InvalidInput, match="no queries in the tune half"):
        of_split([EvalQuery("q", ["x"], kind="topic", split="test")], "tune")


def test_the_eval_command_reports_each_kind_and_the_half_it_read(demo_core, tmp_path: Path, capsys) -> None:
    paper = next(default_core_papers(demo_core))
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"query": paper.title, "kind": "known-item", "split": "test", "relevant": [paper.paper_id]})
        + "\n"
        + json.dumps({"query": paper.title, "kind": "exact", "split": "test", "relevant": [paper.paper_id]})
        + "\n"
    )
    cli_app(["eval", str(path), "--modes", "keyword"], standalone_mode=False)
    out = capsys.readouterr().out
    assert "test half" in out
    for label in ("known-item (1)", "exact (1)", "all (2)"):
        assert label in out
