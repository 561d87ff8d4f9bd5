"""Local audio/video through the real Library: espeak-ng speech -> PyAV decode -> Whisper tiny.en -> MiniLM ->
SQLite, then search by paraphrase and land within seconds of where the sentence was spoken."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas.asr import transcription_stats
from atlas.config import Settings
from atlas.ingest_report import IngestReport
from atlas.library import Library
from atlas.models import IngestOptions, SearchFilters
from atlas.sources.media import sidecar_transcripts
from atlas.sources.registry import all_sources, expand_targets
from tests.conftest import FAKE_EMBEDDER
from tests.speech import SENTENCES, Recording, build_recording, encode, espeak_available, write_wav

# Per test, not for the module: the sidecar test below decodes no speech and must run (and fail if broken)
# on a machine without espeak-ng too. Under CI a skip is a failure (tests/conftest.py).
needs_espeak = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (scripts/system-deps.sh)")

TITLE = "Twelve Things Said Aloud"


@dataclass(frozen=True)
class Talk:
    recording: Recording
    wav: Path
    mp4: Path


@pytest.fixture(scope="session")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Talk:
    """Twelve sentences, six seconds apart: just over two minutes, as WAV and as MP4 (AAC + blank video)."""
    folder = tmp_path_factory.mktemp("talk")
    recording = build_recording([text for text, _ in SENTENCES], gap=6.0)
    assert recording.duration >= 120
    return Talk(
        recording,
        write_wav(recording, folder / "known-sentences.wav"),
        encode(recording, folder / "known-sentences.mp4", video=True, title=TITLE),
    )


@dataclass(frozen=True)
class Ingested:
    library: Library
    first: IngestReport
    again: IngestReport
    transcribed_between: int  # files transcribed by the second run
    second_run_seconds: float


@pytest.fixture(scope="module")
def ingested(talk: Talk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    """Both files through the real Library with the bundled MiniLM, then the same again."""
    directory = tmp_path_factory.mktemp("media-library") / "library"
    with Library.open(Settings(library_dir=directory, threads=2)) as lib:
        first = lib.ingest([str(talk.wav), str(talk.mp4)])
        before = transcription_stats().files
        started = time.perf_counter()
        again = lib.ingest([str(talk.wav), str(talk.mp4)])
        seconds = time.perf_counter() - started
        yield Ingested(lib, first, again, transcription_stats().files - before, seconds)


# Sentences whose paraphrase shares (almost) no words with them; the index of the sentence in SENTENCES.
PARAPHRASED = (6, 7, 10)


@needs_espeak
@pytest.mark.slow
@pytest.mark.real_model
def test_paraphrase_lands_within_three_seconds(talk: Talk, ingested: Ingested) -> None:
    assert [o.status for o in ingested.first.outcomes] == ["added", "added"], ingested.first.outcomes
    lib = ingested.library
    by_source = {v.source: v for v in lib.list_videos()}
    wav_video, mp4_video = by_source[str(talk.wav)], by_source[str(talk.mp4)]
    assert (wav_video.kind, wav_video.transcript_origin) == ("media", "asr:faster-whisper/tiny.en")
    assert wav_video.url == talk.wav.as_uri() and wav_video.title == "Known sentences"
    assert mp4_video.title == TITLE  # from the container's metadata
    assert abs((mp4_video.duration or 0) - talk.recording.duration) < 0.5
    words = [w for s in lib.get_record(wav_video.video_id).transcript.segments for w in s.words]
    assert words and all(w.start is not None and w.end is not None for w in words)

    for video in (wav_video, mp4_video):
        for index in PARAPHRASED:
            query = SENTENCES[index][1]
            hits = lib.search(query, limit=3, filters=SearchFilters(video_ids=(video.video_id,)))
            assert hits, query
            spoken_at = talk.recording.starts[index]
            assert hits[0].moment is not None and abs(hits[0].moment - spoken_at) <= 3.0, (
                query,
                hits[0].moment,
                spoken_at,
                hits[0].snippet,
            )
            assert hits[0].url == f"{video.url}#t={int(hits[0].moment)}"


@needs_espeak
@pytest.mark.slow
@pytest.mark.real_model
def test_reingest_is_a_no_op_from_the_cache(talk: Talk, ingested: Ingested) -> None:
    assert [o.status for o in ingested.again.outcomes] == ["unchanged", "unchanged"]
    assert ingested.transcribed_between == 0  # the cached transcripts were used: Whisper never ran
    assert ingested.second_run_seconds < 5.0  # transcribing these two files takes ~10 s
    cached = list((ingested.library.settings.library_dir / "cache" / "transcripts").glob("*.json"))
    assert len(cached) == 2  # one per file (same audio, but a WAV and an MP4 are different files)


CAPTION = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nThis line was typed by a person into the subtitle file.\n"


def _fake_library(tmp_path: Path) -> Library:
    return Library.open(Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER, threads=2))


@needs_espeak
@pytest.mark.slow
def test_sidecar_subtitles_win_and_force_asr_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "talks"
    folder.mkdir()
    clip = write_wav(build_recording([SENTENCES[6][0]], gap=1.0), folder / "comet.wav")
    (folder / "comet.en.vtt").write_text(CAPTION)
    with _fake_library(tmp_path) as lib:
        before = transcription_stats().files
        report = lib.ingest([str(folder)])  # a folder: the pair must become one video, the media file's
        assert [(o.status, o.target) for o in report.outcomes] == [("added", str(clip))]
        assert transcription_stats().files == before  # the subtitles were used, nothing transcribed
        (video,) = lib.list_videos()
        assert (video.source, video.kind, video.transcript_origin) == (str(clip), "media", "sidecar:vtt")
        assert "typed by a person" in lib.get_record(video.video_id).transcript.segments[0].text

        forced = lib.ingest([str(folder)], IngestOptions(force_asr=True))
        assert [o.status for o in forced.outcomes] == ["replaced"]
        assert transcription_stats().files == before + 1
        (video,) = lib.list_videos()
        assert video.transcript_origin == "asr:faster-whisper/tiny.en"
        spoken = " ".join(s.text for s in lib.get_record(video.video_id).transcript.segments).lower()
        assert "jupiter" in spoken and "typed" not in spoken


@needs_espeak
@pytest.mark.slow
def test_beam_width_reaches_whisper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``IngestOptions.beam`` is the beam faster-whisper decodes with; unset, it is ``BEAM_SIZE``."""
    import faster_whisper

    from atlas.asr.faster_whisper import BEAM_SIZE

    beams: list[int] = []
    real = faster_whisper.WhisperModel.transcribe

    def spy(self: object, audio: object, *args: object, **kwargs: object) -> object:
        beams.append(kwargs["beam_size"])  # type: ignore[arg-type]
        return real(self, audio, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(faster_whisper.WhisperModel, "transcribe", spy)
    clip = write_wav(build_recording([SENTENCES[6][0]], gap=1.0), tmp_path / "comet.wav")
    other = write_wav(build_recording([SENTENCES[7][0]], gap=1.0), tmp_path / "other.wav")
    with _fake_library(tmp_path) as lib:
        lib.ingest([str(clip)], IngestOptions(beam=1))
        assert set(beams) == {1}
        lib.ingest([str(other)])
        assert beams[-1] == BEAM_SIZE != 1
        assert len(lib.list_videos()) == 2


def test_sidecar_choice_and_folder_walk(tmp_path: Path) -> None:
    """Which subtitles a media file reads, and that a folder walk yields each pair once (no decoding here)."""
    for name in ("talk.mp4", "talk.mp3"):
        (tmp_path / name).write_bytes(b"\x00" * 64)
    (tmp_path / "talk.en.vtt").write_text(CAPTION)
    (tmp_path / "talk.de.vtt").write_text(CAPTION)
    (tmp_path / "talk.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello.\n")
    (tmp_path / "talk.whisper.txt").write_text("[00:00:01.000 --> 00:00:02.000] Hello.\n")
    (tmp_path / "talk.txt").write_text("Notes for the talk: bring the slides and a clicker.\n")

    names = [p.name for p in sidecar_transcripts(tmp_path / "talk.mp4")]
    assert names == ["talk.en.vtt", "talk.srt", "talk.whisper.txt", "talk.de.vtt"]  # no untimed talk.txt
    assert sidecar_transcripts(tmp_path / "talk.mp3") == []  # the video, not its audio, owns the subtitles
    walked = [Path(t).name for t in expand_targets([str(tmp_path)], all_sources())]
    assert walked == ["talk.mp3", "talk.mp4", "talk.txt"]
