"""Stores behind the ``Index`` protocol (``base``); ``open_index`` picks the backend for a library."""

from __future__ import annotations

from pathlib import Path

from atlas.index.base import Index
from atlas.index.postgres_schema import redact


def open_index(path: Path) -> Index:
    """The embedded SQLite store in library directory ``path`` (created if missing).

    Imported lazily so that ``atlas.index.base`` stays importable without usearch.
    """
    from atlas.index.sqlite import SqliteIndex

    return SqliteIndex(Path(path))


def open_store(url: str, *, create: bool = True) -> Index:
    """The PostgreSQL store at ``url`` (needs the ``cluster`` extra: psycopg and pgvector)."""
    from atlas.errors import require

    purpose = f"The PostgreSQL store {redact(url)}"
    require("psycopg", extra="cluster", purpose=purpose)
    require("pgvector", extra="cluster", purpose=purpose)
    from atlas.index.postgres import PostgresIndex

    return PostgresIndex(url, create=create)


__all__ = ["Index", "open_index", "open_store"]
