"""Ingest throughput on Ray (`atlas ingest --ray`) against the serial ingest, and Ray's per-item overhead.

    .venv/bin/python benchmarks/bench_ray_ingest.py             # each row twice, 40 tiny files: ~8 min
    .venv/bin/python benchmarks/bench_ray_ingest.py --items 16  # more recordings

Speech rows: ``--items`` espeak-ng recordings (WAV, five sentences each, ~25 s) ingested into a fresh library
(decode + Whisper tiny.en + chunk + MiniLM + index): serially in this process as `atlas ingest` does (its
default threads: Whisper workers per core), serially with one thread (what one Ray worker runs), and on a
local Ray cluster (a real one: GCS, raylet and one worker process per actor, started with ``ray.init``) with
1 and 2 workers. A Ray row's wall time counts everything the ingest call does on a running cluster: the actors
started and their models loaded, every item read, transcribed, embedded and written by the driver; starting
the cluster itself is shown apart ("cluster start"). Columns: audio (s), wall (s), hours of audio per hour of
wall time, and the machine's busy cores meanwhile (/proc/stat, all processes: Ray's are children).

Overhead rows: ``--tiny`` one-cue WebVTT files (no speech recognition) read, chunked and embedded by the same
worker code, once called in this process and once through a warm Ray actor (two calls per item, the
transcript sent to it and the record with its vectors sent back): the difference per item is what going
through Ray costs. ``--repeat`` runs each row that many times, interleaved, and keeps the fastest.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.speech import SENTENCES, build_recording, write_wav  # noqa: E402

from atlas.config import Settings  # noqa: E402
from atlas.ingest_report import IngestReport  # noqa: E402
from atlas.library import Library  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    items: int
    audio: float
    wall: float
    busy: float  # cores busy on the machine during the row

    @property
    def rate(self) -> float:
        return self.audio / self.wall if self.wall else 0.0


def busy_cpu_seconds() -> float:
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def make_recordings(folder: Path, count: int) -> float:
    """``count`` WAV files of five sentences each; their total duration in seconds."""
    total = 0.0
    for index in range(count):
        texts = [SENTENCES[(index + k) % len(SENTENCES)][0] for k in range(5)]
        recording = build_recording(texts, lead=0.5, gap=1.0, tail=0.5)
        write_wav(recording, folder / f"talk-{index:03d}.wav")
        total += recording.duration
    return total


def make_tiny(folder: Path, count: int) -> None:
    for index in range(count):
        text = SENTENCES[index % len(SENTENCES)][0]
        (folder / f"cue-{index:03d}.vtt").write_text(
            f"WEBVTT\n\n00:00:01.000 --> 00:00:06.000\n{text} (number {index})\n"
        )


def measure(
    name: str,
    folder: Path,
    audio: float,
    run: Callable[[Library, list[str]], IngestReport],
    threads: int | None,
) -> Row:
    with (
        tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp,
        Library.open(Settings(library_dir=Path(tmp) / "library", threads=threads)) as lib,
    ):
        lib.embedder  # noqa: B018  the driver's model loaded before the clock starts, as for every row
        started, busy_started = time.perf_counter(), busy_cpu_seconds()
        report = run(lib, [str(folder)])
        wall = time.perf_counter() - started
        busy = (busy_cpu_seconds() - busy_started) / wall
    statuses = {o.status for o in report.outcomes}
    assert statuses == {"added"}, report.outcomes
    return Row(name, len(report.outcomes), audio, wall, busy)


def serial(lib: Library, targets: list[str]) -> IngestReport:
    return lib.ingest(targets)


def on_ray(workers: int) -> Callable[[Library, list[str]], IngestReport]:
    from atlas.cluster import ingest_on_ray

    def run(lib: Library, targets: list[str]) -> IngestReport:
        return ingest_on_ray(lib, targets, address="local", workers=workers)

    return run


def start_ray(cpus: int) -> float:
    import logging

    import ray

    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    return time.perf_counter() - started


def overhead_ms(folder: Path, rounds: int) -> tuple[float, float, float]:
    """Per item, in ms: an item's two calls (read, prepare) made on a warm Ray actor, the same two made in
    this process, and the difference: what going through Ray costs an item (scheduling, the transcript sent
    to the worker, the record with its vectors sent back). The fastest of ``rounds`` interleaved rounds."""
    import ray

    from atlas.cluster.ray_ingest import IngestWorker
    from atlas.models import IngestOptions
    from atlas.sources.base import Ingestible, SourceContext

    targets = sorted(str(path) for path in folder.iterdir())
    options, context = IngestOptions(), SourceContext()
    local = IngestWorker("all-MiniLM-L6-v2", 1)
    local.ready()
    actor = ray.remote(IngestWorker).options(num_cpus=1).remote("all-MiniLM-L6-v2", 1)
    ray.get(actor.ready.remote())
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        lib = Library.open(Settings(library_dir=Path(tmp) / "library", threads=1))
        lib.embedder  # noqa: B018
        checked = {}
        for target in targets:
            (item,) = local.read(target, options, context)
            assert isinstance(item, Ingestible)
            checked[target] = lib.check(item, target=target)
        lib.close()

    def in_process() -> None:
        for target in targets:
            local.read(target, options, context)
            local.prepare(checked[target])

    def on_actor() -> None:
        for target in targets:
            ray.get(actor.read.remote(target, options, context))
            ray.get(actor.prepare.remote(checked[target]))

    best = {in_process: float("inf"), on_actor: float("inf")}
    for _ in range(rounds):
        for run in best:
            started = time.perf_counter()
            run()
            best[run] = min(best[run], (time.perf_counter() - started) / len(targets))
    ray.kill(actor)
    return 1000 * best[in_process], 1000 * best[on_actor], 1000 * (best[on_actor] - best[in_process])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=8, help="speech recordings (~25 s each)")
    parser.add_argument("--tiny", type=int, default=40, help="one-cue transcript files for the overhead rows")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each row, interleaved; the fastest kept"
    )
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="bench-ray-data-") as tmp:
        speech, tiny = Path(tmp) / "speech", Path(tmp) / "tiny"
        speech.mkdir()
        tiny.mkdir()
        audio = make_recordings(speech, args.items)
        make_tiny(tiny, args.tiny)
        print(f"{args.items} recordings, {audio:.0f} s of audio; {args.tiny} one-cue transcripts", flush=True)
        best: dict[str, Row] = {}
        starts: dict[int, float] = {}

        def keep(row: Row) -> None:
            print(f"  {row.name}: {row.wall:.1f} s (busy cores {row.busy:.2f})", flush=True)
            if row.name not in best or row.wall < best[row.name].wall:
                best[row.name] = row

        overhead = (0.0, 0.0, 0.0)
        for _ in range(args.repeat):
            keep(measure("serial (atlas ingest, default threads)", speech, audio, serial, None))
            keep(measure("serial, 1 thread", speech, audio, serial, 1))
            for workers in (1, 2):
                starts[workers] = start_ray(workers)
                try:
                    name = f"Ray, {workers} worker{'s' * (workers > 1)}"
                    keep(measure(name, speech, audio, on_ray(workers), 1))
                    if workers == 1 and overhead == (0.0, 0.0, 0.0):
                        overhead = overhead_ms(tiny, 3)
                finally:
                    ray.shutdown()
    rows = list(best.values())
    print()
    print(
        f"Speech: {args.items} WAV recordings, {audio:.0f} s of audio, Whisper tiny.en + MiniLM, "
        f"{os.cpu_count()} cores, fastest of {args.repeat}"
    )
    print()
    print("| run | items | audio s | wall s | h audio / h wall | vs serial | busy cores |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.name} | {row.items} | {row.audio:.0f} | {row.wall:.1f} | {row.rate:.1f} | "
            f"{rows[0].wall / row.wall:.2f}× | {row.busy:.2f} |"
        )
    print()
    print(f"cluster start (ray.init, not in the rows): 1 CPU {starts[1]:.1f} s, 2 CPUs {starts[2]:.1f} s")
    local, through, cost = overhead
    print()
    print(f"Per item, {args.tiny} one-cue transcripts (read + chunk + embed, no store), fastest of 3 rounds:")
    print()
    print("| path | ms per item |")
    print("| --- | ---: |")
    print(f"| in this process | {local:.1f} |")
    print(f"| through a warm Ray actor | {through:.1f} |")
    print(f"| overhead of going through Ray | {cost:.1f} |")


if __name__ == "__main__":
    main()
