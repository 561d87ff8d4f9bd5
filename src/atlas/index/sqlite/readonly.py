"""Opening a library Atlas may only read: a backup, a shared read-only mount, a folder marked ``chmod a-w``.

A library is read-only when its directory or ``atlas.db`` is not writable, by ``os.access`` (a read-only
mount, another user's files) or by its mode bits (no ``w`` for anyone: ``chmod -R a-w``). The mode bits count
even for root, who could write anyway: someone marked that library as not to be touched, and a root-run
``atlas search`` must not leave files in a backup.

How SQLite opens it: a WAL database opened plain ``mode=ro`` still creates ``atlas.db-wal``/``-shm`` beside
it where it can (root can) and fails where it cannot (a non-root user without an existing ``-shm``). So:

* no ``-wal`` file, or an empty one (a cleanly closed library, which is what a backup or a copy holds):
  ``immutable=1``, which reads the main file only, takes no locks and creates nothing. Nobody can be writing
  to it, since nobody may.
* a ``-wal`` holding commits not yet copied into ``atlas.db`` (a library whose last writer was killed, then
  made read-only): ``mode=ro``, which reads those commits through the ``-shm`` (SQLite >= 3.22 reads a
  read-only ``-shm``). If that cannot open, the error says to open the library once writable.

Every write then fails before it starts with ``LibraryReadOnlyError`` ("library at X is read-only; ...").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote

from atlas.errors import LibraryReadOnlyError


def is_read_only(directory: Path, db_path: Path) -> bool:
    """Whether Atlas may only read the library in ``directory`` (which exists)."""
    paths = [directory] + ([db_path] if db_path.exists() else [])
    return any(not os.access(p, os.W_OK) or not stat.S_IMODE(p.stat().st_mode) & 0o222 for p in paths)


def uri(db_path: Path) -> str:
    """The SQLite URI that opens ``db_path`` for reading only (see the module docstring for which)."""
    wal = db_path.with_name(db_path.name + "-wal")
    pending = wal.exists() and wal.stat().st_size > 0
    return f"file:{quote(str(db_path.resolve()))}?{'mode=ro' if pending else 'immutable=1'}"


def read_only_error(directory: Path, consequence: str) -> LibraryReadOnlyError:
    return LibraryReadOnlyError(
        f"library at {directory} is read-only; {consequence}",
        hint="reads (search, list, show, ask) work; to change it, make it writable "
        "(chmod -R u+w, a writable mount) or copy it to a writable --library",
    )
