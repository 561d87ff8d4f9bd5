"""A soak of `atlas serve`: minutes of mixed search, ask and ingest over HTTP; errors and whether RSS grows.

    .venv/bin/python benchmarks/bench_soak.py                    # 8 clients, 600 s
    .venv/bin/python benchmarks/bench_soak.py --duration 60      # quick
    .venv/bin/python benchmarks/bench_soak.py --clients 16 --json benchmarks/results/soak.json

A fresh library is built from the three sample talks (``atlas ingest``, the default embedder) under
``benchmarks/.cache/soak``; then a real ``atlas serve`` subprocess serves it with a write token
(``ATLAS_API_TOKEN``) and ``--allow-dir`` on a folder of generated transcripts. ``--clients`` threads
(each its own keep-alive ``httpx.Client``) loop until ``--duration`` is up, each turn picking:

- ~85 %: ``GET /api/search`` with one of the benchmark's queries about the talks (``queries.jsonl``, 167),
  drawn with Zipf-like weights so popular ones repeat (answered from the server's search cache until the
  next write moves its generation);
- ~10 %: ``POST /api/ask`` with ``{"generator": "extractive"}`` and one of the benchmark's questions (the
  local LLM is too slow for a soak on 2 cores; one answer is generated at a time, so asks queue);
- ~5 %: ``POST /api/ingest`` of a new tiny SRT file (distinct text each time), then ``GET /api/jobs/{id}``
  every 0.25 s until the job is finished (it must be ``done`` with the video ``added``); once more than
  ``--keep`` soak videos are in, the oldest is removed with ``DELETE /api/videos/{id}``, so the library
  churns instead of only growing.

An error is any answer other than the one expected (200, 202 for an ingest), a failed connection, a
malformed body, or an ingest job that did not add its video. The server's resident memory (summed over
its process tree, from /proc) is sampled every ``--sample`` seconds; the report gives it at start, after
the warm-up minute and at the end, its least-squares slope per minute after the warm-up, and the server's
CPU. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_api_load import _cpu_seconds, _free_port, _memory_mib, start_server  # noqa: E402
from bench_quality import DEFAULT_SAMPLES, QUERIES, SAMPLES  # noqa: E402

WORK = HERE / ".cache" / "soak"
KINDS = ("search", "ask", "ingest", "job poll", "ingest→done", "delete")
WARM_UP_S = 60.0
TERMINAL = {"done", "failed", "cancelled", "interrupted"}

# Words for the generated transcripts: each file gets its own sentences, so nothing is "unchanged".
_WORDS = (
    "latency budget cache shard replica token embedding vector index query rerank window sentence "
    "transcript speaker chapter playlist caption gradient batch epoch checkpoint quantize distill rubric "
    "essay grading feedback expert router gating sparse dense mixture cost invoice cloud instance spot "
    "preemptible audio music tempo energy happiness benchmark recall precision baseline ablation"
).split()


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind][what] += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per minute."""
    if len(samples) < 2:
        return float("nan")
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 60 if den else float("nan")


def load_queries() -> tuple[list[str], list[str]]:
    """(search queries, questions for ask) from the quality benchmark's queries about the three talks."""
    rows = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]
    talks = set(SAMPLES)
    queries = [r["query"] for r in rows if r.get("video_id") in talks or not r.get("video_id")]
    questions = [r["query"] for r in rows if r.get("type") == "question"]
    return queries, questions or queries


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}


def build_library(samples: Path, library: Path) -> float:
    """A fresh library of the sample talks, ingested with the default embedder; its seconds."""
    shutil.rmtree(library, ignore_errors=True)
    atlas = Path(sys.executable).with_name("atlas")
    targets = [str(samples / name) for name in SAMPLES.values()]
    started = time.perf_counter()
    command = [str(atlas), "ingest", "--library", str(library), "--progress", "off", *targets]
    subprocess.run(command, env=clean_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def write_srt(folder: Path, number: int, rng: random.Random) -> Path:
    """A tiny SRT transcript, its text unlike any other's; the video id is the file's stem."""
    path = folder / f"soak-{number:05d}.srt"
    cues = []
    for cue in range(rng.randint(4, 10)):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 14)))
        sentence = f"In soak clip {number} part {cue} we discuss {words}."
        start, end = cue * 4, cue * 4 + 3
        cues.append(f"{cue + 1}\n00:00:{start:02d},000 --> 00:00:{end:02d},500\n{sentence}\n")
    path.write_text("\n".join(cues))
    return path


