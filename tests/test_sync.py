"""Followed sources and `paperfeed sync`: arXiv's announcement days, the Daily Papers JSON format
and client, the follow/sync commands and the admin page. (A whole simulated week of syncing is in
test_sync_week.py.)"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from community_helpers import Visitor, cheap_password_hashing, make_user
from fake_services import ArxivPaper, DailyPaper, FakeHF, FakeOAI, unavailable
from paperfeed.cli import app
from paperfeed.cli.common import console, console_err
from paperfeed.core import PaperFeed
from paperfeed.ingest import detect_format
from paperfeed.ingest.arxiv_schedule import announcement_day
from paperfeed.ingest.follow import oai_set_for
from paperfeed.ingest.hf_api import parse_daily_papers
from paperfeed.models import PaperRecord, Rejected

ET_SUMMER = dt.timezone(dt.timedelta(hours=-4))  # US Eastern daylight time


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables on one line per row, as on a wide terminal."""
    for output in (console, console_err):
        monkeypatch.setattr(output, "_width", 250)


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


# --- arXiv's announcement day -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        (dt.datetime(2024, 6, 3, 13, 59, tzinfo=ET_SUMMER), dt.date(2024, 6, 4)),  # Mon before 14:00: Tue
        (dt.datetime(2024, 6, 3, 14, 0, tzinfo=ET_SUMMER), dt.date(2024, 6, 5)),  # Mon at 14:00: Wed
        (dt.datetime(2024, 6, 6, 15, 0, tzinfo=ET_SUMMER), dt.date(2024, 6, 10)),  # Thu after: Mon
        (dt.datetime(2024, 6, 7, 10, 0, tzinfo=ET_SUMMER), dt.date(2024, 6, 10)),  # Fri before: Mon
        (dt.datetime(2024, 6, 7, 16, 0, tzinfo=ET_SUMMER), dt.date(2024, 6, 11)),  # Fri after: Tue
        (dt.datetime(2024, 6, 8, 12, 0, tzinfo=ET_SUMMER), dt.date(2024, 6, 11)),  # Saturday: Tue
        (dt.datetime(2024, 1, 9, 18, 59, tzinfo=dt.UTC), dt.date(2024, 1, 10)),  # 13:59 EST on Tue: Wed
        (dt.datetime(2024, 1, 9, 19, 0, tzinfo=dt.UTC), dt.date(2024, 1, 11)),  # 14:00 EST on Tue: Thu
    ],
)
def test_a_submission_is_listed_on_the_day_arxiv_announces_it(
    submitted: dt.datetime, listed: dt.date
) -> None:
    assert announcement_day(submitted) == listed


@pytest.mark.parametrize(
    ("category", "oai_set"),
    [("cs.CL", "cs:cs:CL"), ("cs", "cs"), ("hep-th", "physics:hep-th"), ("math.AG", "math:math:AG"),
     ("astro-ph.GA", "physics:astro-ph:GA"), ("stat.ML", "stat:stat:ML")],
)  # fmt: skip
def test_a_category_is_harvested_from_its_oai_pmh_set(category: str, oai_set: str) -> None:
    assert oai_set_for(category) == oai_set


def oai_response(*papers: ArxivPaper) -> bytes:
    return (
        '<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        + "".join(p.xml() for p in papers)
        + "</ListRecords></OAI-PMH>"
    ).encode()


def test_a_replacement_updates_its_paper_and_does_not_list_it_again(core: PaperFeed, tmp_path: Path) -> None:
    v1 = dt.datetime(2025, 3, 10, 15, 0, tzinfo=dt.UTC)
    first = tmp_path / "monday.xml"
    first.write_bytes(
        oai_response(ArxivPaper("2503.00001", "Sparse Retrieval", ["cs.CL"], [v1], dt.date(2025, 3, 11)))
    )
    replaced = tmp_path / "thursday.xml"
    v2 = dt.datetime(2025, 3, 12, 9, 0, tzinfo=dt.UTC)
    paper = ArxivPaper("2503.00001", "Sparse Retrieval, Revised", ["cs.CL"], [v1, v2], dt.date(2025, 3, 13))
    replaced.write_bytes(oai_response(paper))

    core.import_path(first)
    [report] = core.import_path(replaced)

    stored = core.paper("2503.00001")
    assert report.updated == 1
    assert (stored.title, stored.version, stored.listed_on) == (
        "Sparse Retrieval, Revised",
        2,
        dt.date(2025, 3, 11),
    )
    assert core.day(dt.date(2025, 3, 13)).papers == []


