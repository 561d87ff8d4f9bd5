"""Open state: the whole library as JSON Lines, documented in docs/export-format.md.

Line 1 is a header (format, version, the index identity); every further line is one video with its
transcript, sentences, windows and vectors. Vectors are base64 of little-endian float32, so an export ->
import -> export round trip is byte-for-byte exact (apart from the header's ``exported_at``).
Import validates the whole file before writing anything, then stores each video in its own transaction.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from atlas.errors import LibraryMismatchError, UserInputError
from atlas.index.base import Index, IndexIdentity, Vectors, VideoRecord
from atlas.ingest_report import IngestReport, ItemOutcome, Status
from atlas.models import Sentence, Transcript, Video, Window
from atlas.transcript_json import segments_from_json, segments_to_json, speaker_from_json

FORMAT = "atlas-library"
# Version 2 added ``speaker`` to segments and sentences: an older Atlas refuses it by its version instead of
# failing on an unknown key. Version 1 files (no speakers) still import.
FORMAT_VERSION = 2
READS_VERSIONS = (1, 2)


def encode_vectors(vectors: Vectors) -> str:
    return base64.b64encode(np.ascontiguousarray(vectors, dtype="<f4").tobytes()).decode("ascii")


def decode_vectors(text: str, rows: int, dim: int) -> Vectors:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) != rows * dim * 4:
        raise ValueError(f"expected {rows}x{dim} float32 values, got {len(raw) // 4}")
    return np.frombuffer(raw, dtype="<f4").reshape(rows, dim).astype(np.float32)


def record_to_json(record: VideoRecord) -> dict[str, Any]:
    video = asdict(record.video)
    return {
        "type": "video",
        "video": video,
        "transcript": {
            "origin": record.transcript.origin,
            "language": record.transcript.language,
            "segments": segments_to_json(record.transcript.segments),
        },
        "sentences": [asdict(s) for s in record.sentences],
        "windows": [asdict(w) for w in record.windows],
        "sentence_vectors": encode_vectors(record.sentence_vectors),
        "window_vectors": encode_vectors(record.window_vectors),
    }


def record_from_json(obj: dict[str, Any], dim: int) -> VideoRecord:
    video_fields = {f.name for f in fields(Video)}
    video = Video(**{k: v for k, v in obj["video"].items() if k in video_fields})
    t = obj["transcript"]
    segments = segments_from_json(t["segments"])
    sentences = tuple(
        Sentence(**{**s, "speaker": speaker_from_json(s.get("speaker"))}) for s in obj["sentences"]
    )
    windows = tuple(Window(**w) for w in obj["windows"])
    return VideoRecord(
        video=video,
        transcript=Transcript(segments=segments, origin=t["origin"], language=t.get("language")),
        sentences=sentences,
        windows=windows,
        sentence_vectors=decode_vectors(obj["sentence_vectors"], len(sentences), dim),
        window_vectors=decode_vectors(obj["window_vectors"], len(windows), dim),
    )


def export_library(index: Index, path: Path) -> int:
    """Write the library to ``path`` (atomically: a crash never leaves a truncated export). Returns videos."""
    identity = index.identity()
    header = {
        "type": "header",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "identity": asdict(identity) if identity else None,
        "counts": index.counts(),
    }
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".atlas-export-", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record in index.iter_records():
                out.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _read(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.expanduser().open(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror})", hint="check the path") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UserInputError(
                    f"{path}:{number}: not valid JSON ({exc})", hint="is this an `atlas export` file?"
                ) from exc
            if not isinstance(obj, dict):
                raise UserInputError(
                    f"{path}:{number}: expected a JSON object", hint="is this an `atlas export` file?"
                )
            yield number, obj


def _header_identity(path: Path, number: int, obj: dict[str, Any]) -> IndexIdentity | None:
    if number != 1 or obj.get("type") != "header" or obj.get("format") != FORMAT:
        raise UserInputError(
            f"{path}: line 1 is not an Atlas export header", hint="export a library with atlas export"
        )
    if obj.get("format_version") not in READS_VERSIONS:
        raise UserInputError(
            f"{path}: export format version {obj.get('format_version')} is not supported (this Atlas reads "
            f"{' and '.join(map(str, READS_VERSIONS))})",
            hint="import it with the Atlas version that wrote it",
        )
    raw = obj.get("identity")
    return IndexIdentity(**raw) if raw else None


def import_library(index: Index, path: Path) -> IngestReport:
    rows = iter(_read(path))
    first = next(rows, None)
    if first is None:
        raise UserInputError(f"{path}: the file is empty", hint="export a library with atlas export")
    identity = _header_identity(path, *first)
    recorded = index.identity()
    if identity is not None and recorded is not None and recorded != identity:
        raise LibraryMismatchError(
            f"{path} was exported from a library built with '{identity.embedder}' "
            f"(dim {identity.dim}), this library uses '{recorded.embedder}' (dim {recorded.dim})",
            hint="import it into a new, empty --library",
        )
    # Validate everything before the first write: a bad line must not leave a half-imported library.
    records: list[VideoRecord] = []
    for number, obj in rows:
        if identity is None:
            raise UserInputError(f"{path}:{number}: videos in an export without an index identity")
        try:
            records.append(record_from_json(obj, identity.dim))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(
                f"{path}:{number}: malformed video record ({exc.__class__.__name__}: {exc})",
                hint="the file was edited or truncated; export it again",
            ) from exc
    report = IngestReport()
    if identity is not None:
        index.claim(identity)
    for record in records:
        previous = index.content_hash(record.video.video_id)
        status: Status
        if previous == record.video.content_hash and previous:
            status = "unchanged"
        else:
            index.put_video(record)
            status = "added" if previous is None else "replaced"
        report.outcomes.append(
            ItemOutcome(
                str(path), status, record.video.video_id, record.video.title, windows=len(record.windows)
            )
        )
    return report