class Soak:
    def __init__(
        self, base: str, token: str, folder: Path, queries: list[str], questions: list[str], keep: int
    ) -> None:
        self.base, self.token, self.folder, self.keep = base, token, folder, keep
        self.queries, self.questions = queries, questions
        # Zipf-like popularity: the first queries are asked far more often than the last ones.
        self.weights = [1 / (rank + 1) ** 0.8 for rank in range(len(queries))]
        self.stats = Stats()
        self.added: deque[str] = deque()
        self.counter = 0
        self.shared = threading.Lock()

    def call(
        self, http: httpx.Client, kind: str, method: str, url: str, expect: int, **kwargs: object
    ) -> dict[str, object] | None:
        started = time.perf_counter()
        try:
            response = http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.stats.fail(kind, type(exc).__name__)
            return None
        elapsed = time.perf_counter() - started
        if response.status_code != expect:
            self.stats.fail(kind, f"HTTP {response.status_code}: {response.text[:200]}")
            return None
        try:
            body = response.json()
        except ValueError:
            self.stats.fail(kind, "not JSON")
            return None
        if not isinstance(body, dict):
            self.stats.fail(kind, "not a JSON object")
            return None
        self.stats.ok(kind, elapsed)
        return body

    def search(self, http: httpx.Client, rng: random.Random) -> None:
        query = rng.choices(self.queries, weights=self.weights)[0]
        body = self.call(http, "search", "GET", "/api/search", 200, params={"q": query, "limit": 10})
        if body is not None and not isinstance(body.get("hits"), list):
            self.stats.fail("search", "no hits list")

    def ask(self, http: httpx.Client, rng: random.Random) -> None:
        question = rng.choice(self.questions)
        body = self.call(
            http, "ask", "POST", "/api/ask", 200, json={"question": question, "generator": "extractive"}
        )
        if body is not None and not isinstance(body.get("answer"), str):
            self.stats.fail("ask", "no answer")

    def ingest(self, http: httpx.Client, rng: random.Random, deadline: float) -> None:
        with self.shared:
            self.counter += 1
            number = self.counter
        path = write_srt(self.folder, number, rng)
        auth = {"Authorization": f"Bearer {self.token}"}
        started = time.perf_counter()
        job = self.call(
            http, "ingest", "POST", "/api/ingest", 202, json={"targets": [str(path)]}, headers=auth
        )
        if job is None:
            return
        job_id = job["id"]
        while job is not None and job.get("state") not in TERMINAL:
            if time.perf_counter() > deadline + 120:
                self.stats.fail("ingest→done", f"job {job_id} still {job.get('state')} 2 min after the end")
                return
            time.sleep(0.25)
            job = self.call(http, "job poll", "GET", f"/api/jobs/{job_id}", 200)
        if job is None:
            return
        outcomes = job.get("outcomes")
        first = outcomes[0] if isinstance(outcomes, list) and outcomes else {}
        if job.get("state") != "done" or not isinstance(first, dict) or first.get("status") != "added":
            self.stats.fail("ingest→done", f"job {job.get('state')}: {json.dumps(outcomes)[:200]}")
            return
        self.stats.ok("ingest→done", time.perf_counter() - started)
        video_id = str(first.get("video_id"))
        victim = None
        with self.shared:
            self.added.append(video_id)
            if len(self.added) > self.keep:
                victim = self.added.popleft()
        if victim is not None:
            body = self.call(http, "delete", "DELETE", f"/api/videos/{victim}", 200, headers=auth)
            if body is not None and body.get("deleted") is not True:
                self.stats.fail("delete", "not deleted")

    def client(self, number: int, deadline: float, seed: int) -> None:
        rng = random.Random(seed * 1000 + number)
        with httpx.Client(base_url=self.base, timeout=180) as http:
            while time.perf_counter() < deadline:
                pick = rng.random()
                try:
                    if pick < 0.85:
                        self.search(http, rng)
                    elif pick < 0.95:
                        self.ask(http, rng)
                    else:
                        self.ingest(http, rng, deadline)
                except Exception as exc:  # a bug in this script or an odd body: counted, not fatal
                    self.stats.fail(
                        "search" if pick < 0.85 else "ask" if pick < 0.95 else "ingest", repr(exc)
                    )


