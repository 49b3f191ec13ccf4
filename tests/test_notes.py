"""Private notes: one Markdown note per user and paper, sanitised like comments, shown on the
paper page and in collections to its writer only, and searchable within one's own library."""

from __future__ import annotations

import pytest

from community_helpers import Visitor, assert_inert, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed


@pytest.fixture
def notes_core(core: PaperFeed, monkeypatch: pytest.MonkeyPatch) -> PaperFeed:
    cheap_password_hashing(monkeypatch)
    add_papers(
        core,
        paper("Sparse Attention at Scale", arxiv_id="2401.00001", authors=["Ada Lovelace"]),
        paper("Retrieval for Long Documents", arxiv_id="2401.00002"),
        paper("Unrelated Work on Graphs", arxiv_id="2401.00003"),
    )
    return core


def test_a_note_is_written_on_the_paper_page_and_shown_to_its_writer_only(notes_core):
    ada = Visitor(notes_core).log_in_as(make_user(notes_core, "ada"))
    written = ada.post("/papers/2401.00001/note", {"body": "Read **section 3**"}, follow_redirects=False)
    assert written.status_code == 303 and written.headers["location"].endswith("#note")
    assert "<strong>section 3</strong>" in ada.get("/papers/2401.00001").text
    eve = Visitor(notes_core).log_in_as(make_user(notes_core, "eve"))
    for visitor in (eve, Visitor(notes_core)):
        assert "section 3" not in visitor.get("/papers/2401.00001").text
    assert eve.api("GET", "/api/papers/2401.00001/note").status_code == 404
    assert Visitor(notes_core).api("GET", "/api/papers/2401.00001/note").status_code == 401


def test_notes_are_sanitised_like_comments(notes_core):
    ada = Visitor(notes_core).log_in_as(make_user(notes_core, "ada"))
    hostile = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> *ok*'
    ada.post("/papers/2401.00001/note", {"body": hostile})
    page = ada.get("/papers/2401.00001").text
    assert "<em>ok</em>" in page
    assert_inert(page)


def test_an_empty_note_deletes_it(notes_core):
    ada = Visitor(notes_core).log_in_as(make_user(notes_core, "ada"))
    assert ada.api("PUT", "/api/papers/2401.00001/note", {"body": "first"}).json()["body"] == "first"
    assert ada.api("PUT", "/api/papers/2401.00001/note", {"body": "second"}).json()["body"] == "second"
    assert ada.api("PUT", "/api/papers/2401.00001/note", {"body": "  "}).status_code == 204
    assert ada.api("GET", "/api/papers/2401.00001/note").status_code == 404


def test_a_collection_shows_its_owner_their_notes_and_nobody_else(notes_core):
    ada = Visitor(notes_core).log_in_as(make_user(notes_core, "ada"))
    cid = ada.api("POST", "/api/collections", {"name": "Shared", "visibility": "public"}).json()["id"]
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    ada.api("PUT", "/api/papers/2401.00001/note", {"body": "compare with *Longformer*"})
    assert "<em>Longformer</em>" in ada.get(f"/collections/{cid}").text
    public = Visitor(notes_core).get(f"/collections/{cid}").text
    assert "Sparse Attention at Scale" in public and "Longformer" not in public


def test_library_search_finds_papers_by_note_title_and_author_within_ones_own_library(notes_core):
    ada_user = make_user(notes_core, "ada")
    ada = Visitor(notes_core).log_in_as(ada_user)
    ada.post("/papers/2401.00001/save", {"saved": "1"})
    ada.api("PUT", "/api/papers/2401.00002/note", {"body": "baseline for the hierarchical encoder"})
    by_note = ada.api("GET", "/api/library/search?q=hierarchical").json()
    assert [i["paper"]["url_id"] for i in by_note["items"]] == ["2401.00002"]
    assert by_note["items"][0]["reason"] == "matches your note"
    assert [i["paper"]["url_id"] for i in ada.api("GET", "/api/library/search?q=lovelace").json()["items"]] == [
        "2401.00001"
    ]
    assert ada.api("GET", "/api/library/search?q=graphs").json()["total"] == 0  # not in her library
    page = ada.get("/collections?q=hierarchical").text
    assert "Retrieval for Long Documents" in page
    eve = Visitor(notes_core).log_in_as(make_user(notes_core, "eve"))
    assert eve.api("GET", "/api/library/search?q=hierarchical").json()["total"] == 0
