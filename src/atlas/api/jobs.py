"""Background ingest jobs: ``POST /api/ingest`` queues one, ``GET /api/jobs[/{id}]`` reports them,
``DELETE /api/jobs/{id}`` cancels one.

Jobs run one at a time on a single worker thread: ingesting is CPU-bound (embedding, transcription), so two
at once would only slow each other and every search down. Searches keep running beside a job; they never see
a half-ingested video because the store writes each video in one transaction.

Progress comes from the Library's ``IngestObserver`` hooks. Cancelling (DELETE, or at shutdown) works through
the same hooks: the next hook call raises, so a job stops between stages and never leaves a video
half-written (the last hook before a video is written is its "index" stage; once written, it is kept).
Each job is appended to ``<library>/jobs.jsonl`` (job_store.py) when queued, started and finished, and loaded
again at start (one left unfinished by a killed server as ``interrupted``).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from atlas.api.errors import ApiError, atlas_error_body, error_body
from atlas.api.job_store import JOBS_FILE, RESUBMIT_HINT, JobStore
from atlas.api.schemas import FINISHED_STATES, JobState
from atlas.errors import AtlasError, NotFoundError
from atlas.ingest_report import ItemOutcome
from atlas.library import Library
from atlas.models import IngestOptions
from atlas.sources.base import SourceContext
from atlas.views import outcome_counts, outcome_json

log = logging.getLogger("atlas.api.jobs")

MAX_FINISHED_JOBS = 200  # finished jobs kept for GET /api/jobs[/{id}] (in memory and in jobs.jsonl)

_RESUBMIT = RESUBMIT_HINT
CANCELLED_BY_CLIENT = error_body("cancelled", "cancelled by a client (DELETE /api/jobs/{id})", _RESUBMIT)
CANCELLED_AT_SHUTDOWN = error_body("cancelled", "the server shut down before this job finished", _RESUBMIT)

CancelResult = Literal["cancelled", "stopping", "finished"]


class JobCancelled(BaseException):
    """Raised from an observer hook to stop a job between stages.

    A BaseException, like KeyboardInterrupt: sources wrap third-party code (yt-dlp) in ``except Exception``
    to turn its errors into one failed item, and a cancel raised from a progress hook must get through."""


class JobFinishedError(ApiError):
    """DELETE /api/jobs/{id} on a job that has already finished: there is nothing left to stop."""

    http_status = 409
    code = "job_finished"


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
    options: IngestOptions
    refused: list[ItemOutcome]  # targets refused before the job ran (e.g. outside the allowed dirs)
    context: SourceContext = field(default_factory=SourceContext)  # the server's allowed directories
    created_at: float = field(default_factory=time.time)
    state: JobState = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    outcomes: list[ItemOutcome] = field(default_factory=list)
    started_targets: int = 0
    # True from a target's start until its item finishes: a job stopped meanwhile did not finish that target.
    item_open: bool = False
    current: _Stage | None = None
    error: dict[str, Any] | None = None
    cancel_reason: dict[str, Any] | None = None  # the error body a cancelled job reports
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request_cancel(self, reason: dict[str, Any]) -> CancelResult:
        """Ask the job to stop. A queued job is cancelled at once (the worker skips it); a running one
        stops at its next observer hook; a finished one is left as it is."""
        with self.lock:
            if self.state in FINISHED_STATES:
                return "finished"
            if self.cancel_reason is None:
                self.cancel_reason = reason
            self.cancel.set()
            if self.state == "running":
                return "stopping"
            self.state, self.finished_at, self.error = "cancelled", time.time(), self.cancel_reason
            return "cancelled"

    def snapshot(self) -> dict[str, Any]:
        """The job as ``GET /api/jobs/{id}`` shows it (``JobOut``) and as jobs.jsonl keeps it."""
        with self.lock:
            total = len(self.targets) + len(self.refused)
            if self.state == "done":
                finished = total  # a target that yielded no item (an empty playlist) is finished too
            else:
                finished = len(self.refused) + self.started_targets - (1 if self.item_open else 0)
            running = self.state == "running" and self.current is not None
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
                "outcomes": [outcome_json(o) for o in [*self.refused, *self.outcomes]],
                "error": dict(self.error["error"]) if self.error else None,
                "cancel_requested": self.cancel.is_set(),
            }


@dataclass(frozen=True, slots=True)
class PastJob:
    """A finished job loaded from jobs.jsonl: only its final snapshot is left."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def state(self) -> str:
        return str(self.data["state"])

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)  # callers may not change the record


