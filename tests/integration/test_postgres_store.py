"""The PostgreSQL store beyond the contract suite, on a real server (pgserver; tests/postgres_server.py):
selective filters still fill ``limit``, two processes writing at once, schema versions, the CLI with
``--store``, export/import across stores, and the server listening on a unix socket only."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

import numpy as np
import pytest

from atlas.config import resolve_settings
from atlas.errors import DependencyMissingError, LibraryMismatchError, NotFoundError, UserInputError
from atlas.index.postgres import PostgresIndex
from atlas.index.sqlite import SqliteIndex
from atlas.library import Library
from atlas.models import SearchFilters
from tests.conftest import FAKE_EMBEDDER, SAMPLES, run_cli
from tests.contract.test_index_contract import IDENTITY, NO_FILTER, query, record
from tests.postgres_server import PgServer

WORDS = "rocket launch orbit kitchen flour oven market price bond river mountain forest music guitar".split()


def _library(index: PostgresIndex | SqliteIndex, videos: int, windows: int) -> None:
    rng = np.random.default_rng(3)
    index.claim(IDENTITY)
    for n in range(videos):
        texts = [" ".join(rng.choice(WORDS, size=8)) + f" clip {n} {i}" for i in range(windows)]
        index.put_video(
            record(f"v{n:03d}", texts, channel=f"c{n % 7}", published=f"2024-01-{n % 28 + 1:02d}")
        )


@pytest.mark.parametrize("exact_limit", [None, 0])
def test_a_filter_keeping_one_percent_still_returns_limit_rows(
    pg_schema: tuple[str, str], exact_limit: int | None
) -> None:
    """100 videos of 12 windows; a filter on one video keeps 1 %. pgvector 0.6 post-filters its HNSW
    candidates, so a plain filtered query comes back short: the store must still fill ``limit`` (by an
    exact scan, or with exact_limit=0 by a raised ef_search and then exact), with exact scores."""
    url, schema = pg_schema
    with PostgresIndex(url, schema=schema, exact_limit=exact_limit) as index:
        _library(index, videos=100, windows=12)
        only = SearchFilters(video_ids=("v042",))
        assert index.counts()["windows"] == 1200
        for text in ("rocket launch orbit", "flour oven", "guitar music river"):
            hits = index.vector_search(query(text), 10, only)
            assert len(hits) == 10
            assert {w.video.video_id for w in index.windows([h.key for h in hits])} == {"v042"}
            record_ = index.get_record("v042")
            q = query(text) / np.linalg.norm(query(text))
            best = np.sort(record_.window_vectors @ q)[::-1][:10]
            np.testing.assert_allclose([h.score for h in hits], best, atol=1e-6)
            keyword = index.keyword_search(["clip"], 10, only)
            assert len(keyword) == 10
        # A broad filter (a channel: 1/7 of the library) through the same paths.
        broad = index.vector_search(query("market price"), 20, SearchFilters(channels=("c3",)))
        assert len(broad) == 20
        assert {w.video.channel for w in index.windows([h.key for h in broad])} == {"c3"}
        assert index.verify() == []


def _writer(url: str, schema: str, prefix: str, start: float) -> None:
    """One ingesting process: 8 videos of its own, and the shared one, several times."""
    import time

    time.sleep(max(0.0, start - time.time()))  # both processes begin together
    with PostgresIndex(url, schema=schema) as index:
        index.claim(IDENTITY)
        for n in range(8):
            index.put_video(record(f"{prefix}{n}", [f"{prefix} text {n} {i}" for i in range(20)]))
            index.put_video(record("same", [f"shared video take {prefix} {i}" for i in range(25)]))


def test_two_processes_ingesting_at_once_lose_nothing_and_keep_one_copy(pg_schema: tuple[str, str]) -> None:
    import time

    url, schema = pg_schema
    PostgresIndex(url, schema=schema).close()  # create the library once, as `atlas ingest` would
    spawn = multiprocessing.get_context("spawn")
    start = time.time() + 3.0
    procs = [spawn.Process(target=_writer, args=(url, schema, p, start)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    with PostgresIndex(url, schema=schema) as index:
        assert index.counts() == {"videos": 17, "windows": 16 * 20 + 25, "sentences": 16 * 20 + 25}
        assert sorted(v.video_id for v in index.list_videos()) == sorted(
            [*(f"a{n}" for n in range(8)), *(f"b{n}" for n in range(8)), "same"]
        )
        same = index.get_record("same")
        takes = {w.text.split()[3] for w in same.windows}
        assert len(same.windows) == 25 and len(takes) == 1  # one whole copy, never a mix of the two
        assert index.verify() == []  # statistics, terms and HNSW index agree with the rows
        hits = index.keyword_search(["shared"], 50, NO_FILTER)
        assert len(hits) == 25


def test_a_library_newer_than_the_code_is_refused(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with PostgresIndex(url, schema=schema) as index:
        index.claim(IDENTITY)
        index._conn().execute(f"UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LibraryMismatchError) as info:
        PostgresIndex(url, schema=schema)
    message = info.value.one_line()
    assert "newer Atlas" in message and "schema 99" in message and "upgrade Atlas" in message


def test_opening_a_missing_library_read_only_says_so(pg_database: str) -> None:
    with pytest.raises(NotFoundError) as info:
        PostgresIndex(pg_database, create=False)
    assert "atlas ingest" in info.value.one_line()


def test_the_cli_with_store(capsys: pytest.CaptureFixture[str], pg_database: str, tmp_path: Path) -> None:
    args = ["--store", pg_database, "--library", str(tmp_path / "local")]
    code, _, err = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", "--embedder", FAKE_EMBEDDER, *args)
    assert code == 0, err
    assert not (tmp_path / "local" / "atlas.db").exists()  # the index is in PostgreSQL
    code, out, _ = run_cli(capsys, "search", "Gradescope grading", "--json", "--limit", "3", *args)
    assert code == 0
    hits = json.loads(out)["hits"]
    assert 1 <= len(hits) <= 3 and hits[0]["video_id"] == "berkeley-ai-rubric-lecture"
    code, out, _ = run_cli(capsys, "search", "Gradescope", "--channel", "nobody", "--json", *args)
    assert code == 0 and json.loads(out)["hits"] == []
    code, out, _ = run_cli(capsys, "list", "--json", *args)
    assert code == 0 and len(json.loads(out)) == 3
    code, out, _ = run_cli(capsys, "doctor", "--json", *args)
    doctor = json.loads(out)
    assert code == 0 and doctor["problems"] == [] and doctor["store"].startswith("postgresql://")
    assert doctor["counts"]["videos"] == 3
    code, _, err = run_cli(capsys, "list", "--store", "mysql://x@y/z", "--library", str(tmp_path))
    assert code == 2 and "PostgreSQL URL" in err


def test_export_from_sqlite_and_import_into_postgresql_search_the_same(
    pg_database: str, tmp_path: Path
) -> None:
    embedded = resolve_settings(library=tmp_path / "lib", embedder=FAKE_EMBEDDER, environ={})
    shared = resolve_settings(library=tmp_path / "local", environ={"ATLAS_STORE": pg_database})
    assert shared.store == pg_database
    queries = ["Gradescope grading", "renting servers versus buying hardware", "mixture of experts routing"]
    with Library.open(embedded) as lib:
        assert not lib.ingest([str(SAMPLES)]).failed
        lib.export(tmp_path / "library.jsonl")
        before = [[(h.video.video_id, h.moment, round(h.score, 5)) for h in lib.search(q)] for q in queries]
    with Library.open(shared) as lib:
        assert not lib.import_(tmp_path / "library.jsonl").failed
        after = [[(h.video.video_id, h.moment, round(h.score, 5)) for h in lib.search(q)] for q in queries]
        assert lib.health().problems == ()
    assert after == before


def test_a_bad_store_url_and_a_missing_extra_say_how_to_fix_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(UserInputError):
        resolve_settings(library=tmp_path, environ={"ATLAS_STORE": "sqlite:///x.db"})
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the cluster extra were not installed
    settings = resolve_settings(library=tmp_path, store="postgresql://me:secret@db.example/atlas")
    with pytest.raises(DependencyMissingError) as info:
        Library.open(settings)
    message = info.value.one_line()
    assert "atlas-search[cluster]" in message and "secret" not in message


def test_the_test_server_listens_on_a_unix_socket_only(pg_server: PgServer) -> None:
    import psycopg

    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""  # no TCP socket at all
        assert conn.info.host.startswith("/")  # a unix-socket directory
        version = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
        assert version.fetchone()[0] >= "0.6"
