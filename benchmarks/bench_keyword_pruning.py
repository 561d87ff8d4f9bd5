"""Common-term pruning in BM25 (atlas.index.sqlite.terms) against the plain OR query, same run, same queries.

    .venv/bin/python benchmarks/bench_keyword_pruning.py                    # 1,000,000 windows
    .venv/bin/python benchmarks/bench_keyword_pruning.py --windows 200000

Uses the synthetic library that ``bench_index_scale.py`` builds and caches (built first when missing) and its
queries, whose words follow the library's Zipf-like word frequencies, so some are in a large share of windows.
Prints keyword_search p50/p95 (k=60) for both and how often the top 10 is the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bench_index_scale as scale  # noqa: E402
from atlas.index import open_index  # noqa: E402
from atlas.index.base import Candidate, Index  # noqa: E402
from atlas.index.sqlite import terms as sqlite_terms  # noqa: E402
from atlas.models import SearchFilters  # noqa: E402
from atlas.search.text import keyword_terms  # noqa: E402


def timed(index: Index, queries: list[list[str]]) -> tuple[list[float], list[list[Candidate]]]:
    times, results = [], []
    for terms in queries:
        started = time.perf_counter()
        results.append(index.keyword_search(terms, 60, SearchFilters()))
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times), results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    directory = scale.ensure_library(args.windows, 384)
    world = scale.World(args.windows // scale.WINDOWS_PER_VIDEO, 384)
    queries = [keyword_terms(" ".join(words)) for words, _ in world.queries(args.queries)]
    index = open_index(directory)
    timed(index, queries[:20])  # warm the page cache
    threshold = sqlite_terms.COMMON_TERM_WINDOWS
    rows = []
    for label, limit in (
        ("plain OR", 10**12),
        ("common-term pruning (shipped)", threshold),
        ("plain OR, again", 10**12),
    ):
        sqlite_terms.COMMON_TERM_WINDOWS = limit
        rows.append((label, *timed(index, queries)))
    sqlite_terms.COMMON_TERM_WINDOWS = threshold
    plain, pruned = rows[2][2], rows[1][2]
    overlap = [
        len({c.key for c in a[:10]} & {c.key for c in b[:10]}) / max(1, min(10, len(a)))
        for a, b in zip(plain, pruned, strict=True)
    ]
    print(f"{args.windows:,} windows, {len(queries)} queries, common = in more than {threshold:,} windows\n")
    print("| keyword_search (k=60) | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for label, times, _ in rows:
        print(f"| {label} | {statistics.median(times):.1f} | {times[int(0.95 * (len(times) - 1))]:.1f} |")
    same = sum(value == 1.0 for value in overlap)
    print(
        f"\ntop 10 identical for {same}/{len(overlap)} queries, mean overlap {statistics.mean(overlap):.2f}"
    )


if __name__ == "__main__":
    main()
