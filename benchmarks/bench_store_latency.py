"""Search latency on both stores, same library, same queries, same run: embedded SQLite vs PostgreSQL.

    .venv/bin/python benchmarks/bench_store_latency.py --windows 200000            # starts its own PostgreSQL
    .venv/bin/python benchmarks/bench_store_latency.py --windows 1000000
    .venv/bin/python benchmarks/bench_store_latency.py --windows 200000 --store postgresql://me@host/db

The SQLite library is ``bench_index_scale.py``'s cached synthetic one (built first when missing). The same
library (same videos, windows, sentences, vectors: ``bench_index_scale.World`` is deterministic) goes into the
PostgreSQL store through the store's own ``PostgresIndex.put_video``, one transaction per video as ingest
does, but with the two search indexes dropped while it fills: the HNSW index (``windows_embedding``) and the
GIN index (``windows_tsv``) are then built once, with the schema's own definitions, which is how a bulk load
into PostgreSQL is done (inserting into a live HNSW index costs ~3 ms a window). The terms/stats rows, the
tsvector trigger and everything else are the store's. ``PostgresIndex.verify()`` then checks the result
(statistics, document frequencies, tsvectors, the HNSW index); a few videos are re-put with the indexes live
to time that too; then ``VACUUM ANALYZE``.

PostgreSQL: with no ``--store`` (or ``--store pgserver``) the benchmark starts its own server from the
``pgserver`` wheel (PostgreSQL 16 + pgvector 0.6.2, an unprivileged child process on a unix socket, as the
tests do) with its data cached in ``benchmarks/.cache/pg-index-scale-<N>-d384/`` (reused by the next run;
``--rebuild`` refills it) and stops it at the end. Its settings: ``shared_buffers`` (``--shared-buffers``,
4GB), ``max_connections`` 300 (``bench_api_load.py --workers 4`` opens one per thread), and fsync /
synchronous_commit / full_page_writes off (a benchmark's data is thrown away; only the fill is faster for
it). With ``--store postgresql://...`` the library goes into that database's ``atlas`` schema, replacing
whatever is there unless it already holds this benchmark's library of the same size.

Queries: the synthetic library's own (2-5 words mixing topical and Zipf words, and a vector near the topic),
as in ``bench_index_scale.py``; each is timed on SQLite and then PostgreSQL (the order alternating), after 20
warm-up queries that are not measured. Reported per store: p50/p95 of ``keyword_search`` and
``vector_search`` (k=50), the same with a channel filter (1 % of the videos, scattered) and a date filter
(about half), the whole ``Library.search`` (hybrid, limit 10, the real MiniLM query embedding, one embedder
shared by both libraries), and vector recall@10 against exact brute force; and the PostgreSQL/SQLite ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bench_index_scale as scale  # noqa: E402
from atlas.config import Settings  # noqa: E402
from atlas.index.base import Index  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import SearchFilters  # noqa: E402

K = scale.K
SCHEMA = "atlas"  # the schema Library.open uses
BUILD_KEY = "bench_build"  # meta row: the fill's statistics, written last (a library without it is refilled)
LIVE_VIDEOS = 5  # videos re-put at the end with the indexes live
# The schema's own index definitions (postgres_schema._V1 and set_dimension), built after the fill.
INDEXES = {
    "windows_tsv": "CREATE INDEX windows_tsv ON {s}.windows USING gin (tsv)",
    "windows_embedding": (
        "CREATE INDEX windows_embedding ON {s}.windows USING hnsw (embedding vector_cosine_ops)"
    ),
}
SERVER_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "300",
    "max_wal_size": "8GB",
}


# -- the server ----------------------------------------------------------------------------------------------


def _prune_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last handle closes and keeps the handles' pids in a file: drop the
    pids of dead processes (a killed earlier run), or this run's close would leave the server running."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text()) if _alive(pid)]
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def postgres(store: str | None, n_windows: int, shared_buffers: str = "4GB") -> Iterator[str]:
    """The URL of the PostgreSQL server to fill: ``store`` when it is a URL, else a ``pgserver`` of our own
    (started now, stopped on exit) with its data under ``benchmarks/.cache/pg-index-scale-<N>-d384/``."""
    if store and store != "pgserver":
        yield store
        return
    try:
        import pgserver  # type: ignore[import-untyped,unused-ignore]
        import psycopg
    except ImportError:
        raise SystemExit(
            "the PostgreSQL benchmark needs psycopg, pgvector and pgserver: "
            "pip install 'atlas-search[cluster,dev]' (or pass --store postgresql://...)"
        ) from None
    directory = HERE / ".cache" / f"pg-index-scale-{n_windows}-d384"
    directory.mkdir(parents=True, exist_ok=True)
    pgdata = directory / "data"
    if pgdata.exists():
        _prune_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        settings = {**SERVER_SETTINGS, "shared_buffers": shared_buffers}
        with psycopg.connect(str(server.get_uri()), autocommit=True) as conn:
            for name, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)  # the reload is asynchronous
            pending = conn.execute("SELECT count(*) FROM pg_settings WHERE pending_restart").fetchone()
        if pending is not None and pending[0]:
            print("restarting PostgreSQL for shared_buffers / max_connections ...", flush=True)
            server.cleanup()
            server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        with psycopg.connect(str(server.get_uri()), autocommit=True) as conn:
            names = ("server_version", "shared_buffers", "max_connections", "fsync")
            shown = ", ".join(f"{n} {(conn.execute(f'SHOW {n}').fetchone() or ('?',))[0]}" for n in names)
        print(f"PostgreSQL (pgserver) in {pgdata}: {shown}", flush=True)
        yield str(server.get_uri())
    finally:
        server.cleanup()
        if (pgdata / "postmaster.pid").exists():  # another handle was still registered: stop it anyway
            from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

            pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)


def server_pid(url: str) -> int | None:
    """The postmaster's pid (for its memory), read through SQL: only when the server is on this machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    if row is None:
        return None
    pid_file = Path(str(row[0])) / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# -- the PostgreSQL copy of the synthetic library ------------------------------------------------------------


