"""``atlas ingest --ray ADDRESS``: the work of an ingest on a Ray cluster, the writes here.

The driver (this process) expands the targets as ``Library.ingest`` does (a folder into its files) and hands
them to a pool of ``IngestWorker`` actors, one per CPU of the cluster unless ``workers`` says otherwise. An
actor loads the embedder once (and Whisper once, on its first media file) and does an item's heavy work in
two calls:

1. ``read(target)``: fetch / decode / transcribe, giving what a source gives (videos, skipped, failed);
2. ``prepare(checked)``: chunk and embed one video into the record the store takes.

Between the two the driver does what needs the store (``Library.check``): the id made distinct from another
file's, the content hash compared, so unchanged content is never embedded again. After 2 it writes the record
in one transaction (``Library.store_record``). The guarantees of a serial ingest hold: idempotent by content
hash, resumable (each video is committed as it is done), one transaction per video, and never two videos of
one id in flight at once (the second waits, then is checked against what the first wrote).

A playlist or channel URL is one target: one worker lists it and ingests its videos in turn (they are not
spread over the cluster yet), skipping those the library held when the run began; the driver follows it for
``atlas update``. Workers need Atlas installed and local files at the driver's paths.

A worker that dies (its process killed, its node lost) fails its call with a ``RayActorError``: the driver
puts the job back at the head of its queue for another worker (at most ``MAX_ATTEMPTS`` tries a job) and
starts a replacement actor, which runs once the cluster has room for it. A job counts only when its call has
returned, and each video is written once, so a killed worker neither loses nor doubles anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from atlas.embedding.base import Embedder
from atlas.errors import AtlasError, DiskFullError, SourceError, require
from atlas.index.base import VideoRecord
from atlas.ingest_report import IngestReport, ItemOutcome
from atlas.ingest_steps import (
    CheckedItem,
    IngestObserver,
    SilentObserver,
    cleaned,
    failing_alone,
    prepare_record,
)
from atlas.library import Library
from atlas.models import IngestOptions
from atlas.sources.base import (
    Ingestible,
    SourceContext,
    SourceFailure,
    SourceItem,
    SourceListed,
    SourceSkipped,
)
from atlas.sources.registry import all_sources, expand_targets, resolve
from atlas.sources.validate import check_options, check_targets
from atlas.youtube_urls import YouTubeTarget, looks_like_url, parse_youtube_url

log = logging.getLogger("atlas.cluster")

MAX_ATTEMPTS = 3  # tries of one job on workers that die under it
PROGRESS_EVERY_S = 1.0
STALL_S = 300.0
CONNECT_TIMEOUT_S = 10.0  # no worker alive for this long: give up instead of waiting for the cluster forever

Item = Ingestible | SourceSkipped | SourceFailure


@dataclass(frozen=True, slots=True)
class ClusterProgress:
    """What an observer with a ``cluster(progress)`` method is told, about once a second."""

    done: int  # items finished, whatever their status
    total: int  # targets (a folder counts its files)
    audio_seconds: float  # media time of the videos written so far
    wall_seconds: float
    workers: int  # actors alive and ready
    lost: int  # workers that died so far (their items were retried elsewhere)

    @property
    def audio_per_wall(self) -> float:
        """Hours of audio ingested per hour of wall time."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


class IngestWorker:
    """One Ray actor: its models loaded once, one item at a time."""

    def __init__(self, embedder: str, threads: int | None) -> None:
        self._embedder_name = embedder
        self._threads = threads
        self._embedder: Embedder | None = None
        self._sources = all_sources()

    def ready(self) -> int:
        """Loads the embedder; the actor's process id."""
        self._model()
        return os.getpid()

    def read(self, target: str, options: IngestOptions, context: SourceContext) -> list[SourceItem]:
        return list(failing_alone(target, resolve(target, options, context, self._sources)))

    def prepare(self, checked: CheckedItem) -> VideoRecord:
        return prepare_record(checked, self._model())

    def _model(self) -> Embedder:
        if self._embedder is None:
            from atlas.embedding.registry import create_embedder

            self._embedder = create_embedder(self._embedder_name, threads=self._threads)
        return self._embedder


