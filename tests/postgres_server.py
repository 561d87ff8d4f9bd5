"""A real PostgreSQL server for tests: the ``pgserver`` wheel (PostgreSQL 16 + pgvector 0.6) started as a
child process in a temporary directory, listening on a unix socket only (no TCP port at all).

``pg_database`` gives a test a fresh, empty database on it, ``pg_schema`` a fresh schema in one shared
database (much cheaper: the contract suite opens ~100 libraries). Tests that need a server are skipped, saying
what to install, when the ``cluster`` and ``dev`` extras are not installed.

The server runs with fsync off: these tests check what a store does, not what a disk keeps after a power
cut, and a test database is thrown away anyway.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_NUMBERS = itertools.count()


@dataclass
class PgServer:
    server: Any  # pgserver.PostgresServer
    directory: Path
    shared: str | None = None  # the database that per-test schemas live in

    def url(self, database: str = "postgres") -> str:
        return str(self.server.get_uri(database))

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"atlas_test_{next(_NUMBERS)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def create_schema(self) -> tuple[str, str]:
        """(URL of the shared database, a schema name no test has used yet)."""
        if self.shared is None:
            self.shared = self.create_database()
        return self.shared, f"atlas_t{next(_NUMBERS)}"

    def drop_schema(self, url: str, schema: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_server() -> Iterator[PgServer]:
    pytest.importorskip("psycopg", reason="the PostgreSQL store needs: pip install 'atlas-search[cluster]'")
    pytest.importorskip("pgvector", reason="the PostgreSQL store needs: pip install 'atlas-search[cluster]'")
    pgserver = pytest.importorskip("pgserver", reason="tests start PostgreSQL with the dev extra's pgserver")
    directory = Path(tempfile.mkdtemp(prefix="atlas-pg-"))
    server = pgserver.get_server(directory / "data", cleanup_mode="stop")
    import psycopg

    with psycopg.connect(str(server.get_uri()), autocommit=True) as conn:
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield PgServer(server, directory)
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)
