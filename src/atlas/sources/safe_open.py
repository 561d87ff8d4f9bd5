"""Opening a local file so that what is read is what was checked.

The HTTP API may read only files inside the operator's allowed directories. Checking a path by name and
opening it later leaves a window: a symlink swapped in meanwhile (while an ingest job waits in the queue, or
between the check and the read) would be followed out of the allowed directories. So the check is made on
the file descriptor itself: the path is resolved, opened with ``O_NOFOLLOW`` (a link swapped in at the last
component fails to open), and the kernel's name for the open file (``/proc/self/fd/N``) must lie inside an
allowed directory. Readers then use that descriptor (or ``/proc/self/fd/N``, which reopens the same file, not
the name), never the name again. Without ``/proc`` (not Linux) the opened file must be the same inode as the
resolved name: the check is then as good as the resolution, which is the best a portable program can do.

``O_NONBLOCK`` keeps a FIFO named ``talk.vtt`` from blocking the open; it is refused as not a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atlas.errors import SourceError

OUTSIDE = "resolves outside the directories this server may read"
_OUTSIDE_HINT = "move the file into an allowed folder, or restart atlas serve with --allow-dir"
_NOT_REGULAR = "not a regular file (a pipe, socket or device)"


class OutsideAllowedError(SourceError):
    """The file opened is not inside the allowed directories (the media route answers 403 for it)."""


def open_regular(path: Path, allowed: tuple[Path, ...] | None = None, *, hint: str | None = None) -> int:
    """A descriptor open for reading on the regular file at ``path``; with ``allowed`` (the API's resolved
    allowed directories) the file actually opened must lie inside one of them. ``SourceError`` otherwise."""
    source = str(path)
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    target = os.path.realpath(path) if allowed is not None else str(path)
    if allowed is not None:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise SourceError(source, "no such file", hint="check the path") from None
    except PermissionError:
        raise SourceError(source, "permission denied", hint="make the file readable, or copy it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component became a link after it was resolved
            raise OutsideAllowedError(source, OUTSIDE, hint=_OUTSIDE_HINT) from None
        if exc.errno == errno.ENXIO:  # a FIFO with no writer, opened non-blocking for writing: not ours
            raise SourceError(source, _NOT_REGULAR, hint=hint) from None
        raise SourceError(source, f"cannot open the file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SourceError(source, "is a folder, not a file", hint=hint)
        if not stat.S_ISREG(mode):
            raise SourceError(source, _NOT_REGULAR, hint=hint)
        if allowed is not None and not _opened_inside(fd, target, allowed):
            raise OutsideAllowedError(source, OUTSIDE, hint=_OUTSIDE_HINT)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _opened_inside(fd: int, resolved: str, allowed: tuple[Path, ...]) -> bool:
    try:
        real = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:  # no /proc: the open file must be the one the resolved name leads to
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(resolved))
        except OSError:
            return False
        real = Path(resolved) if same else Path("/nonexistent-outside")
    return any(real == root or real.is_relative_to(root) for root in allowed)


def read_bytes(path: Path, allowed: tuple[Path, ...] | None, *, max_bytes: int, hint: str | None) -> bytes:
    """The whole file, through ``open_regular``; ``SourceError`` past ``max_bytes``."""
    source = str(path)
    fd = open_regular(path, allowed, hint=hint)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise _too_large(source, size, max_bytes)
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise SourceError(source, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew while being read
        raise _too_large(source, len(data), max_bytes)
    return data


def _too_large(source: str, size: int, max_bytes: int) -> SourceError:
    limit = f"{max_bytes / 2**20:g} MiB"
    return SourceError(
        source,
        f"too large for one transcript ({size / 2**20:.1f} MiB; the limit is {limit})",
        hint=f"split it into parts under {limit} (e.g. split -C {max(1, max_bytes // 2**20)}M FILE part-) "
        "and ingest the parts",
    )


@contextmanager
def opened_path(path: Path, allowed: tuple[Path, ...] | None) -> Iterator[Path]:
    """A path readers may open by name (FFmpeg takes names) that is the checked file: ``path`` itself when
    nothing restricts reading (the CLI), else ``/proc/self/fd/N`` of the checked descriptor, held open for
    the block. A ``SourceError`` raised inside that names the descriptor is renamed to ``path``."""
    if allowed is None:
        yield path
        return
    fd = open_regular(path, allowed)
    proxy = Path(f"/proc/self/fd/{fd}")
    try:
        if not proxy.exists():  # no /proc: the resolved name, checked just now, is the best there is
            proxy = Path(os.path.realpath(path))
        try:
            yield proxy
        except SourceError as exc:
            if exc.source != str(proxy):
                raise
            problem = exc.message.removeprefix(f"{exc.source}: ")
            raise SourceError(str(path), problem, hint=exc.hint) from exc
    finally:
        os.close(fd)
