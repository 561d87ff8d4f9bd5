"""HTTP load on `atlas serve`: concurrent clients searching a big library over loopback.

    .venv/bin/python benchmarks/bench_api_load.py              # 200,000 windows, 1/8/32 clients, 60 s
    .venv/bin/python benchmarks/bench_api_load.py --clients 8 --duration 20
    .venv/bin/python benchmarks/bench_api_load.py --windows 1000000 --json benchmarks/results/api-load.json
    .venv/bin/python benchmarks/bench_api_load.py --windows 20000 --clients 16 --duration 15   # quick
    .venv/bin/python benchmarks/bench_api_load.py --workers 2 --queries 20000   # 2 processes, no repeats
    .venv/bin/python benchmarks/bench_api_load.py --server-src /tmp/atlas-head/src   # another checkout
    .venv/bin/python benchmarks/bench_api_load.py --store pgserver --workers 4 --clients 16   # on PostgreSQL

The library is the synthetic one ``bench_index_scale.py`` builds and caches (built first when missing; it
records the real MiniLM identity, so the server embeds every query with the real model). The server runs as
a real ``atlas serve`` subprocess; each level runs N clients on one asyncio loop in this process, each client
sending its next ``GET /api/search?q=...&limit=10`` as soon as the last one answered, for ``--duration``
seconds. Queries are the synthetic library's own (2-5 words mixing topical and Zipf words, so BM25 has real
matches). Reported per level: requests/s (and its ratio to one client, measured in the same run), latency
p50/p99, errors (non-200 answers or failed connections; the target is 0), the server's resident memory
(now and its peak, summed over its worker processes) read from /proc, and the CPU the server and this
load generator used (cores: CPU seconds per second; both share the machine).

``--store pgserver`` (or ``--store postgresql://...``) serves the same synthetic library from the
PostgreSQL store instead, filled and cached by ``bench_store_latency.py`` (``pgserver`` starts a PostgreSQL
of our own and stops it at the end); the server runs ``atlas serve --store URL`` and the table adds the
database's CPU (``db CPU``: the PostgreSQL processes' CPU seconds per second, when it runs on this machine).

``--queries`` distinct queries are cycled: with 500 (the default) most requests repeat an earlier query,
as a server's users do, and are answered from the search cache; ``--queries 20000`` makes nearly every
request a new search.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_index_scale as scale  # noqa: E402

MIN_WINDOWS = 10_000


@dataclass
class Level:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    rss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    server_cores: float = 0.0  # the server's CPU seconds per second over the level
    db_cores: float | None = None  # the PostgreSQL server's (--store, when it runs on this machine)
    client_cores: float = 0.0  # this process's (the load generator's)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU per answered request: what a request costs, whatever else shares the machine."""
        return (
            self.server_cores * self.seconds / len(self.latencies) * 1000 if self.latencies else float("nan")
        )

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            todo.extend(int(c) for c in children)
    return pids


