"""Recent ``/api/search`` answers, kept as the JSON bytes sent, keyed by the request and the library's write
generation.

A served library is searched far more often than written, and people repeat queries (the page's links, a
team trying the same words, a client polling). Every committed write to the store, from this process or any
other (``atlas ingest`` beside a running server, another ``--workers`` process), bumps the store's
generation, which is part of the key: an answer computed before a write is never served after it. Reading
the generation is one primary-key read, which a cache hit pays instead of a whole search (~70 ms at 200k
windows on 2 cores: embedding the query, BM25, HNSW, reading and reranking 40 windows, JSON).

A store without a cheap generation (PostgreSQL: other servers write to it) is not cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_ENTRIES = 2048
MAX_BYTES = 64 * 1024 * 1024  # the bodies kept, all together: a limit=200 answer is ~200 KB


class SearchCache:
    """A thread-safe LRU of response bodies, bounded in entries and in bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._generation: int | None = None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def generation_of(index: object) -> int | None:
        """The store's write generation, or None when it has none (then nothing is cached)."""
        read = getattr(index, "generation", None)
        return int(read()) if callable(read) else None

    def at(self, generation: int) -> None:
        """Drop everything when the store's generation moved: those answers can never be served again."""
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._bytes = 0
                self._generation = generation

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if self.max_entries <= 0 or len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = body
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
