"""One error tree for all of Atlas. The CLI maps it to exit codes and the HTTP API to JSON errors, each in one
place, by reading the class attributes below.

    AtlasError                     exit 1, HTTP 500
    ├── UserInputError             exit 2, HTTP 400   bad arguments, bad query, bad date
    │   └── SourceError            exit 2, HTTP 422   a file/URL that cannot be read or parsed
    ├── NotFoundError              exit 4, HTTP 404   unknown video id
    ├── LibraryMismatchError       exit 3, HTTP 409   index built with another embedder / schema
    ├── LibraryCorruptError        exit 3, HTTP 500   the store cannot be opened or is inconsistent
    ├── LibraryReadOnlyError       exit 7, HTTP 403   a write to a library Atlas may only read
    ├── DiskFullError              exit 8, HTTP 507   the disk (or the database's page limit) is full
    ├── DependencyMissingError     exit 5, HTTP 500   an optional package / model is not installed
    └── GeneratorError             exit 6, HTTP 502   the answer generator failed (unreachable, HTTP error)
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class AtlasError(Exception):
    exit_code: int = 1
    http_status: int = 500
    code: str = "atlas_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message a user sees: the problem, then the fix."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UserInputError(AtlasError):
    exit_code = 2
    http_status = 400
    code = "bad_input"


class SourceError(UserInputError):
    """A source (file, URL) that cannot be ingested. ``source`` names it."""

    http_status = 422
    code = "bad_source"

    def __init__(self, source: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{source}: {message}", hint=hint)
        self.source = source


class NotFoundError(AtlasError):
    exit_code = 4
    http_status = 404
    code = "not_found"


class LibraryMismatchError(AtlasError):
    exit_code = 3
    http_status = 409
    code = "library_mismatch"


class LibraryCorruptError(AtlasError):
    exit_code = 3
    http_status = 500
    code = "library_corrupt"


class LibraryReadOnlyError(AtlasError):
    """A write (ingest, delete, import) to a library opened read-only; reads work as usual."""

    exit_code = 7
    http_status = 403
    code = "read_only"


class DiskFullError(AtlasError):
    """No space left for the library (or its sidecar, cache): the write in progress was rolled back."""

    exit_code = 8
    http_status = 507
    code = "disk_full"


class DependencyMissingError(AtlasError):
    exit_code = 5
    http_status = 500
    code = "dependency_missing"


class GeneratorError(AtlasError):
    """The model that writes answers failed: an endpoint that cannot be reached or answers with an error, a
    model that cannot be loaded. ``atlas ask --fallback`` answers extractively instead."""

    exit_code = 6
    http_status = 502
    code = "generator_failed"


def require(module: str, *, extra: str, purpose: str) -> object:
    """Import an optional heavy dependency, or fail with the command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DependencyMissingError(
            f"{purpose} needs the Python package '{module}', which is not installed",
            hint=f"install it with: pip install 'atlas-search[{extra}]'",
        ) from exc


def as_disk_full(exc: BaseException, where: Path | str) -> DiskFullError | None:
    """``exc`` as a ``DiskFullError`` when it means "no space left" (SQLite's SQLITE_FULL, which a
    ``max_page_count`` limit raises too; ENOSPC or EDQUOT from the OS), else None."""
    if isinstance(exc, sqlite3.OperationalError):
        full = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL
    else:
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if not full:
        return None
    return DiskFullError(
        f"disk full: no space left to write to {where}; what was being written was rolled back",
        hint="free some space (or move the library to a bigger disk with --library) and run it again",
    )