def _memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process and its children, each summed, in MiB."""
    rss = peak = 0.0
    for member in _tree(pid):
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{member}/status").read_text().splitlines()
            if ":" in line
        )
        rss += int(fields["VmRSS"].split()[0]) / 1024
        peak += int(fields["VmHWM"].split()[0]) / 1024
    return rss, peak


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (alive ones)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in _tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_server(
    library: Path,
    port: int,
    log: Path,
    *,
    workers: int = 1,
    source: Path | None = None,
    token: str | None = None,
    allow: Path | None = None,
    wait_seconds: float = 600,
    store: str | None = None,
) -> subprocess.Popen[bytes]:
    """``atlas serve`` on ``port``; its log (tracebacks of any 500) goes to ``log``. ``source``: run the
    ``atlas`` package found there instead (a ``src`` folder of another checkout, to compare in one run).
    ``token`` and ``allow``: a write token and one folder the API may ingest from (bench_soak.py).
    ``store``: serve the PostgreSQL store at that URL (``library`` then holds only the local state)."""
    atlas = Path(sys.executable).with_name("atlas")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    if token is not None:
        env["ATLAS_API_TOKEN"] = token
    command = [str(atlas), "serve", "--library", str(library), "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    if allow is not None:
        command += ["--allow-dir", str(allow)]
    if store is not None:
        command += ["--store", store]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_seconds
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"atlas serve exited:\n{log.read_text()}")
            try:
                if http.get("/api/health").status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"atlas serve did not answer within {wait_seconds:g} s")
            time.sleep(0.5)


async def run_level(
    base: str, queries: list[str], clients: int, duration: float, pid: int, db_pid: int | None = None
) -> Level:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        level = Level(clients, duration)
        deadline = time.perf_counter() + duration

        async def client(number: int) -> None:
            turn = number
            while time.perf_counter() < deadline:
                query = queries[turn % len(queries)]
                turn += clients
                started = time.perf_counter()
                try:
                    response = await http.get("/api/search", params={"q": query, "limit": 10})
                except httpx.HTTPError as exc:
                    level.errors[type(exc).__name__] += 1
                    continue
                if response.status_code != 200 or "hits" not in response.json():
                    level.errors[f"HTTP {response.status_code}"] += 1
                    continue
                level.latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        server_cpu, client_cpu = _cpu_seconds(pid), time.process_time()
        db_cpu = _cpu_seconds(db_pid) if db_pid is not None else 0.0
        await asyncio.gather(*(client(n) for n in range(clients)))
        level.seconds = time.perf_counter() - began  # includes the requests in flight at the deadline
        level.server_cores = (_cpu_seconds(pid) - server_cpu) / level.seconds
        if db_pid is not None:  # backends that exited during the level drop out: connections persist here
            level.db_cores = (_cpu_seconds(db_pid) - db_cpu) / level.seconds
        level.client_cores = (time.process_time() - client_cpu) / level.seconds
    level.rss_mib, level.peak_rss_mib = _memory_mib(pid)
    return level


def in_process_ms(library: Path, queries: list[str], store: str | None = None) -> float:
    """p50 of ``Library.search`` called directly, one query at a time: the floor under one HTTP client."""
    from atlas.config import Settings
    from atlas.library import Library

    with Library.open(Settings(library_dir=library, store=store), create=False) as lib:
        lib.search("warm up", limit=10)
        times = []
        for query in queries:
            started = time.perf_counter()
            lib.search(query, limit=10)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--windows", type=int, default=200_000, help=f"library size (at least {MIN_WINDOWS:,})"
    )
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="atlas serve --workers")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="serve from PostgreSQL: postgresql://... (its atlas schema is filled with the synthetic library "
        "unless it holds it) or pgserver (start our own; see bench_store_latency.py)",
    )
    parser.add_argument(
        "--server-src",
        type=Path,
        metavar="DIR",
        help="serve the atlas package in DIR (another checkout's src)",
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    if args.windows < MIN_WINDOWS:
        parser.error(f"--windows must be at least {MIN_WINDOWS:,}")
    levels = sorted({int(c) for c in args.clients.split(",")})
    if 1 not in levels:
        levels.insert(0, 1)  # the baseline the other levels are compared with

    world = scale.World(args.windows // scale.WINDOWS_PER_VIDEO, 384)
    queries = [" ".join(words) for words, _ in world.queries(args.queries)]
    with contextlib.ExitStack() as stack:
        store: str | None = None
        db_pid: int | None = None
        if args.store:
            import bench_store_latency as stores

            store = stack.enter_context(stores.postgres(args.store, args.windows))
            stores.ensure_pg_library(store, args.windows, rebuild=args.rebuild)
            db_pid = stores.server_pid(store)
            directory = HERE / ".cache" / "api-load-pg-local"  # the server's local state only
            directory.mkdir(parents=True, exist_ok=True)
        else:
            directory = scale.ensure_library(args.windows, 384, rebuild=args.rebuild)
        direct_ms = in_process_ms(directory, queries[:100], store)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        log = HERE / ".cache" / "api-load-server.log"
        server = start_server(directory, port, log, workers=args.workers, source=args.server_src, store=store)
        startup = time.perf_counter() - started
        results: list[Level] = []
        try:
            idle_rss = _memory_mib(server.pid)[0]
            asyncio.run(run_level(base, queries, 2, 3.0, server.pid))  # warm caches; not reported
            for clients in levels:
                results.append(
                    asyncio.run(run_level(base, queries, clients, args.duration, server.pid, db_pid))
                )
        finally:
            server.terminate()
            server.wait(timeout=60)

    one = results[0].rate
    print(f"\nGET /api/search over loopback, {args.windows:,} windows, {args.duration:.0f} s per level")
    print(f"server: {args.server_src or 'this checkout'}, --workers {args.workers}; {args.queries} queries")
    print(f"store: {'PostgreSQL (' + args.store.split('@')[-1] + ')' if args.store else 'SQLite (embedded)'}")
    print(f"server start-up {startup:.1f} s, idle RSS {idle_rss:.0f} MiB, {os.cpu_count()} CPUs shared")
    overhead = results[0].percentile(0.5) / direct_ms
    print(
        f"in-process Library.search p50 {direct_ms:.1f} ms; one HTTP client's p50 is {overhead:.2f}x that\n"
    )
    header: tuple[str, ...] = (
        "clients",
        "requests",
        "req/s",
        "vs 1",
        "p50 ms",
        "p99 ms",
        "errors",
        "RSS MiB",
        "peak",
    )
    header += ("srv CPU", "ms CPU/req", "load CPU", "db CPU")
    widths = (7, 10, 8, 7, 9, 9, 8, 9, 7, 9, 11, 9, 8)
    print("".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    for level in results:
        errors = sum(level.errors.values())
        print(
            f"{level.clients:>7}{len(level.latencies):>10}{level.rate:>8.1f}{level.rate / one:>6.2f}x"
            f"{level.percentile(0.5):>9.1f}{level.percentile(0.99):>9.1f}{errors:>8}"
            f"{level.rss_mib:>9.0f}{level.peak_rss_mib:>7.0f}"
            f"{level.server_cores:>9.2f}{level.cpu_ms_per_request:>11.1f}{level.client_cores:>9.2f}"
            + (f"{level.db_cores:>8.2f}" if level.db_cores is not None else f"{'-':>8}")
        )
        if errors:
            print(f"{'':>7}errors: {dict(level.errors)} (server log: {log})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                **{k: v for k, v in asdict(level).items() if k not in ("latencies", "errors")},
                "requests": len(level.latencies),
                "requests_per_s": level.rate,
                "p50_ms": level.percentile(0.5),
                "p99_ms": level.percentile(0.99),
                "server_cpu_ms_per_request": level.cpu_ms_per_request,
                "mean_ms": statistics.fmean(level.latencies) * 1000 if level.latencies else None,
                "errors": dict(level.errors),
            }
            for level in results
        ]
        summary = {
            "windows": args.windows,
            "workers": args.workers,
            "store": "postgresql" if args.store else "sqlite",
            "queries": args.queries,
            "server_src": str(args.server_src) if args.server_src else None,
            "startup_s": startup,
            "idle_rss_mib": idle_rss,
            "in_process_p50_ms": direct_ms,
        }
        args.json.write_text(json.dumps({**summary, "levels": rows}, indent=2))


if __name__ == "__main__":
    main()
