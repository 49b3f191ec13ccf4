"""How incoming records merge into papers: deduplication and updates."""

from __future__ import annotations

from helpers import add_papers, day, paper


def test_same_arxiv_id_is_one_paper(core):
    add_papers(core, paper("Old Title", arxiv_id="2401.00001", version=1))
    add_papers(core, paper("Old Title", arxiv_id="2401.00001", version=1))
    assert core.store.papers.count() == 1


def test_newer_version_updates_the_paper(core):
    add_papers(core, paper("Old Title", "Old abstract.", arxiv_id="2401.00001", version=1))
    add_papers(core, paper("New Title", "New abstract.", arxiv_id="2401.00001", version=2))
    found = core.paper("2401.00001")
    assert (found.title, found.abstract, found.version, found.paper_id) == (
        "New Title",
        "New abstract.",
        2,
        "2401.00001v2",
    )


def test_older_version_arriving_later_changes_nothing(core):
    add_papers(core, paper("New Title", arxiv_id="2401.00001", version=2))
    add_papers(core, paper("Old Title", arxiv_id="2401.00001", version=1))
    assert core.paper("2401.00001").title == "New Title"


def test_a_sparse_source_fills_gaps_but_never_erases(core):
    add_papers(
        core,
        paper(
            "Graph Attention Networks",
            "Full abstract.",
            authors=["Petar Veličković"],
            arxiv_id="1710.10903",
            version=3,
        ),
    )
    add_papers(
        core, paper("Graph attention networks!", "", categories=["stat.ML"], published=day("2017-10-30"))
    )
    assert core.store.papers.count() == 1
    found = core.paper("1710.10903")
    assert (found.title, found.abstract, found.authors) == (
        "Graph Attention Networks",
        "Full abstract.",
        ["Petar Veličković"],
    )
    assert found.categories == ["stat.ML"]
    assert found.published == day("2017-10-30")
    assert {link.kind for link in found.links} >= {"abs", "pdf"}


def test_an_authoritative_arxiv_record_replaces_scraped_text(core):
    add_papers(core, paper("Graph attention networks", "Scraped abstract."))
    add_papers(
        core, paper("Graph Attention Networks", "Official abstract.", arxiv_id="1710.10903", version=3)
    )
    found = core.paper("1710.10903")
    assert (found.title, found.abstract) == ("Graph Attention Networks", "Official abstract.")


def test_same_doi_is_one_paper(core):
    add_papers(core, paper("A Study", doi="10.1000/XYZ123"))
    add_papers(core, paper("A Study (extended)", doi="https://doi.org/10.1000/xyz123"))
    assert core.store.papers.count() == 1
    assert core.paper("10.1000/xyz123").title == "A Study"


def test_same_title_with_different_arxiv_ids_stays_two_papers(core):
    add_papers(
        core, paper("Introduction", arxiv_id="2401.00001"), paper("Introduction", arxiv_id="2401.00002")
    )
    assert core.store.papers.count() == 2


def test_duplicates_within_one_batch_merge(core):
    add_papers(core, paper("Twice Seen"), paper("twice  seen"), paper("Twice Seen", arxiv_id="2402.00001"))
    assert core.store.papers.count() == 1
    assert core.paper("2402.00001").title == "Twice Seen"


def test_a_paper_resolves_by_every_name(core):
    add_papers(core, paper("Named", arxiv_id="2403.00001", version=2, doi="10.1000/abc"))
    key = core.paper("2403.00001").key
    for ref in [
        "2403.00001",
        "2403.00001v1",
        "arXiv:2403.00001v2",
        "https://arxiv.org/abs/2403.00001v2",
        "10.1000/abc",
        key,
    ]:
        assert core.paper(ref).arxiv_id == "2403.00001", ref
