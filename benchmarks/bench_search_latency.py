"""End-to-end search latency at scale: the whole ``Library.search`` call and a cold ``atlas search``.

    .venv/bin/python benchmarks/bench_search_latency.py                     # 1,000,000 windows
    .venv/bin/python benchmarks/bench_search_latency.py --windows 200000    # quicker

It reuses the synthetic library that ``bench_index_scale.py`` builds and caches (it builds it first when
missing); that library records the real MiniLM identity, so the real embedder embeds each query. Its vectors
are synthetic, so the *results* mean nothing; the *work* per query is the real one: embed the query,
BM25 + HNSW candidates, fusion, rerank over stored sentence vectors, pinning, de-overlap, hits.

Reported, in one run (ratios, not absolute numbers, are what compare across machines):
- index part: keyword_search + vector_search for the same queries (the floor under a query);
- embed only: the MiniLM query embedding alone;
- full query: ``Library.search(q, limit=10)`` hybrid, p50/p95, and its ratio to the index part;
- cold start: wall time of a fresh ``atlas search ... --json`` process (imports, model load, sidecar load);
- peak RSS of this process after all queries (and of the cold-start processes).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bench_index_scale as scale  # noqa: E402
from atlas.config import Settings  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import SearchFilters  # noqa: E402
from atlas.search.text import keyword_terms  # noqa: E402


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def measure(directory: Path, queries: list[str], cold_runs: int) -> dict[str, object]:
    results: dict[str, object] = {}
    with Library.open(Settings(library_dir=directory), create=False) as lib:
        identity = lib.index.identity()
        if identity is None or not identity.embedder.startswith("sentence-transformers/"):
            raise SystemExit(
                f"{directory} was not built with a real embedder identity; rebuild it with --rebuild"
            )
        embedder = lib.embedder
        lib.search("warm up", limit=10)  # model load, sidecar load: measured separately as cold start
        index_part, embed_only, full = [], [], []
        for q in queries:
            qvec = embedder.embed_query(q)
            t0 = time.perf_counter()
            lib.index.keyword_search(keyword_terms(q), 60, SearchFilters())
            lib.index.vector_search(qvec, 60, SearchFilters())
            index_part.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            embedder.embed_query(q)
            embed_only.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hits = lib.search(q, limit=10)
            full.append(time.perf_counter() - t0)
            assert hits, "a query over a non-empty library returned nothing"
        results["windows"] = lib.index.counts()["windows"]
    results["index_part_ms"] = _pcts(index_part)
    results["embed_ms"] = _pcts(embed_only)
    results["full_ms"] = _pcts(full)
    results["full_over_index_p50"] = statistics.median(full) / statistics.median(index_part)
    results["query_process_peak_rss_mib"] = _peak_rss_mib()

    atlas = Path(sys.executable).with_name("atlas")
    cold = []
    for q in queries[:cold_runs]:
        t0 = time.perf_counter()
        subprocess.run(
            [str(atlas), "search", q, "--json", "--library", str(directory)],
            check=True,
            capture_output=True,
        )
        cold.append(time.perf_counter() - t0)
    results["cold_start_s"] = (statistics.median(cold), max(cold))
    results["cold_process_peak_rss_mib"] = _peak_rss_mib(resource.RUSAGE_CHILDREN)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--windows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    directory = scale.ensure_library(args.windows, 384, rebuild=args.rebuild)
    # The synthetic library's own query generator: 2-5 words mixing topical and Zipf words, so BM25 has real
    # matches to score (English queries would match nothing in the pseudo-word vocabulary and look too fast).
    world = scale.World(args.windows // scale.WINDOWS_PER_VIDEO, 384)
    queries = [" ".join(words) for words, _ in world.queries(args.queries)]
    r = measure(directory, queries, args.cold_runs)
    target = {"index_part_ms": 15.0, "full_ms": 50.0}
    print(f"\nfull search at {r['windows']:,} windows ({len(queries)} queries)\n")
    print(f"{'measure':<28}{'p50':>10}{'p95':>10}{'target p50':>12}")
    for key, label in (
        ("index_part_ms", "index part (ms)"),
        ("embed_ms", "query embedding (ms)"),
        ("full_ms", "full Library.search (ms)"),
    ):
        p50, p95 = r[key]  # type: ignore[misc]
        goal = f"{target[key]:.0f}" if key in target else ""
        print(f"{label:<28}{p50:>10.1f}{p95:>10.1f}{goal:>12}")
    cold_med, cold_max = r["cold_start_s"]  # type: ignore[misc]
    print(f"{'cold atlas search (s)':<28}{cold_med:>10.2f}{cold_max:>10.2f}")
    print(f"\nfull / index part (p50): {r['full_over_index_p50']:.1f}x")
    print(
        f"peak RSS: query process {r['query_process_peak_rss_mib']:.0f} MiB, "
        f"cold CLI process {r['cold_process_peak_rss_mib']:.0f} MiB (target 2048)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
