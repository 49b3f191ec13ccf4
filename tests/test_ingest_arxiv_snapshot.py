"""Importing the arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json, one JSON object per line)."""

from __future__ import annotations

import datetime as dt
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil
import pytest

from helpers import ActsAfter, DiesAfter, Killed, add_papers, paper
from paperfeed.ingest import open_sources
from paperfeed.ingest.arxiv_snapshot import ArxivSnapshotSource, parse_version_date
from paperfeed.ingest.pipeline import READ_AHEAD_MIN_BYTES, run_import
from paperfeed.models import Link, PaperRecord, Rejected, SearchFilters, SourceItem
from paperfeed.search.query import parse_user_query
from paperfeed.text import finish_record

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = FIXTURES / "snapshot" / "arxiv-metadata-sample.jsonl"
MALFORMED = FIXTURES / "snapshot" / "malformed.jsonl"


def snapshot_object(arxiv_id: str, title: str, *, versions: int = 1, **fields) -> dict:
    """A snapshot record shaped like the real dump, with `versions` versions a day apart."""
    obj = {
        "id": arxiv_id,
        "submitter": "Ada Lovelace",
        "authors": "Ada Lovelace, Charles Babbage",
        "title": title,
        "comments": None,
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": "cs.LG",
        "license": None,
        "abstract": f"  An abstract about {title.lower()}.\n",
        "versions": [
            {"version": f"v{n}", "created": f"Tue, {n + 1} Jan 2024 10:00:00 GMT"}
            for n in range(1, versions + 1)
        ],
        "update_date": "2024-02-01",
        "authors_parsed": [["Lovelace", "Ada", ""], ["Babbage", "Charles", ""]],
    }
    obj.update(fields)
    return obj


def write_snapshot(path: Path, objects: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(obj) + b"\n" for obj in objects))
    return path


def parsed(path: Path) -> list[SourceItem]:
    return list(ArxivSnapshotSource(path).items())


def record(path: Path, index: int = 0) -> PaperRecord:
    item = parsed(path)[index].item
    assert isinstance(item, PaperRecord), item
    return item


def stored_arxiv_ids(core) -> list[str]:
    return sorted(p.arxiv_id for chunk in core.store.papers.changed_since(None) for p in chunk)


# --- mapping -----------------------------------------------------------------------------------


def test_every_field_of_a_snapshot_record_is_mapped():
    paper = record(SAMPLE, 0)
    assert paper.arxiv_id == "0704.0001"
    assert paper.version == 2
    assert (
        paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.abstract.startswith(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    )
    assert paper.abstract.endswith("judicious selection of events.")
    assert paper.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert paper.categories == ["hep-ph"]
    assert paper.doi == "10.1103/physrevd.76.013009"
    assert paper.comments == "37 pages, 15 figures; published version"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.published == dt.date(2007, 4, 2)
    assert paper.updated == dt.date(2008, 11, 13)
    assert paper.listed_on == paper.published
    assert paper.source == "arxiv-snapshot"
    assert paper.links == [
        Link("abs", "https://arxiv.org/abs/0704.0001"),
        Link("pdf", "https://arxiv.org/pdf/0704.0001"),
        Link("doi", "https://doi.org/10.1103/physrevd.76.013009"),
    ]


def test_old_style_ids_keep_their_archive_and_the_highest_version_wins():
    paper = record(SAMPLE, 1)
    assert (paper.arxiv_id, paper.version) == ("hep-th/9711200", 3)
    assert paper.published == dt.date(1997, 11, 27)


def test_records_are_numbered_by_their_line():
    assert [item.record_no for item in parsed(SAMPLE)] == [1, 2, 3, 4, 5]
    assert [record(SAMPLE, i).arxiv_id for i in range(5)] == [
        "0704.0001",
        "hep-th/9711200",
        "1706.03762",
        "1810.04805",
        "2005.14165",
    ]


def test_authors_come_from_authors_parsed_in_first_last_order_with_suffix(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [
            snapshot_object(
                "2401.00001",
                "Suffixes",
                authors_parsed=[["King", "Martin Luther", "Jr"], ["Curie", "Marie", ""]],
            )
        ],
    )
    assert record(path).authors == ["Martin Luther King Jr", "Marie Curie"]


def test_authors_fall_back_to_the_author_string_when_authors_parsed_is_unusable(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [
            snapshot_object(
                "2401.00001", "No parsed authors", authors_parsed=None, authors="A. One, B. Two and C. Three"
            ),
            snapshot_object("2401.00002", "Broken parsed authors", authors_parsed="Lovelace, Ada"),
        ],
    )
    assert record(path, 0).authors == ["A. One", "B. Two", "C. Three"]
    assert record(path, 1).authors == ["Ada Lovelace", "Charles Babbage"]


def test_the_first_of_several_dois_is_kept(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [
            snapshot_object(
                "2401.00001", "Two DOIs", doi="10.1103/PhysRevD.76.013009 10.1016/j.nuclphysb.2007.01.001"
            )
        ],
    )
    assert record(path).doi == "10.1103/physrevd.76.013009"


def test_html_in_a_title_is_reduced_to_text(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [snapshot_object("2401.00001", "<i>Ab initio</i> study of H<sub>2</sub>O &amp; ice")],
    )
    assert record(path).title == "Ab initio study of H 2 O & ice"


def test_control_characters_and_line_breaks_in_a_title_become_single_spaces(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [snapshot_object("2401.00001", "  Ab\x00initio study\n  of\x1bice\tand\x7fwater \x0c")],
    )
    assert record(path).title == "Ab initio study of ice and water"


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("Mon, 2 Apr 2007 19:18:42 GMT", dt.date(2007, 4, 2)),
        ("Wed, 22 Jul 2020 19:47:17 GMT", dt.date(2020, 7, 22)),
        ("2 Apr 2007 19:18:42 GMT", dt.date(2007, 4, 2)),
        ("Mon, 31 Feb 2007 19:18:42 GMT", None),
        ("Mon, 2 Foo 2007 19:18:42 GMT", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (20070402, None),
    ],
)
def test_version_stamps_are_read_by_hand_and_unusable_ones_give_none(stamp, day):
    assert parse_version_date(stamp) == day


