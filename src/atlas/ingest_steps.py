"""The steps of ingesting one video, below the ``Library`` facade: what ``Library.ingest`` runs in this
process and what ``atlas ingest --ray`` runs on its workers (cluster/ray_ingest.py), so both ingest alike.

    source items ─► failing_alone ─► cleaned ─► Library.check (with_times_repaired, content_hash, the stored
    hash) ─► CheckedItem ─► prepare_record (chunk, embed) ─► Library.store_record (one transaction)

The steps that need the store (``check``, ``store_record``, an id made distinct) stay on the ``Library``;
those here touch no store, so a Ray worker can run them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

from atlas.chunking.pieces import chunk_transcript
from atlas.config import WindowSettings
from atlas.embedding import pooling
from atlas.embedding.base import Embedder, Matrix
from atlas.errors import AtlasError, SourceError, as_disk_full
from atlas.ids import conform_video_id
from atlas.index.base import IndexIdentity, VideoRecord
from atlas.ingest_report import ItemOutcome, Status
from atlas.models import ProgressFn, Video
from atlas.sources.base import Ingestible, SourceFailure, SourceItem
from atlas.sources.cue_times import MAX_SECONDS, repair_times
from atlas.textsafe import strip_controls
from atlas.transcript_json import segments_to_json

# The name ingest's warnings have always been logged under (log filters may select it).
log = logging.getLogger("atlas.library")

# Texts per embedder call when reporting progress: large enough that batching inside the embedder is not
# affected, small enough that a 1 MB transcript reports every few seconds on 2 cores.
EMBED_STEP = 512


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


class IngestObserver(Protocol):
    """Progress hooks (the CLI draws rich progress bars with them)."""

    def item_started(self, target: str) -> None: ...

    def stage(self, target: str, stage: str) -> None: ...

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        """Measured progress inside a stage (bytes downloaded, audio seconds transcribed)."""
        ...

    def item_finished(self, outcome: ItemOutcome) -> None: ...


class SilentObserver:
    """The observer of an ingest nobody watches."""

    def item_started(self, target: str) -> None: ...

    def stage(self, target: str, stage: str) -> None: ...

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None: ...

    def item_finished(self, outcome: ItemOutcome) -> None: ...


def progress_for(observer: IngestObserver, target: str) -> ProgressFn:
    """A source's progress callback that reports to ``observer`` as ``target``'s."""

    def report(stage: str, done: float, total: float | None) -> None:
        observer.progress(target, stage, done, total)

    return report


def failing_alone(target: str, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
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


def cleaned(item: Ingestible) -> Ingestible:
    """Ids derived from outside data made to conform (ids.py); titles and channels without control
    characters, which would act on a terminal that prints them."""
    video = item.video
    tidy = replace(
        video,
        video_id=conform_video_id(video.video_id),
        title=strip_controls(video.title),
        channel=strip_controls(video.channel) if video.channel else video.channel,
    )
    return item if tidy == video else replace(item, video=tidy)


def with_times_repaired(item: Ingestible, target: str = "") -> Ingestible:
    """``item`` with every cue inside its window (cue_times.py), a warning saying what was fixed.
    ``SourceError`` for a transcript that holds no text."""
    segments, repaired = repair_times(item.transcript.segments)
    if repaired:
        item = replace(
            item,
            transcript=replace(item.transcript, segments=tuple(segments)),
            warnings=(*item.warnings, repaired),
        )
        if (item.video.duration or 0) > MAX_SECONDS:  # read off the bad times: taken again from the fixed
            item = replace(item, video=replace(item.video, duration=None))
    if not any(seg.text.strip() for seg in item.transcript.segments):
        raise SourceError(
            target or item.video.source, "the transcript holds no text", hint=repaired or "check the file"
        )
    return item


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


def prepare_record(
    checked: CheckedItem, embedder: Embedder, observer: IngestObserver | None = None
) -> VideoRecord:
    """Chunk and embed a checked video into the record ``Library.store_record`` writes. Touches no store."""
    observer = observer or SilentObserver()
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


def _embedded(embedder: Embedder, texts: list[str], target: str, observer: IngestObserver) -> Matrix:
    """``embedder.embed(texts)``, in steps that report ``embed`` progress (texts done of all)."""
    if len(texts) <= EMBED_STEP:
        return embedder.embed(texts)
    parts = []
    for begin in range(0, len(texts), EMBED_STEP):
        parts.append(embedder.embed(texts[begin : begin + EMBED_STEP]))
        observer.progress(target, "embed", min(begin + EMBED_STEP, len(texts)), len(texts))
    return np.concatenate(parts)
