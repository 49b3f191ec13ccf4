"""The store behaves the same on SQLite and PostgreSQL: every test here runs on both."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from helpers import add_papers, day, paper
from paperfeed.models import Link, PaperRecord, Rejection
from paperfeed.store import Store
from paperfeed.store.papers import MergeOutcome
from paperfeed.store.schema import import_rejections, papers
from paperfeed.text import finish_record

# More values than one statement may bind on either backend (SQLite 32,766; PostgreSQL 65,535).
MORE_THAN_ONE_STATEMENT_BINDS = 70_000


def rich_record() -> PaperRecord:
    return paper(
        "Attention Is All You Need",
        "The dominant sequence transduction models are based on recurrent networks. Code: https://github.com/t/t",
        authors=["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"],
        categories=["cs.CL", "cs.LG"],
        arxiv_id="1706.03762",
        version=7,
        doi="10.5555/3295222.3295349",
        published=day("2017-06-12"),
        updated=day("2023-08-02"),
        comments="15 pages, 5 figures",
        journal_ref="NeurIPS 2017",
        links=[Link("project", "https://example.org/transformer")],
        listed_on=day("2017-06-13"),
    )


def test_every_field_of_a_paper_comes_back_as_it_went_in(core):
    add_papers(core, rich_record())
    stored = core.paper("1706.03762")
    assert stored.title == "Attention Is All You Need"
    assert stored.authors == ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"]
    assert stored.categories == ["cs.CL", "cs.LG"]
    assert (stored.arxiv_id, stored.version, stored.paper_id) == ("1706.03762", 7, "1706.03762v7")
    assert stored.doi == "10.5555/3295222.3295349"
    assert (stored.published, stored.updated, stored.listed_on) == (
        day("2017-06-12"),
        day("2023-08-02"),
        day("2017-06-13"),
    )
    assert (stored.comments, stored.journal_ref) == ("15 pages, 5 figures", "NeurIPS 2017")
    assert {(link.kind, link.url) for link in stored.links} >= {
        ("abs", "https://arxiv.org/abs/1706.03762"),
        ("code", "https://github.com/t/t"),
        ("project", "https://example.org/transformer"),
        ("doi", "https://doi.org/10.5555/3295222.3295349"),
    }
    assert stored.has_code is True
    assert stored.hidden is False
    assert stored.sources == ["test"]


def test_timestamps_come_back_timezone_aware_in_utc(core):
    before = dt.datetime.now(dt.UTC)
    add_papers(core, paper("A Timely Paper"))
    after = dt.datetime.now(dt.UTC)
    stored = core.store.papers.get(1)
    assert stored.first_seen.utcoffset() == dt.timedelta(0)
    assert before <= stored.first_seen <= stored.last_updated <= after


def test_moments_given_in_other_time_zones_compare_as_the_same_instant(core):
    add_papers(core, paper("A Paper From Elsewhere"))
    seen = core.store.papers.get(1).first_seen
    tokyo, new_york = dt.timezone(dt.timedelta(hours=9)), dt.timezone(dt.timedelta(hours=-5))
    hour_before_in_tokyo = (seen - dt.timedelta(hours=1)).astimezone(tokyo)
    hour_after_in_new_york = (seen + dt.timedelta(hours=1)).astimezone(new_york)
    assert [p.id for chunk in core.store.papers.changed_since(hour_before_in_tokyo) for p in chunk] == [1]
    assert list(core.store.papers.changed_since(hour_after_in_new_york)) == []


def test_booleans_filter_the_same_way(core):
    add_papers(core, rich_record(), paper("A Paper Without Code"))
    hidden = core.store.papers.resolve("1706.03762")
    core.store.papers.set_hidden(hidden.id, True)
    assert core.store.papers.get(hidden.id).hidden is True
    assert [p.title for p in core.store.papers.get_many([1, 2])] == ["A Paper Without Code"]
    assert len(core.store.papers.get_many([1, 2], include_hidden=True)) == 2


def test_summary_counts_papers_with_code_arxiv_ids_days_and_sources(core):
    add_papers(
        core,
        rich_record(),
        paper("Second Paper", listed_on=day("2024-01-02"), source="bibtex"),
        paper("Third Paper", listed_on=day("2024-01-02"), arxiv_id="2401.00003"),
    )
    summary = core.store.papers.summary()
    assert summary == {
        "papers": 3,
        "with_arxiv_id": 2,
        "with_code": 1,
        "days": 2,
        "first_day": day("2017-06-13"),
        "last_day": day("2024-01-02"),
        "by_source": {"test": 2, "bibtex": 1},
    }


def test_database_size_is_known(core):
    add_papers(core, paper("Something To Store"))
    assert core.stats().database_bytes > 0


def test_reading_more_papers_than_one_statement_may_bind(core):
    add_papers(core, paper("First"), paper("Second"))
    ids = [*range(MORE_THAN_ONE_STATEMENT_BINDS, 0, -1)]
    assert [p.title for p in core.store.papers.get_many(ids)] == ["Second", "First"]


def test_looking_up_more_keys_than_one_statement_may_bind(core):
    add_papers(core, paper("First", arxiv_id="2401.00001"))
    keys = [f"2401.{n:05d}" for n in range(1, MORE_THAN_ONE_STATEMENT_BINDS)]
    assert core.store.papers.ids_with_keys(keys) == {"2401.00001": 1}


def test_a_merge_reports_the_rows_it_wrote_new_ones_first_as_they_are_stored(core):
    add_papers(core, paper("Known paper", arxiv_id="2401.00001"))
    records = [rich_record(), paper("Known paper", arxiv_id="2401.00001", version=2, categories=["cs.LG"])]
    with core.store.engine.begin() as conn:
        outcome = core.store.papers.merge_batch(conn, [finish_record(r) for r in records])
    assert (outcome.added, outcome.updated) == (1, 1)
    new, changed = outcome.written
    assert (new["id"], changed["id"]) == (core.paper("1706.03762").id, core.paper("2401.00001").id)
    assert (changed["version"], changed["categories"], changed["last_updated"]) == (2, ["cs.LG"], outcome.written_at)
    # Rows inserted in bulk hold what SQLAlchemy itself would have stored: its comparisons find them.
    with core.store.engine.connect() as conn:
        written_then = conn.execute(
            sa.select(papers.c.id).where(papers.c.last_updated == outcome.written_at).order_by(papers.c.id)
        ).scalars()
        assert list(written_then) == sorted([new["id"], changed["id"]])
        published = conn.execute(
            sa.select(papers.c.id).where(papers.c.published == day("2017-06-12"), papers.c.has_code.is_(True))
        ).scalars()
        assert list(published) == [new["id"]]
    # What derived indexes read back after following the merge: only what others wrote since.
    assert list(core.store.papers.changed_since(None, not_written_at=[outcome.written_at])) == []
    add_papers(core, paper("Later paper"))
    [[later]] = core.store.papers.changed_since(None, not_written_at=[outcome.written_at])
    assert later.title == "Later paper"


def test_a_batch_looking_up_more_identifiers_than_one_statement_may_bind_merges(core):
    # Three identifiers each (title, arXiv id, DOI): 33,000 values, past SQLite's limit.
    records = [
        finish_record(paper(f"Paper number {n}", arxiv_id=f"2402.{n:05d}", doi=f"10.1234/p{n}"))
        for n in range(1, 11_001)
    ]
    with core.store.engine.begin() as conn:
        first = core.store.papers.merge_batch(conn, records)
    with core.store.engine.begin() as conn:
        again = core.store.papers.merge_batch(conn, records)
    assert (first, again) == (MergeOutcome(added=11_000), MergeOutcome(unchanged=11_000))
    assert core.store.papers.count() == 11_000


def test_a_doi_too_long_for_its_column_is_left_out_instead_of_failing_the_batch(core):
    long_doi = "10.1234/" + "x" * 300
    add_papers(core, paper("Long DOI Paper", doi=long_doi), paper("Neighbour In The Same Batch"))
    stored = core.store.papers.get(1)
    assert stored.doi is None
    assert core.store.papers.count() == 2


def test_a_rejection_reason_with_a_nul_character_is_recorded(core):
    run = core.store.imports.start("test", "nul.txt", "fingerprint")
    with core.store.engine.begin() as conn:
        core.store.imports.record_batch(conn, run.id, 1, MergeOutcome(), [Rejection(1, "bad byte \x00 here")])
    assert core.store.imports.rejections(run.id, after_record=1) == [Rejection(1, "bad byte \ufffd here")]
    with core.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(import_rejections)).scalar() == 1


def test_instance_id_is_made_once_and_kept(settings):
    first = Store.open(settings.db_url)
    second = Store.open(settings.db_url)
    try:
        assert first.instance_id() == second.instance_id() == first.instance_id()
    finally:
        first.close()
        second.close()


@pytest.mark.backends("postgresql")
def test_postgresql_backend_is_really_postgresql(core):
    assert core.store.dialect == "postgresql"
    assert core.stats().database.startswith("postgresql+psycopg://")