# --- rejections ----------------------------------------------------------------------------------


def test_malformed_lines_are_rejected_with_their_line_and_reason_and_the_rest_imports(core):
    [report] = core.import_path(MALFORMED)
    assert report.fmt == "arxiv-snapshot"
    assert report.added == 3
    assert [(r.record_no, r.reason) for r in report.rejections] == [
        (2, "invalid JSON: unexpected end of data at column 66"),
        (3, "not a JSON object but list"),
        (4, "missing id"),
        (5, "invalid arXiv id 'not-an-id'"),
        (6, "missing title"),
        (7, "no usable date: neither versions[0].created nor update_date can be read"),
        (10, "abstract too long (26599 characters, at most 20000)"),
    ]
    assert stored_arxiv_ids(core) == ["2307.09288", "2312.00752", "2401.04088"]


def test_bad_optional_fields_are_dropped_and_the_paper_kept():
    items = {item.record_no: item.item for item in parsed(MALFORMED)}
    mixtral = items[9]
    assert isinstance(mixtral, PaperRecord)
    assert mixtral.title == "Mixtral of Experts"
    assert mixtral.categories == []  # 42 is no category list
    assert mixtral.doi is None  # "not a doi"
    assert mixtral.authors == ["Albert Q. Jiang", "Alexandre Sablayrolles", "Antoine Roux"]
    assert mixtral.published is None  # the version stamp is garbage ...
    assert mixtral.updated == mixtral.listed_on == dt.date(2024, 1, 9)  # ... so the update day lists it


def test_a_latin1_file_rejects_its_undecodable_lines_and_imports_the_rest(tmp_path, core):
    lines = [
        orjson.dumps(snapshot_object("2401.00001", "Plain ASCII title")).decode(),
        orjson.dumps(
            snapshot_object("2401.00002", "Über Gödel", authors_parsed=[["Gödel", "Kurt", ""]])
        ).decode(),
        orjson.dumps(snapshot_object("2401.00003", "Another plain title")).decode(),
    ]
    path = tmp_path / "latin1.jsonl"
    path.write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    [report] = core.import_path(path, "arxiv-snapshot")
    assert report.added == 2
    first_bad_byte = lines[1].index("Ü") + 1
    assert [(r.record_no, r.reason) for r in report.rejections] == [
        (2, f"not valid UTF-8 (byte {first_bad_byte} of the line)")
    ]


def test_a_line_too_long_to_be_metadata_is_rejected_without_parsing(tmp_path):
    path = write_snapshot(
        tmp_path / "s.jsonl",
        [
            snapshot_object("2401.00001", "Fine"),
            snapshot_object("2401.00002", "Huge", abstract="x" * 1_100_000),
        ],
    )
    items = parsed(path)
    assert isinstance(items[0].item, PaperRecord)
    assert items[1].record_no == 2
    assert isinstance(items[1].item, Rejected) and items[1].item.reason.startswith("line too long")


