"""Speech-to-text speed and accuracy on espeak-ng audio whose text and sentence times are known.

    .venv/bin/python benchmarks/bench_asr.py                  # ~3 min of speech; tiny.en and base; ~8 min
    .venv/bin/python benchmarks/bench_asr.py --models tiny.en --repeat 1

The recording: the known sentences of ``tests/speech.py`` spoken twice in a shuffled order with 1.5 s pauses
(so VAD has realistic, short silences to skip). One row per model × word timestamps × VAD, each decoding the
same WAV with atlas's chunked pipeline (``transcribe_stream``), plus exploratory rows (greedy decoding,
faster-whisper's batched pipeline) and one end-to-end row: ``Library.ingest`` of the WAV into a fresh library
with the real MiniLM (decode + transcribe + chunk + embed + index), models already loaded.

Columns: audio s, wall s, RTF (wall / audio), speed-up × (audio / wall), vs default (wall / the default
tiny.en + words + VAD row's wall), WER against the known text, and the error of each sentence's start time
(the first word of the sentence that the transcript got right, against when espeak-ng said it), median and
p90. The target is an end-to-end ingest ≥ 20× faster than real time on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.speech import SENTENCES, Recording, build_recording, write_wav  # noqa: E402

from atlas.asr.base import Audio, ChunkTranscription, Transcriber  # noqa: E402
from atlas.asr.faster_whisper import (  # noqa: E402
    BEAM_SIZE,
    FasterWhisperTranscriber,
    convert_segments,
    load_transcriber,
)
from atlas.asr.pipeline import transcribe_stream  # noqa: E402
from atlas.config import Settings  # noqa: E402
from atlas.library import Library  # noqa: E402
from atlas.models import Transcript  # noqa: E402
from atlas.sources.base import SourceOptions  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    audio: float
    wall: float
    wer: float | None = None
    start_errors: tuple[float, ...] = ()


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def align(reference: list[str], hypothesis: list[str]) -> tuple[int, dict[int, int]]:
    """Word edit distance, and for each reference word that was transcribed exactly, its hypothesis index."""
    rows, cols = len(reference) + 1, len(hypothesis) + 1
    cost = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(cols):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1, cost[i - 1][j - 1] + (0 if same else 1))
    matched: dict[int, int] = {}
    i, j = rows - 1, cols - 1
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if cost[i][j] == cost[i - 1][j - 1] + (0 if same else 1):
            if same:
                matched[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return cost[-1][-1], matched


def score(transcript: Transcript, recording: Recording) -> tuple[float, tuple[float, ...]]:
    """WER, and per sentence |transcribed start - spoken start| (from its first correctly heard word; a word
    k of n in a sentence is taken to be spoken k/n of the way through it)."""
    reference: list[str] = []
    owner: list[tuple[int, int, int]] = []  # (sentence, word index, words in sentence)
    for number, text in enumerate(recording.texts):
        sentence_words = words_of(text)
        reference += sentence_words
        owner += [(number, k, len(sentence_words)) for k in range(len(sentence_words))]
    hypothesis: list[str] = []
    times: list[float] = []
    for segment in transcript.segments:
        if segment.words:
            for word in segment.words:
                for token in words_of(word.text):
                    hypothesis.append(token)
                    times.append(word.start or 0.0)
        else:  # no word timestamps: spread the segment's words evenly over its span
            tokens = words_of(segment.text)
            start, end = segment.start or 0.0, segment.end or 0.0
            for k, token in enumerate(tokens):
                hypothesis.append(token)
                times.append(start + (end - start) * k / max(1, len(tokens)))
    distance, matched = align(reference, hypothesis)
    errors: dict[int, float] = {}
    for ref_index, hyp_index in sorted(matched.items()):
        sentence, k, n = owner[ref_index]
        if sentence in errors:
            continue
        spoken = recording.starts[sentence] + (recording.ends[sentence] - recording.starts[sentence]) * k / n
        errors[sentence] = abs(times[hyp_index] - spoken)
    return distance / len(reference), tuple(errors[s] for s in sorted(errors))


class BatchedTranscriber:
    """faster-whisper's BatchedInferencePipeline behind the Transcriber protocol (exploratory row)."""

    def __init__(self, base: FasterWhisperTranscriber, batch_size: int, beam_size: int) -> None:
        from faster_whisper import BatchedInferencePipeline

        self._pipeline = BatchedInferencePipeline(base.model)
        self._batch_size = batch_size
        self._beam_size = beam_size
        self.name = f"{base.name}+batched{batch_size}"

    def transcribe(self, audio: Audio, *, language: str | None = None) -> ChunkTranscription:
        segments, info = self._pipeline.transcribe(
            audio,
            language=language,
            word_timestamps=True,
            vad_filter=True,
            batch_size=self._batch_size,
            beam_size=self._beam_size,
        )
        return ChunkTranscription(info.language, convert_segments(segments))