@dataclass(slots=True)
class _Job:
    slot: int  # the target's place in the report
    target: str
    checked: CheckedItem | None = None  # None: read the target; else chunk and embed this video
    attempts: int = 0


def ingest(
    library: Library,
    targets: Iterable[str],
    options: IngestOptions | None = None,
    observer: IngestObserver | None = None,
    *,
    address: str = "auto",
    workers: int | None = None,
) -> IngestReport:
    """``Library.ingest`` on the Ray cluster at ``address`` (``auto``, ``local``, ``HOST:PORT``)."""
    targets = check_targets(targets)
    options = options or IngestOptions()
    check_options(options)
    library.require_writable("cannot add videos to it")
    context = library.source_context(SourceContext())
    observer = observer or SilentObserver()
    expanded = list(expand_targets(targets, all_sources()))
    library.identity()  # a conflicting --embedder is refused before the cluster is joined
    ray: Any = require("ray", extra="cluster", purpose="atlas ingest --ray")
    # Ray prints the cluster's error messages ("(raylet) A worker died ...") on stdout: keep stdout for the
    # results (--json), and say them on stderr.
    with contextlib.redirect_stdout(sys.stderr):
        started = _connect(ray, address, workers)
        try:
            return _Driver(ray, library, options, context, observer, workers).run(expanded)
        finally:
            if started:
                ray.shutdown()


def _connect(ray: Any, address: str, workers: int | None) -> bool:
    """Joins (or with ``local`` starts) the cluster; False when this process already had Ray running."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    _reachable(address)
    try:
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise AtlasError(
            f"cannot reach the Ray cluster at {address} ({detail})",
            hint="start one with `ray start --head`, pass its HOST:PORT, or use --ray local",
        ) from exc
    return True


def _reachable(address: str) -> None:
    """A ``HOST:PORT`` that answers nothing is a one-line error after ``CONNECT_TIMEOUT_S``: Ray itself
    would wait for it without end."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # auto, local, ray://: Ray says what is wrong
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise AtlasError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})",
            hint="check the head's address and port (`ray start --head` prints them), or use --ray local",
        ) from exc


