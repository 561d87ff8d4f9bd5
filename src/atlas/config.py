"""Typed settings, resolved once at the edge (CLI flags > environment > defaults).

This is the only module that reads ``os.environ``; everything below receives a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

ENV_LIBRARY = "ATLAS_LIBRARY"
ENV_EMBEDDER = "ATLAS_EMBEDDER"
ENV_THREADS = "ATLAS_THREADS"
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """How transcripts are cut into windows. Recorded in the index; changing it means re-ingesting."""

    target_words: int = 90  # close a window once it holds this many words...
    max_words: int = 150  # ...and never let it grow past this (MiniLM reads ~256 word pieces)
    max_seconds: float = 60.0  # a window never spans more than this much media time
    overlap: float = 0.5  # share of a window's sentences that the next window repeats
    max_sentence_words: int = 40  # unpunctuated caption streams are cut into slices this long
    max_sentence_seconds: float = 15.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "target_words": self.target_words,
            "max_words": self.max_words,
            "max_seconds": self.max_seconds,
            "overlap": self.overlap,
            "max_sentence_words": self.max_sentence_words,
            "max_sentence_seconds": self.max_sentence_seconds,
        }


@dataclass(frozen=True, slots=True)
class SearchSettings:
    limit: int = 10
    candidates: int = 60  # how many keyword and vector candidates each feed the fusion
    rrf_k: int = 60
    rerank: bool = True


@dataclass(frozen=True, slots=True)
class Settings:
    library_dir: Path
    # None: use the embedder recorded in the library (DEFAULT_EMBEDDER for a new one). A name given here that
    # differs from the recorded one is refused rather than silently mixing vector spaces.
    embedder: str | None = None
    threads: int | None = None
    windows: WindowSettings = field(default_factory=WindowSettings)
    search: SearchSettings = field(default_factory=SearchSettings)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def default_library_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("atlas", appauthor=False)) / "library"


def resolve_settings(
    *,
    library: str | Path | None = None,
    embedder: str | None = None,
    threads: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Flags win over the environment, which wins over defaults."""
    env = os.environ if environ is None else environ
    lib = library or env.get(ENV_LIBRARY) or default_library_dir()
    emb = embedder or env.get(ENV_EMBEDDER) or None
    thr = threads if threads is not None else _int_or_none(env.get(ENV_THREADS))
    return Settings(library_dir=Path(lib).expanduser(), embedder=emb, threads=thr)


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        from atlas.errors import UserInputError

        raise UserInputError(
            f"{ENV_THREADS}={value!r} is not a whole number", hint=f"unset it or set e.g. {ENV_THREADS}=2"
        ) from None
