"""YouTube videos without usable captions are transcribed: yt-dlp downloads the best audio from the loopback
server (Opus in WebM, as YouTube serves it) and the real Whisper tiny.en transcribes it (espeak-ng speech)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas.library import Library
from atlas.models import IngestOptions
from atlas.sources import ytdlp
from atlas.sources.ytdlp import RecordedExtractor
from tests.fixtures.youtube.loopback import (
    AUTO_ID,
    MANUAL_ID,
    NO_CAPTIONS_ID,
    FakeYouTube,
    speech_files,
    watch,
)
from tests.speech import SENTENCES, Recording, build_recording, espeak_available

pytestmark = pytest.mark.slow

ASR_ORIGIN = "asr:faster-whisper/tiny.en"


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, dict[str, Path]]:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    recording = build_recording([SENTENCES[0][0], SENTENCES[6][0]], lead=0.5, gap=1.0, tail=0.5)
    return recording, speech_files(tmp_path_factory.mktemp("youtube-speech"), recording)


@pytest.fixture
def server(
    speech: tuple[Recording, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeYouTube]:
    fake = FakeYouTube(speech[1])
    with fake.running():
        recordings = fake.recordings()

        def replay(params: Any) -> RecordedExtractor:
            return RecordedExtractor(recordings)

        monkeypatch.setattr(ytdlp, "create_extractor", replay)
        yield fake


def test_blocked_captions_fall_back_to_asr_and_find_the_spoken_moment(
    server: FakeYouTube, fake_library: Library, speech: tuple[Recording, dict[str, Path]]
) -> None:
    server.caption_status[MANUAL_ID] = 403  # what YouTube answers a blocked server
    report = fake_library.ingest([watch(MANUAL_ID)])
    assert [(o.video_id, o.status) for o in report.outcomes] == [(MANUAL_ID, "added")]
    video = fake_library.get_video(MANUAL_ID)
    assert video.transcript_origin == ASR_ORIGIN
    assert "HTTP error 403" in video.extra["asr_reason"]
    text = " ".join(s.text for s in fake_library.get_record(MANUAL_ID).transcript.segments).lower()
    assert "volcano" in text and "jupiter" in text
    hit = fake_library.search("volcano island fishing village ash", limit=1)[0]
    recording = speech[0]
    assert hit.moment is not None and abs(hit.moment - recording.starts[0]) < 1.5
    assert hit.url == f"{watch(MANUAL_ID)}&t={int(hit.moment)}s"
    cache = fake_library.settings.library_dir / "cache"
    assert list((cache / "youtube").iterdir()) == []  # audio dropped once transcribed...
    assert len(list((cache / "transcripts").iterdir())) == 1  # ...because the transcript is cached


def test_video_without_captions_downloads_opus_audio_and_transcribes(
    server: FakeYouTube, fake_library: Library
) -> None:
    progress: list[tuple[str, float, float | None]] = []

    class Recorder:
        def item_started(self, target: str) -> None: ...

        def stage(self, target: str, stage: str) -> None: ...

        def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
            progress.append((stage, done, total))

        def item_finished(self, outcome: object) -> None: ...

    report = fake_library.ingest([watch(NO_CAPTIONS_ID)], observer=Recorder())
    assert [o.status for o in report.outcomes] == ["added"]
    assert fake_library.get_video(NO_CAPTIONS_ID).transcript_origin == ASR_ORIGIN
    assert server.caption_requests() == []
    assert {r["itag"] for r in server.media_requests()} == {"251"}
    size = server.audio["webm"].stat().st_size
    downloads = [(done, total) for stage, done, total in progress if stage == "download"]
    assert downloads[-1] == (size, size)
    assert any(stage == "transcribe" for stage, _, _ in progress)


def test_video_in_another_language_is_transcribed_with_the_multilingual_model(
    server: FakeYouTube, fake_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    recordings = server.recordings()
    recordings[watch(NO_CAPTIONS_ID)]["language"] = "de"  # what yt-dlp reports for a German video
    monkeypatch.setattr(ytdlp, "create_extractor", lambda params: RecordedExtractor(recordings))
    report = fake_library.ingest([watch(NO_CAPTIONS_ID)])
    assert [o.status for o in report.outcomes] == ["added"]
    video = fake_library.get_video(NO_CAPTIONS_ID)
    assert video.transcript_origin == "asr:faster-whisper/base" and video.extra["language"] == "de"
    # base detects the language it hears (the espeak-ng speech is English) and transcribes it
    record = fake_library.get_record(NO_CAPTIONS_ID)
    assert record.transcript.language == "en"
    assert "volcano" in " ".join(s.text for s in record.transcript.segments).lower()


def test_force_asr_never_fetches_captions(server: FakeYouTube, fake_library: Library) -> None:
    report = fake_library.ingest([watch(AUTO_ID)], IngestOptions(force_asr=True))
    assert [o.status for o in report.outcomes] == ["added"]
    video = fake_library.get_video(AUTO_ID)
    assert (video.transcript_origin, video.extra["asr_reason"]) == (ASR_ORIGIN, "--force-asr")
    assert server.caption_requests() == []
