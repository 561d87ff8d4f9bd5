"""A library Atlas may only read (a backup, a read-only mount) and a disk that fills up mid-ingest, with the
real SQLite store and the real CLI."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.errors import DiskFullError, LibraryReadOnlyError
from atlas.index.ann import AnnIndex
from atlas.index.sqlite import SqliteIndex
from atlas.index.sqlite import schema as sqlite_schema
from atlas.index.sqlite import store as sqlite_store
from atlas.library import Library
from atlas.models import SearchFilters
from tests.conftest import FAKE_EMBEDDER, FIXTURES, SAMPLES, run_cli

TALK = FIXTURES / "transcripts" / "manual-talk.en.vtt"


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.fixture
def read_only_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """The three samples ingested, then ``chmod -R a-w`` (made writable again afterwards, to be removed)."""
    library = tmp_path / "lib"
    lib = ["-L", str(library), "--embedder", FAKE_EMBEDDER]
    code, _, err = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", *lib)
    assert code == 0, err
    _chmod_tree(library, writable=False)
    try:
        yield library
    finally:
        _chmod_tree(library, writable=True)


def _files(library: Path) -> dict[str, tuple[int, float]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime) for p in library.iterdir()}


def test_a_read_only_library_reads_and_every_write_says_read_only(
    read_only_library: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lib = ["-L", str(read_only_library)]
    before = _files(read_only_library)
    code, out, err = run_cli(capsys, "search", "GPU cost", "--json", *lib)
    assert code == 0, err
    assert json.loads(out)["hits"]
    code, out, err = run_cli(capsys, "search", "GPU cost", "--mode", "vector", "--json", *lib)
    assert code == 0 and json.loads(out)["hits"], err  # vectors read from the read-only store
    code, out, _ = run_cli(capsys, "list", "--json", *lib)
    assert code == 0 and len(json.loads(out)) == 3
    code, out, _ = run_cli(capsys, "show", "normconf-ml-cost-talk", *lib)
    assert code == 0 and "NormConf" in out
    code, out, err = run_cli(capsys, "doctor", "--json", *lib)
    assert code == 0 and json.loads(out)["problems"] == [], err
    code, out, err = run_cli(capsys, "ask", "how can I cut GPU costs?", "--generator", "extractive", *lib)
    assert code == 0, err
    export = tmp_path / "export.jsonl"
    code, _, err = run_cli(capsys, "export", str(export), *lib)
    assert code == 0 and export.stat().st_size > 0, err

    writes = [
        ("ingest", str(TALK), "--quiet", "--embedder", FAKE_EMBEDDER),
        ("remove", "normconf-ml-cost-talk"),
        ("import", str(export)),
    ]
    for argv in writes:
        code, _, err = run_cli(capsys, *argv, *lib)
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == LibraryReadOnlyError.exit_code, (argv, err)
        assert len(lines) == 1 and f"library at {read_only_library} is read-only;" in lines[0], err
    # Nothing was written, not even SQLite's -wal/-shm or the sidecar's lock file.
    assert _files(read_only_library) == before


def test_the_python_library_opens_a_read_only_library(read_only_library: Path) -> None:
    settings = Settings(library_dir=read_only_library, embedder=FAKE_EMBEDDER)
    with Library.open(settings, create=False) as library:
        assert library.index.read_only
        assert library.search("Gradescope", limit=1)[0].video.video_id == "berkeley-ai-rubric-lecture"
        with pytest.raises(LibraryReadOnlyError, match="is read-only"):
            library.ingest([str(TALK)])
        with pytest.raises(LibraryReadOnlyError, match="is read-only"):
            library.remove("normconf-ml-cost-talk")
        assert library.health().problems == ()
    with SqliteIndex(read_only_library, exact_limit=0) as index:  # the HNSW sidecar, loaded without its lock
        vector = index.window_vectors([1])
        assert index.vector_search(vector, 3, SearchFilters())[0].key == 1


def test_a_read_only_copy_with_commits_still_in_its_wal_reads_them(tmp_path: Path) -> None:
    """A library copied while a reader held it open (its last commits still in atlas.db-wal), then made
    read-only: those commits are read, not ignored."""
    source = tmp_path / "live"
    settings = Settings(library_dir=source, embedder=FAKE_EMBEDDER)
    with Library.open(settings) as library:
        library.ingest([str(SAMPLES / "normconf-ml-cost-talk.txt")])
        holder = sqlite3.connect(source / "atlas.db")  # keeps the WAL from being folded in at close
        holder.execute("SELECT 1 FROM videos").fetchall()
        library.ingest([str(TALK)])
    try:
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in ("atlas.db", "atlas.db-wal", "atlas.db-shm"):
            shutil.copy(source / name, copy / name)
        assert (copy / "atlas.db-wal").stat().st_size > 0
        _chmod_tree(copy, writable=False)
        try:
            with Library.open(Settings(library_dir=copy, embedder=FAKE_EMBEDDER), create=False) as library:
                assert library.index.read_only
                assert len(library.list_videos()) == 2
        finally:
            _chmod_tree(copy, writable=True)
    finally:
        holder.close()


# -- a full disk ---------------------------------------------------------------------------------------------


def _database_limited_to(monkeypatch: pytest.MonkeyPatch, extra_pages: int) -> None:
    """Every connection the store opens from now on may grow its database by ``extra_pages`` pages only:
    SQLite's own ``max_page_count``, which fails a write exactly as a full disk does (SQLITE_FULL)."""

    def limited(db_path: Path, *, read_only: bool = False) -> sqlite3.Connection:
        conn = sqlite_schema.connect(db_path, read_only=read_only)
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")
        return conn

    monkeypatch.setattr(sqlite_store, "connect", limited)


