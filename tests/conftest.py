"""Shared fixtures. Unit tests use the deterministic hashing embedder (instant); tests marked real_model use
the bundled all-MiniLM-L6-v2, loaded once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from tests.postgres_server import PgServer, start_server

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAKE_EMBEDDER = "fake/hashing-64"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``atlas *argv`` in this process: (exit code, stdout, stderr)."""
    from atlas.cli.app import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)


@pytest.fixture
def fake_library(fake_settings: Settings) -> Iterator[Library]:
    with Library.open(fake_settings) as lib:
        yield lib


@pytest.fixture(scope="session")
def real_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The three real sample transcripts, ingested once with the bundled MiniLM model."""
    directory = tmp_path_factory.mktemp("real") / "library"
    with Library.open(Settings(library_dir=directory)) as lib:
        report = lib.ingest([str(p) for p in sorted(SAMPLES.iterdir())])
        assert not report.failed, report.failed
        yield lib


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server (pgserver) for the whole session; skipped when not installed."""
    yield from start_server()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def pg_schema(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """(database URL, schema name): a fresh library location in the session's shared database."""
    url, schema = pg_server.create_schema()
    yield url, schema
    pg_server.drop_schema(url, schema)
