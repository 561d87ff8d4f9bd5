"""The transcript-file source: safe reading, one item per file, video metadata from names and options."""

from __future__ import annotations

import codecs
import os
import shutil
from pathlib import Path

import pytest

from atlas.errors import SourceError
from atlas.models import IngestOptions
from atlas.sources import transcript_files
from atlas.sources.base import Ingestible, SourceContext, SourceFailure
from atlas.sources.transcript_files import (
    TranscriptFileSource,
    humanise,
    is_transcript_path,
    slugify,
    split_name,
)
from atlas.youtube_urls import youtube_id_from_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
YOUTUBE_VTT = FIXTURES / "How Transformers Pay Attention [aBcD3fG_h-1].en.vtt"
SOURCE = TranscriptFileSource()


def ingest(path: Path, options: IngestOptions | None = None) -> Ingestible:
    items = list(SOURCE.items(str(path), options or IngestOptions(), SourceContext()))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, Ingestible), item
    return item


def failure(path: Path) -> SourceError:
    items = list(SOURCE.items(str(path), IngestOptions(), SourceContext()))
    assert len(items) == 1 and isinstance(items[0], SourceFailure), items
    error = items[0].error
    assert error.source == str(path) and str(path) in error.one_line()
    assert "\n" not in error.one_line()
    return error


@pytest.mark.parametrize(
    ("name", "origin", "timed"),
    [
        (YOUTUBE_VTT.name, "file:vtt", True),
        ("manual-talk.en.vtt", "file:vtt", True),
        ("podcast-episode-12.srt", "file:srt", True),
        ("rag-talk.json", "file:whisper-json", True),
        ("standup-notes.whisperx.json", "file:whisper-json", True),
        ("short-lecture.whisper.txt", "file:whisper-text", True),
    ],
)
def test_every_fixture_ingests(name: str, origin: str, timed: bool) -> None:
    path = FIXTURES / name
    assert SOURCE.accepts(str(path))
    item = ingest(path)
    assert item.transcript.origin == item.video.transcript_origin == origin
    assert item.transcript.timed is item.video.timed is timed
    assert item.video.source == str(path.resolve())
    assert item.video.content_hash == ""
    assert item.video.duration == max(s.end for s in item.transcript.segments if s.end is not None)


@pytest.mark.parametrize(
    ("name", "origin", "timed", "video_id", "title"),
    [
        ("berkeley-ai-rubric-lecture.whisper.txt", "file:whisper-text", True, "berkeley-ai-rubric-lecture",
         "Berkeley ai rubric lecture"),
        ("mixture-of-experts-meetup.txt", "file:plain", False, "mixture-of-experts-meetup",
         "Mixture of experts meetup"),
        ("normconf-ml-cost-talk.txt", "file:plain", False, "normconf-ml-cost-talk", "Normconf ml cost talk"),
    ],
)  # fmt: skip
def test_samples_ingest(name: str, origin: str, timed: bool, video_id: str, title: str) -> None:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    item = ingest(path)
    video = item.video
    assert (video.video_id, video.title, video.kind) == (video_id, title, "transcript")
    assert (item.transcript.origin, video.timed) == (origin, timed)
    assert video.url == path.resolve().as_uri()
    if timed:
        first = item.transcript.segments[0]
        assert (first.start, first.end, first.text) == (0.0, 2.36, "All right, welcome back everyone.")
    else:
        assert video.duration is None
        assert all(s.start is None and s.end is None for s in item.transcript.segments)


def test_yt_dlp_name_gives_a_youtube_video() -> None:
    item = ingest(YOUTUBE_VTT)
    video = item.video
    assert (video.video_id, video.title, video.kind) == (
        "aBcD3fG_h-1",
        "How Transformers Pay Attention",
        "youtube",
    )
    assert video.url == "https://www.youtube.com/watch?v=aBcD3fG_h-1"
    assert item.transcript.language == "en"


