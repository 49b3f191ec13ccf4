"""Importing a reference library (BibTeX, RIS, CSL-JSON) into a collection: known papers are
matched by arXiv id, DOI, then normalised title; unknown ones become papers; unreadable
records are rejected with their record number and a reason."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.cli import app
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput

LIBRARIES = Path(__file__).parent / "fixtures" / "library"


@pytest.fixture
def import_core(core: PaperFeed, monkeypatch: pytest.MonkeyPatch) -> PaperFeed:
    cheap_password_hashing(monkeypatch)
    add_papers(
        core,
        paper("Attention Is All You Need", arxiv_id="1706.03762", authors=["Ashish Vaswani"]),
        paper("Mining Graphs at Scale", doi="10.1145/3292500.3330701", authors=["John Smith"]),
        paper("Retrieval for Long Documents", authors=["Grace Hopper"]),
        paper("Sparse Attention at Scale", arxiv_id="2401.00001"),
    )
    return core


def import_file(core: PaperFeed, name: str, fmt: str | None = None):
    user = core.store.users.by_name("ada") or make_user(core, "ada")
    reading = core.create_collection(user, f"Imported {name} ({len(core.collections(user))})")
    report = core.import_library(user, reading.id, (LIBRARIES / name).read_bytes(), fmt, filename=name)
    return user, reading, report


def by(rows) -> dict[str, str]:
    return {row.title: row.by for row in rows}


def test_a_bibtex_library_matches_known_papers_adds_unknown_ones_and_rejects_broken_records(import_core):
    _user, reading, report = import_file(import_core, "zotero.bib")
    assert by(report.matched) == {
        "Attention Is All You Need": "arXiv id",
        "Mining Graphs at Scale": "DOI",
        "Retrieval for Long Documents": "title",
    }
    assert by(report.added) == {"Ein neuer Ansatz für Müller-Netze": "added"}
    broken, untitled = report.rejected
    assert broken.record_no == 35 and broken.reason.startswith("cannot parse entry 'broken'")
    assert (untitled.record_no, untitled.reason) == (39, "entry 'untitled' has no title")
    new = import_core.paper("10.9999/example.2020")
    assert new.authors == ["Jürgen Müller", "Ludwig van Beethoven"]
    assert len(import_core.store.collections.paper_ids(reading.id)) == 4
    assert import_core.store.papers.count() == 5  # nothing known was duplicated


def test_an_ris_library_imports_with_record_numbers(import_core):
    _, _reading, report = import_file(import_core, "mendeley.ris")
    assert by(report.matched) == {"Attention Is All You Need": "arXiv id"}  # told by its arXiv URL
    assert by(report.added) == {"A Paper Nobody Here Knows": "added"}
    assert [(r.record_no, r.reason) for r in report.rejected] == [(3, "missing title")]
    added = import_core.paper("10.5555/unknown.2018")
    assert added.authors == ["Ada Lovelace", "Charles Babbage"] and added.published.isoformat() == "2018-05-07"


def test_a_csl_json_library_imports_and_rejects_what_is_not_an_item(import_core):
    _, reading, report = import_file(import_core, "semantic_scholar.json")
    assert by(report.matched) == {"Mining Graphs at Scale": "DOI", "Sparse Attention at Scale": "arXiv id"}
    assert by(report.added) == {"Completely New Work on Proteins": "added"}
    assert [r.record_no for r in report.rejected] == [4, 5]
    assert import_core.paper("2401.00001").id in import_core.store.collections.paper_ids(reading.id)


def test_importing_the_same_library_twice_adds_nothing_the_second_time(import_core):
    import_file(import_core, "zotero.bib")
    count = import_core.store.papers.count()
    _, _, again = import_file(import_core, "zotero.bib")
    assert again.added == [] and import_core.store.papers.count() == count


def test_a_file_that_is_no_library_is_one_clear_error(import_core):
    user = make_user(import_core, "ada")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        import_core.import_library(user, import_core.library.default(user).id, b"hello", filename="notes.txt")


def test_only_the_owner_imports_into_a_collection(import_core):
    ada = make_user(import_core, "ada")
    eve = make_user(import_core, "eve")
    mine = import_core.create_collection(ada, "Mine")
    with pytest.raises(Exception) as refused:
        import_core.import_library(eve, mine.id, (LIBRARIES / "zotero.bib").read_bytes())
    assert type(refused.value).__name__ == "NotFound"


def test_ten_thousand_entries_import_in_batches_reporting_progress(import_core):
    user = make_user(import_core, "ada")
    big = import_core.create_collection(user, "Big")
    items = [{"id": f"i{n}", "type": "article", "title": f"Synthetic study number {n} of many",
              "DOI": f"10.7777/synthetic.{n}"} for n in range(10_000)]  # fmt: skip
    items[17] = {"id": "known", "type": "article", "title": "Sparse Attention at Scale", "number": "arXiv:2401.00001"}
    steps: list[tuple[int, int]] = []
    report = import_core.import_library(
        user, big.id, json.dumps(items).encode(), "csl-json", progress=lambda d, t: steps.append((d, t))
    )
    assert len(report.added) == 9_999 and len(report.matched) == 1
    assert steps[-1] == (10_000, 10_000) and len(steps) > 10
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert import_core.store.collections.get(big.id).size == 10_000


def test_the_web_import_runs_in_the_background_and_shows_its_report(import_core):
    visitor = Visitor(import_core).log_in_as(make_user(import_core, "ada"))
    cid = visitor.api("POST", "/api/collections", {"name": "Zotero"}).json()["id"]
    assert "Import a library" in visitor.get(f"/collections/{cid}").text
    started = visitor.post(
        f"/collections/{cid}/import",
        files={"file": ("zotero.bib", (LIBRARIES / "zotero.bib").read_bytes(), "application/x-bibtex")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_url = started.headers["location"]
    for thread in threading.enumerate():
        if thread.name == "import-" + job_url.rsplit("/", 1)[-1]:
            thread.join()
    page = visitor.get(job_url).text
    assert "3</strong> matched" in page and "1</strong> added" in page and "Rejected" in page
    assert Visitor(import_core).log_in_as(make_user(import_core, "eve")).get(job_url).status_code == 404


def test_the_api_import_answers_a_job_to_poll(import_core):
    visitor = Visitor(import_core).log_in_as(make_user(import_core, "ada"))
    cid = visitor.api("POST", "/api/collections", {"name": "Mendeley"}).json()["id"]
    answer = visitor.client.post(
        f"/api/collections/{cid}/import",
        files={"file": ("lib.ris", (LIBRARIES / "mendeley.ris").read_bytes())},
        headers={"X-CSRF-Token": visitor.token()},
    )
    assert answer.status_code == 202
    job = answer.json()
    for thread in threading.enumerate():
        if thread.name == f"import-{job['id']}":
            thread.join()
    status = visitor.api("GET", f"/api/collections/imports/{job['id']}").json()
    assert status["finished"] and status["report"]["rejected"] == [{"record": 3, "reason": "missing title"}]


def test_the_cli_imports_a_library_and_prints_the_report(import_core):
    make_user(import_core, "ada")
    result = CliRunner().invoke(
        app, ["collection", "import", "--user", "ada", "Saved", str(LIBRARIES / "mendeley.ris")]
    )
    assert result.exit_code == 0, result.output
    assert "3 records: 1 matched, 1 added, 1 rejected" in result.output
    assert "record 3: missing title" in result.output
