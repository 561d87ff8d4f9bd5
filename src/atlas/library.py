"""The facade every face (CLI, HTTP API, web page) calls: ingest, search, list, show, remove, export,
import."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from atlas.chunking.pieces import chunk_transcript
from atlas.config import DEFAULT_EMBEDDER, Settings, WindowSettings
from atlas.embedding import pooling
from atlas.embedding.base import Embedder, Matrix
from atlas.embedding.registry import create_embedder, embedder_id_for, embedder_name_for
from atlas.errors import (
    AtlasError,
    DiskFullError,
    LibraryMismatchError,
    NotFoundError,
    SourceError,
    as_disk_full,
)
from atlas.ids import conform_video_id
from atlas.index.base import Index, IndexIdentity, VideoRecord, segments_to_json
from atlas.index.postgres_schema import redact
from atlas.models import Answer, AnswerEvent, AskOptions, Hit, SearchFilters, Video
from atlas.search.engine import Mode, SearchEngine
from atlas.sources.base import Ingestible, ProgressFn, SourceFailure, SourceOptions, SourceSkipped
from atlas.sources.cue_times import MAX_SECONDS, repair_times
from atlas.sources.registry import all_sources, expand_targets, resolve
from atlas.sources.validate import check_options, check_targets
from atlas.textsafe import strip_controls

log = logging.getLogger("atlas.library")

if TYPE_CHECKING:
    from atlas.chapters.service import ChapterOptions, Chapters

Status = Literal["added", "replaced", "unchanged", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    target: str
    status: Status
    video_id: str | None = None
    title: str | None = None
    windows: int = 0
    message: str | None = None
    # Went in, but something was fixed or left out on the way (impossible cue times, unreadable timing lines).
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class IngestReport:
    outcomes: list[ItemOutcome] = field(default_factory=list)
    # Set when the batch stopped early (a full disk): the targets after the last outcome were not tried.
    stopped: AtlasError | None = None

    @property
    def failed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True, slots=True)
class CheckedItem:
    """A video ready to chunk and embed (``Library.check``): its times repaired, its content hash and the
    stored one known. ``prepare_record`` needs nothing else, so it also runs on a Ray worker."""

    target: str
    item: Ingestible
    warnings: tuple[str, ...]
    identity: IndexIdentity
    windows: WindowSettings
    digest: str
    previous: str | None  # the stored content hash; None: a new video

    def outcome(self, status: Status, *, windows: int = 0) -> ItemOutcome:
        video = self.item.video
        return ItemOutcome(
            self.target, status, video.video_id, video.title, windows=windows, warnings=self.warnings
        )


@dataclass(frozen=True, slots=True)
class LibraryHealth:
    directory: Path
    identity: IndexIdentity | None  # None until something is ingested
    counts: dict[str, int]  # videos, windows, sentences
    problems: tuple[str, ...]  # empty when the store is consistent
    store: str | None = None  # the PostgreSQL store's URL (password hidden); None: embedded SQLite


class IngestObserver(Protocol):
    """Progress hooks (the CLI draws rich progress bars with them)."""

    def item_started(self, target: str) -> None: ...

    def stage(self, target: str, stage: str) -> None: ...

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        """Measured progress inside a stage (bytes downloaded, audio seconds transcribed)."""
        ...

    def item_finished(self, outcome: ItemOutcome) -> None: ...


class _Silent:
    def item_started(self, target: str) -> None: ...

    def stage(self, target: str, stage: str) -> None: ...

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None: ...

    def item_finished(self, outcome: ItemOutcome) -> None: ...


class Library:
    def __init__(
        self,
        settings: Settings,
        index: Index,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self._embedder = embedder
        self._engine = SearchEngine(index, self._get_embedder, settings.search)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        create: bool = True,
        embedder: Embedder | None = None,
    ) -> Library:
        """Open (or with ``create``, make) the library directory. Read-only commands pass ``create=False``.

        With ``settings.store`` the index lives in that PostgreSQL database; the directory still holds the
        local state (the Whisper transcript cache, jobs, followed playlists)."""
        from atlas.index import open_index, open_store

        directory = settings.library_dir
        if settings.store is not None:
            index = open_store(settings.store, create=create)
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except BaseException:
                index.close()
                raise
            return cls(settings, index, embedder)
        if not create and not (directory / "atlas.db").exists():
            raise NotFoundError(
                f"no Atlas library at {directory}",
                hint="ingest something first (atlas ingest FILE) or pass --library DIR / set ATLAS_LIBRARY",
            )
        directory.mkdir(parents=True, exist_ok=True)
        return cls(settings, open_index(directory), embedder)

    def close(self) -> None:
        self._engine.close()
        self.index.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- embedder and identity ------------------------------------------------------------------------------

    def _embedder_name(self) -> str:
        recorded = self.index.identity()
        wanted = self.settings.embedder
        if recorded is None:
            return wanted or DEFAULT_EMBEDDER
        if wanted is not None:
            wanted_id = embedder_id_for(wanted)
            if wanted_id is not None and wanted_id != recorded.embedder:
                raise LibraryMismatchError(
                    f"this library was built with embedder '{recorded.embedder}', not '{wanted}'",
                    hint="drop --embedder/ATLAS_EMBEDDER to use the recorded one, or use a new --library",
                )
            return wanted
        return embedder_name_for(recorded.embedder)

    def _get_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = create_embedder(self._embedder_name(), threads=self.settings.threads)
        recorded = self.index.identity()
        if recorded is not None and recorded.embedder != self._embedder.id:
            raise LibraryMismatchError(
                f"this library was built with embedder '{recorded.embedder}', not '{self._embedder.id}'",
                hint="use the recorded embedder or a new --library",
            )
        return self._embedder

    @property
    def embedder(self) -> Embedder:
        """The library's embedder, loaded on first use."""
        return self._get_embedder()

    def window_settings(self) -> WindowSettings:
        """How this library cuts transcripts: what its identity recorded (a library keeps the chunking it was
        built with, so an upgrade never mixes two kinds of windows in one library), else today's settings."""
        recorded = self.index.identity()
        if recorded is None:
            return self.settings.windows
        return WindowSettings.from_recorded(recorded.windows)

    def identity(self) -> IndexIdentity:
        """The identity new content is indexed under. Known without loading the model once the library has
        one, so re-ingesting unchanged files stays instant."""
        recorded = self.index.identity()
        if recorded is not None:
            self._embedder_name()  # refuses a conflicting --embedder before any work
            return IndexIdentity(recorded.embedder, recorded.dim, self.window_settings().as_dict())
        embedder = self._get_embedder()
        return IndexIdentity(embedder=embedder.id, dim=embedder.dim, windows=self.settings.windows.as_dict())

    # -- ingest ---------------------------------------------------------------------------------------------

    def ingest(
        self,
        targets: Iterable[str],
        options: SourceOptions | None = None,
        observer: IngestObserver | None = None,
    ) -> IngestReport:
        """Ingest every target; a bad one is reported and the others still go in. A bad option (``video_id``,
        ``url``) or an empty target is refused before any work (``UserInputError``)."""
        targets = check_targets(targets)
        check_options(options or SourceOptions())
        self._require_writable("cannot add videos to it")
        options = self.source_options(options or SourceOptions())
        observer = observer or _Silent()
        sources = all_sources()
        report = IngestReport()
        for target in expand_targets(targets, sources):
            observer.item_started(target)
            per_target = replace(options, progress=_progress_for(observer, target))
            try:
                for item in _failing_alone(target, resolve(target, per_target, sources)):
                    if isinstance(item, Ingestible):
                        item = _cleaned(item)
                        if options.video_id is None:
                            item = self._distinct_id(item)
                    outcome = self._ingest_one(target, item, observer)
                    report.outcomes.append(outcome)
                    observer.item_finished(outcome)
            except DiskFullError as exc:
                # This video's transaction was rolled back. The next ones would fill nothing but the log
                # (each embedded first, then refused): stop, and let the caller report what went in.
                outcome = ItemOutcome(target, "failed", message=exc.one_line())
                report.outcomes.append(outcome)
                observer.item_finished(outcome)
                report.stopped = exc
                break
        return report

    def _require_writable(self, consequence: str) -> None:
        if self.index.read_only:
            from atlas.index.sqlite_readonly import read_only_error

            raise read_only_error(self.settings.library_dir, consequence)

    def source_options(self, options: SourceOptions) -> SourceOptions:
        """The user's options plus what sources need from the library: the transcript cache (so nothing is
        transcribed twice, even across a crash) and which videos are already indexed (so a playlist re-run
        only fetches what is missing)."""
        return replace(
            options,
            library_dir=options.library_dir or self.settings.library_dir,
            cache_dir=options.cache_dir or self.settings.library_dir / "cache",
            threads=options.threads if options.threads is not None else self.settings.threads,
            is_indexed=options.is_indexed or self._is_indexed,
        )

    def _is_indexed(self, video_id: str) -> bool:
        return self.index.content_hash(video_id) is not None

    def _distinct_id(self, item: Ingestible) -> Ingestible:
        """Two different files named ``talk.vtt`` must not replace each other: an id derived from a file name
        that is already taken by another source gets a short, stable suffix from this file's path."""
        video = item.video
        if video.kind == "youtube" or self.index.content_hash(video.video_id) is None:
            return item
        if self.index.get_video(video.video_id).source == video.source:
            return item
        suffix = hashlib.sha256(video.source.encode()).hexdigest()[:6]
        return replace(item, video=replace(video, video_id=f"{video.video_id}-{suffix}"))

    def _ingest_one(
        self, target: str, item: Ingestible | SourceSkipped | SourceFailure, observer: IngestObserver
    ) -> ItemOutcome:
        if isinstance(item, SourceFailure):
            return ItemOutcome(target, "failed", message=item.error.one_line())
        if isinstance(item, SourceSkipped):
            return ItemOutcome(target, "skipped", item.video_id, item.title, message=item.reason)
        try:
            return self.add(item, target=target, observer=observer)
        except SourceError as exc:
            return ItemOutcome(
                target, "failed", item.video.video_id, item.video.title, message=exc.one_line()
            )

    def add(
        self, item: Ingestible, *, target: str = "", observer: IngestObserver | None = None
    ) -> ItemOutcome:
        """Chunk, embed and store one video atomically; a no-op when the same content is already stored."""
        observer = observer or _Silent()
        checked = self.check(item, target=target)
        if checked.previous == checked.digest:
            return checked.outcome("unchanged")
        record = prepare_record(checked, self._get_embedder(), observer)
        return self.store_record(checked, record)

    def check(self, item: Ingestible, *, target: str = "") -> CheckedItem:
        """What ``add`` does before chunking: the cue times repaired, the content hash, the stored one.
        ``SourceError`` for a transcript that holds no text."""
        segments, repaired = repair_times(item.transcript.segments)  # every moment inside its window
        warnings = item.warnings + ((repaired,) if repaired else ())
        if repaired:
            item = replace(item, transcript=replace(item.transcript, segments=tuple(segments)))
            if (item.video.duration or 0) > MAX_SECONDS:  # read off the bad times: taken again from the fixed
                item = replace(item, video=replace(item.video, duration=None))
        video, transcript = item.video, item.transcript
        if not any(seg.text.strip() for seg in transcript.segments):
            raise SourceError(
                target or video.source, "the transcript holds no text", hint=repaired or "check the file"
            )
        identity = self.identity()
        digest = content_hash(video, item, identity)
        previous = self.index.content_hash(video.video_id)
        return CheckedItem(target, item, warnings, identity, self.window_settings(), digest, previous)

    def store_record(self, checked: CheckedItem, record: VideoRecord) -> ItemOutcome:
        """Write a record ``prepare_record`` made from ``checked``, in one transaction."""
        self.index.claim(checked.identity)
        self.index.put_video(record)
        status: Status = "added" if checked.previous is None else "replaced"
        return checked.outcome(status, windows=len(record.windows))

    # -- read -----------------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
        speaker: str | None = None,
    ) -> list[Hit]:
        """``speaker``: only moments said by this speaker (exact name, case-insensitive); the same as
        ``filters.speaker``, which it overrides."""
        if speaker:
            filters = replace(filters or SearchFilters(), speaker=" ".join(speaker.split()) or None)
        if self.index.identity() is None:
            return []  # an empty library: nothing to find, and no model to load
        return self._engine.search(query, limit=limit, filters=filters, mode=mode)

    def list_videos(self) -> list[Video]:
        return self.index.list_videos()

    def get_video(self, video_id: str) -> Video:
        return self.index.get_video(video_id)

    def get_record(self, video_id: str) -> VideoRecord:
        return self.index.get_record(video_id)

    def chapters(self, video_id: str, options: ChapterOptions | None = None) -> Chapters:
        """The video cut into topic segments (start times, short titles) from its stored sentence vectors;
        NotFoundError for an unknown id. ``options``: titles ("keyphrase" or "llm"), segmenter, lengths."""
        from atlas.chapters.service import chapters_of

        answer = self.settings.answer
        if answer.threads is None and self.settings.threads is not None:
            answer = answer.with_(threads=self.settings.threads)
        return chapters_of(self.index.get_record(video_id), options, answer_settings=answer)

    def remove(self, video_id: str) -> None:
        if not self.index.remove_video(video_id):
            raise NotFoundError(
                f"no video with id '{video_id}' in this library", hint="see the ids with: atlas list"
            )

    def health(self) -> LibraryHealth:
        """What the library holds and whether its store is consistent (``atlas doctor``, ``/api/health``)."""
        return LibraryHealth(
            directory=self.settings.library_dir,
            identity=self.index.identity(),
            counts=self.index.counts(),
            problems=tuple(self.index.verify()),
            store=None if self.settings.store is None else redact(self.settings.store),
        )

    def export(self, path: Path) -> int:
        from atlas.exchange.jsonl import export_library

        return export_library(self.index, path)

    def import_(self, path: Path) -> IngestReport:
        from atlas.exchange.jsonl import import_library

        self._require_writable("cannot import into it")
        return import_library(self.index, path)

    # -- ask ------------------------------------------------------------------------------------------------

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        """A long-form answer from the library's moments, every sentence citing one (``answered`` is False,
        and the text says why, when the library holds no answer). ``options`` override ``settings.answer``
        for this call (generator, model, moments to read, filters, extractive fallback)."""
        from atlas.answer import service

        return service.ask(self, question, options or AskOptions())

    def ask_stream(self, question: str, options: AskOptions | None = None) -> Iterator[AnswerEvent]:
        """``ask`` as events: ``MomentsFound``, then ``AnswerToken`` as generated, then ``AnswerDone``."""
        from atlas.answer import service

        return service.ask_stream(self, question, options or AskOptions())