def test_media_beside_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "team_sync.en.vtt"
    shutil.copy(FIXTURES / "manual-talk.en.vtt", transcript)
    (tmp_path / "team_sync.mp3").write_bytes(b"ID3")
    (tmp_path / "team_sync.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    video = ingest(transcript).video
    assert (video.video_id, video.title, video.kind) == ("team-sync", "Team sync", "media")
    assert video.url == (tmp_path / "team_sync.mp4").as_uri()  # the video wins over its audio
    assert video.extra == {"media_path": str((tmp_path / "team_sync.mp4").resolve())}


def test_relative_target_with_media_beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(FIXTURES / "rag-talk.json", tmp_path / "rag-talk.json")
    (tmp_path / "rag-talk.M4A").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    monkeypatch.chdir(tmp_path)
    video = ingest(Path("rag-talk.json")).video
    assert (video.kind, video.url) == ("media", (tmp_path / "rag-talk.M4A").resolve().as_uri())
    assert video.source == str((tmp_path / "rag-talk.json").resolve())


def test_options_win(tmp_path: Path) -> None:
    options = IngestOptions(
        title="Quarterly review",
        video_id="q3",
        url="https://example.com/q3",
        channel="Ops",
        published="2024-10-01",
    )
    video = ingest(FIXTURES / "podcast-episode-12.srt", options).video
    assert (video.video_id, video.title, video.url, video.kind) == (
        "q3",
        "Quarterly review",
        options.url,
        "transcript",
    )
    assert (video.channel, video.published) == ("Ops", "2024-10-01")


def test_youtube_url_option_makes_a_youtube_video() -> None:
    url = "https://youtu.be/dQw4w9WgXcQ?t=42"
    video = ingest(FIXTURES / "rag-talk.json", IngestOptions(url=url)).video
    assert (video.video_id, video.kind) == ("dQw4w9WgXcQ", "youtube")
    assert video.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    video = ingest(FIXTURES / "rag-talk.json", IngestOptions(url=url, video_id="mine")).video
    assert (video.video_id, video.kind) == ("mine", "youtube")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b" \n\t\r\n  ", "the file is empty"),
        (b"\xef\xbb\xbf\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary data, not a text transcript"),
        (bytes(range(1, 32)) * 20, "binary data, not a text transcript"),
        ("Caf\u00e9 cr\u00e8me, na\u00efve\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 3)"),
    ],
)
def test_unreadable_bytes(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    error = failure(path)
    assert error.message.startswith(f"{path}: {message}")
    if "UTF-8" in message:
        assert "re-save it as UTF-8" in error.message


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "talk.vtt",
            "1\n00:00:01,000 --> 00:00:02,000\nhello\n",
            "not a WebVTT file: first line must be WEBVTT",
        ),
        ("talk.srt", "no cues here, just a sentence\n", "not valid SRT"),
        ("talk.json", '{"text": "hello"}', "no Whisper segments"),
        (
            "talk.vtt",
            "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n[Music]\n",
            "no transcript text found in this vtt",
        ),
    ],
)
def test_unusable_content(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert message in failure(path).message


def test_directory_missing_path_and_media_file(tmp_path: Path) -> None:
    assert not SOURCE.accepts(str(tmp_path))
    assert "is a folder" in failure(tmp_path).message
    missing = tmp_path / "gone.vtt"
    assert not SOURCE.accepts(str(missing))
    assert "no such file" in failure(missing).message
    media = tmp_path / "talk.mp4"
    media.write_bytes(b"\x00" * 64)
    assert not SOURCE.accepts(str(media))
    assert "unsupported transcript format '.mp4'" in failure(media).message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "live.txt"
    os.mkfifo(pipe)
    assert not SOURCE.accepts(str(pipe))
    assert "not a regular file" in failure(pipe).message


def test_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_files, "MAX_BYTES", 10)
    path = tmp_path / "big.txt"
    path.write_text("eleven chars and more\n", encoding="utf-8")
    assert "too large" in failure(path).message


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_text_encodings_with_bom(tmp_path: Path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "talk.srt"
    path.write_bytes(bom + "1\r\n00:00:01,000 --> 00:00:02,500\r\nÜber naïve café\r\n".encode(encoding))
    segment = ingest(path).transcript.segments[0]
    assert (segment.start, segment.end, segment.text) == (1.0, 2.5, "Über naïve café")


@pytest.mark.parametrize(
    ("name", "base", "language"),
    [
        ("talk.en.vtt", "talk", "en"),
        ("notes.whisper.txt", "notes", None),
        ("lecture.pt-BR.srt", "lecture", "pt-BR"),
        ("Some Title [dQw4w9WgXcQ].en-orig.vtt", "Some Title [dQw4w9WgXcQ]", "en-orig"),
        ("v1.2 release.txt", "v1.2 release", None),
        (".hidden.txt", ".hidden", None),
    ],
)
def test_split_name(name: str, base: str, language: str | None) -> None:
    assert split_name(Path(name)) == (base, language)


def test_names_to_ids_and_titles() -> None:
    assert humanise("berkeley-ai-rubric-lecture") == "Berkeley ai rubric lecture"
    assert humanise("deep_learning__101") == "Deep learning 101"
    assert humanise("My GPT4 Talk - Part 2") == "My GPT4 Talk - Part 2"
    assert slugify("Ünïcode Talk: Part 2!") == "unicode-talk-part-2"
    assert slugify("日本語") == slugify("日本語") and slugify("日本語").startswith("transcript-")


@pytest.mark.parametrize(
    ("url", "video_id"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1s", "dQw4w9WgXcQ"),
        ("https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ?start=3", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/watch?v=short", None),
        ("https://vimeo.com/123456789", None),
        ("https://example.com/watch?v=dQw4w9WgXcQ", None),
    ],
)
def test_youtube_id_from_url(url: str, video_id: str | None) -> None:
    assert youtube_id_from_url(url) == video_id


def test_is_transcript_path() -> None:
    assert is_transcript_path(Path("c.txt"))
    assert all(is_transcript_path(p) for p in ["a.vtt", "a.SRT", "b.json", "d.text"])
    assert not any(is_transcript_path(p) for p in ["a.mp4", "README.md", "noext", "a.vtt.bak"])


def test_language_tags_are_only_taken_from_caption_file_names() -> None:
    assert split_name(Path("talk.en.vtt")) == ("talk", "en")
    assert split_name(Path("intro.to.ml.txt")) == ("intro.to.ml", None)
