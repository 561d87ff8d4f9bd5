"""Followed playlists and channels: ``<library>/follows.json``, part of a library's local state.

Ingesting a playlist or channel URL follows it: the YouTube source reports each listing it read
(``SourceListed``) and the library records it here. ``atlas update`` (``Library.update``) ingests each
followed URL again with the ``--since`` / ``--max`` it was last ingested with. Videos the library already
holds are skipped without being fetched, so an update costs one listing per follow plus the new videos.

The file is small JSON, rewritten whole and atomically (a temporary file beside it, fsync, rename), so a crash
leaves the old list or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atlas.errors import LibraryCorruptError, NotFoundError, SourceError
from atlas.models import IngestOptions
from atlas.sources.base import ListingKind
from atlas.youtube_urls import parse_youtube_url

FOLLOWS_FILE = "follows.json"
_VERSION = 1

FollowKind = ListingKind


@dataclass(frozen=True, slots=True)
class Follow:
    url: str  # canonical playlist / channel-tab URL: the follow's identity
    kind: FollowKind
    title: str | None = None
    since: str | None = None  # the --since / --max it was last ingested with, re-applied by updates
    max_items: int | None = None
    added: str = ""  # ISO timestamps (UTC)
    checked: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FollowStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_library(cls, library_dir: Path) -> FollowStore:
        return cls(library_dir / FOLLOWS_FILE)

    def load(self) -> list[Follow]:
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LibraryCorruptError(
                f"cannot read the followed playlists in {self.path}: {exc}",
                hint="fix the JSON or delete the file (then ingest the playlists again to follow them)",
            ) from exc
        try:
            return [Follow(**item) for item in payload["follows"]]
        except (KeyError, TypeError) as exc:
            raise LibraryCorruptError(
                f"{self.path} is not an Atlas follows file", hint="delete it, then ingest the playlists again"
            ) from exc

    def follow(self, url: str, kind: FollowKind, title: str | None, options: IngestOptions) -> Follow:
        """Add or refresh a follow; ``--since`` / ``--max`` become the follow's own."""
        follows = self.load()
        now = _now()
        known = next((f for f in follows if f.url == url), None)
        updated = replace(
            known or Follow(url=url, kind=kind, added=now),
            title=title or (known.title if known else None),
            since=options.since,
            max_items=options.max_items,
            checked=now,
        )
        self._write([updated if f.url == url else f for f in follows] if known else [*follows, updated])
        return updated

    def unfollow(self, url: str) -> Follow:
        """Stop following ``url`` (any spelling of it); ``NotFoundError`` when it is not followed."""
        follows = self.load()
        try:
            wanted = parse_youtube_url(url).url
        except SourceError:
            wanted = url
        found = next((f for f in follows if f.url in (wanted, url)), None)
        if found is None:
            raise NotFoundError(f"not following {url}", hint="see what is followed with: atlas update --list")
        self._write([f for f in follows if f is not found])
        return found

    def _write(self, follows: list[Follow]) -> None:
        payload: dict[str, Any] = {"version": _VERSION, "follows": [asdict(f) for f in follows]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".follows-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, indent=2, ensure_ascii=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
