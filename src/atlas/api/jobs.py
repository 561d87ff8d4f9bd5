"""Background ingest jobs: ``POST /api/ingest`` queues one, ``GET /api/jobs/{id}`` reports it.

Jobs run one at a time on a single worker thread: ingesting is CPU-bound (embedding, transcription), so two
at once would only slow each other and every search down. Searches keep running beside a job; they never see
a half-ingested video because the store writes each video in one transaction.

Progress comes from the Library's ``IngestObserver`` hooks. Cancelling (at shutdown) works through the same
hooks: the next hook call raises, so a job stops between stages and never leaves a video half-written.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from atlas.api.errors import atlas_error_body, error_body
from atlas.api.schemas import JobState
from atlas.errors import AtlasError, NotFoundError
from atlas.library import ItemOutcome, Library
from atlas.sources.base import SourceOptions

log = logging.getLogger("atlas.api.jobs")

MAX_FINISHED_JOBS = 200  # finished jobs are kept this long for GET /api/jobs/{id}, then forgotten


class JobCancelled(Exception):
    """Raised from an observer hook to stop a job between stages."""


@dataclass(slots=True)
class _Stage:
    target: str
    stage: str
    done: float | None = None
    total: float | None = None


@dataclass(slots=True)
class Job:
    """A job's live state. Mutated by the worker thread under ``lock``; read through ``snapshot``."""

    id: str
    targets: list[str]
    options: SourceOptions
    refused: list[ItemOutcome]  # targets refused before the job ran (e.g. outside the allowed dirs)
    created_at: float = field(default_factory=time.time)
    state: JobState = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    outcomes: list[ItemOutcome] = field(default_factory=list)
    started_targets: int = 0
    current: _Stage | None = None
    error: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            total = len(self.targets) + len(self.refused)
            running = self.state == "running" and self.current is not None
            # A target counts as finished once the next one starts or the job ends.
            finished = len(self.refused) + self.started_targets - (1 if running else 0)
            return {
                "id": self.id,
                "state": self.state,
                "targets": [o.target for o in self.refused] + list(self.targets),
                "created_at": self.created_at,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "progress": {
                    "targets_total": total,
                    "targets_finished": finished,
                    "current": asdict(self.current) if running and self.current else None,
                },
                "outcomes": [asdict(o) for o in [*self.refused, *self.outcomes]],
                "error": self.error["error"] if self.error else None,
            }


class _JobObserver:
    """The Library's IngestObserver, writing into one job."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def _check(self) -> None:
        if self._job.cancel.is_set():
            raise JobCancelled

    def item_started(self, target: str) -> None:
        self._check()
        with self._job.lock:
            self._job.started_targets += 1
            self._job.current = _Stage(target, "read")

    def stage(self, target: str, stage: str) -> None:
        self._check()
        with self._job.lock:
            self._job.current = _Stage(target, stage)

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        self._check()
        with self._job.lock:
            self._job.current = _Stage(target, stage, done, total)

    def item_finished(self, outcome: ItemOutcome) -> None:
        with self._job.lock:
            self._job.outcomes.append(outcome)


class JobManager:
    def __init__(self, library: Library) -> None:
        self._library = library
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-ingest")

    def submit(self, targets: list[str], options: SourceOptions, refused: list[ItemOutcome]) -> Job:
        job = Job(id=uuid.uuid4().hex, targets=targets, options=options, refused=refused)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._worker.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no ingest job {job_id!r}", hint="jobs are kept until the server restarts")
        return job

    def recent(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def shutdown(self) -> None:
        """Stop the running job at its next stage, drop queued ones, and wait for the worker."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state in ("done", "failed", "cancelled")]
        for job_id in finished[: max(0, len(finished) - MAX_FINISHED_JOBS)]:
            del self._jobs[job_id]

    def _run(self, job: Job) -> None:
        with job.lock:
            if job.cancel.is_set():
                job.state, job.finished_at = "cancelled", time.time()
                return
            job.state, job.started_at = "running", time.time()
        state: JobState = "done"
        error: dict[str, Any] | None = None
        try:
            if job.targets:
                self._library.ingest(job.targets, job.options, observer=_JobObserver(job))
        except JobCancelled:
            state = "cancelled"
        except AtlasError as exc:  # e.g. the library was built with another embedder
            state, error = "failed", atlas_error_body(exc)
        except Exception:
            log.exception("ingest job %s failed unexpectedly", job.id)
            state = "failed"
            error = error_body("internal_error", "the ingest job failed unexpectedly", "see the server log")
        with job.lock:
            job.state, job.error, job.finished_at, job.current = state, error, time.time(), None