def _collaboration(arxiv_id: str, authors: int) -> dict:
    return snapshot_object(
        arxiv_id,
        f"A measurement by {authors} authors",
        authors=", ".join(f"Author{n} Physicist" for n in range(authors)),
        authors_parsed=[[f"Physicist{n}", "Author", ""] for n in range(authors)],
    )


def test_a_collaboration_paper_with_thousands_of_authors_is_imported_with_all_of_them(tmp_path, core):
    path = write_snapshot(tmp_path / "s.jsonl", [_collaboration("2401.00001", 3_500)])
    [report] = core.import_path(path)
    assert (report.added, report.rejections) == (1, [])
    authors = core.paper("2401.00001").authors
    assert len(authors) == 3_500
    assert authors[0] == "Author Physicist0" and authors[-1] == "Author Physicist3499"


def test_an_absurdly_long_author_list_is_rejected_with_a_one_line_reason(tmp_path, core):
    path = write_snapshot(
        tmp_path / "s.jsonl", [_collaboration("2401.00001", 10_001), snapshot_object("2401.00002", "Fine")]
    )
    [report] = core.import_path(path)
    assert report.added == 1
    assert [(r.record_no, r.reason) for r in report.rejections] == [
        (1, "too many authors (10001, at most 10000)")
    ]


# --- importing into the store ------------------------------------------------------------------------


def test_the_sample_imports_every_paper_with_its_fields(core):
    [report] = core.import_path(SAMPLE)  # the format is known from the .jsonl extension
    assert (report.added, report.updated, report.unchanged, report.rejected) == (5, 0, 0, 0)
    paper = core.paper("1706.03762")
    assert paper.title == "Attention Is All You Need"
    assert paper.paper_id == "1706.03762v7"
    assert paper.authors[0] == "Ashish Vaswani" and paper.authors[-1] == "Illia Polosukhin"
    assert paper.categories == ["cs.CL", "cs.LG"]
    assert paper.published == paper.listed_on == dt.date(2017, 6, 12)
    assert paper.updated == dt.date(2023, 8, 3)
    assert paper.sources == ["arxiv-snapshot"]
    assert len(core.paper("2005.14165").authors) == 31
    assert core.paper("hep-th/9711200").doi == "10.1023/a:1026654312961"


def test_reimporting_the_same_snapshot_changes_nothing(core):
    core.import_path(SAMPLE)
    [again] = core.import_path(SAMPLE)
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 5, 0)
    assert again.resumed_from == 0
    assert core.stats().papers == 5


def test_a_newer_version_in_a_later_file_updates_the_paper_and_an_older_one_changes_nothing(tmp_path, core):
    first = write_snapshot(
        tmp_path / "2024-01.jsonl", [snapshot_object("2401.00001", "Sparse Widgets", versions=1)]
    )
    second = write_snapshot(
        tmp_path / "2024-02.jsonl",
        [snapshot_object("2401.00001", "Sparse Widgets at Scale", versions=2, categories="cs.LG cs.CL")],
    )
    stale = write_snapshot(
        tmp_path / "2024-03.jsonl", [snapshot_object("2401.00001", "Sparse Widgets (old title)", versions=1)]
    )
    core.import_path(first)

    [update] = core.import_path(second)
    assert (update.added, update.updated) == (0, 1)
    paper = core.paper("2401.00001")
    assert (paper.title, paper.version, paper.categories) == (
        "Sparse Widgets at Scale",
        2,
        ["cs.LG", "cs.CL"],
    )

    [older] = core.import_path(stale)
    assert (older.added, older.updated, older.unchanged) == (0, 0, 1)
    assert core.paper("2401.00001").title == "Sparse Widgets at Scale"
    assert core.paper("2401.00001").version == 2
    assert core.stats().papers == 1


# --- interrupted imports -----------------------------------------------------------------------------


def test_an_interrupted_import_keeps_its_committed_batches_and_resumes_to_exactly_every_paper(tmp_path, core):
    objects = [snapshot_object(f"2401.{n:05d}", f"Paper number {n}") for n in range(1, 11)]
    objects[4] = {"id": "2401.00005"}  # line 5: no title, rejected
    path = write_snapshot(tmp_path / "s.jsonl", objects)

    with pytest.raises(Killed):
        run_import(core.store, DiesAfter(ArxivSnapshotSource(path), 7), batch_size=3)
    assert core.stats().papers == 5  # batches of lines 1-3 and 4-6 committed; line 7 was in flight

    report = run_import(core.store, ArxivSnapshotSource(path), batch_size=3)
    assert report.resumed_from == 6
    assert (report.added, report.updated, report.unchanged) == (9, 0, 0)
    assert [(r.record_no, r.reason) for r in report.rejections] == [(5, "missing title")]
    assert core.stats().papers == 9
    assert stored_arxiv_ids(core) == [f"2401.{n:05d}" for n in range(1, 11) if n != 5]

    [again] = core.import_path(path)  # a finished import is not resumed but merged again: nothing new
    assert (again.added, again.unchanged, again.resumed_from) == (0, 9, 0)


