"""The HNSW sidecar (usearch) over window vectors: derived from the SQLite store, never the source of truth.

Files next to ``atlas.db``::

    ann.json                  the commit point: {"file", "gen", "library", "dim", "dtype", "count", ...}
    vectors.<gen>.usearch     the usearch index ann.json points to
    ann.lock                  flock: savers exclusive, loaders shared

A save writes a new ``vectors.<gen>.usearch`` under a temp name, fsyncs and renames it, then replaces
``ann.json`` (temp + ``os.replace``), then deletes older vector files. A reader therefore sees either the old
pair or the new pair, never a new index described by an old generation. Anything missing, unreadable or
not matching (other library, other dim, wrong count) makes ``load`` return None and the store rebuilds from
SQLite.

Metric: inner product on L2-normalised vectors (= cosine); usearch reports ``1 - dot`` as the distance. Inner
product rather than usearch's ``cos`` because an all-zero vector (an empty text) then simply scores 0.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from atlas.errors import as_disk_full

# isort: off
from atlas.index import _native_order  # noqa: F401  (must run before usearch is imported; see there)
from usearch.index import Index as _Usearch

# isort: on

Keys = npt.NDArray[np.int64]
FORMAT = 1
POINTER = "ann.json"
LOCK = "ann.lock"

# HNSW settings, measured on the synthetic 384-d library of benchmarks/bench_index_scale.py, 2 cores.
# expansion_add: 64 builds faster but caps recall@10 (1 M: 0.78 / 0.87 / 0.92 at expansion_search 192 / 384 /
# 768); 128 (usearch's default) gave 0.96 / 0.98 at 256 / 512 for a 1 M build of 328 s. int8 vectors built
# in 122 s but reached 0.90 only with 5x over-fetch and exact rescoring, so float16 it is (half of f32's RAM,
# same recall). The beam widens with the index: 192 up to 200 k, ~500 at 1 M (``expansion_for``).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 192


def expansion_for(size: int) -> int:
    return int(min(1024, EXPANSION_SEARCH * max(1.0, size / 200_000) ** 0.6))


class AnnIndex:
    """An in-memory usearch index plus the store generation it reflects. Not thread-safe: the store locks."""

    def __init__(self, dim: int, dtype: str = "f16", *, _index: _Usearch | None = None, gen: int = 0) -> None:
        self.dim = dim
        self.dtype = dtype
        self.gen = gen  # the store generation this index reflects exactly
        self.dirty = False  # changed since loaded / saved
        self._index = _index if _index is not None else self._new(dim, dtype)

    @staticmethod
    def _new(dim: int, dtype: str) -> _Usearch:
        return _Usearch(
            ndim=dim,
            metric="ip",
            dtype=dtype,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def __len__(self) -> int:
        return len(self._index)

    def add(self, keys: Keys, vectors: npt.NDArray[np.float32]) -> None:
        """Add vectors; keys already present are replaced, so replaying a delta twice is harmless."""
        if len(keys) == 0:
            return
        present = np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)
        if present.any():
            self._index.remove(keys[present])
        self._index.add(keys, vectors, threads=0)
        self.dirty = True

    def remove(self, keys: Keys) -> None:
        if len(keys) == 0:
            return
        present = np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)
        if present.any():
            self._index.remove(keys[present])
            self.dirty = True

    def contains(self, keys: Keys) -> npt.NDArray[np.bool_]:
        if len(keys) == 0:
            return np.zeros(0, dtype=bool)
        return np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)

    def search(self, query: npt.NDArray[np.float32], count: int) -> tuple[Keys, npt.NDArray[np.float32]]:
        """The ``count`` nearest keys and their approximate cosine similarities, best first."""
        if count <= 0 or len(self._index) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # HNSW only returns as many as its beam holds: widen the beam for big over-fetches (filters).
        beam = max(expansion_for(len(self._index)), count)
        self._index.expansion_search = beam  # type: ignore[misc]  # has a setter
        matches = self._index.search(query, count)
        keys = np.asarray(matches.keys, dtype=np.int64)
        sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
        return keys, sims

    # -- files -----------------------------------------------------------------------------------------

    def save(self, directory: Path, *, library: str) -> bool:
        """Write atomically; skip (False) when the saved sidecar is already as new as this one."""
        with _locked(directory, fcntl.LOCK_EX):
            for stale in directory.glob(".*.tmp"):  # left by a saver killed mid-write (we hold the lock)
                stale.unlink(missing_ok=True)
            current = _read_pointer(directory)
            if current and current.get("library") == library and int(current.get("gen", -1)) >= self.gen:
                _remove_old_vectors(directory, str(current.get("file", "")))  # a saver killed before it did
                self.dirty = False
                return False
            name = f"vectors.{self.gen}.usearch"
            tmp = directory / f".{name}.{os.getpid()}.tmp"
            tmp_pointer = directory / f".{POINTER}.{os.getpid()}.tmp"
            try:
                self._write(tmp, directory / name, tmp_pointer, library)
            except (OSError, RuntimeError) as exc:
                tmp.unlink(missing_ok=True)  # no half-written file left to fill the disk further
                tmp_pointer.unlink(missing_ok=True)
                cause = exc if isinstance(exc, OSError) else _no_space(directory, exc)
                full = None if cause is None else as_disk_full(cause, directory)
                if full is None:
                    raise
                raise full from exc
            _remove_old_vectors(directory, name)
        self.dirty = False
        return True

    def _write(self, tmp: Path, final: Path, tmp_pointer: Path, library: str) -> None:
        """The vector file, then the pointer to it: each to a temp name, fsynced, renamed over."""
        self._index.save(str(tmp))
        _fsync(tmp)
        os.replace(tmp, final)
        pointer = {
            "format": FORMAT,
            "file": final.name,
            "gen": self.gen,
            "library": library,
            "dim": self.dim,
            "dtype": self.dtype,
            "count": len(self._index),
        }
        tmp_pointer.write_text(json.dumps(pointer), encoding="utf-8")
        _fsync(tmp_pointer)
        os.replace(tmp_pointer, final.parent / POINTER)

    @classmethod
    def load(
        cls, directory: Path, *, library: str, dim: int, dtype: str = "f16", lock: bool = True
    ) -> AnnIndex | None:
        """The saved sidecar, or None when there is none usable (the caller rebuilds). ``lock=False`` for a
        read-only library: nobody may save there, and opening the lock file would create it."""
        with _locked(directory, fcntl.LOCK_SH) if lock else contextlib.nullcontext():
            pointer = _read_pointer(directory)
            if not pointer or pointer.get("format") != FORMAT or pointer.get("library") != library:
                return None
            if pointer.get("dim") != dim or pointer.get("dtype") != dtype:
                return None
            path = directory / str(pointer.get("file", ""))
            if not path.is_file():
                return None
            index = cls._new(dim, dtype)
            try:
                index.load(str(path))
            except (RuntimeError, ValueError, OSError):
                return None
        if index.ndim != dim or len(index) != pointer.get("count"):
            return None
        loaded = cls(dim, dtype, _index=index, gen=int(pointer["gen"]))
        # Another vector file beside the pointer's: a saver was killed between renaming the new pointer in
        # and deleting the old file. Dirty, so that the next flush's save (which writes nothing when the saved
        # sidecar is as new) deletes it: a whole stale copy of the index must not stay on disk for ever.
        loaded.dirty = any(old.name != path.name for old in directory.glob("vectors.*.usearch"))
        return loaded

    @staticmethod
    def discard(directory: Path) -> None:
        """Delete the saved sidecar (its pointer first, so no reader trusts a half-deleted pair)."""
        with _locked(directory, fcntl.LOCK_EX):
            (directory / POINTER).unlink(missing_ok=True)
            for old in directory.glob("vectors.*.usearch"):
                old.unlink(missing_ok=True)


def _no_space(directory: Path, exc: RuntimeError) -> OSError | None:
    """usearch reports a failed write as RuntimeError("Failed to serialize ..."), without the cause: an
    almost empty disk is the cause we can name."""
    if "serialize" in str(exc) and shutil.disk_usage(directory).free < 1 << 20:
        return OSError(errno.ENOSPC, str(exc))
    return None


def _read_pointer(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def _locked(directory: Path, mode: int) -> Iterator[None]:
    with open(directory / LOCK, "a+b") as handle:
        fcntl.flock(handle.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_old_vectors(directory: Path, current: str) -> None:
    """Delete every vector file but the one the pointer names (call with the lock held)."""
    if not current:
        return
    for old in directory.glob("vectors.*.usearch"):
        if old.name != current:
            old.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
