"""Stores behind the ``Index`` protocol (``base``); ``open_index`` picks the backend for a library."""

from __future__ import annotations

from pathlib import Path

from atlas.index.base import Index


def open_index(path: Path) -> Index:
    """The embedded SQLite store in library directory ``path`` (created if missing).

    Imported lazily so that ``atlas.index.base`` stays importable without usearch.
    """
    from atlas.index.sqlite import SqliteIndex

    return SqliteIndex(Path(path))


__all__ = ["Index", "open_index"]
