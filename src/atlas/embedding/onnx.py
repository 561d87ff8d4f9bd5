"""Sentence-transformers models run through ONNX Runtime instead of torch.

Why: importing torch + sentence-transformers costs ~10 s on a laptop CPU, which made every cold
``atlas search`` slow; onnxruntime + tokenizers import in ~0.2 s and encode the same vectors (measured max
abs difference 2e-7 on all-MiniLM-L6-v2). The ONNX graph is exported once per machine from the model's own
weights (torch is needed for that one export only) and cached; the recorded embedder id stays the
sentence-transformers one because the vectors are the same.

Supported: models laid out like a sentence-transformers directory with mean pooling (and optionally a
Normalize module, which ``Embedder.embed`` applies anyway): all-MiniLM-L6-v2 (BERT) and all-mpnet-base-v2
(MPNet, measured max abs difference ~1e-6 against sentence-transformers).
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from atlas.embedding.base import Embedder, Kind, Matrix
from atlas.errors import DependencyMissingError, require

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_cache_path(name: str) -> Path:
    from platformdirs import user_cache_dir

    safe = name.replace("/", "__")
    return Path(user_cache_dir("atlas", appauthor=False)) / "models" / "onnx" / safe / "model.onnx"


def supports_onnx(model_dir: Path) -> bool:
    """True for a sentence-transformers directory whose pooling is a plain mean over tokens."""
    pooling = model_dir / "1_Pooling" / "config.json"
    if not (model_dir / "tokenizer.json").is_file() or not pooling.is_file():
        return False
    config = json.loads(pooling.read_text())
    others = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    return bool(config.get("pooling_mode_mean_tokens")) and not any(config.get(k) for k in others)


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Write the transformer of ``model_dir`` as an ONNX graph at ``target`` (atomically: a killed export
    leaves no half file, and two processes exporting at once both end with a whole one)."""
    torch: Any = require("torch", extra="embed", purpose="Exporting the embedding model to ONNX")
    transformers: Any = require("transformers", extra="embed", purpose="Exporting the embedding model")
    require("onnx", extra="embed", purpose="Exporting the embedding model to ONNX")
    from atlas.embedding.sentence_transformers import quiet_transformers

    quiet_transformers()
    model = transformers.AutoModel.from_pretrained(str(model_dir)).eval()

    # BERT-likes (MiniLM) take token_type_ids; MPNet has no token types and would silently swallow them as
    # **kwargs, so the graph gets exactly the inputs the model's forward names.
    names = [n for n in _INPUTS if n in inspect.signature(model.forward).parameters]

    class _LastHiddenState(torch.nn.Module):  # type: ignore[misc]
        # Keyword arguments: BertModel's positional order differs between transformers releases.
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        ids = torch.full((2, 8), 5, dtype=torch.long)  # a plain token: 1 is MPNet's pad id
        axes = {n: {0: "batch", 1: "tokens"} for n in (*names, "last_hidden_state")}
        examples = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": ids * 0}
        # The tracer warns that shape checks become constants; for an encoder they are (no KV cache, never
        # causal), and the exported graph is checked against sentence-transformers in the tests.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LastHiddenState(model),
                tuple(examples[n] for n in names),
                tmp,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT exactly
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class OnnxEmbedder(Embedder):
    def __init__(self, embedder_id: str, model_dir: Path, graph: Path, *, threads: int | None = None) -> None:
        ort: Any = require("onnxruntime", extra="embed", purpose="Semantic search")
        tokenizers: Any = require("tokenizers", extra="embed", purpose="Semantic search")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads  # else ONNX Runtime's default: one per physical core
        # One graph run at a time, every node on the intra-op pool; all fusions (attention, GELU, layer norm).
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # The pool's threads sleep when a run ends instead of spinning: after each query's forward pass (a
        # few ms) they spun for ~55 ms of CPU, on the core the BM25 thread and the HNSW search needed next.
        # Measured on 2 cores: 1 M windows full search p50 27-29 -> 18-22 ms (bench_search_latency.py); CPU
        # per HTTP search at 200 k windows 44 -> 25-27 ms (bench_api_load.py, one client). Same vectors.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
            raise DependencyMissingError(
                f"the cached ONNX embedding model at {graph} cannot be loaded ({exc})",
                hint=f"delete {graph.parent} and run the command again to re-export it",
            ) from exc
        self._tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(_max_tokens(model_dir))
        # Pad each batch to its longest text, with the model's own pad token (MPNet's is id 1, BERT's id 0:
        # the position ids MPNet derives from input_ids count anything that is not its pad token).
        padding = self._tokenizer.padding or {}
        self._tokenizer.enable_padding(
            pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]")
        )
        # The same tokenizer without padding measures each text, so batches are cut by token count.
        self._counter = tokenizers.Tokenizer.from_str(self._tokenizer.to_str())
        self._counter.no_padding()
        self._wants_types = "token_type_ids" in {i.name for i in self._session.get_inputs()}
        self.id = embedder_id
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.batch_size = 32

    def _lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._wants_types:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled: Matrix = ((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)).astype(
            np.float32
        )
        return pooled


def _max_tokens(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256
