"""Atlas: find the exact second in a video where something is said or meant.

The Python API under the CLI, the HTTP API and the web page::

    from atlas import AskOptions, Library, resolve_settings

    with Library.open(resolve_settings(library="my-library")) as library:
        library.ingest(["talk.vtt", "https://www.youtube.com/watch?v=ID"])
        hits = library.search("buying your own hardware", limit=3)
        answer = library.ask("how can I cut GPU costs?", AskOptions(generator="extractive"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atlas.models import (
    Answer,
    AskOptions,
    Hit,
    IngestOptions,
    SearchFilters,
    Segment,
    Sentence,
    Transcript,
    Video,
    Window,
    Word,
)

if TYPE_CHECKING:
    from atlas.config import Settings, resolve_settings
    from atlas.library import Library

# Loaded on first use: ``import atlas`` stays cheap for code that only needs the data classes.
_LAZY = {
    "Library": "atlas.library",
    "Settings": "atlas.config",
    "resolve_settings": "atlas.config",
}

__all__ = [
    "Answer",
    "AskOptions",
    "Hit",
    "IngestOptions",
    "Library",
    "SearchFilters",
    "Segment",
    "Sentence",
    "Settings",
    "Transcript",
    "Video",
    "Window",
    "Word",
    "resolve_settings",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'atlas' has no attribute {name!r}")
