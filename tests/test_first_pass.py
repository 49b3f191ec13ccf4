"""The first pass: every paper gets a provisional vector within minutes from a static model
trained on the store's own default-model embeddings, and the background job later replaces each
of them with the default model's, losing nothing when it is interrupted."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from helpers import paper
from paperfeed.cli import app
from paperfeed.core import PaperFeed
from paperfeed.models import SearchRequest
from paperfeed.search import first_pass
from paperfeed.search import vectors as vectors_module
from paperfeed.search.embed_worker import EmbedWorker
from paperfeed.search.embeddings import paper_text
from paperfeed.text import finish_record
from test_embed_job import add_unembedded

PAPERS, SAMPLE = 120, 30


@pytest.fixture
def first_passed(core: PaperFeed) -> PaperFeed:
    """A store of 120 papers right after a first pass trained on a sample of 30."""
    add_unembedded(core, PAPERS)
    model, report = core.train_first_pass(sample_size=SAMPLE)
    assert report is not None and report.papers == SAMPLE
    assert core.sync_vectors(first_pass=model) == PAPERS - SAMPLE
    return core


def provisional_rows(core: PaperFeed) -> int:
    return core.store.embeddings.count(first_pass.first_pass_key(core.embedder.key))


def default_rows(core: PaperFeed) -> int:
    return core.store.embeddings.count(core.embedder.key)


def test_training_pieces_are_the_sentences_of_a_paper_and_pairs_of_them() -> None:
    text = "Fast static embeddings. We train token vectors. They average well. The end is near now."
    assert first_pass.training_pieces(text) == [
        "We train token vectors.",  # sentences of fewer than four words are left out
        "The end is near now.",
        "We train token vectors. The end is near now.",
    ]


def test_the_fitted_table_reproduces_what_it_learnt_and_keeps_tokens_it_never_saw() -> None:
    rng = np.random.default_rng(1)
    vocab, dim, seen = 60, 8, 40
    truth = rng.normal(size=(vocab, dim)).astype(np.float32)
    base = rng.normal(size=(vocab, dim)).astype(np.float32)
    counts = sp.random(300, seen, density=0.1, random_state=2, format="csr", dtype=np.float32)
    counts.data[:] = 1
    features = sp.hstack([counts, sp.csr_matrix((300, vocab - seen), dtype=np.float32)]).tocsr()
    targets = np.asarray(features @ truth)

    table = first_pass.fit_table(features, targets, base, strength=1e-4, iterations=200)

    fitted = np.asarray(features @ table)
    cosines = np.einsum("ij,ij->i", fitted, targets) / (
        np.linalg.norm(fitted, axis=1) * np.linalg.norm(targets, axis=1) + 1e-12
    )
    assert np.median(cosines[np.linalg.norm(targets, axis=1) > 0]) > 0.99
    unseen = table[seen:] / base[seen:]
    assert np.allclose(unseen, unseen.flat[0], rtol=1e-4)  # only scaled to the targets' length


def test_a_first_pass_gives_every_paper_a_vector_at_once_and_keeps_the_samples_for_good(
    first_passed: PaperFeed,
) -> None:
    core = first_passed
    assert len(core.vectors) == PAPERS and core.semantic_coverage() == 1.0
    assert core.papers_to_embed() == 0
    assert core.provisional_vectors() == PAPERS - SAMPLE
    assert default_rows(core) == SAMPLE  # the training sample, embedded by the default model

    page = core.search(SearchRequest(query="protein folding", mode="semantic", per_page=10))
    assert [item.paper.title for item in page.items[:5]] and all(
        "protein folding" in item.paper.title for item in page.items[:5]
    )


def test_the_upgrade_replaces_every_provisional_vector_with_the_default_models(first_passed: PaperFeed) -> None:
    core = first_passed
    assert core.upgrade_vectors() == PAPERS - SAMPLE

    assert core.provisional_vectors() == 0 and provisional_rows(core) == 0
    assert default_rows(core) == PAPERS and len(core.vectors) == PAPERS
    for item in core.store.papers.get_many([1, 50, 99]):
        expected = core.embedder.embed([paper_text(item.title, item.abstract)])[0]
        assert float(core.vectors.vector_of(item.id) @ expected) > 0.999  # the index holds float16
    assert core.upgrade_vectors() == 0


def test_an_interrupted_upgrade_loses_nothing_and_the_next_run_does_only_the_rest(
    first_passed: PaperFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = first_passed
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 10)
    stop = threading.Event()
    assert core.upgrade_vectors(progress=lambda n: stop.set(), stop=stop) == 10
    assert core.provisional_vectors() == PAPERS - SAMPLE - 10

    # A power cut after a batch's vectors are stored but before its provisional rows are dropped.
    def power_cut(model: str, ids) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(core.store.embeddings, "delete_many", power_cut)
    with pytest.raises(RuntimeError, match="power cut"):
        core.upgrade_vectors()
    monkeypatch.undo()
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 10)
    assert default_rows(core) == SAMPLE + 20

    assert core.upgrade_vectors() == PAPERS - SAMPLE - 20  # the stored batch is not embedded again
    assert provisional_rows(core) == 0 and default_rows(core) == PAPERS and len(core.vectors) == PAPERS


def test_a_rebuilt_index_reuses_provisional_vectors_instead_of_embedding_again(first_passed: PaperFeed) -> None:
    core = first_passed
    assert core.sync_vectors(rebuild=True) == 0
    assert len(core.vectors) == PAPERS and core.provisional_vectors() == PAPERS - SAMPLE


def test_a_paper_edited_after_the_first_pass_is_embedded_by_the_default_model(first_passed: PaperFeed) -> None:
    core = first_passed
    edited = paper(
        "Study 1 of graph neural networks",
        "A rewritten abstract about message passing on molecular graphs.",
        arxiv_id="2611.00001",
        version=2,
    )
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, [finish_record(edited)])
    core.keyword.sync(core.store)
    assert core.sync_vectors() == 1  # by the default model: no first pass was asked for
    # Its provisional row is stale now; the upgrade drops it without embedding the paper again.
    assert core.upgrade_vectors() == PAPERS - SAMPLE - 1
    assert provisional_rows(core) == 0 and default_rows(core) == PAPERS


def test_a_hidden_paper_stays_out_of_the_index_through_the_upgrade(first_passed: PaperFeed) -> None:
    core = first_passed
    hidden = core.store.embeddings.paper_ids(first_pass.first_pass_key(core.embedder.key), limit=1)[0]
    core.store.papers.set_hidden(hidden, True)
    core.sync_indexes()
    assert core.vectors.vector_of(hidden) is None

    core.upgrade_vectors()
    assert core.vectors.vector_of(hidden) is None and provisional_rows(core) == 0
    assert len(core.vectors) == PAPERS - 1


def test_the_model_is_trained_once_per_store_and_default_model(first_passed: PaperFeed) -> None:
    core = first_passed
    model, report = core.train_first_pass(sample_size=SAMPLE)
    assert report is None and model.key == first_pass.first_pass_key(core.embedder.key)
    assert first_pass.load(core.vectors.path, "another-model@1") is None


def test_the_serve_worker_upgrades_provisional_vectors_in_the_background(first_passed: PaperFeed, caplog) -> None:
    core = first_passed
    worker = EmbedWorker(core.store, core.vectors, lambda: core.embedder, core.papers_to_embed)
    with caplog.at_level("INFO", logger="paperfeed.search.embed_worker"):
        worker.run_once()
    assert f"upgrading {PAPERS - SAMPLE} first-pass vectors" in caplog.text
    assert core.provisional_vectors() == 0 and worker.embedded == PAPERS - SAMPLE


def test_paperfeed_embed_first_pass_then_paperfeed_embed_upgrades(core: PaperFeed) -> None:
    add_unembedded(core, PAPERS)
    runner = CliRunner()

    first = runner.invoke(app, ["embed", "--first-pass", "--sample", "40"])
    assert first.exit_code == 0, first.output
    assert "first-pass model trained on 40 papers" in first.output
    assert f"{PAPERS - 40} papers have first-pass vectors" in first.output
    assert "covers 100%" in first.output

    second = runner.invoke(app, ["embed"])
    assert second.exit_code == 0, second.output
    assert f"{PAPERS - 40} papers embedded" in second.output
    assert "have first-pass vectors" not in second.output
    assert default_rows(core) == PAPERS


def test_an_import_that_leaves_many_papers_to_embed_suggests_the_first_pass(
    core: PaperFeed, demo_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.cli import import_cmd

    runner = CliRunner()
    monkeypatch.setattr(import_cmd, "FIRST_PASS_ADVISED", 1_000)  # the demo's 707 papers are too few
    few = runner.invoke(app, ["import", str(demo_dir)])
    assert few.exit_code == 0, few.output
    assert "papers await embedding" in few.output and "--first-pass" not in few.output

    monkeypatch.setattr(import_cmd, "FIRST_PASS_ADVISED", 100)
    many = runner.invoke(app, ["import", str(demo_dir)])
    assert "run paperfeed embed --first-pass" in " ".join(many.output.split())