def _admin(url: str) -> Any:
    from atlas.index.postgres_schema import connect

    return connect(url, SCHEMA)


def pg_build_stats(url: str, n_windows: int) -> dict[str, Any] | None:
    """The fill's statistics when the store at ``url`` holds this benchmark's library of ``n_windows``."""
    from atlas.index.postgres_schema import get_meta

    conn = _admin(url)
    try:
        if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.meta",)).fetchone()[0] is None:
            return None
        raw = get_meta(conn, SCHEMA, BUILD_KEY)
    finally:
        conn.close()
    stats = None if raw is None else json.loads(raw)
    return stats if stats is not None and stats.get("windows") == n_windows else None


def ensure_pg_library(url: str, n_windows: int, dim: int = 384, *, rebuild: bool = False) -> dict[str, Any]:
    """Fill the store at ``url`` with the synthetic library of ``n_windows`` (unless it holds it already);
    return the fill's statistics."""
    stats = None if rebuild else pg_build_stats(url, n_windows)
    if stats is None:
        print(f"filling PostgreSQL with {n_windows:,} windows ...", flush=True)
        stats = fill_pg(url, n_windows, dim)
    return stats


def fill_pg(url: str, n_windows: int, dim: int) -> dict[str, Any]:
    from atlas.index.postgres import PostgresIndex
    from atlas.index.postgres_schema import set_meta

    world = scale.World(n_windows // scale.WINDOWS_PER_VIDEO, dim)
    conn = _admin(url)
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    stats: dict[str, Any] = {"windows": world.n_videos * scale.WINDOWS_PER_VIDEO, "videos": world.n_videos}
    with PostgresIndex(url, schema=SCHEMA) as store:
        store.claim(scale.bench_identity(dim))
        for name in INDEXES:
            conn.execute(f"DROP INDEX {SCHEMA}.{name}")
        put_s = gen_s = 0.0
        started = time.perf_counter()
        for number, put_s, gen_s in scale.put_videos(store, world):  # noqa: B007 (totals read after it)
            if number % 250 == 0 or number == world.n_videos - 1:
                done = (number + 1) * scale.WINDOWS_PER_VIDEO
                print(
                    f"  put {done:>9,} windows  {put_s:7.1f} s  ({done / put_s:,.0f} windows/s)",
                    flush=True,
                )
        stats.update(put_s=put_s, generate_s=gen_s, fill_wall_s=time.perf_counter() - started)
        conn.execute("SET maintenance_work_mem = '6GB'")  # the HNSW graph is built in memory
        conn.execute("SET max_parallel_maintenance_workers = 1")  # leader + 1 worker: 2 cores
        for name, sql in INDEXES.items():
            t0 = time.perf_counter()
            print(f"  building {name} ...", flush=True)
            conn.execute(sql.format(s=SCHEMA))
            stats[f"{name}_build_s"] = time.perf_counter() - t0
            print(f"  built {name} in {stats[f'{name}_build_s']:.1f} s", flush=True)
        conn.execute("RESET maintenance_work_mem")
        t0 = time.perf_counter()
        problems = store.verify()
        stats["verify_s"] = time.perf_counter() - t0
        if problems:
            raise SystemExit(f"the filled PostgreSQL library is inconsistent: {problems}")
        # put_video with both indexes live, at this size: replaces the last videos with the same records
        t0 = time.perf_counter()
        for number in range(world.n_videos - LIVE_VIDEOS, world.n_videos):
            store.put_video(world.video(number))
        stats["live_put_ms_per_window"] = (
            (time.perf_counter() - t0) * 1000 / (LIVE_VIDEOS * scale.WINDOWS_PER_VIDEO)
        )
        t0 = time.perf_counter()
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.windows")
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.videos")
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.sentences")
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.terms")
        stats["vacuum_analyze_s"] = time.perf_counter() - t0
        definitions = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = ANY(%s)",
                (SCHEMA, list(INDEXES)),
            ).fetchall()
        )
        stats["index_definitions"] = definitions
        stats["database_mib"] = _database_mib(conn)
        set_meta(conn, SCHEMA, BUILD_KEY, json.dumps(stats))
    conn.close()
    return stats