def test_a_new_paper_is_listed_on_its_datestamp_and_a_late_datestamp_is_not_trusted(tmp_path: Path) -> None:
    v1 = dt.datetime(2025, 3, 10, 15, 0, tzinfo=dt.UTC)  # Monday before the deadline: Tuesday's listing
    holiday = ArxivPaper("2503.00001", "Announced Late", ["cs.CL"], [v1], dt.date(2025, 3, 12))
    touched = ArxivPaper("2503.00002", "Metadata Fixed Later", ["cs.CL"], [v1], dt.date(2025, 6, 1))
    path = tmp_path / "records.xml"
    path.write_bytes(oai_response(holiday, touched))
    from paperfeed.ingest.oai_pmh import OAIPMHFileSource

    listed = [item.item.listed_on for item in OAIPMHFileSource(path).items()]
    assert listed == [dt.date(2025, 3, 12), dt.date(2025, 3, 11)]


# --- Hugging Face Daily Papers JSON -----------------------------------------------------------------


def daily_papers_json(*papers: DailyPaper, day: dt.date = dt.date(2025, 3, 11)) -> bytes:
    return json.dumps([p.listing(day) for p in papers]).encode()


SAMPLE = DailyPaper(
    "2503.07604", "Implicit Reasoning in Transformers", upvotes=41, comments=5,
    published=dt.datetime(2025, 3, 10, 17, 2, tzinfo=dt.UTC),
    github="https://github.com/lab/implicit", project="https://lab.github.io/implicit",
    extra={"mediaUrls": [], "organization": {"name": "lab"}},
)  # fmt: skip


def test_a_daily_papers_listing_becomes_a_record_with_hugging_faces_counts() -> None:
    [item] = parse_daily_papers(daily_papers_json(SAMPLE))
    record = item.item
    assert isinstance(record, PaperRecord)
    assert (record.arxiv_id, record.title, record.authors) == (
        "2503.07604", "Implicit Reasoning in Transformers", ["Grace Hopper", "Alan Turing"],
    )  # fmt: skip
    assert record.abstract.startswith("We present implicit reasoning")
    assert (record.hf_upvotes, record.hf_comments) == (41, 5)
    assert record.listed_on == record.hf_listed_on == dt.date(2025, 3, 11)  # the listing's own day
    assert record.published == dt.date(2025, 3, 10)
    assert [(link.kind, link.url) for link in record.links if link.kind in {"code", "project"}] == [
        ("code", "https://github.com/lab/implicit"),
        ("project", "https://lab.github.io/implicit"),
    ]


def test_missing_fields_are_tolerated_and_an_element_without_a_paper_is_rejected() -> None:
    sparse = {"paper": {"id": "2503.00009", "title": "Only A Title"}}
    items = parse_daily_papers(json.dumps([sparse, {"title": "no paper object"}, 7]).encode())
    record = items[0].item
    assert isinstance(record, PaperRecord) and record.arxiv_id == "2503.00009"
    assert (record.hf_upvotes, record.hf_comments, record.listed_on, record.links[0].kind) == (
        None,
        None,
        None,
        "abs",
    )
    assert [i.item.reason for i in items[1:]] == [
        "a list element without a paper object",
        "a list element is a JSON int, not an object",
    ]
    assert all(isinstance(i.item, Rejected) for i in items[1:])


def test_a_daily_papers_response_is_told_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    for name in ("daily_papers.json", "2025-03-11", "saved.txt"):
        (tmp_path / name).write_bytes(b"\n  " + daily_papers_json(SAMPLE))
        assert detect_format(tmp_path / name) == "hf-daily-json", name
    (tmp_path / "empty.json").write_bytes(b"[]")
    assert detect_format(tmp_path / "empty.json") == "hf-daily-json"
    (tmp_path / "snapshot.json").write_bytes(b'{"id": "2503.00001", "title": "x"}\n')
    assert detect_format(tmp_path / "snapshot.json") == "arxiv-snapshot"


def test_importing_a_saved_daily_papers_response_works(core: PaperFeed, tmp_path: Path) -> None:
    path = tmp_path / "daily_papers.json"
    path.write_bytes(daily_papers_json(SAMPLE))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    paper = core.paper("2503.07604")
    assert (paper.hf_upvotes, paper.hf_comments, paper.listed_on) == (41, 5, dt.date(2025, 3, 11))
    assert core.vote_states([paper.id], None)[paper.id].votes == 0


