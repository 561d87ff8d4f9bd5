"""The SQLite store's files: the HNSW sidecar lost, damaged, stale (another process wrote), and files that are
not an Atlas library. The behaviour every backend shares is in tests/contract/test_index_contract.py."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atlas.errors import LibraryCorruptError, LibraryMismatchError
from atlas.index.sqlite import SqliteIndex
from tests.contract.test_index_contract import IDENTITY, NO_FILTER, fill, query, video_of

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract"


@pytest.fixture
def sqlite_dir(tmp_path: Path) -> Path:
    with SqliteIndex(tmp_path / "lib") as store:
        store.claim(IDENTITY)
        fill(store)
    return tmp_path / "lib"


def _results(store: SqliteIndex) -> list[object]:
    """Top-5 scores and keys; among windows tied at score 0 which ones come back is arbitrary."""
    return [
        [
            (c.key if c.score > 1e-6 else None, round(c.score, 5))
            for c in store.vector_search(query(t), 5, NO_FILTER)
        ]
        for t in ("falcon barge", "flour eggs", "bank rates")
    ]


def test_sidecar_deleted_is_rebuilt_at_open(sqlite_dir: Path) -> None:
    with SqliteIndex(sqlite_dir) as store:
        expected = _results(store)
    for name in ("ann.json", *(p.name for p in sqlite_dir.glob("vectors.*.usearch"))):
        (sqlite_dir / name).unlink()
    with SqliteIndex(sqlite_dir) as store:
        assert _results(store) == expected
        assert store.verify() == []
    assert (sqlite_dir / "ann.json").exists()  # saved again at close


@pytest.mark.parametrize("damage", ["garbage", "truncate", "other-dim", "other-library", "bad-json"])
def test_damaged_sidecar_is_rebuilt(sqlite_dir: Path, tmp_path: Path, damage: str) -> None:
    with SqliteIndex(sqlite_dir) as store:
        expected = _results(store)
    pointer = json.loads((sqlite_dir / "ann.json").read_text())
    vectors = sqlite_dir / pointer["file"]
    if damage == "garbage":
        vectors.write_bytes(b"not an index" * 100)
    elif damage == "truncate":
        vectors.write_bytes(vectors.read_bytes()[:200])
    elif damage == "bad-json":
        (sqlite_dir / "ann.json").write_text("{")
    else:
        key, value = ("dim", 32) if damage == "other-dim" else ("library", "0" * 32)
        (sqlite_dir / "ann.json").write_text(json.dumps({**pointer, key: value}))
    with SqliteIndex(sqlite_dir) as store:
        assert _results(store) == expected
        assert store.verify() == []


def test_stale_sidecar_catches_up_with_another_process(sqlite_dir: Path) -> None:
    store = SqliteIndex(sqlite_dir)
    try:
        assert store.vector_search(query("volcano"), 3, NO_FILTER)
        # Another process writes, then dies without closing: its sidecar is never saved.
        script = (
            "import os, sys; sys.path[:0] = sys.argv[2:]\n"
            "from pathlib import Path\n"
            "from test_index_contract import SqliteIndex, record\n"
            "s = SqliteIndex(Path(sys.argv[1]))\n"
            "s.put_video(record('news', ['volcano erupts near the village']))\n"
            "s.remove_video('falcon')\n"
            "os._exit(0)\n"
        )
        here = str(CONTRACT_DIR)
        subprocess.run(
            [sys.executable, "-c", script, str(sqlite_dir), here, *sys.path], check=True, timeout=120
        )
        hits = store.vector_search(query("volcano erupts"), 10, NO_FILTER)  # the open instance catches up
        assert video_of(store, [hits[0].key]) == ["news"]
        assert "falcon" not in video_of(store, [h.key for h in hits])
        assert store.verify() == []
        with SqliteIndex(sqlite_dir) as fresh:  # so does a new one, from the older saved sidecar
            assert fresh.vector_search(query("volcano erupts"), 10, NO_FILTER) == hits
            assert fresh.verify() == []
    finally:
        store.close()


def test_ranges_merge_and_test_membership() -> None:
    from atlas.index.sqlite.ranges import Ranges

    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE videos (first_window INTEGER, n_windows INTEGER, keep INTEGER)")
        conn.executemany(
            "INSERT INTO videos VALUES (?, ?, ?)", [(1, 3, 1), (4, 2, 1), (8, 2, 1), (12, 0, 1), (20, 5, 0)]
        )
        ranges = Ranges.select(conn, "v.keep = ?", [1])
    assert ranges.starts.tolist() == [1, 8] and ranges.ends.tolist() == [5, 9] and ranges.windows == 7
    keys = np.array([0, 1, 5, 6, 7, 8, 9, 10, 22], dtype=np.int64)
    assert ranges.contains(keys).tolist() == [False, True, True, False, False, True, True, False, False]
    assert ranges.sql("rowid") == (
        "rowid BETWEEN ? AND ? AND (rowid BETWEEN ? AND ? OR rowid BETWEEN ? AND ?)",
        [1, 9, 1, 5, 8, 9],
    )


def test_not_a_database_is_a_corrupt_library_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "atlas.db").write_bytes(b"this is not sqlite" * 200)
    with pytest.raises(LibraryCorruptError) as info:
        SqliteIndex(tmp_path)
    assert str(tmp_path / "atlas.db") in info.value.message
    with pytest.raises(LibraryCorruptError):
        SqliteIndex(tmp_path / "atlas.db")  # a file where a directory should be


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "atlas.db") as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(LibraryCorruptError, match="not an Atlas library"):
        SqliteIndex(tmp_path)


def test_newer_schema_is_refused_with_a_clear_message(sqlite_dir: Path) -> None:
    with sqlite3.connect(sqlite_dir / "atlas.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LibraryMismatchError, match="newer Atlas"):
        SqliteIndex(sqlite_dir)


# -- processes opening one new library together -------------------------------------------------------------


def _open_and_list(directory: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # every process opens at the same moment, as two `atlas ingest` started together do
    try:
        with SqliteIndex(Path(directory)) as store:
            store.list_videos()
        results.put("opened")
    except Exception as exc:  # the parent asserts on what each process saw
        results.put(repr(exc))


def test_processes_that_open_one_new_library_together_all_open_it(tmp_path: Path) -> None:
    """Switching a new database to WAL needs an exclusive lock that SQLite refuses at once, without its busy
    timeout, while another process holds it; before schema._use_wal retried, about 1 in 4 of these rounds
    ended with "not a readable Atlas library (database is locked)" for one process."""
    context = multiprocessing.get_context("spawn")
    for round_ in range(8):
        directory = tmp_path / f"lib{round_}"
        barrier, results = context.Barrier(6), context.Queue()
        processes = [
            context.Process(target=_open_and_list, args=(str(directory), barrier, results)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        seen = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        assert seen == ["opened"] * 6, seen
        with SqliteIndex(directory) as store:
            assert store.verify() == []
