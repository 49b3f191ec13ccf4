"""Saving papers: into the default collection ("Saved"), which also teaches recommendations."""

from __future__ import annotations

import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def saved_ids(core: PaperFeed, user) -> list[int]:
    """The papers of the user's default collection."""
    return core.store.collections.paper_ids(core.library.default(user).id)


@pytest.fixture
def saved_core(core: PaperFeed) -> PaperFeed:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    return core


def test_the_save_button_saves_and_unsaves_a_paper(saved_core):
    user = make_user(saved_core, "ada")
    visitor = Visitor(saved_core).log_in_as(user)
    target = saved_core.paper("2401.00001")

    assert "☆ Save" in visitor.get("/papers/2401.00001").text
    assert visitor.post("/papers/2401.00001/save", {"saved": "1"}).status_code == 200
    assert saved_ids(saved_core, user) == [target.id]
    assert "★ Saved" in visitor.get("/papers/2401.00001").text

    visitor.post("/papers/2401.00001/save", {"saved": "0"})
    assert saved_ids(saved_core, user) == []


def test_the_api_saves_papers_for_the_logged_in_user_only(saved_core):
    user = make_user(saved_core, "ada")
    visitor = Visitor(saved_core)
    assert visitor.api("POST", "/api/papers/2401.00001/save", {"saved": True}).status_code == 401
    visitor.log_in_as(user)
    answer = visitor.api("POST", "/api/papers/2401.00001/save", {"saved": True})
    assert answer.status_code == 200 and answer.json() == {"paper_id": "2401.00001", "saved": True}
    assert visitor.api("POST", "/api/papers/2499.99999/save", {"saved": True}).status_code == 404


def test_saving_without_a_csrf_token_is_refused(saved_core):
    visitor = Visitor(saved_core).log_in_as(make_user(saved_core, "ada"))
    refused = visitor.client.post("/papers/2401.00001/save", data={"saved": "1"})
    assert refused.status_code == 403


def test_saved_papers_have_one_page_the_default_collection_with_its_feed_and_exports(saved_core):
    user = make_user(saved_core, "ada")
    visitor = Visitor(saved_core).log_in_as(user)
    visitor.post("/papers/2401.00001/save", {"saved": "1"})
    default = saved_core.library.default(user)

    answer = visitor.get("/saved", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/collections/{default.id}"
    page = visitor.get("/saved").text
    assert "Sparse Attention at Scale" in page and "RSS feed" in page and "export.bib" in page
    assert Visitor(saved_core).get("/saved", follow_redirects=False).headers["location"].startswith("/login")
