"""How the embedded store (SQLite + FTS5 + usearch HNSW sidecar) scales: build, disk, latency, memory, recall.

    .venv/bin/python benchmarks/bench_index_scale.py --windows 200000          # quick
    .venv/bin/python benchmarks/bench_index_scale.py                           # 1,000,000 windows
    .venv/bin/python benchmarks/bench_index_scale.py --windows 200000 --json benchmarks/results/s.json

The synthetic library is built through ``SqliteIndex.put_video`` (one transaction per video, as ingest does)
and cached under ``benchmarks/.cache/index-scale-<N>-d<dim>/``; reruns reuse it (``--rebuild`` to redo).

Data: videos of 200 windows; each video has a topic. A window is 60 words: 75 % drawn from a Zipf(1.07)
vocabulary of 30,000 pseudo-words, 25 % from its topic's 300 words (so BM25 has rare and common terms, and
document frequencies like real speech). Each window has 2 sentences (its halves, float16 vectors) and 2
transcript segments without word timings. Vectors: 384-d, ``normalise(topic centroid + shared offset +
noise)``, which gives nearest-neighbour cosines around 0.55 against a median of 0.07 - clustered like text
embeddings (uniform random vectors would be a worst case no real embedder produces).

Queries (default 200): a topic, 2-5 words mixing its topical words and Zipf words outside the 100 most common
(a query normaliser drops stopwords), and a vector near the topic centroid. Reported: p50/p95 of
``keyword_search`` (k=50), ``vector_search`` (k=50), both one after the other (the index part of a hybrid
query) and both overlapped on two threads (as a search engine could run them), and filtered variants (a
channel: 1 % of the videos, scattered; a date bound: half of them); recall@10 of ``vector_search`` against
exact brute force; peak RSS of the build process and of the query process (``resource.getrusage``), which
loads the sidecar like a server does.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from atlas.config import WindowSettings
from atlas.index.base import IndexIdentity, VideoRecord
from atlas.index.sqlite import SqliteIndex
from atlas.models import SearchFilters, Segment, Sentence, Transcript, Video, Window

HERE = Path(__file__).resolve().parent
WINDOWS_PER_VIDEO = 200
WORDS_PER_WINDOW = 60
VOCAB = 30_000
TOPIC_WORDS = 300
STOPWORDS = 100
CHANNELS = 100
K = 50


class World:
    """The deterministic generator of videos and queries (same seed, same library)."""

    def __init__(self, n_videos: int, dim: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.n_videos = n_videos
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]  # 90 syllables
        words: list[str] = []
        seen: set[str] = set()
        while len(words) < VOCAB:
            word = "".join(rng.choice(syllables, size=int(rng.integers(2, 5))))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.vocab = np.array(words)
        p = 1.0 / np.arange(1, VOCAB + 1) ** 1.07
        self.p = p / p.sum()
        self.n_topics = max(20, n_videos // 5)
        self.topic_words = rng.integers(STOPWORDS * 5, VOCAB, size=(self.n_topics, TOPIC_WORDS))
        centroids = rng.standard_normal((self.n_topics, dim)).astype(np.float32)
        self.centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
        offset = rng.standard_normal(dim).astype(np.float32)
        self.offset = 0.4 * offset / np.linalg.norm(offset)
        self.seed = seed

    def _vectors(self, rng: np.random.Generator, topic: int, n: int) -> np.ndarray:
        noise = rng.standard_normal((n, self.dim)).astype(np.float32) * (1.1 / np.sqrt(self.dim))
        v = self.centroids[topic] + self.offset + noise
        out: np.ndarray = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        return out

    def video(self, number: int) -> VideoRecord:
        rng = np.random.default_rng((self.seed, number))
        topic = number % self.n_topics
        n = WINDOWS_PER_VIDEO
        common = rng.choice(VOCAB, size=(n, WORDS_PER_WINDOW), p=self.p)
        topical = self.topic_words[topic][rng.integers(0, TOPIC_WORDS, size=(n, WORDS_PER_WINDOW))]
        ids = np.where(rng.random((n, WORDS_PER_WINDOW)) < 0.25, topical, common)
        half = WORDS_PER_WINDOW // 2
        halves = [(" ".join(self.vocab[row[:half]]), " ".join(self.vocab[row[half:]])) for row in ids]
        texts = [a + " " + b for a, b in halves]
        sentence_texts = [h for pair in halves for h in pair]
        t = np.arange(2 * n, dtype=np.float64) * 7.5
        vectors = self._vectors(rng, topic, n)
        video_id = f"vid{number:07d}"
        return VideoRecord(
            video=Video(
                video_id=video_id,
                title=f"Synthetic talk {number}",
                source=f"https://example.org/{video_id}",
                kind="youtube",
                channel=f"channel{number % CHANNELS:03d}",
                published=f"{2015 + number % 10}-{1 + number % 12:02d}-{1 + number % 28:02d}",
                duration=float(t[-1] + 7.5),
                content_hash=f"h{number}",
            ),
            transcript=Transcript(
                segments=tuple(Segment(s, t[i], t[i] + 7.5) for i, s in enumerate(sentence_texts)),
                origin="bench",
            ),
            sentences=tuple(Sentence(i, s, t[i], t[i] + 7.5, i * half) for i, s in enumerate(sentence_texts)),
            windows=tuple(
                Window(i, w, t[2 * i], t[2 * i] + 15.0, 2 * i, 2 * i + 1) for i, w in enumerate(texts)
            ),
            sentence_vectors=np.repeat(vectors, 2, axis=0),
            window_vectors=vectors,
        )

    def queries(self, count: int) -> list[tuple[list[str], np.ndarray]]:
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for _ in range(count):
            topic = int(rng.integers(0, min(self.n_topics, self.n_videos)))
            n_words = int(rng.integers(2, 6))
            topical = self.vocab[self.topic_words[topic][rng.integers(0, TOPIC_WORDS, size=n_words)]]
            common = self.vocab[
                STOPWORDS + rng.choice(VOCAB - STOPWORDS, size=n_words, p=_renorm(self.p[STOPWORDS:]))
            ]
            words = [str(topical[i] if rng.random() < 0.5 else common[i]) for i in range(n_words)]
            out.append((words, self._vectors(rng, topic, 1)[0]))
        return out


def _renorm(p: np.ndarray) -> np.ndarray:
    out: np.ndarray = p / p.sum()
    return out


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_identity(dim: int) -> IndexIdentity:
    """At 384-d the synthetic library records the default embedder's identity, so the real ``Library`` and
    ``atlas search`` (which embed queries with MiniLM) can be timed on it by bench_search_latency.py. The
    vectors stay synthetic: results are meaningless, the work per query is real."""
    if dim == 384:
        return IndexIdentity("sentence-transformers/all-MiniLM-L6-v2", dim, WindowSettings().as_dict())
    return IndexIdentity("bench/synthetic", dim, {"windows_per_video": WINDOWS_PER_VIDEO})


def ensure_library(n_windows: int, dim: int, *, rebuild: bool = False) -> Path:
    """The cached synthetic library of ``n_windows`` windows, built (in a child process) when missing."""
    directory = HERE / ".cache" / f"index-scale-{n_windows}-d{dim}"
    stats_path = directory / "build.json"
    stale = (
        stats_path.exists()
        and json.loads(stats_path.read_text()).get("identity") != bench_identity(dim).embedder
    )
    if rebuild or stale or not stats_path.exists():
        shutil.rmtree(directory, ignore_errors=True)
        print(f"building {n_windows:,} windows into {directory} ...", flush=True)
        cmd = [sys.executable, __file__, "--phase", "build", "--windows", str(n_windows), "--dim", str(dim)]
        subprocess.run(cmd, check=True)
    return directory


def put_videos(store: Any, world: World) -> Iterator[tuple[int, float, float]]:
    """Put every video of ``world`` into ``store`` (either store), one transaction each as ingest does; after
    each, yield (its number, seconds spent in put_video so far, seconds spent generating so far)."""
    put_s = gen_s = 0.0
    for number in range(world.n_videos):
        t0 = time.perf_counter()
        record = world.video(number)
        t1 = time.perf_counter()
        store.put_video(record)
        put_s += time.perf_counter() - t1
        gen_s += t1 - t0
        yield number, put_s, gen_s


def build(directory: Path, n_windows: int, dim: int, stats_path: Path) -> None:
    """Run in a child process, so its peak RSS is its own."""
    world = World(n_windows // WINDOWS_PER_VIDEO, dim)
    put_s = gen_s = 0.0
    with SqliteIndex(directory) as store:
        store.claim(bench_identity(dim))
        for number, put_s, gen_s in put_videos(store, world):  # noqa: B007 (totals read after the loop)
            if number % 500 == 0:
                print(f"  built {number * WINDOWS_PER_VIDEO:>9,} windows  put {put_s:6.1f}s", flush=True)
        rss_put = _rss_mib()
        t0 = time.perf_counter()
        store.vector_search(world.queries(1)[0][1], 1, SearchFilters())  # catches the sidecar up: HNSW build
        hnsw_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.flush()
        save_s = time.perf_counter() - t0
    conn = sqlite3.connect(directory / "atlas.db")
    t0 = time.perf_counter()
    conn.execute("INSERT INTO windows_fts (windows_fts) VALUES ('optimize')")  # merge FTS segments once
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    stats = {
        "identity": bench_identity(dim).embedder,
        "windows": world.n_videos * WINDOWS_PER_VIDEO,
        "videos": world.n_videos,
        "dim": dim,
        "put_s": put_s,
        "generate_s": gen_s,
        "hnsw_build_s": hnsw_s,
        "sidecar_save_s": save_s,
        "fts_optimize_s": time.perf_counter() - t0,
        "build_rss_after_puts_mib": rss_put,
        "build_peak_rss_mib": _rss_mib(),
    }
    stats_path.write_text(json.dumps(stats, indent=2))


def _concurrently(
    pool: ThreadPoolExecutor, first: Callable[[], object], second: Callable[[], object]
) -> None:
    """How a search engine could overlap the two retrievers (sqlite3 and usearch release the GIL)."""
    other = pool.submit(second)
    first()
    other.result()


def _time(fn: Callable[[], object], reps: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) * 1000 / reps


def _pcts(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), q[18]


def measure(directory: Path, world: World, n_queries: int, recall_sample: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    store = SqliteIndex(directory)
    open_s = time.perf_counter() - t0
    pool = ThreadPoolExecutor(1)
    queries = world.queries(n_queries)
    none = SearchFilters()
    narrow = SearchFilters(channels=("channel007",))  # 1 % of videos: exact brute-force path
    broad = SearchFilters(after="2020-01-01")  # about half: HNSW over-fetch path
    for words, vector in queries[:20]:  # warm caches, as a running server has
        store.keyword_search(words, K, none)
        store.vector_search(vector, K, none)
    cases: dict[str, Callable[[list[str], np.ndarray], object]] = {
        "keyword": lambda w, v: store.keyword_search(w, K, none),
        "vector": lambda w, v: store.vector_search(v, K, none),
        "both (hybrid index part)": lambda w, v: (
            store.keyword_search(w, K, none),
            store.vector_search(v, K, none),
        ),
        "both, on 2 threads": lambda w, v: _concurrently(
            pool, lambda: store.keyword_search(w, K, none), lambda: store.vector_search(v, K, none)
        ),
        "keyword, channel filter": lambda w, v: store.keyword_search(w, K, narrow),
        "vector, channel filter (exact)": lambda w, v: store.vector_search(v, K, narrow),
        "keyword, date filter": lambda w, v: store.keyword_search(w, K, broad),
        "vector, date filter (over-fetch)": lambda w, v: store.vector_search(v, K, broad),
    }
    latency = {}
    for name, fn in cases.items():
        samples = [_time(lambda fn=fn, w=w, v=v: fn(w, v)) for w, v in queries]  # type: ignore[misc]
        latency[name] = _pcts(samples)
    pool.shutdown()
    rss = _rss_mib()
    counts = store.counts()
    recall = _recall(store, directory, queries[:recall_sample], world.dim)
    store.close()
    return {"open_s": open_s, "latency_ms": latency, "query_peak_rss_mib": rss, "recall@10": recall, **counts}


def _recall(
    store: SqliteIndex, directory: Path, queries: list[tuple[list[str], np.ndarray]], dim: int
) -> float:
    """recall@10 of vector_search against exact top-10, streaming the float32 vectors from SQLite."""
    q = np.stack([v / np.linalg.norm(v) for _, v in queries]).astype(np.float32)
    best = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best_keys = np.zeros((len(q), 10), dtype=np.int64)
    conn = sqlite3.connect(directory / "atlas.db")
    cursor = conn.execute("SELECT id, vector FROM windows")
    while rows := cursor.fetchmany(100_000):
        keys = np.array([r[0] for r in rows], dtype=np.int64)
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
        sims = np.concatenate([best, q @ mat.T], axis=1)
        all_keys = np.concatenate([best_keys, np.broadcast_to(keys, (len(q), len(keys)))], axis=1)
        top = np.argpartition(-sims, 9, axis=1)[:, :10]
        best, best_keys = np.take_along_axis(sims, top, 1), np.take_along_axis(all_keys, top, 1)
    conn.close()
    hits = [
        len({c.key for c in store.vector_search(v, 10, SearchFilters())} & set(best_keys[i].tolist())) / 10
        for i, (_, v) in enumerate(queries)
    ]
    return float(np.mean(hits))


def _disk_mib(directory: Path) -> dict[str, float]:
    sizes = {p.name: p.stat().st_size / 2**20 for p in directory.iterdir() if p.is_file()}
    sidecar = sum(v for k, v in sizes.items() if k.endswith(".usearch"))
    sqlite_total = sum(v for k, v in sizes.items() if k.startswith("atlas.db"))
    return {"sqlite_mib": sqlite_total, "sidecar_mib": sidecar, "total_mib": sum(sizes.values())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-sample", type=int, default=100)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--phase", choices=["build"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "build":
        directory = HERE / ".cache" / f"index-scale-{args.windows}-d{args.dim}"
        build(directory, args.windows, args.dim, directory / "build.json")
        return
    directory = ensure_library(args.windows, args.dim, rebuild=args.rebuild)
    stats_path = directory / "build.json"
    built = json.loads(stats_path.read_text())
    world = World(args.windows // WINDOWS_PER_VIDEO, args.dim)
    result = {**built, **_disk_mib(directory), **measure(directory, world, args.queries, args.recall_sample)}
    _print(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


def _print(r: dict[str, Any]) -> None:
    print(f"\nwindows {r['windows']:,} ({r['videos']:,} videos), dim {r['dim']}")
    rows = [
        (
            "build: put_video (1 txn per video)",
            f"{r['put_s']:.1f} s ({r['windows'] / r['put_s']:,.0f} windows/s)",
        ),
        ("build: HNSW (usearch f16, both cores)", f"{r['hnsw_build_s']:.1f} s"),
        ("build: sidecar save", f"{r['sidecar_save_s']:.2f} s"),
        ("build: FTS optimize", f"{r['fts_optimize_s']:.1f} s"),
        ("build: peak RSS", f"{r['build_peak_rss_mib']:,.0f} MiB"),
        (
            "disk: SQLite / sidecar / total",
            f"{r['sqlite_mib']:,.0f} / {r['sidecar_mib']:,.0f} / {r['total_mib']:,.0f} MiB",
        ),
        ("open (load sidecar)", f"{r['open_s']:.2f} s"),
        *(
            (f"{name}: p50 / p95", f"{p50:.2f} / {p95:.2f} ms")
            for name, (p50, p95) in r["latency_ms"].items()
        ),
        ("vector recall@10 vs brute force", f"{r['recall@10']:.3f}"),
        ("query process peak RSS", f"{r['query_peak_rss_mib']:,.0f} MiB"),
    ]
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"  {a:<{width}}  {b}")


if __name__ == "__main__":
    main()
