"""YouTube ingestion end to end without the internet: recorded yt-dlp info dicts whose caption and media URLs
point at a loopback server, so yt-dlp's real caption download and audio download paths run; then the real
Library (SQLite, windows, search) with the hashing embedder. ASR fallbacks are in test_youtube_asr.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from atlas.follows import FollowStore
from atlas.ingest_report import IngestReport
from atlas.library import Library
from atlas.models import IngestOptions
from atlas.sources import ytdlp
from atlas.sources.base import Ingestible, SourceContext, SourceListed
from atlas.sources.youtube import YouTubeSource
from atlas.sources.ytdlp import RecordedExtractor, RetryPolicy, YtDlpClient
from tests.conftest import FAKE_EMBEDDER, run_cli
from tests.fixtures.youtube.loopback import (
    AUTO_ID,
    CAPTIONS,
    CHANNEL_URL,
    GERMAN_ID,
    MANUAL_ID,
    NEW_ID,
    NO_CAPTIONS_ID,
    OLD_ID,
    OLDER_ID,
    PLAYLIST_URL,
    PRIVATE_ID,
    FakeYouTube,
    flat_entry,
    speech_files,
    watch,
)
from tests.speech import SENTENCES, build_recording, espeak_available


@dataclass
class Replay:
    """The loopback server plus the recordings every new extractor replays (tests may edit them)."""

    server: FakeYouTube
    recordings: dict[str, dict[str, Any]]
    extractors: list[RecordedExtractor] = field(default_factory=list)

    def extractor(self, params: Any) -> RecordedExtractor:
        self.extractors.append(RecordedExtractor(self.recordings))
        return self.extractors[-1]

    def extracted(self) -> list[str]:
        return [url for e in self.extractors for url in e.requests]


@pytest.fixture(scope="module")
def served_audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    recording = build_recording([SENTENCES[0][0], SENTENCES[6][0]], lead=0.5, gap=1.0, tail=0.5)
    return speech_files(tmp_path_factory.mktemp("youtube-audio"), recording)


@pytest.fixture
def youtube(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    """The loopback YouTube with captions only: caption tests never need espeak-ng (a media request fails
    the test with a KeyError on the server). Tests that download audio also use ``with_audio``."""
    server = FakeYouTube({})
    with server.running():
        replay = Replay(server, server.recordings())
        monkeypatch.setattr(ytdlp, "create_extractor", replay.extractor)
        yield replay


@pytest.fixture
def with_audio(youtube: Replay, served_audio: dict[str, Path]) -> None:
    """Speech (espeak-ng) served as the videos' audio."""
    youtube.server.audio.update(served_audio)


def statuses(report: IngestReport) -> list[tuple[str | None, str]]:
    return [(o.video_id, o.status) for o in report.outcomes]


def test_manual_captions_give_metadata_origin_and_deep_links(youtube: Replay, fake_library: Library) -> None:
    report = fake_library.ingest([watch(MANUAL_ID)])
    assert statuses(report) == [(MANUAL_ID, "added")]
    video = fake_library.get_video(MANUAL_ID)
    assert (video.kind, video.title, video.channel) == (
        "youtube",
        "Designing a tiny search engine",
        "Atlas Test Talks",
    )
    assert (video.published, video.duration, video.transcript_origin) == (
        "2024-03-15",
        41.0,
        "youtube:manual:en",
    )
    assert video.url == watch(MANUAL_ID)
    # Exactly one caption track was fetched: the manual English WebVTT. No audio was downloaded.
    fetched = youtube.server.caption_requests()
    assert [(r["lang"], r.get("kind"), r["fmt"]) for r in fetched] == [("en", None, "vtt")]
    assert youtube.server.media_requests() == []
    hit = fake_library.search("BM25 ranks documents by how rare the words are", limit=1)[0]
    assert hit.video.video_id == MANUAL_ID and hit.url == f"{watch(MANUAL_ID)}&t=10s"


def test_rolling_auto_captions_keep_each_spoken_word_once(youtube: Replay, fake_library: Library) -> None:
    vtt = (CAPTIONS / f"{AUTO_ID}.en.asr.vtt").read_text()
    assert vtt.count("\nhow attention works inside a transformer the\n") == 2  # rolling: lines shown twice
    report = fake_library.ingest([watch(AUTO_ID)])
    assert statuses(report) == [(AUTO_ID, "added")]
    record = fake_library.get_record(AUTO_ID)
    assert record.video.transcript_origin == "youtube:auto:en"
    words = [w.text for s in record.transcript.segments for w in s.words]
    expected = (
        "hi everyone today we are looking at how attention works inside a transformer the query vector is "
        "compared with every key and the softmax turns those scores into weights then we take a weighted sum "
        "of the values and that is the whole trick behind multi head attention"
    ).split()
    assert words == expected  # each word exactly once, in order, though the file shows most lines twice
    softmax_at = re.search(r"<(\d\d):(\d\d):(\d\d\.\d+)><c> softmax", vtt)
    assert softmax_at is not None
    stamp = float(softmax_at[2]) * 60 + float(softmax_at[3])
    assert next(w.start for s in record.transcript.segments for w in s.words if w.text == "softmax") == stamp
    requested = youtube.server.caption_requests()
    assert [(r["lang"], r.get("kind"), r.get("tlang")) for r in requested] == [("en", "asr", None)]


