"""The ONNX Runtime path must give the same vectors as sentence-transformers, so a library built by either
can be searched by the other under the same recorded embedder id."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from atlas.embedding.onnx import OnnxEmbedder, export_onnx, supports_onnx
from atlas.embedding.registry import create_embedder
from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder, bundled_path

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

TEXTS = [
    "Renting GPUs by the hour beats buying them when the load is spiky.",
    "short",
    "A much longer passage that runs past the model's 256 token limit " * 40,
    "Café prices and naïve résumés: accents survive the tokenizer?",
]


def test_onnx_vectors_match_sentence_transformers(tmp_path):
    location = bundled_path("all-MiniLM-L6-v2")
    assert location is not None and supports_onnx(location)
    graph = export_onnx(location, tmp_path / "model.onnx")
    onnx = OnnxEmbedder("sentence-transformers/all-MiniLM-L6-v2", location, graph, threads=1)
    torch_based = SentenceTransformerEmbedder("all-MiniLM-L6-v2", threads=1)
    assert onnx.id == torch_based.id and onnx.dim == torch_based.dim == 384
    a, b = onnx.embed(TEXTS), torch_based.embed(TEXTS)  # one padded batch of very different lengths
    assert np.abs(a - b).max() < 1e-4
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert not list(tmp_path.glob("*.tmp"))  # the export renamed its temporary file into place


def test_bundled_model_loads_through_onnx_without_importing_torch():
    create_embedder("all-MiniLM-L6-v2")  # exports the cached graph if this machine has none yet
    probe = (
        "import sys; from atlas.embedding.registry import create_embedder; "
        "e = create_embedder('all-MiniLM-L6-v2'); e.embed_query('hello'); "
        "print(type(e).__name__, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["OnnxEmbedder", "False"]


def test_store_and_onnx_load_in_either_order():
    # usearch loaded before onnxruntime used to crash the process (see atlas/index/_native_order.py).
    probe = "import atlas.index.ann; import onnxruntime; print('ok')"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-500:]


def test_length_batched_vectors_equal_one_text_at_a_time():
    # Issue 17: batches cut from texts sorted by token count, each distinct text encoded once. A text's vector
    # must not depend on its neighbours in a batch (padding is masked) nor on repeats.
    embedder = create_embedder("all-MiniLM-L6-v2", threads=1)
    texts = [*TEXTS, "short", TEXTS[0], "a medium sentence about renting GPUs", "x"]
    alone = np.vstack([embedder.embed([t]) for t in texts])
    embedder.batch_size = 3
    batched = embedder.embed(texts)
    assert np.abs(batched - alone).max() < 1e-5
    assert np.array_equal(batched[1], batched[4]) and np.array_equal(batched[0], batched[5])


def test_idle_embedder_leaves_the_cores_to_the_rest_of_the_search():
    # ONNX Runtime's pool threads used to spin for ~55 ms of CPU after every query (on 2 cores that starved
    # the BM25 thread and the HNSW search running next to it). Idle means idle now.
    embedder = create_embedder("all-MiniLM-L6-v2", threads=2)
    burned = []
    for _ in range(3):
        embedder.embed_query("renting servers versus buying your own hardware")
        before = time.process_time()
        time.sleep(0.2)
        burned.append(time.process_time() - before)
    assert min(burned) < 0.01, burned
