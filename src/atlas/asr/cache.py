"""Transcripts made by ASR, kept on disk so nothing is transcribed twice (across runs, and across a crash
between transcription and indexing).

One JSON file per (key, transcriber) pair, named by a hash of both, written to a temporary file in the same
directory and renamed into place: a reader sees the whole file or none, even after kill -9. A file that does
not parse, or that holds another key (a hash collision, a hand edit), is treated as absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from atlas.models import Transcript
from atlas.transcript_json import segments_from_json, segments_to_json

FORMAT_VERSION = 1


class TranscriptCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str, origin: str) -> Path:
        digest = hashlib.sha256(f"{key}\0{origin}".encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def get(self, key: str, origin: str) -> Transcript | None:
        try:
            payload = json.loads(self.path_for(key, origin).read_text(encoding="utf-8"))
            if payload.get("version") != FORMAT_VERSION or (payload["key"], payload["origin"]) != (
                key,
                origin,
            ):
                return None
            return Transcript(
                segments=segments_from_json(payload["segments"]),
                origin=origin,
                language=payload.get("language"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, transcript: Transcript) -> Path:
        payload = {
            "version": FORMAT_VERSION,
            "key": key,
            "origin": transcript.origin,
            "language": transcript.language,
            "segments": segments_to_json(transcript.segments),
        }
        target = self.path_for(key, transcript.origin)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target
