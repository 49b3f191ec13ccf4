"""Importing BibTeX files: one paper per entry, LaTeX decoded, broken entries rejected by line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpers import DiesAfter, Killed
from paperfeed.ingest.bibtex import BibTeXSource, latex_to_text, parse_authors, parse_published
from paperfeed.ingest.pipeline import run_import
from paperfeed.models import Link, PaperRecord, SourceItem

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCES = FIXTURES / "bibtex" / "references.bib"
MALFORMED = FIXTURES / "bibtex" / "malformed.bib"
SNAPSHOT = FIXTURES / "snapshot" / "arxiv-metadata-sample.jsonl"


def parsed(path: Path) -> list[SourceItem]:
    return list(BibTeXSource(path).items())


def records_by_line(path: Path) -> dict[int, PaperRecord]:
    items = {item.record_no: item.item for item in parsed(path)}
    assert all(isinstance(item, PaperRecord) for item in items.values()), items
    return items  # type: ignore[return-value]


def write_bib(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- mapping -----------------------------------------------------------------------------------


def test_entries_are_numbered_by_the_line_they_start_on_and_macros_comments_preamble_are_skipped():
    assert list(records_by_line(REFERENCES)) == [10, 20, 47, 56, 71, 86]


def test_an_arxiv_export_gives_the_arxiv_id_and_first_last_authors():
    attention = records_by_line(REFERENCES)[10]
    assert attention.title == "Attention Is All You Need"
    assert (attention.arxiv_id, attention.version) == ("1706.03762", None)
    assert attention.authors[:2] == ["Ashish Vaswani", "Noam Shazeer"]
    assert attention.authors[-1] == "Illia Polosukhin" and len(attention.authors) == 8
    assert attention.published == dt.date(2023, 1, 1)  # only the year is known
    assert attention.journal_ref is None
    assert attention.source == "bibtex"
    assert attention.links[:2] == [
        Link("abs", "https://arxiv.org/abs/1706.03762"),
        Link("pdf", "https://arxiv.org/pdf/1706.03762"),
    ]


def test_a_dblp_entry_maps_every_field():
    bert = records_by_line(REFERENCES)[20]
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert bert.authors == ["Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"]
    assert (bert.arxiv_id, bert.version) == ("1810.04805", 2)  # eprint + eprinttype = arXiv
    assert bert.doi == "10.18653/v1/n19-1423"
    assert bert.published == dt.date(2019, 6, 1)  # month = jun, a BibTeX month macro
    assert bert.journal_ref is not None
    assert bert.journal_ref.startswith("Proceedings of the 2019 Conference of the North American Chapter")
    assert "NAACL-HLT 2019" in bert.journal_ref and "{" not in bert.journal_ref
    assert Link("doi", "https://doi.org/10.18653/v1/n19-1423") in bert.links


def test_last_first_names_are_turned_around_and_and_others_is_dropped():
    gpt3 = records_by_line(REFERENCES)[47]
    assert gpt3.authors[:2] == ["Tom Brown", "Benjamin Mann"]
    assert "Jared D Kaplan" in gpt3.authors
    assert gpt3.authors[-1] == "Amanda Askell" and len(gpt3.authors) == 10
    assert (
        gpt3.journal_ref == "Advances in Neural Information Processing Systems"
    )  # journal = neurips (@string)
    assert gpt3.published == dt.date(2020, 1, 1)


def test_quoted_values_a_doi_url_and_a_day_are_read():
    maldacena = records_by_line(REFERENCES)[56]
    assert maldacena.title == "The Large-N Limit of Superconformal Field Theories and Supergravity"
    assert maldacena.authors == ["Juan Maldacena"]
    assert maldacena.doi == "10.1023/a:1026654312961"
    assert maldacena.journal_ref == "International Journal of Theoretical Physics"
    assert maldacena.published == dt.date(1999, 4, 1)
    assert maldacena.links == [Link("doi", "https://doi.org/10.1023/a:1026654312961")]


def test_latex_accents_and_string_concatenation_are_decoded_to_unicode():
    kpca = records_by_line(REFERENCES)[71]
    assert kpca.authors == ["Bernhard Schölkopf", "Alexander Smola", "Klaus-Robert Müller"]
    assert kpca.journal_ref == "Artificial Neural Networks – ICANN'97"  # icann # "'97", with -- as a dash
    assert kpca.published == dt.date(1997, 10, 1)
    assert kpca.doi == "10.1007/bfb0020217"


def test_a_code_url_becomes_a_code_link_and_the_abstract_is_one_paragraph():
    pytorch = records_by_line(REFERENCES)[86]
    assert pytorch.title == "PyTorch: An Imperative Style, High-Performance Deep Learning Library"
    assert pytorch.links == [Link("code", "https://github.com/pytorch/pytorch")]
    assert pytorch.abstract.startswith(
        "Deep learning frameworks have often focused on either usability or speed"
    )
    assert "\n" not in pytorch.abstract and "  " not in pytorch.abstract
    assert "Andreas Köpf" in pytorch.authors
    assert pytorch.journal_ref == "Advances in Neural Information Processing Systems 32"


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"G\"odel and \'Ecole and \c{c}a and \ss{}", "Gödel and École and ça and ß"),
        (r"{BERT}: Pre-training", "BERT: Pre-training"),
        ("pages 1--10, a~b", "pages 1–10, a\xa0b"),
        (r"50\% faster, not 50% slower", "50% faster, not 50% slower"),
        (r"\emph{Deep} learning of $O(n)$ cost", "Deep learning of $O(n)$ cost"),
        ("plain text stays as it is", "plain text stays as it is"),
    ],
)
def test_latex_markup_is_decoded(latex, text):
    assert latex_to_text(latex) == text


@pytest.mark.parametrize(
    ("authors", "names"),
    [
        ("Vaswani, Ashish and Shazeer, Noam", ["Ashish Vaswani", "Noam Shazeer"]),
        ("Ashish Vaswani and Noam Shazeer", ["Ashish Vaswani", "Noam Shazeer"]),
        ("van der Maaten, Laurens and Hinton, Geoffrey", ["Laurens van der Maaten", "Geoffrey Hinton"]),
        ("King, Jr., Martin Luther", ["Martin Luther King Jr."]),
        ("{Google DeepMind} and others", ["Google DeepMind"]),
        ("", []),
    ],
)
def test_bibtex_names_become_first_last(authors, names):
    assert parse_authors(authors) == names


@pytest.mark.parametrize(
    ("fields", "day"),
    [
        ({"year": "2017"}, dt.date(2017, 1, 1)),
        ({"year": "2017", "month": "dec"}, dt.date(2017, 12, 1)),
        ({"year": "2017", "month": "December"}, dt.date(2017, 12, 1)),
        ({"year": "{2017}", "month": "12"}, dt.date(2017, 12, 1)),
        ({"year": "2017", "month": "Dec", "day": "4"}, dt.date(2017, 12, 4)),
        ({"date": "2017-12-04"}, dt.date(2017, 12, 4)),
        ({"date": "2017-12"}, dt.date(2017, 12, 1)),
        ({"year": "2017", "month": "Smarch"}, dt.date(2017, 1, 1)),
        ({"year": "forthcoming"}, None),
        ({}, None),
    ],
)
def test_year_month_and_date_give_the_published_day(fields, day):
    assert parse_published(fields) == day


def test_html_in_a_title_is_reduced_to_text(tmp_path):
    path = write_bib(
        tmp_path / "refs.bib", "@misc{a, title = {Attention <i>Is</i> All You Need}, year = 2017}\n"
    )
    assert records_by_line(path)[1].title == "Attention Is All You Need"


def test_google_scholar_arxiv_preprints_get_their_arxiv_id_and_no_journal():
    mamba = parsed(MALFORMED)[0].item
    assert isinstance(mamba, PaperRecord)
    assert mamba.arxiv_id == "2312.00752"
    assert mamba.journal_ref is None  # "arXiv preprint arXiv:2312.00752" names no journal


# --- rejections ----------------------------------------------------------------------------------


def test_broken_entries_are_rejected_with_their_line_and_the_rest_imports(core):
    [report] = core.import_path(MALFORMED)  # the format is known from the .bib extension
    assert report.fmt == "bibtex"
    assert report.added == 2
    assert [(r.record_no, r.reason) for r in report.rejections] == [
        (
            8,
            "cannot parse entry 'unclosed2024': Unexpected block start: `@article`. "
            "Was still looking for field-value closing `}`",
        ),
        (13, "duplicate entry key 'gu2023mamba' (first defined at line 1)"),
        (18, "entry 'notitle2024' has no title"),
        (24, "entry 'twice2024' repeats the field(s) title"),
    ]
    assert (
        core.paper("2312.00752").title == "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"
    )
    assert core.paper("2307.09288").authors == ["Hugo Touvron", "Louis Martin", "Kevin Stone"]


def test_a_latin1_file_is_read_without_losing_its_accents(tmp_path, core):
    path = tmp_path / "legacy.bib"
    path.write_bytes(
        "@inproceedings{scholkopf1997,\n"
        "  title = {Kernel Principal Component Analysis},\n"
        "  author = {Schölkopf, Bernhard and Müller, Klaus-Robert},\n"
        "  year = 1997,\n"
        "}\n".encode("latin-1")
        + "@misc{utf8, title = {Über Gödel}, author = {Gödel, Kurt}, year = 1931}\n".encode()
    )
    [report] = core.import_path(path)
    assert (report.added, report.rejected) == (2, 0)
    papers = {p.title: p for chunk in core.store.papers.changed_since(None) for p in chunk}
    assert papers["Kernel Principal Component Analysis"].authors == [
        "Bernhard Schölkopf",
        "Klaus-Robert Müller",
    ]
    assert papers["Über Gödel"].authors == ["Kurt Gödel"]


def test_a_huge_abstract_rejects_only_its_entry(tmp_path):
    path = write_bib(
        tmp_path / "refs.bib",
        "@misc{long, title = {Long}, abstract = {"
        + "word " * 5_000
        + "}}\n\n@misc{short, title = {Short}}\n",
    )
    items = parsed(path)
    assert [(i.record_no, getattr(i.item, "reason", None)) for i in items] == [
        (1, "abstract too long (24999 characters, at most 20000)"),
        (3, None),
    ]


# --- importing into the store ------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(core):
    [first] = core.import_path(REFERENCES)
    assert (first.added, first.rejected) == (6, 0)
    [again] = core.import_path(REFERENCES)
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 0)
    assert core.stats().papers == 6


def test_a_paper_in_the_snapshot_and_in_bibtex_is_one_paper(core):
    core.import_path(SNAPSHOT)
    [report] = core.import_path(REFERENCES)
    # Attention and BERT by arXiv id, Maldacena by DOI, GPT-3 by its title; two papers are new.
    assert (report.added, report.updated, report.unchanged) == (2, 4, 0)
    assert core.stats().papers == 7
    for arxiv_id in ("1706.03762", "1810.04805", "hep-th/9711200", "2005.14165"):
        assert core.paper(arxiv_id).sources == ["arxiv-snapshot", "bibtex"]
    bert = core.paper("1810.04805")
    assert bert.doi == "10.18653/v1/n19-1423"  # the DOI only BibTeX knew fills the gap
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert core.paper("1706.03762").published == dt.date(2017, 6, 12)  # BibTeX's year does not overwrite it


def test_identity_is_found_by_arxiv_id_then_doi_then_title(tmp_path, core):
    core.import_path(SNAPSHOT)
    path = write_bib(
        tmp_path / "refs.bib",
        """@misc{by_id, title = {Transformers (preprint)}, eprint = {arXiv:1706.03762}}
