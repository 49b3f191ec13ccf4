"""Collections: named lists of papers per user, private, unlisted or public; the default one
("Saved") is what the Save button fills. Nobody reads or changes another user's private
collection, through pages, feeds or the API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.store import Store
from paperfeed.store.migrate import downgrade, upgrade


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def lib_core(core: PaperFeed) -> PaperFeed:
    add_papers(
        core,
        paper("Sparse Attention at Scale", arxiv_id="2401.00001"),
        paper("Retrieval for Long Documents", arxiv_id="2401.00002"),
    )
    return core


def new_collection(visitor: Visitor, name: str, visibility: str = "private") -> int:
    answer = visitor.api("POST", "/api/collections", {"name": name, "visibility": visibility})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_existing_saves_move_into_each_users_default_collection(empty_database_url):
    store = Store(empty_database_url)
    upgrade(store.engine, "0007")
    now = "2025-01-02 03:04:05"
    with store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, name, name_key, password_hash, is_admin, suspended, created_at) "
            f"VALUES (1, 'ada', 'ada', 'x', false, false, '{now}')"
        ))  # fmt: skip
        for paper_id in (1, 2):
            conn.execute(sa.text(
                "INSERT INTO papers (id, key, title, title_hash, abstract, authors, categories, links, "
                f"listed_on, has_code, sources, first_seen, last_updated, hidden) VALUES ({paper_id}, "
                f"'k{paper_id}', 't{paper_id}', 'h{paper_id}', '', '[]', '[]', '[]', '2025-01-02', false, "
                f"'[]', '{now}', '{now}', false)"
            ))  # fmt: skip
            conn.execute(sa.text(
                f"INSERT INTO saved_papers (user_id, paper_id, created_at) VALUES (1, {paper_id}, '{now}')"
            ))  # fmt: skip
    upgrade(store.engine, "head")
    default = store.collections.default_for(1)
    assert default.name == "Saved" and default.is_default and default.visibility == "private"
    assert sorted(store.collections.paper_ids(default.id)) == [1, 2]
    assert len(store.collections.of_user(1)) == 1  # the migrated one, not a second default
    downgrade(store.engine, "0007")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM saved_papers")).scalar_one() == 2
    store.close()


def test_the_save_button_fills_the_default_collection_shown_first_in_the_library(lib_core):
    user = make_user(lib_core, "ada")
    visitor = Visitor(lib_core).log_in_as(user)
    visitor.post("/papers/2401.00001/save", {"saved": "1"})
    page = visitor.get("/collections").text
    assert "Saved" in page and "1 paper" in page
    default = lib_core.library.default(user)
    assert "Sparse Attention at Scale" in visitor.get(f"/collections/{default.id}").text


def test_a_paper_is_added_and_removed_from_a_listing_without_javascript(lib_core):
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    reading = new_collection(visitor, "Reading list")
    added = visitor.post(
        "/papers/2401.00002/collect", {"collection_id": str(reading), "next": "/search?q=retrieval"},
        follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303 and added.headers["location"] == "/search?q=retrieval"
    assert "Retrieval for Long Documents" in visitor.get(f"/collections/{reading}").text
    visitor.post("/papers/2401.00002/collect", {"remove": str(reading), "next": "/"})
    assert visitor.api("GET", f"/api/collections/{reading}").json()["papers"] == 0


def test_htmx_adds_a_paper_in_place_and_answers_with_the_new_form(lib_core):
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    reading = new_collection(visitor, "Reading list")
    answer = visitor.client.post(
        "/papers/2401.00001/collect",
        data={"collection_id": str(reading), "csrf_token": visitor.token()},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith("<form class=\"collect\"")
    assert 'aria-label="Remove from Reading list"' in answer.text


def test_a_new_collection_can_be_made_while_adding_a_paper(lib_core):
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    visitor.post("/papers/2401.00001/collect", {"new_name": "Attention", "next": "/"})
    names = {c["name"]: c["papers"] for c in visitor.api("GET", "/api/collections").json()}
    assert names == {"Saved": 0, "Attention": 1}


def test_the_api_manages_collections_and_their_papers(lib_core):
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(visitor, "Reading")
    assert visitor.api("PUT", f"/api/collections/{cid}/papers/2401.00001").json()["added"] is True
    assert visitor.api("PUT", f"/api/collections/{cid}/papers/2401.00001").json()["added"] is False
    visitor.api("PUT", f"/api/collections/{cid}/papers/2401.00002")
    papers = visitor.api("GET", f"/api/collections/{cid}/papers").json()
    assert [item["paper"]["url_id"] for item in papers["items"]] == ["2401.00002", "2401.00001"]
    edited = visitor.api("PATCH", f"/api/collections/{cid}", {"description": "for Monday"}).json()
    assert edited["description"] == "for Monday" and edited["name"] == "Reading"
    assert visitor.api("DELETE", f"/api/collections/{cid}/papers/2401.00001").json()["removed"] is True
    assert visitor.api("DELETE", f"/api/collections/{cid}").status_code == 204
    assert visitor.api("GET", f"/api/collections/{cid}").status_code == 404


def test_two_collections_of_one_user_cannot_share_a_name(lib_core):
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    new_collection(visitor, "Reading")
    answer = visitor.api("POST", "/api/collections", {"name": "Reading"})
    assert answer.status_code == 400 and "already" in answer.json()["error"]["message"]


def test_the_default_collection_cannot_be_deleted(lib_core):
    user = make_user(lib_core, "ada")
    with pytest.raises(InvalidInput, match="default collection"):
        lib_core.delete_collection(user, lib_core.library.default(user).id)


def test_nobody_else_reads_or_changes_a_private_collection(lib_core):
    ada = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(ada, "Secret")
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    details = ada.api("GET", f"/api/collections/{cid}").json()
    for visitor in (Visitor(lib_core), Visitor(lib_core).log_in_as(make_user(lib_core, "eve"))):
        assert visitor.get(f"/collections/{cid}").status_code == 404
        assert visitor.get(f"/collections/{cid}/export.bib").status_code == 404
        assert visitor.api("GET", f"/api/collections/{cid}").status_code == 404
        assert visitor.api("GET", f"/api/collections/{cid}/papers").status_code == 404
        assert visitor.api("GET", f"/api/collections/{cid}/export").status_code == 404
    eve = Visitor(lib_core).log_in_as(lib_core.store.users.by_name("eve"))
    assert eve.api("PUT", f"/api/collections/{cid}/papers/2401.00002").status_code == 404
    assert eve.api("PATCH", f"/api/collections/{cid}", {"name": "Mine"}).status_code == 404
    assert eve.api("DELETE", f"/api/collections/{cid}").status_code == 404
    assert eve.post("/papers/2401.00002/collect", {"collection_id": str(cid)}).status_code == 404
    assert eve.post(f"/collections/{cid}/delete").status_code == 404
    assert ada.api("GET", f"/api/collections/{cid}").json()["papers"] == 1
    # the feed of a private collection is at its secret URL only
    assert Visitor(lib_core).get(details["feed_url"]).status_code == 200


def test_an_unlisted_collection_opens_by_its_secret_link_only(lib_core):
    ada = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(ada, "For the group", "unlisted")
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    link = ada.api("GET", f"/api/collections/{cid}").json()["share_url"]
    stranger = Visitor(lib_core)
    assert stranger.get(f"/collections/{cid}").status_code == 404
    shared = stranger.get(link)
    assert shared.status_code == 200 and "Sparse Attention at Scale" in shared.text
    assert "Edit collection" not in shared.text
    assert stranger.get(link + "/export.bib").text.startswith("@misc{")


def test_making_a_collection_private_again_retires_its_secret_link_and_feed(lib_core):
    ada = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(ada, "For the group", "unlisted")
    before = ada.api("GET", f"/api/collections/{cid}").json()
    ada.api("PATCH", f"/api/collections/{cid}", {"visibility": "private"})
    after = ada.api("GET", f"/api/collections/{cid}").json()
    assert Visitor(lib_core).get(before["share_url"]).status_code == 404
    assert Visitor(lib_core).get(before["feed_url"]).status_code == 404
    assert after["feed_url"] != before["feed_url"]


def test_a_public_collection_is_read_by_anyone_but_changed_by_its_owner_only(lib_core):
    ada = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(ada, "Attention papers", "public")
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    stranger = Visitor(lib_core)
    assert "Sparse Attention at Scale" in stranger.get(f"/collections/{cid}").text
    assert stranger.api("GET", f"/api/collections/{cid}/papers").json()["total"] == 1
    eve = Visitor(lib_core).log_in_as(make_user(lib_core, "eve"))
    assert eve.api("PATCH", f"/api/collections/{cid}", {"name": "Mine"}).status_code == 403
    assert eve.api("PUT", f"/api/collections/{cid}/papers/2401.00002").status_code == 403


def test_a_collection_feed_lists_its_papers_newest_added_first(lib_core):
    import feedparser

    ada = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    cid = new_collection(ada, "Reading")
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00001")
    ada.api("PUT", f"/api/collections/{cid}/papers/2401.00002")
    feed_url = ada.api("GET", f"/api/collections/{cid}").json()["feed_url"]
    answer = Visitor(lib_core).get(feed_url)
    assert answer.headers["cache-control"].startswith("private")
    parsed = feedparser.parse(answer.text)
    assert parsed.feed.title == "paperfeed: Reading (ada)"
    assert [e.title for e in parsed.entries] == ["Retrieval for Long Documents", "Sparse Attention at Scale"]
    assert Visitor(lib_core).get("/feeds/collections/not-a-token.atom").status_code == 404


def test_pages_show_the_add_to_collection_form_only_to_logged_in_users(lib_core):
    assert "Add to collection" not in Visitor(lib_core).get("/papers/2401.00001").text
    visitor = Visitor(lib_core).log_in_as(make_user(lib_core, "ada"))
    assert "Add to collection" in visitor.get("/papers/2401.00001").text
    assert "Add to collection" in visitor.get("/search?q=attention").text


def test_the_cli_lists_shows_adds_removes_and_exports_a_users_collections(lib_core, tmp_path):
    import bibtexparser
    from typer.testing import CliRunner

    from paperfeed.cli import app

    make_user(lib_core, "ada")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "created collection" in run("collection", "create", "--user", "ada", "Reading", "--visibility", "public")
    assert "added 2 of 2 to Reading" in run("collection", "add", "--user", "ada", "Reading", "2401.00001",
                                            "2401.00002")  # fmt: skip
    listing = run("collection", "list", "--user", "ada")
    assert "Saved (default)" in listing and "Reading" in listing and "public" in listing
    assert "Sparse Attention at Scale" in run("collection", "show", "--user", "ada", "reading")
    assert "removed 1 of 1" in run("collection", "remove", "--user", "ada", "Reading", "2401.00001")
    out = tmp_path / "reading.bib"
    run("collection", "export", "--user", "ada", "Reading", "--format", "bibtex", "-o", str(out))
    entries = bibtexparser.parse_string(out.read_text()).entries
    assert [e["title"] for e in entries] == ["{Retrieval for Long Documents}"]
    missing = runner.invoke(app, ["collection", "show", "--user", "ada", "Nope"])
    assert missing.exit_code != 0