def test_an_import_collects_cycles_less_often_and_leaves_the_collector_as_it_found_it(tmp_path, core):
    from paperfeed.ingest.pipeline import IMPORT_GC_THRESHOLD

    path = write_snapshot(tmp_path / "s.jsonl", [snapshot_object(f"2401.{n:05d}", f"Paper {n}") for n in range(1, 8)])
    before = gc.get_threshold()
    seen: list[tuple[tuple[int, int, int], int]] = []

    def look() -> None:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))

    run_import(core.store, ActsAfter(ArxivSnapshotSource(path), 2, look), batch_size=3)
    [(during, frozen)] = seen
    assert during == (IMPORT_GC_THRESHOLD, *before[1:])
    assert frozen > 0  # what the process held before is not scanned again during the import
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)

    with pytest.raises(Killed):  # an import that dies restores it too
        run_import(core.store, DiesAfter(ArxivSnapshotSource(path), 1), batch_size=3)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def test_records_parsed_in_a_second_process_arrive_exactly_as_parsed_inline(monkeypatch):
    from paperfeed.ingest import pipeline

    monkeypatch.setattr(pipeline, "READ_AHEAD_MIN_BYTES", 0)  # the fixtures are small
    assert any(isinstance(item.item, Rejected) for item in parsed(MALFORMED))  # rejections travel too
    for path in (SAMPLE, MALFORMED):
        source = ArxivSnapshotSource(path)
        inline = list(source.items())
        assert list(pipeline._read_ahead(source, 0)) == inline
        assert list(pipeline._read_ahead(source, 3)) == [item for item in inline if item.record_no > 3]


# --- the keyword index follows an import --------------------------------------------------------------


def indexed_ids(core) -> list[int]:
    return sorted(core.keyword.filter_matches(SearchFilters(), limit=1_000).ids)


def visible_ids(core) -> list[int]:
    return sorted(p.id for chunk in core.store.papers.changed_since(None) for p in chunk if not p.hidden)


def widget_snapshot(tmp_path: Path, count: int) -> Path:
    objects = [snapshot_object(f"2401.{n:05d}", f"Widget study number {n}") for n in range(1, count + 1)]
    return write_snapshot(tmp_path / "widgets.jsonl", objects)


def test_imported_papers_are_keyword_searchable_when_the_import_returns_with_nothing_left_to_sync(tmp_path, core):
    add_papers(core, paper("An older gadget paper"))  # indexed before: stays indexed
    core.import_sources(open_sources(widget_snapshot(tmp_path, 5)), sync=False)
    assert core.keyword.doc_count() == 6
    assert indexed_ids(core) == visible_ids(core)
    assert len(core.keyword.search(parse_user_query("widget study"), SearchFilters(), limit=10).ids) == 5
    # A sync reads back the last SYNC_OVERLAP of changes: the older paper again, none of the import's.
    assert core.keyword.sync(core.store) == 1


def test_an_import_that_dies_halfway_leaves_exactly_its_committed_papers_in_the_index(tmp_path, core):
    path = widget_snapshot(tmp_path, 10)
    with pytest.raises(Killed), core.keyword.following(core.store) as index_batch:
        run_import(core.store, DiesAfter(ArxivSnapshotSource(path), 7), batch_size=3, committed=index_batch)
    assert core.stats().papers == 6  # two batches committed; the one in flight was lost
    assert indexed_ids(core) == visible_ids(core)
    assert core.keyword.sync(core.store) == 0

    core.import_sources(open_sources(path), sync=False)  # resumes
    assert core.keyword.doc_count() == core.stats().papers == 10
    assert indexed_ids(core) == visible_ids(core)


def test_changes_other_writers_make_during_an_import_reach_the_index_by_its_end(tmp_path, core):
    path = widget_snapshot(tmp_path, 10)
    hidden: list[int] = []

    def meanwhile() -> None:  # after two batches: hide one of their papers, add one elsewhere
        hidden.append(core.paper("2401.00002").id)
        core.store.papers.set_hidden(hidden[0], True)
        with core.store.engine.begin() as conn:
            core.store.papers.merge_batch(conn, [finish_record(paper("A gadget from elsewhere"))])

    with core.keyword.following(core.store) as index_batch:
        run_import(core.store, ActsAfter(ArxivSnapshotSource(path), 6, meanwhile), batch_size=3, committed=index_batch)
    assert core.keyword.doc_count() == 10  # 10 widgets and the gadget, less the hidden widget
    assert indexed_ids(core) == visible_ids(core)
    assert hidden[0] not in indexed_ids(core)
    assert core.keyword.search(parse_user_query("gadget"), SearchFilters(), limit=10).total == 1