def _failing_alone(
    target: str, items: Iterator[Ingestible | SourceSkipped | SourceFailure]
) -> Iterator[Ingestible | SourceSkipped | SourceFailure]:
    """``items``, with an unexpected error from a source or parser (a bug, a hostile file it did not
    foresee) turned into one failed item: a bad file fails alone, the next targets still go in. Atlas's own
    errors other than a source's (a library built with another embedder, a missing package) still stop the
    whole ingest, as they concern every target."""
    try:
        yield from items
    except AtlasError:
        raise
    except Exception as exc:
        full = as_disk_full(exc, target)  # a download or the transcript cache hit a full disk
        if full is not None:
            raise full from exc
        log.warning("reading %s failed unexpectedly", target, exc_info=True)
        detail = " ".join(str(exc).split())[:200]
        problem = f"could not be read ({type(exc).__name__}{': ' + detail if detail else ''})"
        yield SourceFailure(SourceError(target, problem, hint="check the file; the details are in the log"))


def _cleaned(item: Ingestible) -> Ingestible:
    """Ids derived from outside data made to conform (ids.py); titles and channels without control
    characters, which would act on a terminal that prints them."""
    video = item.video
    cleaned = replace(
        video,
        video_id=conform_video_id(video.video_id),
        title=strip_controls(video.title),
        channel=strip_controls(video.channel) if video.channel else video.channel,
    )
    return item if cleaned == video else replace(item, video=cleaned)