def test_playlist_ingests_each_video_fails_only_the_private_one_and_skips_on_rerun(
    youtube: Replay, fake_library: Library
) -> None:
    first = fake_library.ingest([PLAYLIST_URL])
    assert statuses(first) == [
        (MANUAL_ID, "added"),
        (AUTO_ID, "added"),
        (None, "failed"),
        (GERMAN_ID, "added"),
    ]
    failure = first.failed[0].message or ""
    assert failure.startswith(watch(PRIVATE_ID)) and "private video" in failure and "\n" not in failure
    assert fake_library.get_video(GERMAN_ID).transcript_origin == "youtube:manual:en"
    follows = FollowStore.for_library(fake_library.settings.library_dir).load()
    assert [(f.url, f.kind, f.title) for f in follows] == [
        (PLAYLIST_URL, "playlist", "Search engines, screened")
    ]

    youtube.extractors.clear()
    again = fake_library.ingest([PLAYLIST_URL])
    assert [o.status for o in again.outcomes] == ["skipped", "skipped", "failed", "skipped"]
    assert all("already in the library" in (o.message or "") for o in again.outcomes if o.status == "skipped")
    # Already-indexed videos were not fetched again: only the listing and the video that is still missing.
    assert youtube.extracted() == [PLAYLIST_URL, watch(PRIVATE_ID)]

    refreshed = fake_library.ingest([PLAYLIST_URL], IngestOptions(refresh=True))
    assert [o.status for o in refreshed.outcomes] == ["unchanged", "unchanged", "failed", "unchanged"]


def test_the_source_only_reports_a_listing_and_the_library_follows_and_updates_it(
    youtube: Replay, fake_library: Library, tmp_path: Path
) -> None:
    context = SourceContext(cache_dir=tmp_path / "cache")
    items = list(YouTubeSource().items(PLAYLIST_URL, IngestOptions(max_items=1), context))
    assert items[0] == SourceListed(PLAYLIST_URL, "playlist", "Search engines, screened")  # before its videos
    assert [type(item) for item in items[1:]] == [Ingestible]
    assert fake_library.follows().load() == []  # reading a listing follows nothing by itself

    fake_library.ingest([CHANNEL_URL], IngestOptions(since="2024-01-01"))
    (follow,) = fake_library.follows().load()
    assert (follow.url, follow.kind, follow.since) == (CHANNEL_URL, "channel", "2024-01-01")
    youtube.extractors.clear()
    (update,) = fake_library.update()
    assert update[0].url == CHANNEL_URL
    assert statuses(update[1]) == [(AUTO_ID, "skipped"), (MANUAL_ID, "skipped")]  # --since applied again


def test_channel_since_stops_at_the_first_older_video(youtube: Replay, fake_library: Library) -> None:
    report = fake_library.ingest([CHANNEL_URL], IngestOptions(since="2024-01-01"))
    assert statuses(report) == [(AUTO_ID, "added"), (MANUAL_ID, "added")]
    # The channel is newest first: the first video older than --since ends the listing.
    assert OLD_ID in " ".join(youtube.extracted()) and OLDER_ID not in " ".join(youtube.extracted())
    follow = FollowStore.for_library(fake_library.settings.library_dir).load()[0]
    assert (follow.url, follow.kind, follow.since) == (CHANNEL_URL, "channel", "2024-01-01")


def test_max_counts_the_newest_videos_including_those_already_indexed(
    youtube: Replay, fake_library: Library
) -> None:
    assert statuses(fake_library.ingest([CHANNEL_URL], IngestOptions(max_items=1))) == [(AUTO_ID, "added")]
    second = fake_library.ingest([CHANNEL_URL], IngestOptions(max_items=2))
    assert statuses(second) == [(AUTO_ID, "skipped"), (MANUAL_ID, "added")]


def test_playlist_since_skips_older_videos_and_keeps_listing(youtube: Replay, fake_library: Library) -> None:
    report = fake_library.ingest([PLAYLIST_URL], IngestOptions(since="2024-04-01"))
    assert statuses(report) == [
        (MANUAL_ID, "skipped"),
        (AUTO_ID, "added"),
        (None, "failed"),
        (GERMAN_ID, "added"),
    ]
    assert report.outcomes[0].message == "published 2024-03-15, before --since 2024-04-01"