@pytest.mark.parametrize("failing_document", [2, 5])  # in the first batch, or in the second
def test_a_batch_the_index_fails_to_follow_is_indexed_by_the_sync_closing_the_import(
    tmp_path, core, monkeypatch, failing_document
):
    from paperfeed.search import keyword

    build = keyword._document
    documents = 0

    def fails_once(paper):  # after the batch's first paper was indexed
        nonlocal documents
        documents += 1
        if documents == failing_document:
            raise OSError("No space left on device")
        return build(paper)

    monkeypatch.setattr(keyword, "_document", fails_once)
    with core.keyword.following(core.store) as index_batch:
        run_import(core.store, ArxivSnapshotSource(widget_snapshot(tmp_path, 10)), batch_size=3, committed=index_batch)
    assert core.keyword.doc_count() == 10  # each once: the half-indexed batch was indexed again in place
    assert indexed_ids(core) == visible_ids(core)


BIG_FILE_PAPERS = 60_000
_FILLER = "Words that make the record as long as a real one, " * 3


def _write_big_snapshot(path: Path, count: int) -> None:
    with path.open("wb") as fh:
        for n in range(count):
            arxiv_id = f"{10 + n // 50_000:02d}{n // 5_000 % 10 + 1:02d}.{n % 5_000 + 1:05d}"
            obj = snapshot_object(arxiv_id, f"Synthetic paper {n}")
            obj["abstract"] = f"Synthetic abstract number {n}. {_FILLER}"
            fh.write(orjson.dumps(obj) + b"\n")
    # Big enough that the import parses it in a second process, as it does real snapshots.
    assert path.stat().st_size >= READ_AHEAD_MIN_BYTES


def _records_done(db: Path) -> tuple[int, str] | None:
    """(records_done, status) of the newest import run, read as another process would."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute(
                "SELECT records_done, status FROM import_runs ORDER BY id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.OperationalError:  # tables not created yet, or locked for a moment
        return None


@pytest.mark.slow
def test_a_killed_cli_import_resumes_to_exactly_every_paper(tmp_path, models_dir):
    big = tmp_path / "arxiv-metadata-oai-snapshot.json"
    _write_big_snapshot(big, BIG_FILE_PAPERS)
    data_dir = tmp_path / "data"
    db = data_dir / "paperfeed.db"
    env = {k: v for k, v in os.environ.items() if k != "PAPERFEED_DATABASE_URL"}
    env.update(
        PAPERFEED_DATA_DIR=str(data_dir),
        PAPERFEED_EMBEDDER="minilm-static",  # the fast embedder the rest of the suite uses too
        PAPERFEED_MODELS_DIR=str(models_dir),
        COLUMNS="300",
    )
    command = ["import", str(big), "--format", "arxiv-snapshot"]

    paperfeed = Path(sys.executable).with_name("paperfeed")  # the installed console script
    process = subprocess.Popen(
        [str(paperfeed), *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while (progress := _records_done(db)) is None or progress[0] == 0:
            assert process.poll() is None, "the import ended before its first batch was seen"
            assert time.monotonic() < deadline, "no batch committed within two minutes"
            time.sleep(0.01)
        parsers = psutil.Process(process.pid).children(recursive=True)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert parsers, "the snapshot was not parsed in a second process"
    # Nothing of the import outlives it: the parser process dies with its parent.
    _, alive = psutil.wait_procs(parsers, timeout=30)
    assert alive == [], f"left running after the import was killed: {alive}"
    done_when_killed, status = _records_done(db)
    assert status == "running" and 0 < done_when_killed < BIG_FILE_PAPERS

    resumed = subprocess.run(
        [sys.executable, "-m", "paperfeed.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after record" in resumed.stdout
    with sqlite3.connect(db) as conn:
        papers, unique = conn.execute("SELECT count(*), count(DISTINCT arxiv_id) FROM papers").fetchone()
        runs = conn.execute("SELECT status, records_done, added FROM import_runs").fetchall()
    assert papers == unique == BIG_FILE_PAPERS
    assert runs == [("done", BIG_FILE_PAPERS, BIG_FILE_PAPERS)]