def prepare_record(
    checked: CheckedItem, embedder: Embedder, observer: IngestObserver | None = None
) -> VideoRecord:
    """Chunk and embed a checked video into the record ``Library.store_record`` writes. Touches no store."""
    observer = observer or _Silent()
    target, item, identity = checked.target, checked.item, checked.identity
    video, transcript = item.video, item.transcript
    observer.stage(target, "chunk")
    sentences, windows = chunk_transcript(transcript, checked.windows)
    observer.stage(target, "embed")
    sentence_vectors = _embedded(embedder, [s.text for s in sentences], target, observer)
    window_vectors = pooling.window_vectors(embedder, windows, sentences, sentence_vectors, identity.windows)
    observer.stage(target, "index")
    duration = video.duration
    if duration is None and transcript.timed:
        duration = max((s.end for s in transcript.segments if s.end is not None), default=None)
    stored_video = replace(
        video,
        content_hash=checked.digest,
        timed=transcript.timed,
        duration=duration,
        transcript_origin=transcript.origin,
    )
    return VideoRecord(
        stored_video, transcript, tuple(sentences), tuple(windows), sentence_vectors, window_vectors
    )


# Texts per embedder call when reporting progress: large enough that batching inside the embedder is not
# affected, small enough that a 1 MB transcript reports every few seconds on 2 cores.
EMBED_STEP = 512


def _embedded(embedder: Embedder, texts: list[str], target: str, observer: IngestObserver) -> Matrix:
    """``embedder.embed(texts)``, in steps that report ``embed`` progress (texts done of all)."""
    if len(texts) <= EMBED_STEP:
        return embedder.embed(texts)
    parts = []
    for begin in range(0, len(texts), EMBED_STEP):
        parts.append(embedder.embed(texts[begin : begin + EMBED_STEP]))
        observer.progress(target, "embed", min(begin + EMBED_STEP, len(texts)), len(texts))
    return np.concatenate(parts)


def _progress_for(observer: IngestObserver, target: str) -> ProgressFn:
    def report(stage: str, done: float, total: float | None) -> None:
        observer.progress(target, stage, done, total)

    return report


def content_hash(video: Video, item: Ingestible, identity: IndexIdentity) -> str:
    """Same content + same metadata + same index identity -> same hash -> re-ingest is a no-op."""
    meta = asdict(replace(video, content_hash="", extra={}))
    payload = {
        "video": meta,
        "origin": item.transcript.origin,
        "segments": segments_to_json(item.transcript.segments),
        "identity": asdict(identity),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()