def test_pages_show_hugging_faces_counts_beside_the_local_votes(core: PaperFeed, tmp_path: Path) -> None:
    path = tmp_path / "daily_papers.json"
    path.write_bytes(daily_papers_json(SAMPLE))
    core.import_path(path)
    visitor = Visitor(core)
    paper_page = visitor.get("/papers/2503.07604").text
    assert "41 upvotes there" in paper_page and "5 comments there" in paper_page
    day_page = visitor.get("/day/2025-03-11").text
    assert "Hugging Face: 41 upvotes, 5 comments" in day_page
    assert core.vote_states([core.paper("2503.07604").id], None)[core.paper("2503.07604").id].votes == 0


def test_hugging_face_counts_never_go_back_when_an_older_response_is_imported_again(
    core: PaperFeed, tmp_path: Path
) -> None:
    newer, older = tmp_path / "newer.json", tmp_path / "older.json"
    newer.write_bytes(daily_papers_json(SAMPLE))
    SAMPLE_OLD = DailyPaper(SAMPLE.arxiv_id, SAMPLE.title, upvotes=3, comments=0, published=SAMPLE.published)
    older.write_bytes(daily_papers_json(SAMPLE_OLD))
    core.import_path(newer)
    core.import_path(older)
    assert (core.paper(SAMPLE.arxiv_id).hf_upvotes, core.paper(SAMPLE.arxiv_id).hf_comments) == (41, 5)


@pytest.fixture
def hf_server() -> Iterator[FakeHF]:
    days = {
        dt.date(2025, 3, 11): [SAMPLE] + [
            DailyPaper(f"2503.1{n:04d}", f"Paper Number {n}", upvotes=n, comments=0,
                       published=dt.datetime(2025, 3, 10, tzinfo=dt.UTC)) for n in range(120)
        ],
    }  # fmt: skip
    server = FakeHF(days).start()
    yield server
    server.stop()


def test_harvest_hf_fetches_a_days_list_page_by_page(core: PaperFeed, hf_server: FakeHF) -> None:
    result = run("harvest", "hf", "--date", "2025-03-11", "--base-url", f"{hf_server.url}/api/daily_papers")
    assert result.exit_code == 0, result.output
    assert core.store.papers.count() == 121
    assert [(r["date"], r["p"]) for r in hf_server.requests] == [("2025-03-11", "0"), ("2025-03-11", "1")]
    assert core.paper("2503.10007").hf_upvotes == 7


def test_harvest_hf_says_in_one_line_when_hugging_face_is_unavailable(
    core: PaperFeed, hf_server: FakeHF
) -> None:
    hf_server.script = [unavailable(0)] * 4
    result = CliRunner().invoke(
        app, ["harvest", "hf", "--date", "2025-03-11", "--base-url", f"{hf_server.url}/api/daily_papers"]
    )
    assert result.exit_code == 1
    assert "Hugging Face Daily Papers is unavailable: HTTP 503" in str(result.exception)


def test_harvest_hf_wants_exactly_one_of_day_week_and_month(core: PaperFeed) -> None:
    result = CliRunner().invoke(app, ["harvest", "hf", "--date", "2025-03-11", "--week", "2025-W11"])
    assert result.exit_code == 1 and "give one of: days, a week or a month" in str(result.exception)
    result = CliRunner().invoke(app, ["harvest", "hf", "--week", "2025-11"])
    assert "is not an ISO week like 2025-W07" in str(result.exception)


# --- the commands ------------------------------------------------------------------------------------


def test_follow_add_list_remove(core: PaperFeed) -> None:
    assert run("follow", "add", "arxiv", "cs.CL", "--since", "2025-03-01").exit_code == 0
    assert run("follow", "add", "hf").exit_code == 0
    listed = run("follow", "list")
    assert "arXiv cs.CL" in listed.output and "Hugging Face Daily Papers" in listed.output
    assert [s.options for s in core.followed()] == [{"since": "2025-03-01"}, {}]

    again = CliRunner().invoke(app, ["follow", "add", "arxiv", "cs.CL"])
    assert again.exit_code == 1 and str(again.exception) == "arXiv cs.CL is followed already"
    bad = CliRunner().invoke(app, ["follow", "add", "arxiv", "cs CL; drop"])
    assert "is not an arXiv category like cs.CL" in str(bad.exception)

    assert run("follow", "remove", str(core.followed()[0].id)).exit_code == 0
    assert [s.label for s in core.followed()] == ["Hugging Face Daily Papers"]


