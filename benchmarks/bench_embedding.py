"""What each bundled embedder costs: all-MiniLM-L6-v2 (384-d, the default) and all-mpnet-base-v2 (768-d,
stronger), both through ONNX Runtime as Atlas runs them; ``--torch`` adds the sentence-transformers (torch)
rows and the largest difference between the two backends' vectors.

    .venv/bin/python benchmarks/bench_embedding.py [--models a,b] [--torch] [--windows 200] [--sentences 600]

Per model and backend, in one run: cold start of a fresh process (imports + model load + one query embedding,
what a one-shot `atlas search` pays; median of 3), warm query latency p50 (one short query at a time, what
search pays per query), and throughput in passages/s for the sample windows (~100 words, what ingest embeds
per window) and the sample sentences (~14 words, what ingest embeds per sentence), batch 32. Each x is the
row's value over the first row's. The load average is printed before and after: on a shared machine it says
how much the numbers can be trusted.
"""

from __future__ import annotations

import argparse
import os
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
from atlas.embedding.registry import create_embedder  # noqa: E402
from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder  # noqa: E402
from atlas.models import IngestOptions  # noqa: E402
from atlas.sources.base import Ingestible, SourceContext  # noqa: E402
from atlas.sources.transcript_files import TranscriptFileSource  # noqa: E402

MODELS = ("all-MiniLM-L6-v2", "all-mpnet-base-v2")
QUERIES = ["renting servers versus buying hardware", "how does routing pick an expert", "Pedalboard"] * 10

COLD = {
    "torch": "from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder as E; "
    "E({name!r}).embed_query('hello')",
    "onnx": "from atlas.embedding.registry import create_embedder as c; c({name!r}).embed_query('hello')",
}


def sample_texts() -> tuple[list[str], list[str]]:
    """(windows, sentences) of the bundled sample transcripts, cut exactly as ingest cuts them."""
    source, windows, sentences = TranscriptFileSource(), [], []
    for path in sorted((HERE.parent / "samples").iterdir()):
        if not source.accepts(str(path)):
            continue
        for item in source.items(str(path), IngestOptions(), SourceContext()):
            if isinstance(item, Ingestible):
                cut = split_sentences(item.transcript, WindowSettings())
                sentences += [s.text for s in cut]
                windows += [w.text for w in build_windows(cut, WindowSettings())]
    return windows, sentences


def spread(texts: list[str], count: int) -> list[str]:
    """``count`` texts taken evenly from all three talks (not just the first one's opening)."""
    if count >= len(texts):
        return texts
    return [texts[round(i * (len(texts) - 1) / (count - 1))] for i in range(count)]


def load(backend: str, name: str) -> Embedder:
    if backend == "torch":
        return SentenceTransformerEmbedder(name)
    embedder = create_embedder(name)  # joins/unpacks and exports the ONNX graph once, before any timing
    assert type(embedder).__name__ == "OnnxEmbedder", f"{name} did not load through ONNX Runtime"
    return embedder


def cold_start(backend: str, name: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        code = COLD[backend].format(name=name)
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def query_p50_ms(embedder: Embedder) -> float:
    embedder.embed_query("warm up")
    lat = []
    for q in QUERIES:
        start = time.perf_counter()
        embedder.embed_query(q)
        lat.append((time.perf_counter() - start) * 1000)
    return statistics.median(lat)


def rate(embedder: Embedder, passages: list[str]) -> float:
    embedder.embed(passages[:32])  # first batches allocate ONNX Runtime's arenas; not what ingest pays
    start = time.perf_counter()
    embedder.embed(passages)
    return len(passages) / (time.perf_counter() - start)


def mean_words(texts: list[str]) -> float:
    return statistics.mean(len(t.split()) for t in texts)


def _load(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{a:.2f}" for a in averages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--torch", action="store_true", help="also time sentence-transformers (torch)")
    parser.add_argument("--windows", type=int, default=200, help="windows to embed per row")
    parser.add_argument("--sentences", type=int, default=600, help="sentences to embed per row")
    args = parser.parse_args()
    all_windows, all_sentences = sample_texts()
    windows, sentences = spread(all_windows, args.windows), spread(all_sentences, args.sentences)
    backends = ("onnx", "torch") if args.torch else ("onnx",)
    before = os.getloadavg()

    rows: list[tuple[str, str, float, float, float, float]] = []
    diffs: dict[str, float] = {}
    for name in args.models.split(","):
        loaded = {}
        for backend in backends:
            embedder = loaded[backend] = load(backend, name)
            p50 = query_p50_ms(embedder)
            per_window, per_sentence = rate(embedder, windows), rate(embedder, sentences)
            rows.append((name, backend, cold_start(backend, name), p50, per_window, per_sentence))
        if len(loaded) == 2:
            diffs[name] = float(
                np.abs(loaded["onnx"].embed(windows[:64]) - loaded["torch"].embed(windows[:64])).max()
            )
        del loaded  # one model's weights at a time in memory

    after = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average (1/5/15 min) before {_load(before)}, after {_load(after)}")
    print(
        f"{len(windows)} windows (mean {mean_words(windows):.0f} words), {len(sentences)} sentences "
        f"(mean {mean_words(sentences):.0f} words), {len(QUERIES)} single queries; batch 32"
    )
    for name, diff in diffs.items():
        print(f"{name}: max |onnx - torch| = {diff:.1e}")
    print()
    head = (
        "model",
        "backend",
        "cold start s",
        "x",
        "query p50 ms",
        "x",
        "windows/s",
        "x",
        "sentences/s",
        "x",
    )
    print(f"| {' | '.join(head)} |")
    print("|" + "---|" * len(head))
    base = rows[0]
    for name, backend, cold, p50, per_window, per_sentence in rows:
        cells = (
            name,
            backend,
            f"{cold:.2f}",
            f"{cold / base[2]:.1f}",
            f"{p50:.1f}",
            f"{p50 / base[3]:.1f}",
            f"{per_window:.1f}",
            f"{per_window / base[4]:.2f}",
            f"{per_sentence:.1f}",
            f"{per_sentence / base[5]:.2f}",
        )
        print(f"| {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
