"""The facade every face (CLI, HTTP API, web page) calls: ingest (and update what it follows), search, ask,
list, show, remove, export, import. It sits on top: the stages it drives never import it back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from atlas.answer.registry import GeneratorCache
from atlas.config import DEFAULT_EMBEDDER, AnswerSettings, Settings, WindowSettings
from atlas.embedding.base import Embedder
from atlas.embedding.pooling import pools_windows
from atlas.embedding.registry import create_embedder, embedder_id_for, embedder_name_for
from atlas.errors import DiskFullError, LibraryMismatchError, NotFoundError, SourceError
from atlas.follows import Follow, FollowStore
from atlas.index.base import Index, IndexIdentity, Vectors, VideoRecord
from atlas.index.postgres_schema import redact
from atlas.ingest_report import IngestReport, ItemOutcome, Status
from atlas.ingest_steps import (
    CheckedItem,
    IngestObserver,
    SilentObserver,
    cleaned,
    content_hash,
    failing_alone,
    prepare_record,
    progress_for,
    with_times_repaired,
)
from atlas.models import (
    Answer,
    AnswerEvent,
    AskOptions,
    Hit,
    IngestOptions,
    SearchFilters,
    Sentence,
    Video,
)
from atlas.search.engine import Mode, SearchEngine
from atlas.sources.base import Ingestible, SourceContext, SourceFailure, SourceListed, SourceSkipped
from atlas.sources.registry import all_sources, expand_targets, resolve
from atlas.sources.validate import check_options, check_targets

if TYPE_CHECKING:
    from atlas.chapters.service import ChapterOptions, Chapters

# What callers import from here; the ingest steps themselves live in ingest_steps.py.
__all__ = ["IngestObserver", "Library", "LibraryHealth"]


@dataclass(frozen=True, slots=True)
class LibraryHealth:
    directory: Path
    identity: IndexIdentity | None  # None until something is ingested
    counts: dict[str, int]  # videos, windows, sentences
    problems: tuple[str, ...]  # empty when the store is consistent
    store: str | None = None  # the PostgreSQL store's URL (password hidden); None: embedded SQLite


class Library:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.index = index
        self._embedder = embedder
        self._engine = SearchEngine(index, self._get_embedder, settings.search)
        # Models loaded to answer (and title chapters) stay loaded for the next question: a server asks many.
        self._generators = GeneratorCache()

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True, embedder: Embedder | None = None) -> Library:
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

    def embedder_name(self) -> str:
        """The embedder to load: the recorded one (a new library: ``--embedder`` or the default); an
        ``--embedder`` naming another is refused (``LibraryMismatchError``)."""
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
            self._embedder = create_embedder(self.embedder_name(), threads=self.settings.threads)
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
            return self.settings.windows.with_recipe(pools_windows(self.embedder_name()))
        return WindowSettings.from_recorded(recorded.windows)

    def identity(self) -> IndexIdentity:
        """The identity new content is indexed under. Known without loading the model once the library has
        one, so re-ingesting unchanged files stays instant."""
        recorded = self.index.identity()
        if recorded is not None:
            self.embedder_name()  # refuses a conflicting --embedder before any work
            return IndexIdentity(recorded.embedder, recorded.dim, self.window_settings().as_dict())
        embedder = self._get_embedder()
        return IndexIdentity(embedder=embedder.id, dim=embedder.dim, windows=self.window_settings().as_dict())

    # -- ingest ---------------------------------------------------------------------------------------------

    def ingest(
        self,
        targets: Iterable[str],
        options: IngestOptions | None = None,
        observer: IngestObserver | None = None,
        *,
        context: SourceContext | None = None,
    ) -> IngestReport:
        """Ingest every target; a bad one is reported and the others still go in. A bad option (``video_id``,
        ``url``) or an empty target is refused before any work (``UserInputError``). ``context``: what the
        caller sets of the sources' context (the HTTP API: its allowed directories); the rest is filled in."""
        targets = check_targets(targets)
        options = options or IngestOptions()
        check_options(options)
        self.require_writable("cannot add videos to it")
        filled = self.source_context(context or SourceContext())
        observer = observer or SilentObserver()
        sources = all_sources()
        report = IngestReport()
        for target in expand_targets(targets, sources):
            observer.item_started(target)
            per_target = replace(filled, progress=progress_for(observer, target))
            try:
                for item in failing_alone(target, resolve(target, options, per_target, sources)):
                    if isinstance(item, SourceListed):  # a playlist or channel: followed for atlas update
                        self.follow(item, options)
                        continue
                    if isinstance(item, Ingestible):
                        item = cleaned(item)
                        if options.video_id is None:
                            item = self.distinct_id(item)
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

    def require_writable(self, consequence: str) -> None:
        """``LibraryReadOnlyError`` saying ``consequence`` when the store cannot be written."""
        if self.index.read_only:
            from atlas.index.sqlite.readonly import read_only_error

            raise read_only_error(self.settings.library_dir, consequence)

    def source_context(self, context: SourceContext) -> SourceContext:
        """``context`` with what sources need from the library filled in where the caller left it unset: the
        transcript cache (so nothing is transcribed twice, even across a crash) and which videos are already
        indexed (so a playlist re-run only fetches what is missing)."""
        return replace(
            context,
            cache_dir=context.cache_dir or self.settings.library_dir / "cache",
            threads=context.threads if context.threads is not None else self.settings.threads,
            is_indexed=context.is_indexed or self.is_indexed,
        )

    def is_indexed(self, video_id: str) -> bool:
        """True when the library holds a video of this id (sources skip those unless ``refresh``)."""
        return self.index.content_hash(video_id) is not None

    def distinct_id(self, item: Ingestible) -> Ingestible:
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
        observer = observer or SilentObserver()
        checked = self.check(item, target=target)
        if checked.previous == checked.digest:
            return checked.outcome("unchanged")
        record = prepare_record(checked, self._get_embedder(), observer)
        return self.store_record(checked, record)

    def check(self, item: Ingestible, *, target: str = "") -> CheckedItem:
        """What ``add`` does before chunking: the cue times repaired, the content hash, the stored one.
        ``SourceError`` for a transcript that holds no text."""
        item = with_times_repaired(item, target)
        identity = self.identity()
        digest = content_hash(item.video, item, identity)
        previous = self.index.content_hash(item.video.video_id)
        return CheckedItem(target, item, item.warnings, identity, self.window_settings(), digest, previous)

    def store_record(self, checked: CheckedItem, record: VideoRecord) -> ItemOutcome:
        """Write a record ``prepare_record`` made from ``checked``, in one transaction."""
        self.index.claim(checked.identity)
        self.index.put_video(record)
        status: Status = "added" if checked.previous is None else "replaced"
        return checked.outcome(status, windows=len(record.windows))

    # -- follows --------------------------------------------------------------------------------------------

    def follows(self) -> FollowStore:
        """The playlists and channels this library follows (``<library>/follows.json``)."""
        return FollowStore.for_library(self.settings.library_dir)

    def follow(self, listed: SourceListed, options: IngestOptions) -> Follow:
        """Follow a playlist or channel a source listed, with this ingest's ``--since`` / ``--max``."""
        return self.follows().follow(listed.url, listed.kind, listed.title, options)

    def update(
        self, options: IngestOptions | None = None, observer: IngestObserver | None = None
    ) -> list[tuple[Follow, IngestReport]]:
        """``atlas update``: ingest what is new in every followed playlist/channel, each with the ``--since``
        / ``--max`` it was last ingested with; one report per follow, in follow order."""
        base = options or IngestOptions()
        results: list[tuple[Follow, IngestReport]] = []
        for follow in self.follows().load():
            per_follow = replace(base, since=follow.since, max_items=follow.max_items)
            results.append((follow, self.ingest([follow.url], per_follow, observer)))
        return results

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

        record = self.index.get_record(video_id)
        return chapters_of(record, options, answer_settings=self._answer_settings(), loaded=self._generators)

    def remove(self, video_id: str) -> None:
        if not self.index.remove_video(video_id):
            raise NotFoundError(
                f"no video with id '{video_id}' in this library", hint="see the ids with: atlas list"
            )

    def health(self) -> LibraryHealth:
        """What the library holds and whether its store is consistent (``atlas doctor``; ``/api/health``
        reports counts only, without this consistency check)."""
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

        self.require_writable("cannot import into it")
        return import_library(self.index, path)

    # -- ask ------------------------------------------------------------------------------------------------

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        """A long-form answer from the library's moments, every sentence citing one (``answered`` is False,
        and the text says why, when the library holds no answer). ``options`` override ``settings.answer``
        for this call (generator, model, moments to read, filters, extractive fallback)."""
        from atlas.answer import service

        return service.ask(self, self._answer_settings(), question, options or AskOptions(), self._generators)

    def ask_stream(self, question: str, options: AskOptions | None = None) -> Iterator[AnswerEvent]:
        """``ask`` as events: ``MomentsFound``, then ``AnswerToken`` as generated, then ``AnswerDone``."""
        from atlas.answer import service

        return service.ask_stream(
            self, self._answer_settings(), question, options or AskOptions(), self._generators
        )

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vectors]:
        """Sentences first..last (inclusive) of a video, with their stored vectors (what an answer reads)."""
        return self.index.sentences(video_id, first, last)

    def _answer_settings(self) -> AnswerSettings:
        """``settings.answer``, on the library's threads (``ATLAS_THREADS``) unless it names its own."""
        answer = self.settings.answer
        if answer.threads is None and self.settings.threads is not None:
            answer = answer.with_(threads=self.settings.threads)
        return answer