def test_a_full_database_rolls_back_the_video_prints_the_summary_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "lib"
    lib = ["-L", str(library), "--embedder", FAKE_EMBEDDER]
    first = SAMPLES / "normconf-ml-cost-talk.txt"
    code, _, err = run_cli(capsys, "ingest", str(first), "--quiet", *lib)
    assert code == 0, err
    _database_limited_to(monkeypatch, extra_pages=4)
    others = sorted(p for p in SAMPLES.iterdir() if p != first)
    code, out, err = run_cli(capsys, "ingest", str(first), *map(str, others), *lib)
    assert code == DiskFullError.exit_code, err
    assert "Ingest summary" in out and "1 unchanged" in out and "1 failed" in out
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "disk full" in errors[0], err
    assert "stopped" in err
    monkeypatch.undo()
    # Nothing half-written: the store is consistent and holds just the first video.
    code, out, _ = run_cli(capsys, "doctor", "--json", "-L", str(library))
    assert code == 0 and json.loads(out)["problems"] == [] and json.loads(out)["counts"]["videos"] == 1


def test_a_full_database_in_the_python_api_stops_the_batch_with_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(library_dir=tmp_path / "lib", embedder=FAKE_EMBEDDER)
    with Library.open(settings) as library:
        library.ingest([str(TALK)])
    _database_limited_to(monkeypatch, extra_pages=2)
    with Library.open(settings) as library:
        report = library.ingest([str(SAMPLES)])
        assert isinstance(report.stopped, DiskFullError)
        assert [o.status for o in report.outcomes] == ["failed"]  # the other two were not tried
        assert library.index.counts()["videos"] == 1


def test_no_space_for_the_vector_sidecar_is_disk_full_and_the_database_keeps_the_video(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(self: AnnIndex, tmp: Path, *args: object) -> None:
        tmp.write_bytes(b"partial")  # what a write cut short by ENOSPC leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    monkeypatch.setattr(AnnIndex, "_write", no_space)
    library = tmp_path / "lib"
    code, out, err = run_cli(capsys, "ingest", str(TALK), "-L", str(library), "--embedder", FAKE_EMBEDDER)
    assert code == DiskFullError.exit_code and "disk full" in err and "1 added" in out, err
    assert not list(library.glob(".*.tmp"))  # the partial file was removed
    monkeypatch.undo()
    code, out, _ = run_cli(capsys, "doctor", "--json", "-L", str(library))
    assert code == 0 and json.loads(out)["counts"]["videos"] == 1  # the sidecar is rebuilt from SQLite
