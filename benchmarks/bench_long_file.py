"""A 3-hour recording through `atlas ingest`, in a real process: bounded memory, speed and timestamps that do
not drift, against the same talk at its normal length (7.5 minutes) measured in the same run.

    .venv/bin/python benchmarks/bench_long_file.py               # 3 hours: ~15 min on 2 cores
    .venv/bin/python benchmarks/bench_long_file.py --hours 1     # shorter

The long file is bench_asr.py's espeak-ng talk (449 s, 83 known sentences in 15 voices) played again and again
up to the length asked for, encoded as MP3; the short one is the talk once, also MP3. Each is ingested by
``python -m atlas ingest FILE --quiet`` into a fresh library with the default models (tiny.en, MiniLM), and
the child process's peak RSS is read from the kernel (``wait4``) when it exits. Each repetition of the talk is
then scored on its own (its words cut out of the long transcript by time and shifted back by where the
repetition starts): word error rate, and each sentence's start error, so a drift of the timestamps over the
hours would show in the last repetitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.speech import Recording, build_utterances, encode  # noqa: E402

from atlas.config import Settings  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import Segment, Transcript, Word  # noqa: E402
from bench_asr import markdown_table, quantile, score, talk_utterances  # noqa: E402


@dataclass(frozen=True)
class Run:
    name: str
    audio: float
    wall: float
    peak_rss_mb: float
    windows: int
    wer_by_repetition: tuple[float, ...]
    start_errors_by_repetition: tuple[tuple[float, ...], ...]


def repeated(talk: Recording, times: int) -> Recording:
    """The talk ``times`` times in a row, sentence times shifted with it."""
    length = talk.duration
    return Recording(
        np.tile(talk.samples, times),
        talk.rate,
        talk.texts * times,
        tuple(start + k * length for k in range(times) for start in talk.starts),
        tuple(end + k * length for k in range(times) for end in talk.ends),
    )


def ingest(media: Path, library: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``atlas ingest`` of ``media`` in a child process."""
    command = [sys.executable, "-m", "atlas", "ingest", str(media), "--library", str(library), "--quiet"]
    errors = library.with_suffix(".stderr")  # a file, not a pipe: a full pipe would block the child
    with errors.open("w") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"atlas ingest {media.name} failed: {errors.read_text()}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def per_repetition(transcript: Transcript, talk: Recording, times: int) -> list[Transcript]:
    """The long transcript cut into one transcript per repetition of the talk, by word start time, each
    shifted back to the talk's own clock."""
    length = talk.duration
    words: list[list[Word]] = [[] for _ in range(times)]
    for segment in transcript.segments:
        for word in segment.words:
            start = word.start or 0.0
            k = min(times - 1, int(start // length))
            shift = k * length
            words[k].append(Word(word.text, start - shift, (word.end or start) - shift))
    return [
        Transcript(
            segments=(Segment(" ".join(w.text for w in ws), 0.0, length, words=tuple(ws)),),
            origin=transcript.origin,
        )
        for ws in words
    ]


def measure(name: str, talk: Recording, times: int, folder: Path) -> Run:
    recording = repeated(talk, times)
    media = encode(recording, folder / f"{name}.mp3")
    library = folder / f"{name}-library"
    wall, rss = ingest(media, library)
    with Library.open(Settings(library_dir=library)) as lib:
        (video,) = lib.list_videos()
        record = lib.get_record(video.video_id)
    scored = [score(part, talk) for part in per_repetition(record.transcript, talk, times)]
    return Run(
        name,
        recording.duration,
        wall,
        rss,
        len(record.windows),
        tuple(wer for wer, _ in scored),
        tuple(errors for _, errors in scored),
    )


def render(runs: list[Run]) -> str:
    return markdown_table(
        "file|audio|wall s|× real time|vs 7.5 min|peak RSS|vs 7.5 min|windows|WER|"
        "start p50 / p90, first talk|start p50 / p90, last talk",
        (run_cells(run, runs[0]) for run in runs),
    )


def run_cells(run: Run, short: Run) -> tuple[str, ...]:
    first, last = run.start_errors_by_repetition[0], run.start_errors_by_repetition[-1]
    return (
        run.name,
        f"{run.audio / 60:.1f} min",
        f"{run.wall:.0f}",
        f"{run.audio / run.wall:.1f}×",
        f"{(run.audio / run.wall) / (short.audio / short.wall):.2f}×",
        f"{run.peak_rss_mb:.0f} MB",
        f"{run.peak_rss_mb / short.peak_rss_mb:.2f}×",
        str(run.windows),
        f"{statistics.mean(run.wer_by_repetition):.1%}",
        f"{statistics.median(first):.2f} / {quantile(first, 0.9):.2f} s",
        f"{statistics.median(last):.2f} / {quantile(last, 0.9):.2f} s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=3.0, help="length of the long file")
    args = parser.parse_args()
    talk = build_utterances(talk_utterances())
    times = max(2, round(args.hours * 3600 / talk.duration))
    print(f"talk {talk.duration:.0f} s, long file {times} times that, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for name, count in (("talk", 1), (f"talk-x{times}", times)):
            runs.append(measure(name, talk, count, Path(tmp)))
            print(f"  {name}: {runs[-1].wall:.0f} s, peak RSS {runs[-1].peak_rss_mb:.0f} MB", flush=True)
    print()
    print(render(runs))
    long = runs[-1]
    print(f"\nWER per repetition of the long file: {', '.join(f'{w:.1%}' for w in long.wer_by_repetition)}")


if __name__ == "__main__":
    main()
