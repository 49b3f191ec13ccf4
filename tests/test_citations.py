"""Citation export in BibTeX, RIS and CSL-JSON, for one paper, a collection or a search page.
Every export is read back with a real parser: bibtexparser, rispy, and the CSL-JSON schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
import rispy
from pylatexenc.latex2text import LatexNodes2Text

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.library import citations
from paperfeed.models import Link, Paper

CSL_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "csl" / "csl-data.json").read_text())
NOW = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def make_paper(pid: int = 1, **fields) -> Paper:
    values = dict(
        id=pid, key=f"pf-{pid}", title="Attention Is All You Need", abstract="We propose the Transformer.",
        authors=["Ashish Vaswani", "Noam Shazeer"], categories=["cs.CL", "cs.LG"], arxiv_id="1706.03762",
        version=7, doi=None, published=dt.date(2017, 6, 12), updated=None, comments=None, journal_ref=None,
        links=[], listed_on=dt.date(2017, 6, 12), has_code=False, sources=["test"], first_seen=NOW,
        last_updated=NOW,
    )  # fmt: skip
    values.update(fields)
    return Paper(**values)


TRICKY = make_paper(
    2,
    title="Caf\u00e9 & 50% of $x_1$ {braces} #1 ~ ^ back\\slash: Na\u00efve M\u00fcller",
    authors=["J\u00fcrgen M\u00fcller", "Ludwig van Beethoven", "Martin Luther King Jr.", "Zo\u00eb \u0141ukasz"],
    arxiv_id=None, doi="10.1145/3292500.3330701", journal_ref="Proc. KDD 2019", categories=[],
)  # fmt: skip


def bib_entries(text: str) -> list:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library.entries


def latex_text(value: str) -> str:
    # pylatexenc reads \textasciicircum as the modifier letter "ˆ"; LaTeX prints a plain "^"
    return LatexNodes2Text().latex_to_text(value).strip().replace("\u02c6", "^")


def test_an_arxiv_paper_is_cited_as_arxiv_exports_it():
    (entry,) = bib_entries(citations.to_bibtex([make_paper(doi="10.48550/arXiv.1706.03762")]))
    assert entry.entry_type == "misc" and entry.key == "vaswani2017attention"
    fields = {f.key: f.value for f in entry.fields}
    assert fields["eprint"] == "1706.03762"
    assert fields["archivePrefix"] == "arXiv"
    assert fields["primaryClass"] == "cs.CL"
    assert fields["doi"] == "10.48550/arXiv.1706.03762"
    assert fields["url"] == "https://arxiv.org/abs/1706.03762"
    assert fields["author"] == "Vaswani, Ashish and Shazeer, Noam"
    assert fields["year"] == "2017"


def test_bibtex_values_are_latex_safe_and_decode_back_to_the_original_text():
    (entry,) = bib_entries(citations.to_bibtex([TRICKY]))
    fields = {f.key: f.value for f in entry.fields}
    assert latex_text(fields["title"]) == TRICKY.title
    assert "\\&" in fields["title"] and "\\%" in fields["title"] and "\\$" in fields["title"]
    assert all(ord(ch) < 128 for ch in fields["title"] + fields["author"])
    names = [latex_text(name) for name in fields["author"].split(" and ")]
    assert names == ["Müller, Jürgen", "van Beethoven, Ludwig", "King, Jr., Martin Luther", "Łukasz, Zoë"]
    assert entry.entry_type == "article" and latex_text(fields["journal"]) == "Proc. KDD 2019"
    assert fields["doi"] == "10.1145/3292500.3330701"


def test_citation_keys_are_stable_and_unique_within_an_export():
    first = make_paper(1)
    same_key = make_paper(2, title="Attention Mechanisms Revisited")
    keys = citations.citation_keys([first, same_key])
    assert keys == ["vaswani2017attentiona", "vaswani2017attentionb"]
    assert citations.citation_keys([first]) == citations.citation_keys([first]) == ["vaswani2017attention"]
    assert citations.base_key(TRICKY).isascii() and citations.base_key(TRICKY).startswith("muller2017cafe")
    entries = bib_entries(citations.to_bibtex([first, same_key]))
    assert [e.key for e in entries] == keys


def test_ris_export_reads_back_with_an_ris_parser():
    records = rispy.loads(citations.to_ris([make_paper(doi="10.48550/arXiv.1706.03762"), TRICKY]))
    assert [r["title"] for r in records] == ["Attention Is All You Need", TRICKY.title]
    arxiv, other = records
    assert arxiv["authors"] == ["Vaswani, Ashish", "Shazeer, Noam"]
    assert arxiv["doi"] == "10.48550/arXiv.1706.03762" and arxiv["number"] == "arXiv:1706.03762"
    assert arxiv["year"] == "2017" and arxiv["urls"] == ["https://arxiv.org/abs/1706.03762"]
    assert other["type_of_reference"] == "JOUR" and other["journal_name"] == "Proc. KDD 2019"
    assert other["authors"][1] == "van Beethoven, Ludwig"


def test_csl_json_export_is_valid_csl_data():
    items = json.loads(citations.to_csl_json([make_paper(), TRICKY]))
    jsonschema.validate(items, CSL_SCHEMA)
    arxiv, other = items
    assert arxiv["number"] == "arXiv:1706.03762" and arxiv["publisher"] == "arXiv"
    assert arxiv["issued"] == {"date-parts": [[2017, 6, 12]]}
    assert other["DOI"] == "10.1145/3292500.3330701"
    assert other["author"][1] == {"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"}
    assert other["author"][2]["suffix"] == "Jr."


def test_the_csl_schema_refuses_what_is_not_csl():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"id": "x", "type": "preprint-of-sorts"}], CSL_SCHEMA)


def test_an_empty_export_is_valid_in_every_format():
    assert bib_entries(citations.to_bibtex([])) == []
    assert rispy.loads(citations.to_ris([])) == []
    jsonschema.validate(json.loads(citations.to_csl_json([])), CSL_SCHEMA)


# --- on the site --------------------------------------------------------------------------------


@pytest.fixture
def cite_core(core: PaperFeed, monkeypatch: pytest.MonkeyPatch) -> PaperFeed:
    cheap_password_hashing(monkeypatch)
    add_papers(
        core,
        paper("Sparse Attention at Scale", arxiv_id="2401.00001", authors=["Ada Lovelace"],
              categories=["cs.LG"], links=[Link("abs", "https://arxiv.org/abs/2401.00001")]),
        paper("Retrieval for Long Documents", doi="10.1000/xyz", authors=["Grace Hopper"]),
    )  # fmt: skip
    return core


def test_a_paper_page_has_a_cite_button_and_downloads_in_every_format(cite_core):
    visitor = Visitor(cite_core)
    page = visitor.get("/papers/2401.00001").text
    assert "<summary class=\"button\">Cite</summary>" in page and "archivePrefix = {arXiv}" in page
    bib = visitor.get("/papers/2401.00001/cite.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert 'filename="lovelace' in bib.headers["content-disposition"]
    assert bib_entries(bib.text)[0].key.startswith("lovelace")
    assert rispy.loads(visitor.get("/papers/2401.00001/cite.ris").text)[0]["title"] == "Sparse Attention at Scale"
    jsonschema.validate(visitor.get("/papers/2401.00001/cite.json").json(), CSL_SCHEMA)
    assert visitor.get("/papers/2401.00001/cite.docx").status_code == 400


def test_a_search_results_page_exports_the_papers_it_shows(cite_core):
    answer = Visitor(cite_core).get("/search/export.bib?q=retrieval&mode=keyword")
    entries = bib_entries(answer.text)
    assert [dict((f.key, f.value) for f in e.fields).get("doi") for e in entries] == ["10.1000/xyz"]


def test_a_collection_exports_all_its_papers_and_the_api_too(cite_core):
    visitor = Visitor(cite_core).log_in_as(make_user(cite_core, "ada"))
    cid = visitor.api("POST", "/api/collections", {"name": "Reading"}).json()["id"]
    visitor.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    visitor.api("PUT", f"/api/collections/{cid}/papers/10.1000/xyz")
    assert len(bib_entries(visitor.get(f"/collections/{cid}/export.bib").text)) == 2
    csl = visitor.api("GET", f"/api/collections/{cid}/export?format=csl-json").json()
    jsonschema.validate(csl, CSL_SCHEMA)
    assert {item["title"] for item in csl} == {"Sparse Attention at Scale", "Retrieval for Long Documents"}
    one = visitor.api("GET", "/api/papers/2401.00001/citation?format=ris").text
    assert rispy.loads(one)[0]["number"] == "arXiv:2401.00001"
