"""Chapter boundaries against talks whose topic changes are known.

    .venv/bin/python benchmarks/bench_chapters.py             # text composites + one spoken composite: ~3 min
    .venv/bin/python benchmarks/bench_chapters.py --no-audio  # text composites only
    .venv/bin/python benchmarks/bench_chapters.py --sweep     # + the settings that were tried (dev split)
    .venv/bin/python benchmarks/bench_chapters.py --samples   # + the chapters of the three real samples

**Text composites.** Each is a "talk" stitched from 4-6 excerpts of six different real talks (the three
samples, the two espeak-ng talks' text and the rolling-caption VTT of benchmarks/talks/), each excerpt a run
of 3-10 minutes starting at a random line, so a topic (and a speaker) changes exactly where one excerpt
ends. Words get times at 150 words per minute (the untimed samples have none of their own). Each goes in
through ``Library.add`` with the bundled MiniLM, as any transcript does; the chapters are then computed from
the stored sentence vectors, as ``atlas chapters`` does. 24 composites, seeds 1-12 ``dev`` (settings were
chosen on these) and 13-24 ``test``.

**Spoken composite.** Four excerpts of four talks (about 100 s each: ML serving costs, a motion-sensor
teardown, an ML-infrastructure lecture, podcast advertising) spoken by
espeak-ng with the same voice and the same 0.3-0.8 s pauses everywhere (no longer pause marks a topic
change), encoded as MP3 and ingested through ``Library.ingest`` (faster-whisper tiny.en, real ASR): the
boundaries are where espeak-ng started the first line of each excerpt.

Columns: for each true boundary, the distance to the nearest predicted chapter start (seconds): median and
share within ±15 s and ±30 s; "precision @30" is the share of predicted boundaries within 30 s of a true one
(a segmenter that cut every 20 s would find every boundary and score low here); chapters found vs true.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from benchmarks.quality_talks import read_rolling_lines, read_talk_lines  # noqa: E402

from atlas.chapters.base import Segmenter  # noqa: E402
from atlas.chapters.optimal import Optimal  # noqa: E402
from atlas.chapters.service import ChapterOptions, chapters_of  # noqa: E402
from atlas.chapters.texttiling import TextTiling  # noqa: E402
from atlas.config import Settings  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import Segment, Transcript, Video, Word  # noqa: E402
from atlas.sources.base import Ingestible  # noqa: E402
from atlas.sources.transcript_files import load_transcript  # noqa: E402

CACHE = HERE / ".cache"
LIBRARY = CACHE / "chapters-library"
AUDIO = CACHE / "chapters-audio"
WORDS_PER_SECOND = 2.5
SAMPLES = REPO / "samples"
TALKS = HERE / "talks"


# -- the talks excerpts come from ----------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def source_lines() -> dict[str, list[str]]:
    """Each source talk as a list of spoken lines (sentences where the text has punctuation)."""
    talks: dict[str, list[str]] = {}
    for name in ("berkeley-ai-rubric-lecture.whisper.txt", "mixture-of-experts-meetup.txt"):
        transcript = load_transcript(SAMPLES / name)
        text = " ".join(s.text for s in transcript.segments)
        talks[name.split(".")[0]] = _sentences(text)
    lines = (SAMPLES / "normconf-ml-cost-talk.txt").read_text(encoding="utf-8")
    talks["normconf-ml-cost-talk"] = _sentences(lines)
    for name in ("pir-sensor-teardown", "podnews-weekly-review"):
        talks[name] = _sentences(" ".join(line.text for line in read_talk_lines(TALKS / f"{name}.txt")))
    rolling = read_rolling_lines(TALKS / "buzzcast-video-experiment.en.vtt")
    talks["buzzcast-video-experiment"] = [text for _, _, text in rolling]
    # The MoE meetup opens with a few lines of set-up chatter: skip its title block.
    talks["mixture-of-experts-meetup"] = talks["mixture-of-experts-meetup"][4:]
    return talks


def spoken_lines(talks: dict[str, list[str]]) -> dict[str, list[str]]:
    """The talks as espeak-ng says them: the audio talks' own spoken lines (their text has few full stops,
    so ``source_lines`` makes long runs of them), the others as in ``source_lines``."""
    lines = dict(talks)
    for name in ("pir-sensor-teardown", "podnews-weekly-review"):
        lines[name] = [line.text for line in read_talk_lines(TALKS / f"{name}.txt")]
    return lines


def take(lines: Sequence[str], begin: int, words: int) -> list[str]:
    """Lines from ``begin`` until at least ``words`` words are taken."""
    out: list[str] = []
    count = 0
    for line in lines[begin:]:
        out.append(line)
        count += len(line.split())
        if count >= words:
            break
    return out


# -- text composites -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composite:
    video_id: str
    split: str
    parts: tuple[tuple[str, tuple[str, ...]], ...]  # (source talk, its lines)

    def transcript(self) -> tuple[Transcript, list[float]]:
        """Segments with word times at 150 wpm, and where each part starts (seconds)."""
        segments: list[Segment] = []
        starts: list[float] = []
        clock = 0
        for _, lines in self.parts:
            starts.append(clock / WORDS_PER_SECOND)
            for line in lines:
                tokens = line.split()
                words = tuple(
                    Word(t, (clock + i) / WORDS_PER_SECOND, (clock + i + 0.9) / WORDS_PER_SECOND)
                    for i, t in enumerate(tokens)
                )
                segments.append(Segment(line, words[0].start, words[-1].end, words))
                clock += len(tokens)
        return Transcript(tuple(segments), origin="bench:composite"), starts


def composites(talks: dict[str, list[str]]) -> list[Composite]:
    out: list[Composite] = []
    names = sorted(talks)
    for seed in range(1, 25):
        rng = random.Random(seed)
        chosen = rng.sample(names, rng.randint(4, 6))
        parts = []
        for name in chosen:
            lines = talks[name]
            words = int(rng.uniform(180, 600) * WORDS_PER_SECOND)  # 3-10 minutes
            # Start anywhere that leaves room for the excerpt.
            total = sum(len(line.split()) for line in lines)
            room = max(0, total - words)
            begin_words = rng.randint(0, room)
            begin, seen = 0, 0
            while begin < len(lines) and seen + len(lines[begin].split()) <= begin_words:
                seen += len(lines[begin].split())
                begin += 1
            parts.append((name, tuple(take(lines, begin, words))))
        out.append(Composite(f"composite-{seed:02d}", "dev" if seed <= 12 else "test", tuple(parts)))
    return out


def ingest_composites(lib: Library, items: list[Composite]) -> dict[str, list[float]]:
    truth: dict[str, list[float]] = {}
    for item in items:
        transcript, starts = item.transcript()
        video = Video(item.video_id, item.video_id, f"bench:{item.video_id}", kind="transcript")
        lib.add(Ingestible(video, transcript))
        truth[item.video_id] = starts[1:]
    return truth


# -- spoken composite ----------------------------------------------------------------------------------------

SPOKEN = (  # (talk, first line, words): ~100 s each at 175 wpm
    ("normconf-ml-cost-talk", 120, 290),
    ("pir-sensor-teardown", 40, 290),
    ("berkeley-ai-rubric-lecture", 400, 290),
    ("podnews-weekly-review", 60, 290),
)


def spoken_composite(talks: dict[str, list[str]]) -> tuple[Path, list[float]]:
    """The MP3 (made once) and where each excerpt after the first starts."""
    import json

    from tests.speech import Utterance, build_utterances, encode

    AUDIO.mkdir(parents=True, exist_ok=True)
    mp3, truth_file = AUDIO / "spoken-composite.mp3", AUDIO / "truth" / "spoken-composite.json"
    utterances: list[Utterance] = []
    firsts: list[int] = []
    rng = random.Random(5)
    talks = spoken_lines(talks)
    for name, begin, words in SPOKEN:
        firsts.append(len(utterances))
        for line in take(talks[name], begin, words):
            utterances.append(Utterance(line, rng.uniform(0.3, 0.8)))
    key = json.dumps([u.text for u in utterances])
    if mp3.exists() and truth_file.exists():
        saved = json.loads(truth_file.read_text())
        if saved["key"] == key:
            return mp3, list(saved["boundaries"])
    recording = build_utterances(utterances, lead=1.0, tail=1.0)
    encode(recording, mp3)
    boundaries = [recording.starts[i] for i in firsts[1:]]
    truth_file.parent.mkdir(parents=True, exist_ok=True)
    truth_file.write_text(json.dumps({"key": key, "boundaries": boundaries}))
    return mp3, boundaries


# -- scoring -------------------------------------------------------------------------------------------------


@dataclass
class Score:
    errors: list[float]  # per true boundary: distance to the nearest predicted one
    predicted_near: int  # predicted boundaries within 30 s of a true one
    predicted: int
    true: int
    seconds: float

    def row(self, label: str, talks: int) -> list[str]:
        errors = self.errors
        within = lambda s: sum(e <= s for e in errors) / len(errors)  # noqa: E731
        return [
            label,
            str(talks),
            f"{statistics.median(errors):.1f}",
            f"{within(15):.0%}",
            f"{within(30):.0%}",
            f"{self.predicted_near / max(self.predicted, 1):.0%}",
            f"{self.predicted / talks + 1:.1f} / {self.true / talks + 1:.1f}",
            f"{1000 * self.seconds / talks:.0f}",
        ]


def score(predicted: Sequence[float], truth: Sequence[float]) -> tuple[list[float], int]:
    errors = [min((abs(p - t) for p in predicted), default=float("inf")) for t in truth]
    near = sum(1 for p in predicted if truth and min(abs(p - t) for t in truth) <= 30)
    return errors, near


def evaluate(
    lib: Library, truth: dict[str, list[float]], options: ChapterOptions, segmenter: Segmenter | None = None
) -> Score:
    total = Score([], 0, 0, 0, 0.0)
    for video_id, boundaries in truth.items():
        record = lib.get_record(video_id)
        started = time.perf_counter()
        result = chapters_of(record, options, segmenter=segmenter)
        total.seconds += time.perf_counter() - started
        predicted = [c.start for c in result.chapters[1:] if c.start is not None]
        errors, near = score(predicted, boundaries)
        total.errors += errors
        total.predicted_near += near
        total.predicted += len(predicted)
        total.true += len(boundaries)
    return total


def markdown_table(head: str, rows: Sequence[Sequence[str]]) -> str:
    names = head.split("|")
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join(["---"] + ["---:"] * (len(names) - 1)) + "|"]
    lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
    return "\n".join(lines)


HEAD = (
    "segmenter|talks|median error s|within ±15 s|within ±30 s|precision @30|chapters found / true|ms per talk"
)


# -- main ----------------------------------------------------------------------------------------------------


def sweep_rows(lib: Library, truth: dict[str, list[float]]) -> list[list[str]]:
    rows = []
    candidates: list[tuple[str, Callable[[], Segmenter], ChapterOptions]] = []
    for block in (60.0, 90.0, 120.0):
        for cutoff in (0.0, 1.0, 1.5, 2.0):
            candidates.append(
                (
                    f"texttiling block {block:g} s cutoff {cutoff:g}",
                    lambda b=block, c=cutoff: TextTiling(b, c),
                    ChapterOptions(),
                )
            )
    for beta in (0.01, 0.015, 0.02, 0.025, 0.03, 0.04):
        candidates.append((f"optimal beta {beta:g}", lambda b=beta: Optimal(b), ChapterOptions()))
    for minimum in (30.0, 120.0):
        candidates.append(
            (f"optimal default, min {minimum:g} s", Optimal, ChapterOptions(min_seconds=minimum))
        )
    for label, make, options in candidates:
        rows.append(evaluate(lib, truth, options, make()).row(label, len(truth)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-audio", action="store_true", help="skip the spoken composite (ASR)")
    parser.add_argument("--sweep", action="store_true", help="also print the settings tried, on dev")
    parser.add_argument("--samples", action="store_true", help="also print the chapters of the three samples")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    talks = source_lines()
    items = composites(talks)
    with Library.open(Settings(library_dir=LIBRARY, threads=args.threads)) as lib:
        started = time.perf_counter()
        truth = ingest_composites(lib, items)
        print(f"{len(items)} text composites ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        by_split = {
            split: {
                v: t for v, t in truth.items() if any(i.video_id == v and i.split == split for i in items)
            }
            for split in ("dev", "test")
        }
        if args.sweep:
            print("\n### Settings tried (dev)\n")
            print(markdown_table(HEAD, sweep_rows(lib, by_split["dev"])))
        rows = []
        for name in ("optimal", "texttiling"):
            options = ChapterOptions(segmenter=name)
            for split in ("dev", "test"):
                rows.append(
                    evaluate(lib, by_split[split], options).row(
                        f"{name}, text, {split}", len(by_split[split])
                    )
                )
        if not args.no_audio:
            mp3, boundaries = spoken_composite(talks)
            started = time.perf_counter()
            report = lib.ingest([str(mp3)])
            assert not report.failed, report.failed
            video_id = report.outcomes[0].video_id or ""
            print(f"spoken composite ingested in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            for name in ("optimal", "texttiling"):
                spoken = evaluate(lib, {video_id: boundaries}, ChapterOptions(segmenter=name))
                rows.append(spoken.row(f"{name}, spoken (ASR)", 1))
        print("\n### Boundaries\n")
        print(markdown_table(HEAD, rows))
        if args.samples:
            print_samples(args.threads)


def print_samples(threads: int | None) -> None:
    with Library.open(Settings(library_dir=CACHE / "chapters-samples", threads=threads)) as lib:
        lib.ingest([str(p) for p in sorted(SAMPLES.iterdir())])
        for video in lib.list_videos():
            result = lib.chapters(video.video_id)
            print(f"\n{video.video_id}: {len(result.chapters)} chapters")
            for chapter in result.chapters:
                where = (
                    f"{chapter.start / 60:5.1f} min"
                    if chapter.start is not None
                    else f"word {chapter.position}"
                )
                print(f"  {where:>12}  {chapter.title}")


if __name__ == "__main__":
    main()