def sample_rss(
    pid: int, began: float, every: float, stop: threading.Event, out: list[tuple[float, float]]
) -> None:
    while True:
        try:
            out.append((time.perf_counter() - began, _memory_mib(pid)[0]))
        except (FileNotFoundError, ProcessLookupError):
            return
        if stop.wait(every):
            return


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--keep", type=int, default=4, help="soak videos kept before the oldest is deleted")
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES, help="the three sample transcripts")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)

    library, folder, log = WORK / "library", WORK / "incoming", WORK / "server.log"
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    build_s = build_library(args.samples, library)
    queries, questions = load_queries()
    token = secrets.token_urlsafe(24)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(library, port, log, token=token, allow=folder.resolve(), wait_seconds=300)
    soak = Soak(base, token, folder.resolve(), queries, questions, args.keep)
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    load_before = loadavg()
    try:
        began = time.perf_counter()
        deadline = began + args.duration
        server_cpu = _cpu_seconds(server.pid)
        sampler = threading.Thread(target=sample_rss, args=(server.pid, began, args.sample, stop, rss))
        sampler.start()
        threads = [
            threading.Thread(target=soak.client, args=(n, deadline, args.seed)) for n in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        load_mid = ""
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            if not load_mid and time.perf_counter() - began > args.duration / 2:
                load_mid = loadavg()
        seconds = time.perf_counter() - began
        server_cores = (_cpu_seconds(server.pid) - server_cpu) / seconds
        stop.set()
        sampler.join()
        rss.append((seconds, _memory_mib(server.pid)[0]))
        peak = _memory_mib(server.pid)[1]
        alive = server.poll() is None
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=60)
    load_after = loadavg()

    stats = soak.stats
    after_warm = [s for s in rss if s[0] >= WARM_UP_S] or rss
    at_minute = min(rss, key=lambda s: abs(s[0] - WARM_UP_S))
    slope = slope_per_minute(after_warm)
    total_errors = sum(sum(c.values()) for c in stats.errors.values()) + (0 if alive else 1)

    print(
        f"\nSoak: {args.clients} clients, {seconds:.0f} s, {os.cpu_count()} CPUs shared;"
        f" library built in {build_s:.0f} s"
    )
    print(f"load average (1/5/15 min): before {load_before}, mid-run {load_mid}, after {load_after}")
    print(f"{'kind':<13}{'requests':>9}{'req/s':>8}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for kind in KINDS:
        done, errors = stats.latencies[kind], sum(stats.errors[kind].values())
        print(
            f"{kind:<13}{len(done) + errors:>9}{(len(done) + errors) / seconds:>8.2f}{errors:>8}"
            f"{percentile(done, 0.5):>10.1f}{percentile(done, 0.99):>10.1f}"
        )
        for what, count in stats.errors[kind].most_common(5):
            print(f"{'':<13}{count} x {what}")
    print(
        f"server RSS MiB: start {rss[0][1]:.0f}, after {at_minute[0]:.0f} s {at_minute[1]:.0f},"
        f" end {rss[-1][1]:.0f}"
        f" (min {min(r for _, r in rss):.0f}, max {max(r for _, r in rss):.0f}, peak VmHWM {peak:.0f});"
        f" slope after {WARM_UP_S:.0f} s: {slope:+.2f} MiB/min over {len(after_warm)} samples"
    )
    print(
        f"server CPU: {server_cores:.2f} cores ({server_cores * seconds:.0f} CPU s);"
        f" soak videos still in: {len(soak.added)}"
    )
    print(f"server {'alive' if alive else 'DIED'} at the end; log: {log}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "clients": args.clients,
            "seconds": seconds,
            "build_s": build_s,
            "load_average": {"before": load_before, "mid": load_mid, "after": load_after},
            "kinds": {
                kind: {
                    "ok": len(stats.latencies[kind]),
                    "errors": dict(stats.errors[kind]),
                    "p50_ms": percentile(stats.latencies[kind], 0.5),
                    "p99_ms": percentile(stats.latencies[kind], 0.99),
                }
                for kind in KINDS
            },
            "rss_samples": rss,
            "rss_slope_mib_per_min": slope,
            "peak_rss_mib": peak,
            "server_cores": server_cores,
        }
        args.json.write_text(json.dumps(summary, indent=2))
    if total_errors:
        raise SystemExit(f"{total_errors} error(s)")


if __name__ == "__main__":
    main()
