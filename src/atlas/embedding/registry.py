"""Embedders by name. Built-ins are registered like plugins; third parties add the ``atlas.embedders``
entry point (a callable taking ``name`` and ``threads``)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from atlas.embedding.base import Embedder
from atlas.errors import UserInputError

Factory = Callable[[str, int | None], Embedder]


def _sentence_transformers(name: str, threads: int | None) -> Embedder:
    from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, threads=threads)


def _hashing(name: str, threads: int | None) -> Embedder:
    from atlas.embedding.fake import HashingEmbedder

    dim = name.rsplit("-", 1)[-1]
    return HashingEmbedder(int(dim) if dim.isdigit() else 64)


def create_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """``fake/hashing-64`` for tests, a plugin's name, or any sentence-transformers model name."""
    if name.startswith("fake/hashing"):
        return _hashing(name, threads)
    for ep in entry_points(group="atlas.embedders"):
        if ep.name == name:
            factory: Factory = ep.load()
            return factory(name, threads)
    if not name.strip():
        raise UserInputError("embedder name is empty", hint="use e.g. --embedder all-MiniLM-L6-v2")
    return _sentence_transformers(name, threads)
