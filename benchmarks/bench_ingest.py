"""Ingest cost of a transcript with no speech recognition (issue 17): seconds per hour of transcript, the
code before issue 17 against today's in the same run, rounds interleaved so a busy machine slows both alike.

    .venv/bin/python benchmarks/bench_ingest.py                 # 3 rounds, the 49-minute Berkeley lecture
    .venv/bin/python benchmarks/bench_ingest.py --rounds 5 --profile

Each variant ingests the same file through ``Library.ingest`` into a fresh library (parse, chunk, embed,
store, vector index); the embedding model is loaded once beforehand and shared, so the rows compare ingest
work, not model loading (printed separately). Variants:

- ``before``: the embedding path before issue 17: texts sorted by characters, every text encoded even when
  repeated, the window texts embedded.
- ``batching``: each distinct text encoded once, batches cut from texts sorted by tokens (same vectors:
  max abs difference printed).
- ``shipped``: batching, plus window vectors pooled from the sentence vectors (``vectors_from_sentences``),
  when that is the default; otherwise ``pooled windows`` is measured as a candidate.
- ``int8`` (``--int8``): batching on an int8 dynamically quantized copy of the graph (not shipped).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from atlas.config import Settings, WindowSettings  # noqa: E402
from atlas.embedding.base import Embedder, Kind, Matrix  # noqa: E402
from atlas.embedding.pooling import pools_windows  # noqa: E402
from atlas.embedding.registry import create_embedder  # noqa: E402
from atlas.library import Library  # noqa: E402

DEFAULT_FILE = HERE.parent / "samples" / "berkeley-ai-rubric-lecture.whisper.txt"


class Before(Embedder):
    """``inner``'s model behind the batching ``Embedder.embed`` had before issue 17.

    A frozen copy on purpose, though its batch-and-normalise tail reads like ``Embedder._embed_distinct``: it
    is the baseline the other rows are measured against, so it must not follow later changes to the shipped
    code (built from today's pieces, ``before`` would drift with what it is compared to)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.dim, self.batch_size = inner, inner.id, inner.dim, inner.batch_size

    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        return self.inner._encode(texts, kind)

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        parts = [
            self._encode(ordered[i : i + self.batch_size], kind)
            for i in range(0, len(texts), self.batch_size)
        ]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = np.vstack(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        normalised: Matrix = (out / norms).astype(np.float32, copy=False)
        return normalised


def int8_embedder(folder: Path) -> Embedder:
    """MiniLM on an int8 dynamically quantized copy of its ONNX graph, written in ``folder`` (recording the
    float model's id: benchmark libraries only)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from atlas.embedding.bundled import bundled_path
    from atlas.embedding.onnx import OnnxEmbedder, onnx_cache_path

    graph = onnx_cache_path("all-MiniLM-L6-v2")
    quantized = folder / "model.int8.onnx"
    quantize_dynamic(str(graph), str(quantized), weight_type=QuantType.QInt8)
    location = bundled_path("all-MiniLM-L6-v2")
    assert location is not None
    return OnnxEmbedder("sentence-transformers/all-MiniLM-L6-v2", location, quantized)


def ingest_seconds(
    path: Path, embedder: Embedder, windows: WindowSettings, folder: Path
) -> tuple[float, int]:
    """Wall seconds of ``Library.ingest`` of ``path`` into a fresh library, and the windows stored."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        settings = Settings(library_dir=Path(tmp) / "library", windows=windows)
        with Library.open(settings, embedder=embedder) as lib:
            began = time.perf_counter()
            report = lib.ingest([str(path)])
            took = time.perf_counter() - began
        (outcome,) = report.outcomes
        if outcome.status != "added":
            raise SystemExit(f"ingest {path.name}: {outcome.status} {outcome.message}")
        return took, outcome.windows


def transcript_hours(path: Path) -> float:
    from atlas.models import IngestOptions
    from atlas.sources.base import Ingestible, SourceContext
    from atlas.sources.registry import all_sources, resolve

    (item,) = list(resolve(str(path), IngestOptions(), SourceContext(), all_sources()))
    assert isinstance(item, Ingestible)
    ends = [s.end for s in item.transcript.segments if s.end is not None]
    if not ends:
        raise SystemExit(f"{path.name} has no times: cannot tell how long it is")
    return max(ends) / 3600


def same_vectors(before: Embedder, after: Embedder, path: Path) -> float:
    """Max abs difference between the two batchings' vectors for the file's sentences."""
    from atlas.chunking.pieces import chunk_transcript
    from atlas.models import IngestOptions
    from atlas.sources.base import Ingestible, SourceContext
    from atlas.sources.registry import all_sources, resolve

    (item,) = list(resolve(str(path), IngestOptions(), SourceContext(), all_sources()))
    assert isinstance(item, Ingestible)
    sentences, _ = chunk_transcript(item.transcript, WindowSettings())
    texts = [s.text for s in sentences]
    return float(np.abs(before.embed(texts) - after.embed(texts)).max())


def profile(run: Callable[[], object], top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="a timed transcript file")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every variant")
    parser.add_argument("--int8", action="store_true", help="also time an int8-quantized graph (not shipped)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary, before and after")
    args = parser.parse_args()

    hours = transcript_hours(args.file)
    began = time.perf_counter()
    model = create_embedder("all-MiniLM-L6-v2")
    model.embed(["warm up"])
    loading = time.perf_counter() - began
    shipped = WindowSettings().with_recipe(pools_windows("all-MiniLM-L6-v2"))
    embedded = replace(shipped, vectors_from_sentences=False)
    pooled = replace(shipped, vectors_from_sentences=True)
    last = "shipped" if shipped.vectors_from_sentences else "pooled windows"
    variants: dict[str, tuple[Embedder, WindowSettings]] = {
        "before": (Before(model), embedded),
        "batching": (model, embedded),
        last: (model, pooled),
    }
    print(
        f"{args.file.name}: {hours * 60:.1f} min of transcript; model loaded in {loading:.1f} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    difference = same_vectors(Before(model), model, args.file)
    print(f"batching vs before, max abs difference of sentence vectors: {difference:.1e}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.int8:
            variants["int8 (not shipped)"] = (int8_embedder(folder), embedded)
        times: dict[str, list[float]] = {name: [] for name in variants}
        windows: dict[str, int] = {}
        for round_ in range(args.rounds):
            for name, (embedder, settings) in variants.items():
                took, windows[name] = ingest_seconds(args.file, embedder, settings, folder)
                times[name].append(took)
                print(f"  round {round_ + 1} {name}: {took:.1f} s", flush=True)
        if args.profile:
            for name in ("before", last):  # where the time goes before and after
                embedder, settings = variants[name]
                print(f"\n## cProfile, {name}\n")
                print(profile(partial(ingest_seconds, args.file, embedder, settings, folder), 14))
    base = statistics.median(times["before"])
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}\n")
    print("| variant | median s | s per hour of transcript | vs before (same rounds) | windows |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        ratios = [b / v for b, v in zip(times["before"], values, strict=True)]
        median = statistics.median(values)
        print(
            f"| {name} | {median:.1f} | {median / hours:.1f} | {statistics.median(ratios):.2f}× faster "
            f"({min(ratios):.2f}–{max(ratios):.2f}) | {windows[name]} |"
        )
    print(f"\n(before median {base:.1f} s; ratio = before / variant, per round, median and range)")


if __name__ == "__main__":
    main()
