"""The embedded store: one SQLite file (the source of truth: ``schema``) plus a usearch HNSW sidecar
(``sidecar``, ``ann``) reconciled from it at open; ``store.SqliteIndex`` implements ``Index``."""

from atlas.index.sqlite.store import SqliteIndex

__all__ = ["SqliteIndex"]