def timed_transcription(
    name: str, wav: Path, transcriber: Transcriber, recording: Recording, repeat: int
) -> Row:
    walls: list[float] = []
    transcript: Transcript | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        transcript = transcribe_stream(wav, transcriber, SourceOptions())
        walls.append(time.perf_counter() - started)
    assert transcript is not None
    wer, errors = score(transcript, recording)
    return Row(name, recording.duration, min(walls), wer, errors)


def end_to_end(wav: Path, recording: Recording, threads: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        with Library.open(Settings(library_dir=Path(tmp) / "warm", threads=threads)) as warm:
            embedder = warm.embedder  # load MiniLM once, outside the timed run
            embedder.embed(["warm up"])
        load_transcriber("tiny.en", threads=threads)
        with Library.open(Settings(library_dir=Path(tmp) / "lib", threads=threads), embedder=embedder) as lib:
            started = time.perf_counter()
            report = lib.ingest([str(wav)])
            wall = time.perf_counter() - started
            assert [o.status for o in report.outcomes] == ["added"], report.outcomes
            (video,) = lib.list_videos()
            wer, errors = score(lib.get_record(video.video_id).transcript, recording)
    return Row("end to end: Library.ingest (tiny.en, MiniLM)", recording.duration, wall, wer, errors)


def render(rows: list[Row], baseline: float) -> str:
    head = (
        "configuration",
        "audio s",
        "wall s",
        "RTF",
        "speed-up ×",
        "vs default",
        "WER",
        "start p50",
        "p90",
    )
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for row in rows:
        errors = sorted(row.start_errors)
        p50 = f"{statistics.median(errors):.2f} s" if errors else "—"
        p90 = f"{errors[int(0.9 * (len(errors) - 1))]:.2f} s" if errors else "—"
        wer = f"{row.wer:.1%}" if row.wer is not None else "—"
        cells = (
            row.name,
            f"{row.audio:.0f}",
            f"{row.wall:.1f}",
            f"{row.wall / row.audio:.3f}",
            f"{row.audio / row.wall:.1f}×",
            f"{row.wall / baseline:.2f}",
            wer,
            p50,
            p90,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest is reported")
    parser.add_argument("--no-extra", action="store_true", help="skip the other-beam / batched rows")
    parser.add_argument("--no-grid", action="store_true", help="skip the model × words × VAD grid")
    args = parser.parse_args()

    texts = [text for text, _ in SENTENCES] * 2
    random.Random(11).shuffle(texts)
    recording = build_recording(texts, gap=1.5)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(recording, Path(tmp) / "speech.wav")
        print(
            f"{len(texts)} sentences, {recording.duration:.0f} s of audio, {args.threads} threads", flush=True
        )
        grid = [(m, w, v) for m in args.models.split(",") for w in (True, False) for v in (True, False)]
        for model, words, vad in [("tiny.en", True, True)] if args.no_grid else grid:
            load_transcriber(model, threads=args.threads)  # load time is not transcription time
            transcriber = load_transcriber(model, threads=args.threads, word_timestamps=words, vad=vad)
            name = f"{model}, words {'on' if words else 'off'}, VAD {'on' if vad else 'off'}"
            rows.append(timed_transcription(name, wav, transcriber, recording, args.repeat))
            print(f"  {name}: {rows[-1].wall:.1f} s", flush=True)
        if not args.no_extra:  # ways to go faster, each against the shipped default (the first row)
            for beam in (BEAM_SIZE, 1):
                tiny = load_transcriber("tiny.en", threads=args.threads, beam_size=beam)
                candidates = [(f"tiny.en, batched ×8, beam {beam}", BatchedTranscriber(tiny, 8, beam))]
                if beam != BEAM_SIZE:
                    candidates.insert(0, (f"tiny.en, beam {beam}", tiny))
                for name, candidate in candidates:
                    rows.append(timed_transcription(name, wav, candidate, recording, args.repeat))
                    print(f"  {name}: {rows[-1].wall:.1f} s", flush=True)
        rows.append(end_to_end(wav, recording, args.threads))
    default = next((r for r in rows if r.name == "tiny.en, words on, VAD on"), rows[0])
    print()
    print(render(rows, default.wall))


if __name__ == "__main__":
    main()
