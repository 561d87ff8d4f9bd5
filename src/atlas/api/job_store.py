"""Ingest jobs, kept in ``<library>/jobs.jsonl``: GET /api/jobs/{id} still answers after a restart.

One JSON line per change of a job's state (its ``JobOut`` snapshot when queued, started and finished),
appended in a single ``write`` on an ``O_APPEND`` descriptor and fsynced, so a crash can at worst leave the
last line cut short. Loading skips any line that is not a whole, valid job (a cut-off tail, a hand edit) with
a warning: the log is a convenience and must never keep the server from starting. The file is rewritten (to a
temporary file, then renamed over it) once it holds more than twice the number of jobs kept, so it stays small
without rewriting on every job.

A job whose last line says queued or running was cut off by a kill or a crash (a clean shutdown records it as
cancelled): it is loaded as ``interrupted``, saying to submit it again. It is not resumed: re-submitting is
cheap because re-ingesting what already went in is a no-op, and a resumed job could surprise its client.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from atlas.api.schemas import FINISHED_STATES, JobOut

log = logging.getLogger("atlas.api.jobs")

JOBS_FILE = "jobs.jsonl"
RESUBMIT_HINT = "submit the targets again to finish: what already went in is skipped as unchanged"
INTERRUPTED = {
    "code": "interrupted",
    "message": "the server stopped (killed or crashed) before this job finished",
    "hint": RESUBMIT_HINT,
}


class JobStore:
    """The append-only log of jobs. Thread-safe: the worker and request threads both finish jobs."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        self.keep = keep
        self._lines = 0  # lines in the file (valid or not), to know when to compact
        self._lock = threading.Lock()

    def load(self) -> list[dict[str, Any]]:
        """The most recent ``keep`` jobs, oldest first (by creation), each a valid JobOut dict in a finished
        state: one left queued or running by a dead process is reported ``interrupted``."""
        with self._lock:
            jobs, self._lines = self._read()
            return jobs

    def append(self, snapshot: dict[str, Any]) -> None:
        """Record a job's new state. Failures are logged, not raised: the job itself is already done."""
        line = json.dumps(snapshot, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        with self._lock:
            try:
                self._append_line(line)
                self._lines += 1
                if self._lines > 2 * self.keep:
                    self._compact()
            except OSError as exc:
                log.warning("could not record job %s in %s: %s", snapshot.get("id"), self.path, exc)

    # -- file handling --------------------------------------------------------------------------------------

    def _read(self) -> tuple[list[dict[str, Any]], int]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return [], 0
        except OSError as exc:
            log.warning("could not read past jobs from %s: %s", self.path, exc)
            return [], 0
        lines = raw.splitlines()
        by_id: dict[str, dict[str, Any]] = {}
        skipped = 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            job = _parse(line)
            if job is None:
                skipped += 1
                log.warning("%s line %d is not a job record; ignored", self.path, number)
                continue
            by_id.pop(job["id"], None)  # the later record of the same job wins
            by_id[job["id"]] = job
        jobs = sorted(map(_finished, by_id.values()), key=lambda job: float(job["created_at"]))
        return jobs[-self.keep :] if self.keep > 0 else [], len(lines)

    def _append_line(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            # A crash mid-write leaves a last line with no newline: start on a fresh line so that only the
            # cut-off record is lost, not this one too.
            if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            # One write on an O_APPEND descriptor: a whole line, never interleaved with another appender's.
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _compact(self) -> None:
        jobs, _ = self._read()
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "wb") as out:
            for job in jobs:
                out.write(json.dumps(job, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)  # readers see the old file or the new one, never a mix
        _fsync_directory(self.path.parent)
        self._lines = len(jobs)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
        job = JobOut.model_validate(data)
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return job.model_dump(mode="json")


def _finished(job: dict[str, Any]) -> dict[str, Any]:
    """A job as a new process sees it: if its last record is not a finished state, that process died."""
    if job["state"] in FINISHED_STATES:
        return job
    progress = {**job["progress"], "current": None}
    return {**job, "state": "interrupted", "progress": progress, "error": dict(INTERRUPTED)}


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
