"""What answering needs from a library, and no more: its search, its embedder and its stored sentences.

The answer service takes a ``Retriever`` rather than the ``Library`` facade so that it sits below the facade
(``Library`` satisfies the Protocol and passes itself in), and so a test or a plugin can answer from anything
that searches.
"""

from __future__ import annotations

from typing import Protocol

from atlas.answer.base import Vector
from atlas.embedding.base import Embedder
from atlas.models import Hit, SearchFilters, Sentence


class SentenceStore(Protocol):
    """Stored sentences with their vectors (``Index.sentences``): what a passage is read from."""

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vector]:
        """Sentences first..last (inclusive) of a video, with their vectors; ``NotFoundError`` for a video
        that is gone."""
        ...


class Retriever(SentenceStore, Protocol):
    """Finds the moments a question is answered from."""

    @property
    def embedder(self) -> Embedder:
        """Embeds the question and its parts, and the answer sentences the support check compares."""
        ...

    def search(
        self, query: str, *, limit: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Ranked moments for ``query`` (hybrid search); none for an empty library."""
        ...