@pytest.fixture
def oai_server() -> Iterator[FakeOAI]:
    submitted = dt.datetime(2025, 3, 10, 15, 0, tzinfo=dt.UTC)
    papers = [
        ArxivPaper(f"2503.0000{n}", f"Paper {n}", ["cs.CL"], [submitted], dt.date(2025, 3, 11))
        for n in (1, 2)
    ]
    server = FakeOAI(papers).start()
    yield server
    server.stop()


@pytest.fixture
def synced(core: PaperFeed, oai_server: FakeOAI, monkeypatch: pytest.MonkeyPatch) -> PaperFeed:
    monkeypatch.setenv("PAPERFEED_OAI_URL", f"{oai_server.url}/oai")
    monkeypatch.setenv("PAPERFEED_HARVEST_DELAY", "0")
    core.follow("arxiv", "cs.CL", since=dt.date(2025, 3, 10))
    return core


def test_a_dry_run_fetches_and_reports_but_changes_nothing(synced: PaperFeed, oai_server: FakeOAI) -> None:
    result = run("sync", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would add 2" in result.output
    assert synced.store.papers.count() == 0
    [source] = synced.followed()
    assert (source.watermark, source.last_run_at, source.next_run_at) == (None, None, None)


def test_sync_imports_then_reports_not_due_and_status_shows_the_watermark(synced: PaperFeed) -> None:
    first = run("sync")
    assert first.exit_code == 0, first.output
    assert synced.store.papers.count() == 2
    assert synced.paper("2503.00001").listed_on == dt.date(2025, 3, 11)
    assert "not due until" in run("sync").output
    status = run("sync", "status").output
    assert dt.datetime.now(dt.UTC).date().isoformat() in status  # the watermark: today


def test_a_failing_source_makes_sync_exit_1_and_status_shows_the_error(
    synced: PaperFeed, oai_server: FakeOAI
) -> None:
    oai_server.script = [unavailable(0)] * 5
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 1
    assert "arXiv's OAI-PMH service is unavailable: HTTP 503" in result.output
    assert "Traceback" not in result.output
    assert "unavailable" in run("sync", "status").output
    assert synced.followed()[0].watermark is None


# --- the admin page ----------------------------------------------------------------------------------


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def admin(core: PaperFeed, fast_hashing: None) -> Visitor:
    return Visitor(core).log_in_as(make_user(core, "root", admin=True))


def test_the_admin_page_lists_follows_and_unfollows_sources(core: PaperFeed, admin: Visitor) -> None:
    response = admin.post("/admin/sources", {"kind": "arxiv", "target": "cs.LG", "since": "2025-03-01"})
    assert response.status_code == 200 and response.url.path == "/admin/sources"
    admin.post("/admin/sources", {"kind": "hf", "target": ""})
    bad = admin.post("/admin/sources", {"kind": "arxiv", "target": "not a category"})
    assert "is not an arXiv category like cs.CL" in bad.text
    source = core.followed()[0]
    core.store.follows.failed(
        source.id, error="arXiv's OAI-PMH service is unavailable", report={},
        now=dt.datetime(2025, 3, 11, 6, tzinfo=dt.UTC), next_run_at=dt.datetime(2025, 3, 11, 6, 15, tzinfo=dt.UTC),
    )  # fmt: skip
    page = admin.get("/admin/sources").text
    assert "arXiv cs.LG" in page and "Hugging Face Daily Papers" in page
    assert "arXiv&#39;s OAI-PMH service is unavailable" in page and "2025-03-11 06:15 UTC" in page
    admin.post(f"/admin/sources/{source.id}/remove")
    assert [s.label for s in core.followed()] == ["Hugging Face Daily Papers"]


def test_only_admins_see_the_followed_sources(core: PaperFeed, fast_hashing: None) -> None:
    visitor = Visitor(core).log_in_as(make_user(core, "alice"))
    assert visitor.get("/admin/sources").status_code == 403
    assert visitor.post("/admin/sources", {"kind": "hf"}).status_code == 403
    assert core.followed() == []