def _database_mib(conn: Any) -> float:
    return float(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]) / 2**20


# -- measuring -----------------------------------------------------------------------------------------------


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def exact_truth(sqlite_dir: Path, queries: list[np.ndarray], dim: int) -> list[set[tuple[str, int]]]:
    """The exact top 10 of each query vector as (video id, window index), streaming SQLite's float32 window
    vectors (the same vectors the PostgreSQL store holds)."""
    q = np.stack([v / np.linalg.norm(v) for v in queries]).astype(np.float32)
    best = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best_pos = np.zeros((len(q), 10), dtype=np.int64)
    names: list[tuple[str, int]] = []
    conn = sqlite3.connect(f"file:{sqlite_dir / 'atlas.db'}?mode=ro", uri=True)
    cursor = conn.execute(
        "SELECT v.video_id, w.idx, w.vector FROM windows w JOIN videos v ON v.pk = w.video_pk"
    )
    while rows := cursor.fetchmany(100_000):
        offset = len(names)
        names.extend((r[0], int(r[1])) for r in rows)
        mat = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), dim)
        sims = np.concatenate([best, q @ mat.T], axis=1)
        positions = np.arange(offset, offset + len(rows), dtype=np.int64)
        all_pos = np.concatenate([best_pos, np.broadcast_to(positions, (len(q), len(rows)))], axis=1)
        top = np.argpartition(-sims, 9, axis=1)[:, :10]
        best, best_pos = np.take_along_axis(sims, top, 1), np.take_along_axis(all_pos, top, 1)
    conn.close()
    return [{names[int(p)] for p in row} for row in best_pos]


def recall(index: Index, queries: list[np.ndarray], truth: list[set[tuple[str, int]]]) -> float:
    hits = []
    for vector, expected in zip(queries, truth, strict=True):
        keys = [c.key for c in index.vector_search(vector, 10, SearchFilters())]
        found = {(w.video.video_id, w.window.index) for w in index.windows(keys)}
        hits.append(len(found & expected) / 10)
    return float(np.mean(hits))


