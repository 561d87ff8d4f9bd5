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


def embedder_id_for(name: str) -> str | None:
    """The id an embedder of this name records, known without loading it (None for plugins)."""
    if name.startswith("fake/hashing"):
        return name if name[-1].isdigit() else "fake/hashing-64"
    if any(ep.name == name for ep in entry_points(group="atlas.embedders")):
        return None
    from atlas.embedding.sentence_transformers import HUB_PREFIX

    return HUB_PREFIX + name.removeprefix(HUB_PREFIX)


def embedder_name_for(embedder_id: str) -> str:
    """The name to load for a recorded id (inverse of ``embedder_id_for`` for built-ins)."""
    from atlas.embedding.sentence_transformers import HUB_PREFIX

    return embedder_id.removeprefix(HUB_PREFIX)
