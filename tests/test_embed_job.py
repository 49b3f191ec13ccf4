"""Embedding is a resumable background job: imports do not wait for it, search works while it
runs (keyword search finds every paper, semantic and hybrid results say what share they cover),
and an interrupted run loses at most the batch in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from helpers import paper
from paperfeed.core import PaperFeed
from paperfeed.models import SearchRequest
from paperfeed.search import vectors as vectors_module
from paperfeed.search.embed_worker import EmbedWorker, eta_text
from paperfeed.search.vectors import IndexBusy
from paperfeed.text import finish_record
from paperfeed.web.app import create_app
from serving import serving

TOPICS = ("diffusion models", "graph neural networks", "protein folding", "speech recognition")


def add_unembedded(core: PaperFeed, count: int, *, first: int = 0) -> None:
    """`count` papers merged and keyword-indexed, as `paperfeed import` leaves them: no vectors."""
    records = [
        paper(
            f"Study {number} of {TOPICS[number % len(TOPICS)]}",
            f"We study {TOPICS[number % len(TOPICS)]} in setting {number} and report what we find.",
            arxiv_id=f"2611.{number:05d}",
        )
        for number in range(first, first + count)
    ]
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, [finish_record(r) for r in records])
    core.keyword.sync(core.store)


def hybrid(core: PaperFeed, query: str):
    return core.search(SearchRequest(query=query, mode="hybrid", per_page=10))


def test_unembedded_papers_are_found_by_hybrid_search_which_says_it_covers_none_of_them(core):
    add_unembedded(core, 20)
    page = hybrid(core, "protein folding")
    assert page.total >= 5 and all("protein folding" in item.paper.title for item in page.items[:5])
    assert page.coverage == 0.0 and page.partial_coverage_percent == 0
    assert core.search(SearchRequest(query="protein folding", mode="keyword")).coverage is None

    core.sync_vectors()
    assert hybrid(core, "protein folding").coverage == 1.0


def test_the_api_and_the_search_page_report_partial_coverage(core, monkeypatch):
    add_unembedded(core, 40)
    client = TestClient(create_app(core))
    # Embed part of the store: a run stopped after its first batch.
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 16)
    stop = threading.Event()
    core.sync_vectors(progress=lambda n: stop.set(), stop=stop)
    body = client.get("/api/search", params={"q": "diffusion models", "mode": "hybrid"}).json()
    assert 0 < body["coverage"] < 1 and body["items"]
    assert (
        client.get("/api/search", params={"q": "diffusion models", "mode": "keyword"}).json()["coverage"]
        is None
    )
    html = client.get("/search", params={"q": "diffusion models", "mode": "hybrid"}).text
    assert f"covers {int(body['coverage'] * 100)}% of the papers so far" in html

    core.sync_vectors()
    html = client.get("/search", params={"q": "diffusion models", "mode": "hybrid"}).text
    assert "so far" not in html


def test_a_run_that_crashes_halfway_keeps_its_batches_and_the_next_run_does_only_the_rest(
    core, monkeypatch: pytest.MonkeyPatch
):
    add_unembedded(core, 100)
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 10)
    seen = 0

    def crash_after_three_batches(n: int) -> None:
        nonlocal seen
        seen += n
        if seen >= 30:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        core.sync_vectors(progress=crash_after_three_batches)
    stored = core.store.embeddings.count(core.embedder.key)
    assert stored == 30  # every finished batch, none of the one in flight

    assert core.sync_vectors() == 100 - stored  # nothing is embedded twice
    assert len(core.vectors) == 100 and core.semantic_coverage() == 1.0


def test_a_stopped_run_saves_its_progress_for_searches_and_the_next_run(core, monkeypatch):
    add_unembedded(core, 60)
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 20)
    stop = threading.Event()
    embedded = core.sync_vectors(progress=lambda n: stop.set(), stop=stop)
    assert embedded == 20 and len(core.vectors) == 20  # searches see the checkpoint
    assert core.papers_to_embed() == 40
    assert core.sync_vectors() == 40 and core.papers_to_embed() == 0


def test_only_one_embedding_run_at_a_time_and_a_sync_does_not_wait_for_it(core, monkeypatch):
    add_unembedded(core, 30)
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 10)
    started, release = threading.Event(), threading.Event()

    def hold(n: int) -> None:
        started.set()
        release.wait(30)

    runner = threading.Thread(target=lambda: core.sync_vectors(progress=hold))
    runner.start()
    try:
        assert started.wait(30)
        with pytest.raises(IndexBusy):
            core.sync_vectors(wait=False)
        began = time.monotonic()
        core.sync_indexes()  # a sync's new papers are left to the run in progress
        assert time.monotonic() - began < 10
        assert hybrid(core, "speech recognition").total > 0  # searches do not wait either
    finally:
        release.set()
        runner.join(60)
    assert core.papers_to_embed() == 0


def test_the_worker_embeds_what_is_missing_and_logs_an_eta(core, caplog):
    add_unembedded(core, 25)
    worker = EmbedWorker(core.store, core.vectors, lambda: core.embedder, core.papers_to_embed)
    with caplog.at_level("INFO", logger="paperfeed.search.embed_worker"):
        worker.run_once()
    assert worker.embedded == 25 and core.semantic_coverage() == 1.0
    assert "embedding 25 papers" in caplog.text
    worker.run_once()  # nothing left: a cheap no-op
    assert worker.embedded == 25 and worker.runs == 2


def test_eta_text_reads_as_a_person_would_say_it():
    assert eta_text(12_000, 48_000, 100.0) == "12,000 of 48,000 (25%), 120/s, about 5 min left"
    assert eta_text(0, 10, 1.0) == "0 of 10 (0%)"
    assert "h left" in eta_text(1_000, 2_600_000, 10.0)


def _cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("paperfeed")), *args]


@pytest.mark.backends("sqlite")
def test_kill_9_during_paperfeed_embed_loses_at_most_the_batch_in_flight(core, monkeypatch):
    """The real command and a real SIGKILL, with the default model so that a batch takes seconds."""
    add_unembedded(core, 300)
    env = {**os.environ, "PAPERFEED_EMBEDDER": "minilm-int8", "NO_COLOR": "1"}
    process = subprocess.Popen(_cli("embed"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while core.store.embeddings.count() == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "no batch was stored in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    stored = core.store.embeddings.count()
    assert 0 < stored < 300 and stored % vectors_module.EMBED_BATCH == 0

    again = subprocess.run(_cli("embed"), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"{300 - stored:,} papers embedded" in again.stdout  # only what the killed run had not stored
    assert "covers 100%" in again.stdout


def test_serve_embeds_in_the_background_while_answering(settings, core):
    add_unembedded(core, 120)
    env = {**os.environ, "NO_COLOR": "1"}
    with serving(env) as base:
        first = httpx.get(base + "/api/search", params={"q": "protein folding", "mode": "hybrid"}, timeout=30)
        assert first.status_code == 200 and first.json()["items"]  # keyword hits at once
        deadline = time.monotonic() + 120
        while (
            httpx.get(base + "/api/search", params={"q": "protein", "mode": "hybrid"}, timeout=30).json()[
                "coverage"
            ]
            < 1.0
        ):
            assert time.monotonic() < deadline, "the server never finished embedding"
            time.sleep(0.5)
    assert core.store.embeddings.count(core.embedder.key) == 120


def test_filtered_search_scores_the_mapped_int8_matrix_as_exactly_as_float_vectors(core, monkeypatch):
    add_unembedded(core, 80)
    core.sync_vectors()
    vectors = core.vectors
    vectors.search(np.zeros(core.embedder.dim, dtype=np.float32), 1)  # maps the files
    assert vectors._matrix is not None and len(vectors._matrix[0]) == 80
    stored = core.store.embeddings.get_many(list(range(1, 500)), core.embedder.key)
    query = core.embedder.embed(["protein folding"])[0]
    exact = sorted(stored, key=lambda paper_id: -float(stored[paper_id][1] @ query))[:10]
    ids, scores = vectors.search(query, 10, among=list(stored))
    assert len(set(ids) & set(exact)) >= 9
    for paper_id, score in zip(ids, scores, strict=True):
        assert abs(score - float(stored[paper_id][1] @ query)) < 0.005

    # Papers embedded since the matrix was written (a run stopped at a checkpoint) are still found.
    add_unembedded(core, 40, first=1_000)
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 40)
    stop = threading.Event()
    core.sync_vectors(progress=lambda n: stop.set(), stop=stop)
    newer = core.store.embeddings.get_many(list(range(1, 500)), core.embedder.key)
    assert len(newer) == 120 and len(vectors) == 120
    ids, _ = vectors.search(query, 120, among=list(newer))
    assert sorted(ids) == sorted(newer)


def test_a_paper_the_graph_dropped_since_the_matrix_was_written_is_never_a_filtered_result(core, monkeypatch):
    add_unembedded(core, 80)
    core.sync_vectors()  # writes the graph and the int8 matrix
    vectors = core.vectors
    query = core.embedder.embed(["protein folding"])[0]
    everyone = list(range(1, 2_000))
    best = vectors.search(query, 1, among=everyone)[0][0]

    # Hidden, then dropped from the graph by a run stopped at a checkpoint: the matrix still has it.
    core.store.papers.set_hidden(best, True)
    add_unembedded(core, 40, first=1_000)
    monkeypatch.setattr(vectors_module, "EMBED_BATCH", 40)
    stop = threading.Event()
    core.sync_vectors(progress=lambda n: stop.set(), stop=stop)
    vectors.search(query, 1)  # maps the newer graph
    assert best in set(vectors._matrix[0].tolist())

    ids, _ = vectors.search(query, 10, among=everyone)
    assert best not in ids and len(ids) == 10
