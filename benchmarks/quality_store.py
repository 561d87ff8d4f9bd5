"""bench_quality.py --store URL: the same benchmark on the PostgreSQL store, in the same run.

The embedded library that bench_quality built is exported and imported into the PostgreSQL store (same
windows, same vectors: nothing is re-transcribed or re-embedded), both are evaluated on the same queries, and
the table shows each store's R@5 and MRR per mode with the difference. Only retrieval differs: BM25 from
PostgreSQL full text + the store's own term statistics instead of FTS5, pgvector HNSW instead of usearch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any


def compare_stores(
    lib: Any, store: str, queries: list[Any], modes: Sequence[str], limit: int, run_suite: Callable[..., Any]
) -> tuple[Any, Any]:
    """(embedded suite, PostgreSQL suite) over the same queries; prints the comparison table."""
    from atlas.library import Library

    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "library.jsonl"
        lib.export(dump)
        settings = replace(lib.settings, store=store, library_dir=Path(scratch) / "local")
        with Library.open(settings) as shared:
            for video in shared.list_videos():  # start from an empty library in that store
                shared.remove(video.video_id)
            report = shared.import_(dump)
            if report.failed:
                raise SystemExit(f"import into {store} failed: {report.failed[0].message}")
            shared.search("warm up the model", limit=1, mode="vector")
            embedded = run_suite(lib, queries, "sqlite", modes, limit)
            postgres = run_suite(shared, queries, "postgresql", modes, limit)
    print(f"\nStores compared on {len(queries)} queries (all splits), limit {limit}")
    print("| mode | SQLite R@5 | PostgreSQL R@5 | diff | SQLite MRR | PostgreSQL MRR |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for a, b in zip(embedded.reports, postgres.reports, strict=True):
        diff = b.recall(5) - a.recall(5)
        recalls = f"{a.recall(5):.3f} | {b.recall(5):.3f} | {diff:+.3f}"
        print(f"| {a.mode} | {recalls} | {a.mrr():.3f} | {b.mrr():.3f} |")
    return embedded, postgres