@article{by_doi, title = {Prompt diphoton production at the Tevatron and the LHC},
         doi = {https://doi.org/10.1103/PhysRevD.76.013009}}
@article{by_title, title = {Language Models are {F}ew-{S}hot {L}earners}, author = {Brown, Tom B.}}
""",
    )
    [report] = core.import_path(path)
    assert (report.added, report.updated) == (0, 3)
    assert core.stats().papers == 5


def test_a_newer_arxiv_version_in_bibtex_updates_the_paper(tmp_path, core):
    old = write_bib(
        tmp_path / "old.bib", "@misc{m, title = {Mamba}, eprint = {2312.00752v1}, archivePrefix = {arXiv}}"
    )
    new = write_bib(
        tmp_path / "new.bib",
        "@misc{m, title = {Mamba: Linear-Time Sequence Modeling}, eprint = {2312.00752v2}, archivePrefix = {arXiv}}",
    )
    core.import_path(old)
    [report] = core.import_path(new)
    assert report.updated == 1
    assert (core.paper("2312.00752").title, core.paper("2312.00752").version) == (
        "Mamba: Linear-Time Sequence Modeling",
        2,
    )
    [stale] = core.import_path(old)
    assert stale.unchanged == 1 and core.paper("2312.00752").version == 2


def test_an_interrupted_bibtex_import_resumes_after_the_last_committed_entry(core):
    with pytest.raises(Killed):
        run_import(core.store, DiesAfter(BibTeXSource(REFERENCES), 5), batch_size=2)
    assert core.stats().papers == 4

    report = run_import(core.store, BibTeXSource(REFERENCES), batch_size=2)
    assert report.resumed_from == 56  # the line of the fourth entry, the last one committed
    assert (report.added, report.unchanged) == (6, 0)
    assert core.stats().papers == 6
