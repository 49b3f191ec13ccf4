"""The one-line TL;DR: the abstract's sentence that states the paper's contribution."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from helpers import add_papers, paper
from paperfeed.cli import app as cli_app
from paperfeed.insight.tldr import MAX_CHARS, sentences, tldr

ROOT = Path(__file__).resolve().parents[1]

ABSTRACT = (
    "Large language models have shown remarkable progress in many tasks. "
    "However, their inference remains slow, e.g. on long inputs, as noted by Smith et al. in 2023. "
    "In this paper, we propose FastLM, a decoding method that drafts several tokens at once. "
    "Experiments show that FastLM outperforms strong baselines by 2.5x on three benchmarks. "
    "Code is available online."
)


def test_abstracts_split_into_sentences_but_not_at_abbreviations_or_decimals():
    parts = sentences(ABSTRACT)
    assert len(parts) == 5
    assert parts[1].endswith("in 2023.")
    assert "2.5x" in parts[3]


def test_the_tldr_is_the_sentence_that_states_the_contribution_not_the_background_or_results():
    assert (
        tldr(ABSTRACT)
        == "In this paper, we propose FastLM, a decoding method that drafts several tokens at once."
    )


def test_an_analysis_paper_gets_its_finding():
    abstract = (
        "Scaling laws describe how loss falls with compute. "
        "Existing studies have been limited to large models. "
        "We show that the same laws hold for models with a million parameters. "
        "This has implications for cheap experimentation."
    )
    assert tldr(abstract) == "We show that the same laws hold for models with a million parameters."


def test_without_any_contribution_phrase_the_first_sentence_that_is_not_background_is_chosen():
    abstract = "Recent advances have been impressive. Sorting networks sort eight keys in nineteen steps."
    assert tldr(abstract) == "Sorting networks sort eight keys in nineteen steps."


def test_a_missing_abstract_has_no_tldr_and_a_long_sentence_is_cut_to_one_line():
    assert tldr("") == ""
    long = "We propose " + "a very long method name " * 40 + "."
    cut = tldr(long)
    assert len(cut) <= MAX_CHARS + 1 and cut.endswith("…")


def test_tldr_eval_reports_agreement_with_the_hand_labels_in_one_command(core):
    # Two labelled papers: one the method gets right, one it does not.
    add_papers(
        core,
        paper("Right one", ABSTRACT, doi="10.1/right"),
        paper("Wrong one", "We study caching. We propose nothing new. It ends here.", doi="10.1/wrong"),
    )
    keys = {p.title: p.key for p in core.store.papers.get_many([1, 2])}
    labels = core.settings.data_dir / "labels.jsonl"
    labels.write_text(
        f'{{"paper": "{keys["Right one"]}", "contribution": "In this paper, we propose FastLM", "also": []}}\n'
        f'{{"paper": "{keys["Wrong one"]}", "contribution": "It ends here.", "also": []}}\n'
    )
    result = CliRunner().invoke(cli_app, ["tldr", "eval", str(labels)])
    assert result.exit_code == 0, result.output
    assert "2 labelled abstracts" in result.output
    assert "labelled sentence 50.0%" in result.output


def test_the_repository_holds_at_least_60_hand_labelled_demo_abstracts():
    import json

    lines = (ROOT / "eval" / "tldr_labels.jsonl").read_text().splitlines()
    labels = [json.loads(line) for line in lines if line.strip()]
    assert len(labels) >= 60
    assert len({label["paper"] for label in labels}) == len(labels)
    assert all(label["contribution"] for label in labels)
