"""Speakers end to end: ingested from real-shaped files, kept by both stores (and by libraries from before
speakers, migrated on open), carried by export/import, shown on hits (Python and CLI; the HTTP API in
tests/api/test_search_speakers.py) and used as a filter. The label is never indexed as a spoken word."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.index.postgres import PostgresIndex
from atlas.index.sqlite import SqliteIndex
from atlas.library import Library
from atlas.models import Hit, SearchFilters
from tests.conftest import FAKE_EMBEDDER, FIXTURES, run_cli
from tests.contract.test_index_contract import IDENTITY, record

SHOW = [
    FIXTURES / "transcripts" / name
    for name in ("garden-hour-ep7.srt", "garden-hour-ep8.vtt", "garden-hour-ep9.json")
]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    store = request.getfixturevalue("pg_database") if request.param == "postgresql" else None
    return Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER, store=store)


@pytest.fixture
def show(settings: Settings) -> Iterator[Library]:
    with Library.open(settings) as lib:
        report = lib.ingest([str(p) for p in SHOW])
        assert not report.failed, report.failed
        yield lib


def said(hits: list[Hit]) -> list[tuple[str | None, str]]:
    return [(hit.speaker, hit.snippet) for hit in hits]


def test_hits_say_who_speaks(show: Library) -> None:
    hits = show.search("heirloom beans", mode="keyword", limit=1)
    assert hits[0].speaker == "Bekah Jones" and hits[0].snippet.startswith("They are heirloom beans")
    assert hits[0].to_json()["speaker"] == "Bekah Jones"
    assert hits[0].moment == 7.8


def test_the_label_is_not_a_spoken_word(show: Library) -> None:
    """The word "Jones" is only ever a label: nothing matches it. "Bekah" is a label and a spoken word: only
    the windows where someone says it match."""
    assert show.search("Jones", mode="keyword") == []
    hits = show.search("Bekah", mode="keyword", limit=20)
    assert hits and all("bekah" in hit.window.text.lower() for hit in hits)
    for stored in (show.get_record(v.video_id) for v in show.list_videos()):
        assert all("Jones" not in s.text for s in stored.sentences)
        assert all("Jones" not in w.text for w in stored.windows)


def test_speaker_filter(show: Library) -> None:
    """Only windows with the speaker's sentences, each pinned to one of them (episode 7 is one window: the
    filter decides whose words it pins to)."""
    assert show.search("castings", mode="keyword", limit=1)[0].speaker == "Bekah Jones"  # the first match
    for name, shown, words in [
        ("bekah jones", "Bekah Jones", "I brought three jars of worm castings."),
        ("DAN", "Dan", "worm castings are not compost."),
    ]:
        hits = show.search("castings", mode="keyword", limit=20, speaker=name)
        assert said(hits)[0][0] == shown and words in hits[0].snippet
        hits = show.search("compost castings worm jars", mode="keyword", limit=20, speaker=name)
        assert hits and {hit.speaker for hit in hits} == {shown}
        hybrid = show.search("compost castings worm jars", limit=20, speaker=name)
        assert hybrid and {hit.speaker for hit in hybrid} == {shown}
    assert show.search("compost", mode="keyword", speaker="Bekah") == []  # an exact name, not a prefix


def test_export_import_round_trips_speakers(show: Library, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    show.export(dump)
    lines = dump.read_text(encoding="utf-8").splitlines()
    with Library.open(Settings(library_dir=tmp_path / "copy", embedder=FAKE_EMBEDDER)) as copy:
        assert not copy.import_(dump).failed
        for video in show.list_videos():
            mine, theirs = copy.get_record(video.video_id), show.get_record(video.video_id)
            assert mine.transcript == theirs.transcript and mine.sentences == theirs.sentences
        copy.export(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines()[1:] == lines[1:]

    # An export from before speakers (format version 1) has no "speaker" keys: it imports, with none.
    old = tmp_path / "old.jsonl"
    records = [json.loads(line) for line in lines[1:]]
    for item in records:
        for segment in item["transcript"]["segments"]:
            segment.pop("speaker", None)
        for sentence in item["sentences"]:
            del sentence["speaker"]
    header = {**json.loads(lines[0]), "format_version": 1}
    old.write_text("\n".join(map(json.dumps, [header, *records])) + "\n", encoding="utf-8")
    with Library.open(Settings(library_dir=tmp_path / "old-copy", embedder=FAKE_EMBEDDER)) as copy:
        assert not copy.import_(old).failed
        record = copy.get_record(show.list_videos()[0].video_id)
        assert all(s.speaker is None for s in record.sentences)
        assert all(s.speaker is None for s in record.transcript.segments)
        assert copy.search("compost", mode="keyword", speaker="Dan") == []


def test_sqlite_library_from_before_speakers_is_migrated(tmp_path: Path) -> None:
    """A schema 1 file (no speaker columns) opens, is upgraded in place, keeps its rows (speaker NULL),
    searches, and takes new videos with speakers."""
    settings = Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)
    with Library.open(settings) as lib:
        assert not lib.ingest([str(SHOW[0])]).failed
    conn = sqlite3.connect(settings.library_dir / "atlas.db")
    conn.executescript(
        "DROP INDEX sentences_speaker; ALTER TABLE sentences DROP COLUMN speaker;"
        " ALTER TABLE segments DROP COLUMN speaker; UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    conn.close()
    with Library.open(settings) as lib:
        (video,) = lib.list_videos()
        assert all(s.speaker is None for s in lib.get_record(video.video_id).sentences)
        assert lib.search("compost", mode="keyword")[0].speaker is None
        assert not lib.ingest([str(SHOW[1])]).failed
        assert {h.speaker for h in lib.search("beans", mode="keyword", speaker="bekah jones")} == {
            "Bekah Jones"
        }
        assert isinstance(lib.index, SqliteIndex) and lib.index.verify() == []
    conn = sqlite3.connect(settings.library_dir / "atlas.db")
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    conn.close()


def test_postgres_library_from_before_speakers_is_migrated(pg_schema: tuple[str, str]) -> None:
    """A schema 1 library (no speaker columns) is migrated when opened; its rows have no speaker."""
    url, schema = pg_schema
    with PostgresIndex(url, schema=schema) as index:
        index.claim(IDENTITY)
        index.put_video(record("old", ["compost heaps need air", "turn them weekly"]))
        conn = index._conn()
        conn.execute(f"DROP INDEX {schema}.sentences_speaker")
        conn.execute(f"ALTER TABLE {schema}.sentences DROP COLUMN speaker")
        conn.execute(f"ALTER TABLE {schema}.segments DROP COLUMN speaker")
        conn.execute(f"UPDATE {schema}.meta SET value = '1' WHERE key = 'schema_version'")
    with PostgresIndex(url, schema=schema) as index:
        assert [s.speaker for s in index.get_record("old").sentences] == [None, None]
        assert index.keyword_search(["compost"], 5, SearchFilters(speaker="dan")) == []
        assert len(index.keyword_search(["compost"], 5, SearchFilters())) == 1
        assert index.verify() == []
        version = index._conn().execute(f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'")
        assert version.fetchone()[0] == "2"


def test_cli_speaker_option_and_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]
    assert run_cli(capsys, "ingest", *map(str, SHOW), "--quiet", *args)[0] == 0
    code, out, err = run_cli(capsys, "search", "beans", "--json", "--mode", "keyword", *args)
    assert code == 0, err
    hits = json.loads(out)["hits"]
    assert hits[0]["speaker"] == "Bekah Jones"
    code, out, err = run_cli(
        capsys, "search", "compost jars", "--json", "--mode", "keyword", "--speaker", "dan", *args
    )
    assert code == 0, err
    hits = json.loads(out)["hits"]
    assert hits and {hit["speaker"] for hit in hits} == {"Dan"}
    code, out, err = run_cli(capsys, "search", "beans", "--mode", "keyword", "--limit", "1", *args)
    assert code == 0 and "│ Bekah Jones: They are " in out, out  # the label, then the snippet
    for name, shown in (("dan", "Dan"), ("bekah jones", "Bekah Jones")):
        code, out, err = run_cli(
            capsys,
            "ask",
            "What goes into the compost?",
            "--generator",
            "extractive",
            "--json",
            "--speaker",
            name,
            *args,
        )
        assert code == 0, err
        citations = json.loads(out)["citations"]
        assert citations and {c["speaker"] for c in citations} == {shown}
