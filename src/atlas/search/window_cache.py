"""Windows a search read from the store (text, video, sentences and vectors), kept by key for the next
searches: a served library answers many queries about the same topics, and reading 40 windows with their
sentences per query was a third of a search's time at 200k windows (benchmarks/README.md, issue 17).

Entries belong to the store's write generation they were read under: any committed write (this process's or
another's) moves it, and the next lookup starts empty, so a replaced or deleted video is never served from
here. A store without a generation (PostgreSQL) is not cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_WINDOWS = 8192  # ~5-20 KB each (sentences and their vectors): tens of MiB at most


class WindowCache(Generic[T]):
    """A thread-safe LRU from window key to ``T``, valid for one store generation at a time."""

    def __init__(self, index: object, max_items: int = MAX_WINDOWS) -> None:
        read = getattr(index, "generation", None)
        self._read_generation = read if callable(read) else None
        self.max_items = max_items
        self._items: OrderedDict[int, T] = OrderedDict()
        self._gen: int | None = None
        self._lock = threading.Lock()

    def generation(self) -> int | None:
        """Read before the store is read: what is then put is filed under this generation."""
        if self._read_generation is None or self.max_items <= 0:
            return None
        return int(self._read_generation())

    def get(self, gen: int | None, keys: Iterable[int]) -> dict[int, T]:
        if gen is None:
            return {}
        found: dict[int, T] = {}
        with self._lock:
            if gen != self._gen:
                self._items.clear()
                self._gen = gen
                return found
            for key in keys:
                item = self._items.get(key)
                if item is not None:
                    self._items.move_to_end(key)
                    found[key] = item
        return found

    def put(self, gen: int | None, items: Mapping[int, T]) -> None:
        if gen is None or not items:
            return
        with self._lock:
            if gen != self._gen:
                return  # read under a generation that has moved on (or not looked up yet): not kept
            self._items.update(items)
            for key in items:
                self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