def summarize(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A job's line in GET /api/jobs: who, when, how far, how many of each outcome (not every outcome)."""
    counts = outcome_counts(outcome["status"] for outcome in snapshot["outcomes"])
    keys = ("id", "state", "targets", "created_at", "started_at", "finished_at", "error", "cancel_requested")
    summary = {key: snapshot[key] for key in keys}
    summary["targets_total"] = snapshot["progress"]["targets_total"]
    summary["targets_finished"] = snapshot["progress"]["targets_finished"]
    summary["counts"] = counts
    return summary


class _JobObserver:
    """The Library's IngestObserver, writing into one job."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def _check(self) -> None:
        if self._job.cancel.is_set():
            raise JobCancelled

    def item_started(self, target: str) -> None:
        self._check()  # before counting: a job stopped here has not started this target
        with self._job.lock:
            self._job.started_targets += 1
            self._job.item_open = True
            self._job.current = _Stage(target, "read")

    def stage(self, target: str, stage: str) -> None:
        with self._job.lock:
            self._job.item_open = True
            self._job.current = _Stage(target, stage)
        self._check()

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        with self._job.lock:
            self._job.item_open = True
            self._job.current = _Stage(target, stage, done, total)
        self._check()

    def item_finished(self, outcome: ItemOutcome) -> None:
        with self._job.lock:
            self._job.outcomes.append(outcome)
            self._job.item_open = False
            self._job.current = None


class JobManager:
    def __init__(self, library: Library, store: JobStore | None = None) -> None:
        self._library = library
        self._store = store or JobStore(library.settings.library_dir / JOBS_FILE, MAX_FINISHED_JOBS)
        self._jobs: OrderedDict[str, Job | PastJob] = OrderedDict()
        for data in self._store.load():  # oldest first, so the newest end up last, as if just submitted
            self._jobs[str(data["id"])] = PastJob(data)
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-ingest")

    def submit(
        self,
        targets: list[str],
        options: IngestOptions,
        refused: list[ItemOutcome],
        context: SourceContext | None = None,
    ) -> Job:
        job = Job(uuid.uuid4().hex, targets, options, refused, context or SourceContext())
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._store.append(job.snapshot())  # so that a kill from here on leaves it "interrupted", not gone
        self._worker.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | PastJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"no ingest job {job_id!r}",
                hint=f"the last {MAX_FINISHED_JOBS} finished jobs are kept; see them with GET /api/jobs",
            )
        return job

    def recent(self, limit: int | None = None) -> list[Job | PastJob]:
        """Jobs, newest first."""
        with self._lock:
            jobs = list(reversed(self._jobs.values()))
        return jobs if limit is None else jobs[:limit]

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job now, or ask a running one to stop at its next stage (409 once finished)."""
        job = self.get(job_id)
        result: CancelResult = job.request_cancel(CANCELLED_BY_CLIENT) if isinstance(job, Job) else "finished"
        if result == "finished":
            raise JobFinishedError(
                f"ingest job {job_id!r} has already finished ({job.state})",
                hint="only a queued or running job can be cancelled",
            )
        assert isinstance(job, Job)
        if result == "cancelled":
            self._store.append(job.snapshot())
        return job

    def shutdown(self) -> None:
        """Cancel queued jobs, stop the running one at its next stage, and wait for the worker. Each is
        recorded as cancelled (unless the running one finishes first), so its id still answers after a
        restart and says to submit it again."""
        with self._lock:
            live = [job for job in self._jobs.values() if isinstance(job, Job)]
        for job in live:
            if job.request_cancel(CANCELLED_AT_SHUTDOWN) == "cancelled":
                self._store.append(job.snapshot())
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state in FINISHED_STATES]
        for job_id in finished[: max(0, len(finished) - MAX_FINISHED_JOBS)]:
            del self._jobs[job_id]

    def _run(self, job: Job) -> None:
        with job.lock:
            if job.state != "queued":  # cancelled while it waited (already recorded)
                return
            job.state, job.started_at = "running", time.time()
        self._store.append(job.snapshot())
        state: JobState = "done"
        error: dict[str, Any] | None = None
        try:
            if job.targets:
                report = self._library.ingest(
                    job.targets, job.options, observer=_JobObserver(job), context=job.context
                )
                if report.stopped is not None:  # a full disk: the rest of the job was not tried
                    state, error = "failed", atlas_error_body(report.stopped)
        except JobCancelled:
            state, error = "cancelled", job.cancel_reason or CANCELLED_BY_CLIENT
        except AtlasError as exc:  # e.g. the library was built with another embedder
            state, error = "failed", atlas_error_body(exc)
        except Exception:
            log.exception("ingest job %s failed unexpectedly", job.id)
            state = "failed"
            error = error_body("internal_error", "the ingest job failed unexpectedly", "see the server log")
        with job.lock:
            job.state, job.error, job.finished_at, job.current = state, error, time.time(), None
        self._store.append(job.snapshot())
