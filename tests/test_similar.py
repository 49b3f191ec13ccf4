"""Find similar from anything: a pasted text, a paper or a collection gives the nearest papers
by meaning, as a ResultPage, in the web UI, the API and the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from community_helpers import Visitor, cheap_password_hashing, make_user
from paperfeed.cli import app
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput

ATTENTION = "Sparse attention patterns let transformers read long sequences at linear cost."


@pytest.fixture
def similar_core(core: PaperFeed, monkeypatch: pytest.MonkeyPatch) -> PaperFeed:
    from helpers import add_papers, paper

    cheap_password_hashing(monkeypatch)
    add_papers(
        core,
        paper("Sparse Attention for Long Sequences", ATTENTION, arxiv_id="2401.00001"),
        paper("Linear Attention Transformers", "Attention with linear cost for long inputs in transformers.",
              arxiv_id="2401.00002"),
        paper("Efficient Long-Context Transformers", "Transformers reading long documents efficiently with"
              " sparse attention.", arxiv_id="2401.00003"),
        paper("Protein Folding with Diffusion", "Diffusion models predict protein structures.",
              arxiv_id="2401.00004"),
        paper("Crop Yield Forecasting", "Weather data forecasts crop yields for farmers.", arxiv_id="2401.00005"),
    )  # fmt: skip
    return core


def ids(result) -> list[str]:
    return [item.paper.url_id for item in result.items]


def test_a_pasted_text_finds_the_papers_nearest_in_meaning(similar_core):
    result = similar_core.similar(text="efficient attention for very long sequences in transformers")
    assert result.ranking == "similar:text"
    assert set(ids(result)[:3]) == {"2401.00001", "2401.00002", "2401.00003"}
    assert ids(result)[-1] in {"2401.00004", "2401.00005"}


def test_a_paper_finds_others_never_itself(similar_core):
    result = similar_core.similar(paper=similar_core.paper("2401.00001"))
    assert "2401.00001" not in ids(result)
    assert set(ids(result)[:2]) <= {"2401.00002", "2401.00003"}


def test_a_collection_finds_papers_like_its_members_each_with_the_member_it_resembles(similar_core):
    user = make_user(similar_core, "ada")
    reading = similar_core.create_collection(user, "Attention")
    for ref in ("2401.00001", "2401.00002"):
        similar_core.add_to_collection(user, reading.id, ref)
    result = similar_core.similar(collection=similar_core.collection(reading.id, user))
    assert result.ranking == "similar:collection"
    assert ids(result)[0] == "2401.00003"
    assert not {"2401.00001", "2401.00002"} & set(ids(result))
    assert result.items[0].reason in {"like “Sparse Attention for Long Sequences”", "like “Linear Attention Transformers”"}


def test_exactly_one_example_is_given(similar_core):
    with pytest.raises(InvalidInput):
        similar_core.similar()
    with pytest.raises(InvalidInput):
        similar_core.similar(text="x", paper=similar_core.paper("2401.00001"))
    with pytest.raises(InvalidInput, match="give a text"):
        similar_core.similar(text="   ")


def test_the_web_ui_finds_papers_like_a_text_a_paper_and_a_collection(similar_core):
    visitor = Visitor(similar_core).log_in_as(make_user(similar_core, "ada"))
    assert "Find papers like a text" in visitor.get("/search?q=attention").text
    by_text = visitor.get("/similar", params={"text": ATTENTION})
    assert by_text.status_code == 200 and "Linear Attention Transformers" in by_text.text
    paper_page = visitor.get("/papers/2401.00001").text
    assert 'href="/similar?paper=2401.00001"' in paper_page
    by_paper = visitor.get("/similar?paper=2401.00001").text
    assert "More like “" in by_paper and "Efficient Long-Context Transformers" in by_paper
    cid = visitor.api("POST", "/api/collections", {"name": "Attention"}).json()["id"]
    visitor.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    assert "More like this" in visitor.get(f"/collections/{cid}").text
    assert "like “Sparse Attention for Long Sequences”" in visitor.get(f"/similar?collection={cid}").text
    assert Visitor(similar_core).get(f"/similar?collection={cid}").status_code == 404  # private


def test_the_api_answers_a_result_page(similar_core):
    visitor = Visitor(similar_core)
    answer = visitor.api("POST", "/api/similar", {"text": ATTENTION, "per_page": 2})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ranking"] == "similar:text" and len(body["items"]) == 2
    assert visitor.api("POST", "/api/similar", {"paper": "2401.00004"}).json()["items"]
    assert visitor.api("POST", "/api/similar", {}).status_code == 400


def test_the_cli_finds_similar_papers(similar_core):
    runner = CliRunner()
    by_paper = runner.invoke(app, ["similar", "--paper", "2401.00001", "-n", "2"])
    assert by_paper.exit_code == 0, by_paper.output
    assert "2401.00001 " not in by_paper.output and ("2401.00002" in by_paper.output or "2401.00003" in by_paper.output)
    by_text = runner.invoke(app, ["similar", "crop yields and weather", "-n", "1"])
    assert by_text.exit_code == 0 and "Crop Yield Forecasting" in by_text.output