def test_upcoming_entries_are_skipped_and_a_bad_url_fails_alone(
    youtube: Replay, fake_library: Library
) -> None:
    listing = youtube.recordings[PLAYLIST_URL]
    listing["entries"] = [{**listing["entries"][0], "live_status": "is_upcoming"}, listing["entries"][1]]
    report = fake_library.ingest(["https://vimeo.com/76979871", PLAYLIST_URL, "https://youtu.be/short"])
    assert [o.status for o in report.outcomes] == ["failed", "skipped", "added", "failed"]
    assert "unsupported URL" in (report.outcomes[0].message or "")
    assert "not aired yet" in (report.outcomes[1].message or "")
    assert "no valid video id" in (report.outcomes[3].message or "")


def test_caption_server_errors_are_retried_by_yt_dlp(youtube: Replay, tmp_path: Path) -> None:
    info = youtube.recordings[watch(MANUAL_ID)]
    youtube.server.caption_flaky[MANUAL_ID] = [503, 502]
    from atlas.sources.captions import choose_captions

    track = choose_captions(info)
    assert track is not None
    policy = RetryPolicy(base_delay=0)
    client = YtDlpClient(RecordedExtractor({}), ytdlp.base_params(tmp_path, policy), retry=policy)
    text = client.fetch_captions(info, track, tmp_path / "youtube")
    assert text.startswith("WEBVTT") and "inverted index" in text
    assert len(youtube.server.caption_requests()) == 3
    assert list((tmp_path / "youtube").iterdir()) == []  # the caption file was read and removed


@pytest.mark.usefixtures("with_audio")
def test_audio_download_resumes_a_partial_file_without_ffmpeg(
    youtube: Replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = youtube.recordings[watch(NO_CAPTIONS_ID)]
    served = youtube.server.audio["webm"].read_bytes()
    directory = tmp_path / "youtube"
    directory.mkdir()
    half = len(served) // 2
    (directory / f"{NO_CAPTIONS_ID}.webm.part").write_bytes(served[:half])  # what a killed run leaves
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg (nor anything else) on PATH, as in CI
    progress: list[tuple[float, float | None]] = []
    policy = RetryPolicy(base_delay=0)
    client = YtDlpClient(RecordedExtractor({}), ytdlp.base_params(tmp_path, policy), retry=policy)
    audio = client.download_audio(info, directory, lambda done, total: progress.append((done, total)))
    assert audio == directory / f"{NO_CAPTIONS_ID}.webm"  # bestaudio: Opus in WebM (itag 251)
    assert audio.read_bytes() == served
    assert youtube.server.ranges[0].startswith(f"bytes={half}-")
    assert progress[-1] == (len(served), len(served))
    assert not (directory / f"{NO_CAPTIONS_ID}.webm.part").exists()


def test_cli_malformed_urls_exit_2_with_one_line_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lib = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]
    code, _, err = run_cli(capsys, "ingest", "https://www.youtube.com/watch?v=abc", "--quiet", *lib)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "no valid video id" in lines[0]
    code, _, err = run_cli(capsys, "ingest", "https://example.com/talk", "--quiet", *lib)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unsupported URL" in err


def test_cli_update_ingests_a_video_newly_added_to_a_followed_playlist(
    youtube: Replay, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lib = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]
    code, out, _ = run_cli(capsys, "update", *lib[:2])
    assert code == 4  # no library yet
    listing = youtube.recordings[PLAYLIST_URL]
    listing["entries"] = [e for e in listing["entries"] if e["id"] != PRIVATE_ID]
    code, _, err = run_cli(capsys, "ingest", PLAYLIST_URL, "--quiet", *lib)
    assert code == 0, err
    code, out, _ = run_cli(capsys, "update", "--list", "--json", *lib)
    assert code == 0 and [f["url"] for f in json.loads(out)] == [PLAYLIST_URL]

    new_video = youtube.recordings[watch(NEW_ID)]
    listing["entries"].insert(0, flat_entry(new_video))
    youtube.extractors.clear()
    code, out, err = run_cli(capsys, "update", "--json", *lib)
    assert code == 0, err
    [result] = json.loads(out)
    assert [(o["video_id"], o["status"]) for o in result["outcomes"]] == [
        (NEW_ID, "added"),
        (MANUAL_ID, "skipped"),
        (AUTO_ID, "skipped"),
        (GERMAN_ID, "skipped"),
    ]
    assert youtube.extracted() == [PLAYLIST_URL, watch(NEW_ID)]  # only the new video was fetched
    code, out, _ = run_cli(capsys, "search", "nearest neighbour graph", "--json", "--limit", "1", *lib)
    assert json.loads(out)["hits"][0]["url"].startswith(f"{watch(NEW_ID)}&t=")

    code, out, _ = run_cli(
        capsys, "update", "--unfollow", "youtube.com/playlist?list=PLa7LasT3stPlaylist0ScreenedTalks1", *lib
    )
    assert code == 0 and "Search engines, screened" in out
    code, out, _ = run_cli(capsys, "update", *lib)
    assert code == 0 and "not following any playlist or channel" in out