def ef_sweep(
    sqlite_dir: Path, url: str, world: scale.World, n_queries: int, efs: list[int], sample: int
) -> list[dict[str, float]]:
    """PostgreSQL vector_search (k = 10) with the store's minimum ef_search set to each of ``efs``: recall@10
    against the exact top 10 and p50 latency, over ``sample`` queries the timed rows do not use."""
    import atlas.index.postgres_search as pg_search
    from atlas.index.postgres import PostgresIndex

    vectors = [v for _, v in world.queries(n_queries + 20 + sample)][-sample:]
    truth = exact_truth(sqlite_dir, vectors, 384)
    shipped = pg_search.MIN_EF_SEARCH
    rows = []
    with PostgresIndex(url, schema=SCHEMA) as store:
        for vector in vectors[:5]:
            store.vector_search(vector, 10, SearchFilters())  # warm the cache before the first row
        try:
            for ef in efs:
                pg_search.MIN_EF_SEARCH = ef
                took = []
                for vector in vectors:
                    t0 = time.perf_counter()
                    store.vector_search(vector, 10, SearchFilters())
                    took.append(time.perf_counter() - t0)
                found = recall(store, vectors, truth)
                rows.append({"ef": ef, "recall": found, "p50_ms": 1000 * statistics.median(took)})
        finally:
            pg_search.MIN_EF_SEARCH = shipped
    return rows


def measure(
    sqlite_dir: Path, url: str, world: scale.World, n_queries: int, recall_sample: int
) -> dict[str, Any]:
    generated = world.queries(n_queries + 20)
    queries, warm = generated[:n_queries], generated[n_queries:]
    none = SearchFilters()
    narrow = SearchFilters(channels=("channel007",))  # 1 % of the videos
    broad = SearchFilters(after="2020-01-01")  # about half
    with tempfile.TemporaryDirectory(prefix="atlas-pg-local-") as local:
        lite = Library.open(Settings(library_dir=sqlite_dir), create=False)
        shared = Library.open(
            Settings(library_dir=Path(local), store=url), create=False, embedder=lite.embedder
        )
        try:
            libs = {"SQLite": lite, "PostgreSQL": shared}
            cases: dict[str, Callable[[Library, list[str], np.ndarray], object]] = {
                "keyword (k=50)": lambda lib, w, v: lib.index.keyword_search(w, K, none),
                "vector (k=50)": lambda lib, w, v: lib.index.vector_search(v, K, none),
                "keyword, channel 1 %": lambda lib, w, v: lib.index.keyword_search(w, K, narrow),
                "vector, channel 1 %": lambda lib, w, v: lib.index.vector_search(v, K, narrow),
                "keyword, date ~50 %": lambda lib, w, v: lib.index.keyword_search(w, K, broad),
                "vector, date ~50 %": lambda lib, w, v: lib.index.vector_search(v, K, broad),
                "Library.search (hybrid, limit 10)": lambda lib, w, v: lib.search(" ".join(w), limit=10),
            }
            for lib in libs.values():
                for words, vector in warm:
                    for fn in cases.values():
                        fn(lib, words, vector)
            samples: dict[str, dict[str, list[float]]] = {case: {s: [] for s in libs} for case in cases}
            rows_returned: dict[str, dict[str, list[int]]] = {case: {s: [] for s in libs} for case in cases}
            for case, fn in cases.items():
                for i, (words, vector) in enumerate(queries):
                    order = list(libs) if i % 2 == 0 else list(reversed(libs))
                    for name in order:
                        t0 = time.perf_counter()
                        out = fn(libs[name], words, vector)
                        samples[case][name].append(time.perf_counter() - t0)
                        rows_returned[case][name].append(len(out))  # type: ignore[arg-type]
            truth = exact_truth(sqlite_dir, [v for _, v in queries[:recall_sample]], world.dim)
            recalls = {
                name: recall(lib.index, [v for _, v in queries[:recall_sample]], truth)
                for name, lib in libs.items()
            }
            counts = {name: lib.index.counts()["windows"] for name, lib in libs.items()}
        finally:
            shared.close()
            lite.close()
    return {
        "queries": n_queries,
        "windows": counts,
        "latency_ms": {
            case: {s: _pcts(v) for s, v in by_store.items()} for case, by_store in samples.items()
        },
        "mean_rows": {
            case: {s: statistics.fmean(v) for s, v in by_store.items()}
            for case, by_store in rows_returned.items()
        },
        "recall@10": recalls,
        "recall_sample": recall_sample,
    }


def _sqlite_mib(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file()) / 2**20


