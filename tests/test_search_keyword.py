"""Keyword search: BM25 over title, abstract and authors, with filters, sorting and paging."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import tantivy

from helpers import add_papers, day, paper
from paperfeed.errors import InvalidInput, StoreError
from paperfeed.library.authors import index_pattern, parse
from paperfeed.models import SearchFilters, SearchRequest
from paperfeed.search.keyword import FIELD_BOOSTS, SCHEMA_VERSION, STATE_FILE
from paperfeed.search.query import parse_user_query
from paperfeed.search.spelling import Speller, Vocabulary, words_of

QUERY_FILES = [
    Path(__file__).parent.parent / "eval" / name for name in ("queries.jsonl", "dev_queries.jsonl")
]


def keyword(core, query: str = "", **kwargs):
    filters = SearchFilters(**kwargs.pop("filters", {}))
    return core.search(SearchRequest(query=query, filters=filters, mode="keyword", **kwargs))


def titles(result) -> list[str]:
    return [item.paper.title for item in result.items]


@pytest.fixture
def small_core(core):
    add_papers(
        core,
        paper(
            "Attention Is All You Need",
            "The dominant sequence transduction models are based on recurrent networks. We propose the Transformer.",
            authors=["Ashish Vaswani", "Noam Shazeer"],
            categories=["cs.CL", "cs.LG"],
            arxiv_id="1706.03762",
            version=7,
            published=day("2017-06-12"),
        ),
        paper(
            "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
            "We introduce BERT, a language representation model built on attention. Code: https://github.com/google-research/bert",
            authors=["Jacob Devlin", "Ming-Wei Chang"],
            categories=["cs.CL"],
            arxiv_id="1810.04805",
            published=day("2018-10-11"),
        ),
        paper(
            "Denoising Diffusion Probabilistic Models",
            "We present high quality image synthesis results using diffusion probabilistic models, with attention.",
            authors=["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
            categories=["cs.LG", "stat.ML"],
            arxiv_id="2006.11239",
            published=day("2020-06-19"),
        ),
        paper(
            "Scaling Laws for Neural Language Models",
            "We study empirical scaling laws for language model performance on the cross-entropy loss.",
            authors=["Jared Kaplan", "Sam McCandlish"],
            categories=["cs.LG"],
            arxiv_id="2001.08361",
            published=day("2020-01-23"),
        ),
    )
    return core


def test_title_matches_rank_above_abstract_only_matches(small_core):
    result = keyword(small_core, "attention")
    assert titles(result)[0] == "Attention Is All You Need"
    assert result.total == 3


def test_results_carry_escaped_snippets_with_marked_words(small_core):
    item = keyword(small_core, "diffusion").items[0]
    assert "<mark>diffusion</mark>" in item.snippet_html


def test_author_names_are_searchable(small_core):
    assert titles(keyword(small_core, "Kaplan")) == ["Scaling Laws for Neural Language Models"]


def test_quoted_phrase_matches_only_the_phrase(small_core):
    assert titles(keyword(small_core, '"language models"')) == ["Scaling Laws for Neural Language Models"]


def test_stop_words_neither_match_nor_score(small_core):
    # Every abstract here has "the", "on" or "are"; none of those words alone finds anything...
    assert keyword(small_core, "the on are").total == 0
    # ...nor do they lift a paper that says them more often above one that has the real word.
    assert titles(keyword(small_core, "the the the scaling"))[0] == "Scaling Laws for Neural Language Models"
    assert keyword(small_core, "the scaling").total == 1


def test_a_quoted_phrase_with_stop_words_keeps_their_places(small_core):
    # "based on recurrent" is in the Transformer paper; "based recurrent" (a gap) is in none.
    assert titles(keyword(small_core, '"based on recurrent"')) == ["Attention Is All You Need"]
    assert keyword(small_core, '"based recurrent"').total == 0


def test_excluded_words_remove_papers(small_core):
    assert "Denoising Diffusion Probabilistic Models" not in titles(
        keyword(small_core, "attention -diffusion")
    )


def test_hyphenated_words_and_acronyms_match(small_core):
    assert titles(keyword(small_core, "Pre-training"))[0].startswith("BERT")
    assert titles(keyword(small_core, "BERT"))[0].startswith("BERT")
    assert titles(keyword(small_core, "cross-entropy")) == ["Scaling Laws for Neural Language Models"]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "((",
        "AND",
        "OR NOT",
        "-",
        "a -b",
        "title:",
        "*",
        "x" * 5000,
        "\x00",
        "🙂 transformers",
        "a:b:c",
        "[1 TO",
        "^2",
        "~",
        "\\",
        "NOT attention",
    ],
)
def test_no_typed_query_raises(small_core, query):
    result = keyword(small_core, query)
    assert result.total >= 0


def test_filters_by_category_author_dates_and_code(small_core):
    assert titles(keyword(small_core, filters={"category": "stat.ML"})) == [
        "Denoising Diffusion Probabilistic Models"
    ]
    assert titles(keyword(small_core, "models", filters={"author": "jonathan ho"})) == [
        "Denoising Diffusion Probabilistic Models"
    ]
    in_2020 = keyword(small_core, filters={"date_from": day("2020-01-01"), "date_to": day("2020-12-31")})
    assert sorted(titles(in_2020)) == [
        "Denoising Diffusion Probabilistic Models",
        "Scaling Laws for Neural Language Models",
    ]
    with_code = keyword(small_core, filters={"has_code": True})
    assert titles(with_code) == [
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    ]


def test_newest_sort_orders_by_publication_date(small_core):
    result = keyword(small_core, "attention", sort="newest")
    assert [i.paper.arxiv_id for i in result.items] == ["2006.11239", "1810.04805", "1706.03762"]


def test_pages_do_not_overlap_and_cover_all_results(demo_core):
    first = keyword(demo_core, "language models", per_page=10, page=1)
    second = keyword(demo_core, "language models", per_page=10, page=2)
    assert first.total == second.total > 20
    assert not {i.paper.id for i in first.items} & {i.paper.id for i in second.items}
    assert first.has_next and second.has_prev


def test_a_search_not_counted_finds_the_same_papers_and_counts_only_those(demo_core):
    parsed = parse_user_query("language models")
    counted = demo_core.keyword.search(parsed, SearchFilters(), limit=10)
    uncounted = demo_core.keyword.search(parsed, SearchFilters(), limit=10, counted=False)
    assert uncounted.ids == counted.ids and uncounted.scores == counted.scores
    assert counted.total > 20 and uncounted.total == 10


def test_a_filter_tells_which_of_some_papers_it_allows(small_core):
    ids = {p.arxiv_id: p.id for p in (small_core.paper(a) for a in ("1706.03762", "1810.04805", "2006.11239"))}
    allowed = small_core.keyword.filter_matches(
        SearchFilters(category="cs.CL"), among=[*ids.values(), 10**9], limit=10
    )
    assert sorted(allowed.ids) == sorted([ids["1706.03762"], ids["1810.04805"]])
    assert small_core.keyword.filter_matches(SearchFilters(), among=[ids["2006.11239"]], limit=10).ids == [
        ids["2006.11239"]
    ]


def test_demo_search_finds_a_half_remembered_title(demo_core):
    assert titles(keyword(demo_core, "adams bashforth diffusion cache"))[0].startswith("AB-Cache")


def test_out_of_range_paging_is_a_clear_error(small_core):
    with pytest.raises(InvalidInput):
        keyword(small_core, "attention", per_page=1000)
    with pytest.raises(InvalidInput):
        keyword(small_core, "attention", page=0)


def test_lost_index_is_rebuilt_from_the_store(small_core):
    import shutil

    shutil.rmtree(small_core.keyword.path)
    small_core.keyword = type(small_core.keyword)(small_core.keyword.path)
    small_core.sync_indexes()
    assert titles(keyword(small_core, "attention"))[0] == "Attention Is All You Need"


def test_hidden_papers_disappear_from_search(small_core):
    target = small_core.paper("2006.11239")
    small_core.store.papers.set_hidden(target.id, True)
    small_core.sync_indexes()
    assert "Denoising Diffusion Probabilistic Models" not in titles(keyword(small_core, "diffusion"))


def test_papers_are_found_by_the_index_terms_of_any_of_their_authors(small_core):
    def found(name: str, **kwargs) -> list[str]:
        ids = small_core.keyword.author_papers(index_pattern(parse(name)), **kwargs)
        return sorted(p.title for p in small_core.store.papers.get_many(ids))

    assert found("P. Abbeel") == ["Denoising Diffusion Probabilistic Models"]
    assert found("Shazeer, Noam") == ["Attention Is All You Need"]
    assert found("M.-W. Chang") == [
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    ]
    assert found("A. Vaswani") == found("Ashish Vaswani") == ["Attention Is All You Need"]
    assert found("Noam Vaswani") == [] and found("Jacob Devlinski") == []
    assert small_core.keyword.author_papers("") == []
    assert found("Jared Kaplan", since=day("2020-01-23")) == ["Scaling Laws for Neural Language Models"]
    assert found("Jared Kaplan", since=day("2020-01-24")) == []


def test_an_index_of_an_older_schema_is_rebuilt_with_author_terms(small_core):
    state_file = small_core.keyword.path / STATE_FILE
    state_file.write_text(json.dumps(json.loads(state_file.read_text()) | {"schema": SCHEMA_VERSION - 1}))
    small_core.keyword = type(small_core.keyword)(small_core.keyword.path)
    assert small_core.sync_indexes() == 4  # every paper indexed again
    assert len(small_core.keyword.author_papers(index_pattern(parse("Ashish Vaswani")))) == 1


@pytest.mark.parametrize("state_kept", [False, True])
def test_an_index_on_disk_of_another_schema_says_how_to_rebuild_it_and_a_sync_does(small_core, state_kept):
    path = small_core.keyword.path
    state = (path / STATE_FILE).read_text()
    shutil.rmtree(path)
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    path.mkdir()
    tantivy.Index(builder.build(), path=str(path))  # as an earlier release left it
    if state_kept:  # even where the state claims this release's schema
        (path / STATE_FILE).write_text(state)
    small_core.keyword = type(small_core.keyword)(path)
    with pytest.raises(StoreError, match="paperfeed reindex"):
        keyword(small_core, "attention")
    small_core.sync_indexes()
    assert titles(keyword(small_core, "attention"))[0] == "Attention Is All You Need"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Diffusion Models, 3D-aware and x2 fast", ["diffusion", "models", "aware", "and", "fast"]),
        ("Über die Diffusion in Gläsern_2", ["über", "die", "diffusion", "gläsern"]),
        ("", []),
    ],
)
def test_spelling_words_are_lowercased_letter_runs_of_three_or_more_in_any_script(text, words):
    assert words_of(text) == words


def test_the_speller_searches_the_index_only_for_words_outside_its_vocabulary(tmp_path):
    vocabulary = Vocabulary(tmp_path / "vocabulary.json")
    vocabulary.save(Counter({"diffusion": 40, "caching": 12, "models": 90}))
    asked: list[str] = []

    def knows(word: str) -> bool:
        asked.append(word)
        return word == "bashforth"  # in a paper, though too rare for the vocabulary

    speller = Speller(vocabulary, knows)
    assert speller.suggest("Diffusion models caching") is None
    assert asked == []  # every word is a vocabulary word
    assert speller.suggest("difusion Bashforth cahcing") == "diffusion Bashforth caching"
    assert sorted(asked) == ["bashforth", "cahcing", "difusion"]


def test_the_spelling_vocabulary_counts_the_papers_using_a_word_not_its_occurrences():
    counts: Counter[str] = Counter()
    Vocabulary.count(("Diffusion models", "Diffusion models denoise; diffusion is slow."), counts)
    Vocabulary.count(("Über Diffusion", ""), counts)
    assert (counts["diffusion"], counts["models"], counts["über"], counts["slow"]) == (2, 1, 1, 1)


def test_past_a_stores_first_papers_the_vocabulary_counts_a_sample_standing_for_all(core, monkeypatch):
    from paperfeed.search import spelling

    monkeypatch.setattr(spelling, "COUNT_EVERY_PAPER_UP_TO", 2)
    monkeypatch.setattr(spelling, "SAMPLE_EVERY", 3)
    records = [paper(f"Widget study {n}", f"Widgets measured, part {n}.") for n in range(1, 10)]
    records[3] = paper("Widget study with a quokka", "Widgets measured beside a quokka.")
    add_papers(core, *records)
    ids = sorted(p.id for chunk in core.store.papers.changed_since(None) for p in chunk)
    weights = [Vocabulary.weight_of(i) for i in ids]
    assert weights[:2] == [1, 1] and set(weights[2:]) <= {0, 3} and 0 < weights.count(3) < 7

    counts = core.keyword.vocabulary.load()
    assert counts["widget"] == sum(weights)  # every paper has the word: the sample stands for all
    quokka_id = ids[3]
    assert Vocabulary.weight_of(quokka_id) == 0  # its paper was left out of the count ...
    assert "quokka" not in counts
    assert core.speller.suggest("quokka widget") is None  # ... yet the word is known, not "corrected"


@pytest.mark.parametrize(
    "filters",
    [{}, {"category": "cs.CL"}, {"date_from": day("2024-01-01")}],
    ids=["no filter", "category", "dates"],
)
def test_a_short_querys_phrase_ranks_and_scores_exactly_as_one_query_would(demo_core, filters):
    # The words and their phrase are searched apart (faster); asked as one tantivy query, they
    # must give the same papers, the same scores, on every page.
    index = demo_core.keyword
    queries = [
        json.loads(line)["query"]
        for path in QUERY_FILES
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    queries += ["GPT-4", "fine-tuning", "linear attention", "diffusion models for video generation"]
    compared = 0
    for text in queries:
        parsed = parse_user_query(text)
        if not parsed.phrase_boost:
            continue
        compared += 1
        one_query = index.index.parse_query_lenient(
            parsed.to_tantivy(), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
        )[0]
        filter_queries = index._filter_queries(SearchFilters(**filters))
        if filter_queries:
            one_query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, one_query)] + [(tantivy.Occur.Must, q) for q in filter_queries]
            )
        searcher = index.index.searcher()
        for offset in (0, 10):
            expected = searcher.search(one_query, limit=10, offset=offset, count=True)
            found = index.search(parsed, SearchFilters(**filters), limit=10, offset=offset)
            expected_ids = [int(i) for i in searcher.fast_field_values("id", [a for _s, a in expected.hits])]
            assert found.ids == expected_ids, text
            assert found.scores == pytest.approx([score for score, _a in expected.hits], rel=1e-6), text
            assert found.total == expected.count, text
    assert compared >= 40