class _Driver:
    def __init__(
        self,
        ray: Any,
        library: Library,
        options: IngestOptions,
        context: SourceContext,
        observer: IngestObserver,
        workers: int | None,
    ) -> None:
        self.ray = ray
        self.library = library
        self.options = options
        self.context = context
        # What workers read with: no callables into this process's store.
        self.read_context = replace(context, is_indexed=None, progress=None)
        self.observer = observer
        self.report = IngestReport()
        self.outcomes: dict[int, list[ItemOutcome]] = {}
        self.reads: deque[_Job] = deque()
        self.prepares: deque[_Job] = deque()
        self.starting: dict[Any, Any] = {}  # ready() ref -> actor
        self.idle: list[Any] = []
        self.running: dict[Any, tuple[Any, _Job]] = {}  # call ref -> (actor, job)
        self.in_flight: set[str] = set()  # video ids being prepared
        self.waiting: dict[str, list[tuple[int, str, Ingestible]]] = {}  # id -> items waiting for it
        self.done = 0
        self.total = 0
        self.audio = 0.0
        self.lost = 0
        self.began = time.monotonic()
        self.said = 0.0
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.want = max(1, workers or cpus)
        self.replacements = self.want + 2 * MAX_ATTEMPTS
        self.actor_class = ray.remote(IngestWorker).options(num_cpus=1, max_restarts=0)
        threads = library.settings.threads or 1  # a worker per core: one thread each
        self.actor_args = (library.embedder_name(), threads)

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self, targets: list[str]) -> IngestReport:
        self.total = len(targets)
        if any(_youtube(target, listing=True) for target in targets) and not self.options.refresh:
            # A playlist's worker skips the videos the library holds, as the serial source does: from a
            # snapshot of the ids, since it cannot ask this process's store.
            held = frozenset(video.video_id for video in self.library.list_videos())
            self.read_context = replace(self.read_context, is_indexed=held.__contains__)
        for slot, target in enumerate(targets):
            self.reads.append(_Job(slot, target))
        for _ in range(self.want):
            self._spawn()
        stalled_at: float | None = None
        try:
            while (self.reads or self.prepares or self.running or self.waiting) and not self.report.stopped:
                self._dispatch()
                if not self.idle and not self.running:
                    stalled_at = stalled_at or time.monotonic()
                    if not self.starting or time.monotonic() - stalled_at > STALL_S:
                        raise AtlasError(
                            "no Ray worker is left to ingest on",
                            hint="check the cluster (ray status); what went in so far stays in the library",
                        )
                else:
                    stalled_at = None
                refs = [*self.running, *self.starting]
                if not refs:
                    continue
                ready, _ = self.ray.wait(refs, num_returns=1, timeout=PROGRESS_EVERY_S)
                for ref in ready:
                    self._settle(ref)
                self._tell(force=False)
        finally:
            for actor in [*self.idle, *self.starting.values(), *(a for a, _ in self.running.values())]:
                self.ray.kill(actor)
        self._tell(force=True)
        self.report.outcomes = [o for slot in sorted(self.outcomes) for o in self.outcomes[slot]]
        return self.report

    def _spawn(self) -> None:
        if self.replacements <= 0:
            return
        self.replacements -= 1
        actor = self.actor_class.remote(*self.actor_args)
        self.starting[actor.ready.remote()] = actor

    def _dispatch(self) -> None:
        while self.idle and (self.prepares or self.reads):
            job = self.prepares.popleft() if self.prepares else self.reads.popleft()
            if job.checked is None and job.attempts == 0:
                self.observer.item_started(job.target)
                if self._already_indexed(job):
                    continue
            actor = self.idle.pop()
            if job.checked is None:
                ref = actor.read.remote(job.target, self.options, self.read_context)
                self.observer.stage(job.target, "read")
            else:
                ref = actor.prepare.remote(job.checked)
                self.observer.stage(job.target, "embed")
            self.running[ref] = (actor, job)

    def _settle(self, ref: Any) -> None:
        exceptions = self.ray.exceptions
        died = (
            exceptions.RayActorError,
            exceptions.WorkerCrashedError,
            exceptions.NodeDiedError,
            exceptions.ObjectLostError,
            exceptions.LocalRayletDiedError,
        )
        if ref in self.starting:
            actor = self.starting.pop(ref)
            try:
                self.ray.get(ref)
            except died:
                self._lost(actor)
                return
            except exceptions.RayTaskError as exc:
                raise _cause(exc) from None  # the embedder cannot load there: every item would fail
            self.idle.append(actor)
            return
        actor, job = self.running.pop(ref)
        try:
            result = self.ray.get(ref)
        except died:
            log.warning("a Ray worker died while ingesting %s; retrying it elsewhere", job.target)
            self._lost(actor)
            self._retry(job)
            return
        except exceptions.RayTaskError as exc:
            self.idle.append(actor)
            self._failed_on_worker(job, _cause(exc))
            return
        self.idle.append(actor)
        if job.checked is None:
            for item in result:
                if isinstance(item, SourceListed):  # followed here: workers may not share the library folder
                    self.library.follow(item, self.options)
                else:
                    self._admit_item(job.slot, job.target, item)
        else:
            self._dispatch()  # the worker takes its next job while this one is written
            self._store(job, result)

    # -- items ----------------------------------------------------------------------------------------------

    def _already_indexed(self, job: _Job) -> bool:
        """A YouTube video the library holds is skipped here, as the serial source does (workers cannot
        ask this process's store)."""
        parsed = _youtube(job.target, listing=False)
        if self.options.refresh or parsed is None or not self.library.is_indexed(parsed.id):
            return False
        reason = "already in the library (--refresh fetches it again)"
        self._finish(job.slot, ItemOutcome(job.target, "skipped", parsed.id, None, message=reason))
        return True

    def _admit_item(self, slot: int, target: str, item: Item) -> None:
        if isinstance(item, SourceFailure):
            self._finish(slot, ItemOutcome(target, "failed", message=item.error.one_line()))
        elif isinstance(item, SourceSkipped):
            self._finish(slot, ItemOutcome(target, "skipped", item.video_id, item.title, message=item.reason))
        else:
            self._admit(slot, target, cleaned(item))

    def _admit(self, slot: int, target: str, item: Ingestible) -> None:
        if self.options.video_id is None:
            item = self.library.distinct_id(item)
        video_id = item.video.video_id
        if video_id in self.in_flight:  # checked once the first is written, as a serial run would
            self.waiting.setdefault(video_id, []).append((slot, target, item))
            return
        try:
            checked = self.library.check(item, target=target)
        except SourceError as exc:
            failed = ItemOutcome(target, "failed", video_id, item.video.title, message=exc.one_line())
            self._finish(slot, failed)
            return
        if checked.previous == checked.digest:
            self._finish(slot, checked.outcome("unchanged"))
            return
        self.in_flight.add(video_id)
        self.prepares.append(_Job(slot, target, checked))

    def _store(self, job: _Job, record: VideoRecord) -> None:
        assert job.checked is not None
        checked = job.checked
        video_id = checked.item.video.video_id
        try:
            previous = self.library.index.content_hash(video_id)  # another writer may have been first
            if previous == checked.digest:
                outcome = checked.outcome("unchanged")
            else:
                outcome = self.library.store_record(replace(checked, previous=previous), record)
                self.audio += record.video.duration or 0.0
        except DiskFullError as exc:
            # This video was rolled back; the next would only fill the log: stop, as a serial run does.
            outcome = ItemOutcome(job.target, "failed", message=exc.one_line())
            self.report.stopped = exc
        self._release(video_id)
        self._finish(job.slot, outcome)

    def _release(self, video_id: str) -> None:
        self.in_flight.discard(video_id)
        for slot, target, item in self.waiting.pop(video_id, []):
            self._admit(slot, target, item)

    def _retry(self, job: _Job) -> None:
        job.attempts += 1
        if job.attempts < MAX_ATTEMPTS:
            (self.reads if job.checked is None else self.prepares).appendleft(job)
            return
        message = f"{job.target}: a Ray worker died each of the {MAX_ATTEMPTS} times it took this item"
        self._failed(job, message)

    def _failed_on_worker(self, job: _Job, cause: BaseException) -> None:
        if isinstance(cause, DiskFullError):
            self.report.stopped = cause
            self._failed(job, cause.one_line())
        elif isinstance(cause, SourceError):
            self._failed(job, cause.one_line())
        elif isinstance(cause, AtlasError):
            raise cause  # concerns every item (a missing package on the workers): stop, as a serial run does
        else:
            log.warning("ingesting %s failed on a Ray worker: %r", job.target, cause)
            detail = " ".join(str(cause).split())[:200]
            self._failed(job, f"{job.target}: failed on a Ray worker ({type(cause).__name__}: {detail})")

    def _failed(self, job: _Job, message: str) -> None:
        video_id = title = None
        if job.checked is not None:
            video_id, title = job.checked.item.video.video_id, job.checked.item.video.title
        self._finish(job.slot, ItemOutcome(job.target, "failed", video_id, title, message=message))
        if video_id is not None:
            self._release(video_id)

    def _lost(self, actor: Any) -> None:
        self.lost += 1
        self.ray.kill(actor)
        self._spawn()

    def _finish(self, slot: int, outcome: ItemOutcome) -> None:
        self.outcomes.setdefault(slot, []).append(outcome)
        self.done += 1
        self.observer.item_finished(outcome)
        self._tell(force=True)

    def _tell(self, *, force: bool) -> None:
        tell = getattr(self.observer, "cluster", None)
        now = time.monotonic()
        if tell is None or (not force and now - self.said < PROGRESS_EVERY_S):
            return
        self.said = now
        workers = len(self.idle) + len(self.running)
        tell(ClusterProgress(self.done, self.total, self.audio, now - self.began, workers, self.lost))


def _youtube(target: str, *, listing: bool) -> YouTubeTarget | None:
    """``target`` parsed when it is a YouTube playlist or channel (``listing``), or a video (not)."""
    if not looks_like_url(target):
        return None
    try:
        parsed = parse_youtube_url(target)
    except SourceError:
        return None
    return parsed if (parsed.kind != "video") == listing else None


def _cause(exc: Any) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
