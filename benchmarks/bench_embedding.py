"""The two ways Atlas runs the bundled all-MiniLM-L6-v2: sentence-transformers (torch) and ONNX Runtime.

    .venv/bin/python benchmarks/bench_embedding.py

Per backend, in one run: cold start of a fresh process (imports + model load + one query embedding, what a
one-shot `atlas search` pays), warm query latency p50, passage throughput (the sample windows, batch 32), and
the largest difference between the two backends' vectors. Ratios are against sentence-transformers.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402

from atlas.chunking import build_windows, split_sentences  # noqa: E402
from atlas.config import WindowSettings  # noqa: E402
from atlas.embedding.base import Embedder  # noqa: E402
from atlas.embedding.onnx import OnnxEmbedder, onnx_cache_path  # noqa: E402
from atlas.embedding.registry import create_embedder  # noqa: E402
from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder, bundled_path  # noqa: E402
from atlas.sources.base import Ingestible, SourceOptions  # noqa: E402
from atlas.sources.transcript_files import TranscriptFileSource  # noqa: E402

NAME = "all-MiniLM-L6-v2"
QUERIES = ["renting servers versus buying hardware", "how does routing pick an expert", "Pedalboard"] * 10

COLD = {
    "torch": "from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder as E; "
    "E('all-MiniLM-L6-v2').embed_query('hello')",
    "onnx": "from atlas.embedding.registry import create_embedder as c; "
    "c('all-MiniLM-L6-v2').embed_query('hello')",
}


def sample_windows() -> list[str]:
    source, texts = TranscriptFileSource(), []
    for path in sorted((HERE.parent / "samples").iterdir()):
        if not source.accepts(str(path)):
            continue
        for item in source.items(str(path), SourceOptions()):
            if isinstance(item, Ingestible):
                sentences = split_sentences(item.transcript, WindowSettings())
                texts += [w.text for w in build_windows(sentences, WindowSettings())]
    return texts


def cold_start(backend: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD[backend]], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm(embedder: Embedder, passages: list[str]) -> tuple[float, float]:
    embedder.embed_query("warm up")
    lat = []
    for q in QUERIES:
        start = time.perf_counter()
        embedder.embed_query(q)
        lat.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    embedder.embed(passages)
    return statistics.median(lat), len(passages) / (time.perf_counter() - start)


def main() -> None:
    create_embedder(NAME)  # makes sure the ONNX graph is exported before anything is timed
    location = bundled_path(NAME)
    assert location is not None
    passages = sample_windows()
    backends: dict[str, Embedder] = {
        "torch": SentenceTransformerEmbedder(NAME),
        "onnx": OnnxEmbedder("sentence-transformers/" + NAME, location, onnx_cache_path(NAME)),
    }
    rows = {}
    for name, embedder in backends.items():
        p50, rate = warm(embedder, passages)
        rows[name] = (cold_start(name), p50, rate)
    diff = float(np.abs(backends["onnx"].embed(passages[:64]) - backends["torch"].embed(passages[:64])).max())
    base = rows["torch"]
    print(f"{len(passages)} sample windows, {len(QUERIES)} queries; max |onnx - torch| = {diff:.1e}\n")
    print(f"{'backend':<8} {'cold start s':>12} {'x':>6} {'query p50 ms':>13} {'x':>6}", end=" ")
    print(f"{'passages/s':>11} {'x':>6}")
    for name, (cold, p50, rate) in rows.items():
        print(
            f"{name:<8} {cold:>12.2f} {base[0] / cold:>6.1f} {p50:>13.1f} {base[1] / p50:>6.1f} "
            f"{rate:>11.1f} {rate / base[2]:>6.2f}"
        )


if __name__ == "__main__":
    main()
