"""The library facade end to end on real transcript files (fast hashing embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.errors import LibraryMismatchError, NotFoundError, UserInputError
from atlas.library import Library
from atlas.models import IngestOptions, SearchFilters
from tests.conftest import SAMPLES

WHISPER = SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt"
PLAIN = SAMPLES / "normconf-ml-cost-talk.txt"


def test_ingest_search_pin_and_link(fake_library: Library) -> None:
    report = fake_library.ingest([str(WHISPER), str(PLAIN)])
    assert [o.status for o in report.outcomes] == ["added", "added"]
    hits = fake_library.search("Gradescope automated grading platform", limit=5)
    assert hits, "expected a hit"
    top = hits[0]
    assert top.video.video_id == "berkeley-ai-rubric-lecture"
    assert "Gradescope" in top.window.text
    # Pinned inside the window, to a sentence that says it, and the link carries that second.
    assert top.moment is not None and top.window.start is not None and top.window.end is not None
    assert top.window.start <= top.moment <= top.window.end
    assert "Gradescope" in top.snippet
    assert top.url.endswith(f"#t={int(top.moment)}")


def test_untimed_transcripts_say_so(fake_library: Library) -> None:
    fake_library.ingest([str(PLAIN)])
    hits = fake_library.search("Pedalboard audio python package", limit=3)
    assert hits and hits[0].video.video_id == "normconf-ml-cost-talk"
    hit = hits[0].to_json()
    assert hit["start"] is None and hit["end"] is None and hit["moment"] is None
    assert hit["timed"] is False
    assert "#t=" not in hit["url"]


def test_reingest_is_a_noop_and_changed_content_replaces(fake_library: Library, tmp_path: Path) -> None:
    talk = tmp_path / "talk.srt"
    talk.write_text("1\n00:00:01,000 --> 00:00:04,000\nThe falcon flies over the canyon.\n\n")
    assert fake_library.ingest([str(talk)]).outcomes[0].status == "added"
    assert fake_library.ingest([str(talk)]).outcomes[0].status == "unchanged"
    talk.write_text("1\n00:00:01,000 --> 00:00:04,000\nThe heron wades in the river.\n\n")
    assert fake_library.ingest([str(talk)]).outcomes[0].status == "replaced"
    assert fake_library.search("falcon canyon", mode="keyword") == []
    assert fake_library.search("heron river", mode="keyword")[0].video.video_id == "talk"
    assert fake_library.index.counts()["videos"] == 1


def test_bad_files_fail_alone_and_leave_the_library_unchanged(fake_library: Library, tmp_path: Path) -> None:
    fake_library.ingest([str(WHISPER)])
    before = fake_library.index.counts()
    empty = tmp_path / "empty.vtt"
    empty.write_text("")
    fake_vtt = tmp_path / "notvtt.vtt"
    fake_vtt.write_text("hello there, this is not a caption file\n")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    good = tmp_path / "good.srt"
    good.write_text("1\n00:00:01,000 --> 00:00:02,000\nA good line.\n\n")
    report = fake_library.ingest(
        [str(empty), str(fake_vtt), str(binary), str(tmp_path / "missing.srt"), str(good)]
    )
    statuses = {Path(o.target).name: o.status for o in report.outcomes}
    assert statuses == {
        "empty.vtt": "failed",
        "notvtt.vtt": "failed",
        "blob.txt": "failed",
        "missing.srt": "failed",
        "good.srt": "added",
    }
    for o in report.failed:
        assert o.message and Path(o.target).name in o.message and "\n" not in o.message
    after = fake_library.index.counts()
    assert after["videos"] == before["videos"] + 1


def test_filters(fake_library: Library, tmp_path: Path) -> None:
    for name, channel, date in (("a", "Alpha", "2023-05-01"), ("b", "Beta", "2024-06-01")):
        f = tmp_path / f"{name}.srt"
        f.write_text("1\n00:00:01,000 --> 00:00:04,000\nEnzymes speed up chemical reactions in cells.\n\n")
        fake_library.ingest([str(f)], IngestOptions(channel=channel, published=date))
    assert {h.video.video_id for h in fake_library.search("enzymes")} == {"a", "b"}
    assert [
        h.video.video_id for h in fake_library.search("enzymes", filters=SearchFilters(channels=("Beta",)))
    ] == ["b"]
    assert [
        h.video.video_id for h in fake_library.search("enzymes", filters=SearchFilters(before="2023-12-31"))
    ] == ["a"]
    assert [
        h.video.video_id for h in fake_library.search("enzymes", filters=SearchFilters(video_ids=("a",)))
    ] == ["a"]


def test_embedder_mismatch_is_refused(fake_settings: Settings) -> None:
    with Library.open(fake_settings) as lib:
        lib.ingest([str(PLAIN)])
    with (
        Library.open(fake_settings.with_(embedder="fake/hashing-32")) as lib,
        pytest.raises(LibraryMismatchError),
    ):
        lib.search("cost")
    with Library.open(fake_settings.with_(embedder=None)) as lib:
        assert lib.search("cost")  # no explicit embedder: the recorded one is used


def test_export_import_round_trip_is_exact(fake_library: Library, tmp_path: Path) -> None:
    fake_library.ingest([str(WHISPER), str(PLAIN)])
    first = tmp_path / "one.jsonl"
    assert fake_library.export(first) == 2
    other = Settings(library_dir=tmp_path / "other", embedder=None)
    with Library.open(other) as lib:
        report = lib.import_(first)
        assert [o.status for o in report.outcomes] == ["added", "added"]
        for video in fake_library.list_videos():
            assert _records_equal(lib, fake_library, video.video_id)
        second = tmp_path / "two.jsonl"
        lib.export(second)
        assert lib.import_(first).count("unchanged") == 2
        assert lib.search("Gradescope")[0].video.video_id == "berkeley-ai-rubric-lecture"
    a, b = first.read_text().splitlines(), second.read_text().splitlines()
    assert {**json.loads(a[0]), "exported_at": None} == {**json.loads(b[0]), "exported_at": None}
    assert a[1:] == b[1:]


def _records_equal(a: Library, b: Library, video_id: str) -> bool:
    import numpy as np

    ra, rb = a.get_record(video_id), b.get_record(video_id)
    return (
        ra.video == rb.video
        and ra.transcript == rb.transcript
        and ra.sentences == rb.sentences
        and ra.windows == rb.windows
        and np.array_equal(ra.window_vectors, rb.window_vectors)
        and np.array_equal(ra.sentence_vectors, rb.sentence_vectors)
    )


def test_import_rejects_a_corrupt_file_without_writing(fake_library: Library, tmp_path: Path) -> None:
    fake_library.ingest([str(WHISPER), str(PLAIN)])
    good = tmp_path / "lib.jsonl"
    fake_library.export(good)
    lines = good.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], lines[1], lines[2][:500]]) + "\n")
    target = Settings(library_dir=tmp_path / "t", embedder=None)
    with Library.open(target) as lib:
        with pytest.raises(UserInputError, match=r"bad.jsonl:3"):
            lib.import_(bad)
        assert lib.list_videos() == []


def test_unknown_video_and_empty_query(fake_library: Library) -> None:
    with pytest.raises(NotFoundError):
        fake_library.remove("nope")
    fake_library.ingest([str(PLAIN)])
    with pytest.raises(UserInputError):
        fake_library.search("   ")
    with pytest.raises(UserInputError):
        fake_library.search("cost", limit=0)


def test_same_file_name_in_two_folders_keeps_both(fake_library: Library, tmp_path: Path) -> None:
    for folder, words in (("a", "Owls hunt at night."), ("b", "Bees make honey.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "talk.srt").write_text(f"1\n00:00:01,000 --> 00:00:02,000\n{words}\n\n")
    first = fake_library.ingest([str(tmp_path / "a" / "talk.srt")]).outcomes[0]
    second = fake_library.ingest([str(tmp_path / "b" / "talk.srt")]).outcomes[0]
    assert first.video_id == "talk" and second.video_id is not None and second.video_id.startswith("talk-")
    assert second.status == "added"
    again = fake_library.ingest([str(tmp_path / "b" / "talk.srt")]).outcomes[0]
    assert (again.video_id, again.status) == (second.video_id, "unchanged")
    assert fake_library.index.counts()["videos"] == 2