def _print(r: dict[str, Any]) -> None:
    n = r["windows"]["SQLite"]
    print(f"\nSQLite vs PostgreSQL at {n:,} windows, {r['queries']} queries, same run (ms)\n")
    print(
        "| measure | SQLite p50 | SQLite p95 | PostgreSQL p50 | PostgreSQL p95 "
        "| PG/SQLite p50 | PG/SQLite p95 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case, by_store in r["latency_ms"].items():
        (a50, a95), (b50, b95) = by_store["SQLite"], by_store["PostgreSQL"]
        print(
            f"| {case} | {a50:.2f} | {a95:.2f} | {b50:.2f} | {b95:.2f} "
            f"| {b50 / a50:.2f}x | {b95 / a95:.2f}x |"
        )
    rec = r["recall@10"]
    print(
        f"\nvector recall@10 vs brute force ({r['recall_sample']} queries): "
        f"SQLite {rec['SQLite']:.3f}, PostgreSQL {rec['PostgreSQL']:.3f}"
    )
    short = {
        case: by_store
        for case, by_store in r["mean_rows"].items()
        if case != "Library.search (hybrid, limit 10)" and min(by_store.values()) < K
    }
    for case, by_store in short.items():
        print(f"mean rows returned, {case}: " + ", ".join(f"{s} {v:.1f}" for s, v in by_store.items()))
    b = r["pg_build"]
    print(
        f"PostgreSQL fill: put_video (search indexes dropped) {b['put_s']:.0f} s "
        f"({b['windows'] / b['put_s']:,.0f} windows/s), GIN {b['windows_tsv_build_s']:.0f} s, "
        f"HNSW {b['windows_embedding_build_s']:.0f} s, verify {b['verify_s']:.0f} s, "
        f"VACUUM ANALYZE {b['vacuum_analyze_s']:.0f} s; put_video with both indexes live "
        f"{b['live_put_ms_per_window']:.2f} ms/window"
    )
    print(f"disk: SQLite {r['sqlite_mib']:,.0f} MiB, PostgreSQL database {r['pg_database_mib']:,.0f} MiB")
    if r.get("pg_server_rss_mib"):
        print(
            f"PostgreSQL processes' RSS, summed (shared buffers a backend touched count in each): "
            f"{r['pg_server_rss_mib']:,.0f} MiB"
        )


def _postgres_rss_mib(pid: int) -> float:
    import psutil

    parent = psutil.Process(pid)
    total = 0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend or parallel worker that just ended
            total += process.memory_info().rss
    return total / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-sample", type=int, default=50)
    parser.add_argument(
        "--store",
        default="pgserver",
        help="postgresql://... (its atlas schema is replaced) or pgserver (default: start our own)",
    )
    parser.add_argument("--shared-buffers", default="4GB", help="for the pgserver PostgreSQL")
    parser.add_argument("--rebuild", action="store_true", help="refill the PostgreSQL store")
    parser.add_argument("--fill-only", action="store_true", help="build both stores, measure nothing")
    parser.add_argument("--json", type=Path, metavar="FILE")
    parser.add_argument(
        "--ef-sweep",
        metavar="EF,EF,...",
        help="instead of the latency table: PostgreSQL recall@10 and p50 for each minimum ef_search, e.g. "
        "100,200,400,800 (postgres_search.MIN_EF_SEARCH)",
    )
    args = parser.parse_args(argv)
    sqlite_dir = scale.ensure_library(args.windows, 384)
    world = scale.World(args.windows // scale.WINDOWS_PER_VIDEO, 384)
    with postgres(args.store, args.windows, args.shared_buffers) as url:
        build = ensure_pg_library(url, args.windows, rebuild=args.rebuild)
        if args.fill_only:
            print(json.dumps(build, indent=2))
            return
        if args.ef_sweep:
            efs = [int(ef) for ef in args.ef_sweep.split(",")]
            print(f"{args.windows:,} windows, {args.recall_sample} queries")
            print("| min ef_search | recall@10 | p50 ms |")
            print("|---:|---:|---:|")
            for row in ef_sweep(sqlite_dir, url, world, args.queries, efs, args.recall_sample):
                print(f"| {row['ef']:.0f} | {row['recall']:.3f} | {row['p50_ms']:.1f} |")
            return
        result = measure(sqlite_dir, url, world, args.queries, args.recall_sample)
        conn = _admin(url)
        result["pg_database_mib"] = _database_mib(conn)
        conn.close()
        pid = server_pid(url)
        result["pg_server_rss_mib"] = _postgres_rss_mib(pid) if pid else None
    result["pg_build"] = build
    result["sqlite_mib"] = _sqlite_mib(sqlite_dir)
    result["sqlite_build"] = json.loads((sqlite_dir / "build.json").read_text())
    _print(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
