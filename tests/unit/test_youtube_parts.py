"""The YouTube source's parts on recorded yt-dlp output: URLs, caption choice, metadata, error lines, follows,
and the retry loop (with yt-dlp's real exception types)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from atlas.errors import LibraryCorruptError, NotFoundError, SourceError
from atlas.follows import FollowStore
from atlas.models import IngestOptions, Segment, Transcript
from atlas.search.links import deep_link
from atlas.sources.base import SourceContext
from atlas.sources.captions import choose_captions, video_language
from atlas.sources.youtube import published_date, video_from_info
from atlas.sources.ytdlp import RecordedExtractor, RetryPolicy, YtDlpClient
from atlas.sources.ytdlp_errors import describe
from atlas.youtube_urls import looks_like_url, parse_youtube_url
from tests.fixtures.youtube.loopback import (
    AUTO_ID,
    GERMAN_ID,
    HERE,
    MANUAL_ID,
    NO_CAPTIONS_ID,
    PRIVATE_ID,
    load_recording,
    watch,
)

# -- URLs ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "canonical"),
    [
        ("https://www.youtube.com/watch?v=mQx7Lr2pT9c", "video", watch(MANUAL_ID)),
        ("https://youtu.be/mQx7Lr2pT9c?si=abc", "video", watch(MANUAL_ID)),
        ("youtu.be/mQx7Lr2pT9c", "video", watch(MANUAL_ID)),
        ("https://m.youtube.com/shorts/mQx7Lr2pT9c", "video", watch(MANUAL_ID)),
        ("https://www.youtube.com/live/mQx7Lr2pT9c?feature=share", "video", watch(MANUAL_ID)),
        ("https://www.youtube.com/watch?v=mQx7Lr2pT9c&list=RDmQx7Lr2pT9c&t=42s", "video", watch(MANUAL_ID)),
        (
            "https://www.youtube.com/playlist?list=PLa7LasT3stPlaylist0ScreenedTalks1",
            "playlist",
            "https://www.youtube.com/playlist?list=PLa7LasT3stPlaylist0ScreenedTalks1",
        ),
        (
            "https://www.youtube.com/watch?list=PLa7LasT3stPlaylist0ScreenedTalks1",
            "playlist",
            "https://www.youtube.com/playlist?list=PLa7LasT3stPlaylist0ScreenedTalks1",
        ),
        (
            "https://www.youtube.com/@atlastesttalks",
            "channel",
            "https://www.youtube.com/@atlastesttalks/videos",
        ),
        (
            "https://www.youtube.com/@atlastesttalks/featured",
            "channel",
            "https://www.youtube.com/@atlastesttalks/videos",
        ),
        (
            "https://youtube.com/@atlastesttalks/streams/",
            "channel",
            "https://www.youtube.com/@atlastesttalks/streams",
        ),
        (
            "https://www.youtube.com/channel/UCa7LasT3stTalks0Channe1",
            "channel",
            "https://www.youtube.com/channel/UCa7LasT3stTalks0Channe1/videos",
        ),
        ("https://www.youtube.com/c/SomeName/videos", "channel", "https://www.youtube.com/c/SomeName/videos"),
    ],
)
def test_youtube_urls_are_classified_and_made_canonical(url: str, kind: str, canonical: str) -> None:
    target = parse_youtube_url(url)
    assert (target.kind, target.url) == (kind, canonical)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://vimeo.com/123456", "unsupported URL"),
        ("ftp://www.youtube.com/watch?v=mQx7Lr2pT9c", "unsupported URL"),
        ("https://www.youtube.com/watch?v=abc", "no valid video id"),
        ("https://www.youtube.com/watch", "no valid video id"),
        ("https://youtu.be/", "no valid video id"),
        ("https://www.youtube.com/feed/trending", "not a YouTube video, playlist or channel URL"),
        ("https://www.youtube.com/@atlastesttalks/playlists", "does not list videos"),
        ("https://www.youtube.com/playlist?list=PL$$", "not a YouTube playlist id"),
    ],
)
def test_bad_urls_get_one_line_naming_the_url(url: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_youtube_url(url)
    line = caught.value.one_line()
    assert message in line and line.startswith(url) and "\n" not in line


def test_only_urls_are_accepted_never_paths(tmp_path: Path) -> None:
    assert looks_like_url("https://example.com/talk.mp4")
    assert looks_like_url("www.youtube.com/watch?v=mQx7Lr2pT9c")
    assert not looks_like_url(str(tmp_path / "talk.vtt"))
    assert not looks_like_url("talks/youtube.com.vtt")


# -- caption choice on recorded info dicts -------------------------------------------------------------------


def test_manual_captions_in_the_video_language_win_over_regional_and_automatic_tracks() -> None:
    track = choose_captions(load_recording("video_manual"))
    assert track is not None and track.origin == "youtube:manual:en"
    assert "lang=en&" in track.url and "kind=asr" not in track.url and "fmt=vtt" in track.url


def test_automatic_captions_are_the_original_language_track_never_a_translation() -> None:
    info = load_recording("video_auto")
    track = choose_captions(info)
    assert track is not None and track.origin == "youtube:auto:en"
    assert "kind=asr" in track.url and "tlang" not in track.url
    # Every other listed language is a machine translation: none of them may be chosen.
    translated = [k for k in info["automatic_captions"] if k not in ("en", "en-orig")]
    assert translated and all("tlang=" in info["automatic_captions"][k][-1]["url"] for k in translated)


def test_english_manual_captions_beat_automatic_captions_in_the_spoken_language() -> None:
    info = load_recording("video_german")
    assert video_language(info) == "de"
    manual = choose_captions(info)
    assert manual is not None and manual.origin == "youtube:manual:en"
    info["subtitles"] = {}
    automatic = choose_captions(info)
    assert automatic is not None and automatic.origin == "youtube:auto:de" and "tlang" not in automatic.url


def test_no_trusted_captions_means_asr() -> None:
    assert choose_captions(load_recording("video_no_captions")) is None
    info = load_recording("video_auto")
    # Only translated automatic tracks left (the original and its -orig alias removed): still ASR.
    info["automatic_captions"] = {
        k: v for k, v in info["automatic_captions"].items() if k not in ("en", "en-orig")
    }
    assert choose_captions(info) is None


def test_language_unknown_uses_the_only_manual_language_and_ignores_live_chat() -> None:
    info = load_recording("video_german")
    info["formats"] = [{**f, "language": None} for f in info["formats"]]
    info["automatic_captions"] = {}
    info["subtitles"] = {
        "live_chat": [{"ext": "json", "url": "https://www.youtube.com/live_chat_replay"}],
        "fr": info["subtitles"]["en"],
    }
    assert video_language(info) is None
    track = choose_captions(info)
    assert track is not None and track.origin == "youtube:manual:fr"


def test_video_language_comes_from_the_original_audio_track_then_the_orig_captions() -> None:
    info = load_recording("video_auto")
    dubbed = {"format_id": "251-1", "acodec": "opus", "language": "es", "language_preference": -1}
    original = {"format_id": "251-0", "acodec": "opus", "language": "en", "language_preference": 10}
    assert video_language({"formats": [dubbed, original]}) == "en"
    assert video_language({"automatic_captions": {"ja-orig": [], "en": []}}) == "ja"
    assert video_language(info) == "en"


# -- metadata ------------------------------------------------------------------------------------------------


def test_video_metadata_from_a_recorded_info_dict_and_its_deep_link() -> None:
    info = load_recording("video_manual")
    transcript = Transcript((Segment("hello", 1.0, 2.0),), "youtube:manual:en", "en")
    video = video_from_info(info, transcript, None)
    assert (video.video_id, video.kind, video.title) == (
        MANUAL_ID,
        "youtube",
        "Designing a tiny search engine",
    )
    assert video.url == video.source == watch(MANUAL_ID)
    assert (video.channel, video.published, video.duration) == ("Atlas Test Talks", "2024-03-15", 41.0)
    assert video.thumbnail == f"https://i.ytimg.com/vi/{MANUAL_ID}/maxresdefault.jpg"
    assert video.extra["channel_id"] == "UCa7LasT3stTalks0Channe1"
    assert deep_link(video, 123.7) == f"https://www.youtube.com/watch?v={MANUAL_ID}&t=123s"
    overridden = video_from_info(info, transcript, IngestOptions(title="Mine", published="2020-01-02"))
    assert (overridden.title, overridden.published) == ("Mine", "2020-01-02")


def test_published_date_from_upload_date_or_timestamp() -> None:
    assert published_date({"upload_date": "20240315"}) == "2024-03-15"
    assert published_date({"timestamp": 1_700_000_000}) == "2023-11-14"
    assert published_date({"upload_date": None, "release_date": "20200101"}) == "2020-01-01"
    assert published_date({"title": "flat entry"}) is None


# -- yt-dlp errors -------------------------------------------------------------------------------------------


def _raised_by_recording(recording: dict[str, Any]) -> BaseException:
    url = recording["webpage_url"]
    with pytest.raises(Exception) as caught:
        RecordedExtractor({url: recording}).extract(url)
    return caught.value


def test_private_video_error_is_one_line_and_not_retried() -> None:
    problem = describe(_raised_by_recording(load_recording("video_private")))
    assert problem.message == "private video" and not problem.transient


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Sign in to confirm your age. This video may be inappropriate for some users.", "age-restricted"),
        ("Video unavailable. This video has been removed by the uploader", "video unavailable"),
        ("Join this channel to get access to members-only content like this video", "members-only"),
        ("Sign in to confirm you're not a bot. Use --cookies-from-browser", "bot check"),
        ("This live event will begin in 3 hours.", "not out yet"),
        ("The playlist does not exist.", "playlist not found"),
    ],
)
def test_known_youtube_refusals_get_plain_messages(message: str, expected: str) -> None:
    error = _raised_by_recording({"webpage_url": watch(PRIVATE_ID), "id": PRIVATE_ID, "_error": message})
    problem = describe(error)
    assert expected in problem.message and not problem.transient and problem.hint


def test_network_and_server_errors_are_transient_but_404_is_not() -> None:
    from yt_dlp.networking import Response
    from yt_dlp.networking.exceptions import HTTPError

    def http_error(status: int) -> HTTPError:
        return HTTPError(Response(io.BytesIO(b""), "https://www.youtube.com/x", {}, status=status))

    dropped = _raised_by_recording({"webpage_url": watch(AUTO_ID), "id": AUTO_ID, "_network_failures": 1})
    assert describe(dropped).transient and "Connection reset" in describe(dropped).message
    assert describe(http_error(503)).transient and describe(http_error(429)).transient
    missing = describe(http_error(404))
    assert not missing.transient and "not found" in missing.message


def test_transient_extraction_failures_are_retried_with_exponential_backoff() -> None:
    recording = {**load_recording("video_auto"), "_network_failures": 2}
    extractor = RecordedExtractor({watch(AUTO_ID): recording})
    slept: list[float] = []
    client = YtDlpClient(extractor, {}, retry=RetryPolicy(attempts=4, base_delay=1.5), sleep=slept.append)
    assert client.info(watch(AUTO_ID))["id"] == AUTO_ID
    assert slept == [1.5, 3.0] and len(extractor.requests) == 3


def test_retries_give_up_with_one_line_naming_the_video() -> None:
    recording = {**load_recording("video_auto"), "_network_failures": 9}
    slept: list[float] = []
    client = YtDlpClient(
        RecordedExtractor({watch(AUTO_ID): recording}), {}, retry=RetryPolicy(attempts=3), sleep=slept.append
    )
    with pytest.raises(SourceError) as caught:
        client.info(watch(AUTO_ID))
    line = caught.value.one_line()
    assert line.startswith(watch(AUTO_ID)) and "network error" in line and "after 3 tries" in line
    assert slept == [2.0, 4.0]


def test_a_flaky_listing_is_listed_again_and_continues_after_what_was_given() -> None:
    playlist = load_recording("playlist")
    url = playlist["webpage_url"]
    entries = playlist["entries"]

    class FlakyOnce:
        def __init__(self) -> None:
            self.calls = 0

        def extract(self, asked: str) -> dict[str, Any]:
            self.calls += 1
            first_call = self.calls == 1

            def listing() -> Any:
                for index, entry in enumerate(entries):
                    if first_call and index == 2:
                        raise ConnectionResetError("page 2 dropped")
                    yield entry

            return {**playlist, "entries": listing()}

        def close(self) -> None:
            pass

    flaky = FlakyOnce()
    client = YtDlpClient(flaky, {}, retry=RetryPolicy(base_delay=0), sleep=lambda _: None)
    given = [e["id"] for e in client.entries(url, flaky.extract(url))]
    assert given == [e["id"] for e in entries] and flaky.calls == 2


# -- follows -------------------------------------------------------------------------------------------------


def test_follows_are_upserted_atomically_and_unfollowed_by_any_spelling(tmp_path: Path) -> None:
    store = FollowStore.for_library(tmp_path)
    assert store.load() == []
    channel = "https://www.youtube.com/@atlastesttalks/videos"
    store.follow(channel, "channel", "Atlas Test Talks", IngestOptions(since="2024-01-01", max_items=5))
    again = store.follow(channel, "channel", None, IngestOptions(max_items=9))
    assert [f.url for f in store.load()] == [channel]
    assert (again.title, again.since, again.max_items) == ("Atlas Test Talks", None, 9)
    assert json.loads((tmp_path / "follows.json").read_text())["follows"][0]["max_items"] == 9
    assert [p.name for p in tmp_path.iterdir()] == ["follows.json"]  # no temporary file left behind
    store.unfollow("youtube.com/@atlastesttalks")
    assert store.load() == []
    with pytest.raises(NotFoundError) as caught:
        store.unfollow(channel)
    assert "atlas update --list" in caught.value.one_line()


def test_a_damaged_follows_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "follows.json").write_text("{not json")
    with pytest.raises(LibraryCorruptError) as caught:
        FollowStore.for_library(tmp_path).load()
    assert "follows.json" in caught.value.one_line() and "delete the file" in caught.value.one_line()


def test_recordings_cover_every_video_the_playlist_and_channel_list() -> None:
    listed = {e["id"] for name in ("playlist", "channel") for e in load_recording(name)["entries"]}
    recorded = {json.loads(p.read_text())["id"] for p in HERE.glob("video_*.info.json")}
    assert listed <= recorded and {MANUAL_ID, GERMAN_ID, NO_CAPTIONS_ID} <= recorded


def test_without_yt_dlp_a_youtube_url_asks_for_the_media_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas.errors import DependencyMissingError
    from atlas.sources.youtube import YouTubeSource

    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # what an install without the extra looks like
    with pytest.raises(DependencyMissingError) as caught:
        list(YouTubeSource().items(watch(MANUAL_ID), IngestOptions(), SourceContext()))
    assert "atlas-search[media]" in caught.value.one_line()
