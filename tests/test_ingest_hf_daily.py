"""Importing Hugging Face Daily Papers pages saved as text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from paperfeed.ingest.hf_daily import HFDailyTextSource
from paperfeed.models import PaperRecord, Rejected, SearchRequest

DEMO_UNIQUE_PAPERS = 707  # 812 title/abstract pairs over five pages, some papers on several pages


def records(path: Path, today: dt.date = dt.date(2026, 11, 23)) -> list:
    return [item for item in HFDailyTextSource(path, today=today).items()]


def test_demo_data_imports_every_unique_paper_once(demo_core):
    stats = demo_core.stats()
    assert stats.papers == DEMO_UNIQUE_PAPERS
    assert stats.by_source == {"hf-daily": DEMO_UNIQUE_PAPERS}


def test_demo_import_reports_duplicates_across_pages_as_unchanged(core, demo_dir):
    reports = core.import_path(demo_dir)
    assert sum(r.added for r in reports) == DEMO_UNIQUE_PAPERS
    assert sum(r.added + r.unchanged for r in reports) == 812
    assert all(r.rejected == 0 for r in reports)


def test_reimporting_the_demo_adds_nothing(demo_core, demo_dir):
    again = demo_core.import_path(demo_dir)
    assert sum(r.added for r in again) == 0
    assert sum(r.updated for r in again) == 0
    assert demo_core.stats().papers == DEMO_UNIQUE_PAPERS


def test_title_glued_to_subscribe_button_is_split_off(demo_dir):
    first = records(demo_dir / "000_cd249e3c553a7053.txt")[0].item
    assert isinstance(first, PaperRecord)
    assert first.title == (
        "AB-Cache: Training-Free Acceleration of Diffusion Models via Adams-Bashforth Cached Feature Reuse"
    )
    assert first.abstract.startswith("Diffusion models have demonstrated remarkable success")


def test_titles_and_abstracts_are_split_correctly_on_every_page(demo_dir):
    for path in sorted(demo_dir.glob("*.txt")):
        for source_item in records(path):
            paper = source_item.item
            assert isinstance(paper, PaperRecord), (path.name, source_item)
            assert len(paper.title) < 300 and len(paper.abstract) > 150
            assert "Get trending papers" not in paper.title and not paper.title.startswith("Subscribe")


def test_page_date_line_sets_the_listing_day_in_the_latest_past_year(demo_dir):
    items = records(demo_dir / "003_b5ee9a55233444b4.txt", today=dt.date(2026, 11, 23))
    assert {item.item.listed_on for item in items} == {dt.date(2026, 9, 11)}
    items = records(demo_dir / "003_b5ee9a55233444b4.txt", today=dt.date(2026, 5, 1))
    assert {item.item.listed_on for item in items} == {dt.date(2025, 9, 11)}


def test_code_links_in_abstracts_are_found(demo_core):
    stats = demo_core.stats()
    assert stats.with_code > 50
    paper = demo_core.store.papers.get_many(
        [p.id for p in demo_core.day(stats.last_day).papers if p.has_code][:1]
    )[0]
    assert any("github.com" in link.url for link in paper.links_of("code"))


def test_a_title_without_abstract_is_rejected_with_its_line_and_the_rest_imports(tmp_path, core):
    page = tmp_path / "page.txt"
    abstract = "We study widgets at scale and find that sparse widgets beat dense ones. " * 3
    with_code = (
        "An abstract long enough to be an abstract, with code at https://github.com/example/widgets. " * 2
    )
    lines = [
        "Subscribe",
        "A Paper Without Its Abstract",
        "Sparse Mixture of Widgets",
        abstract,
        "<b>Bold</b> &amp; Brave: HTML in Titles",
        with_code,
    ]
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [report] = core.import_path(page)
    assert report.added == 2
    assert [(r.record_no, r.reason) for r in report.rejections] == [
        (2, "title without an abstract line after it")
    ]
    found = core.search(SearchRequest(query="brave")).items[0].paper
    assert found is not None and found.title == "Bold & Brave: HTML in Titles"
    assert found.has_code


def test_invalid_utf8_line_is_rejected_without_losing_the_file(tmp_path, core):
    page = tmp_path / "page.txt"
    abstract = "This abstract is long enough to count as one, and it talks about graphs. " * 3
    page.write_bytes(
        b"Graph Networks Revisited\n" + abstract.encode() + b"\n"
        b"Caf\xe9 Latin-1 Title\n" + abstract.encode() + b"\n"
    )
    [report] = core.import_path(page)
    assert report.added == 1
    reasons = [r.reason for r in report.rejections]
    assert reasons[0].startswith("not valid UTF-8")
    assert all(isinstance(i.item, (PaperRecord, Rejected)) for i in HFDailyTextSource(page).items())
