"""Embedders by name. Built-ins are registered like plugins; third parties add the ``atlas.embedders``
entry point (a callable taking ``name`` and ``threads``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from atlas.embedding.base import Embedder
from atlas.errors import UserInputError

Factory = Callable[[str, int | None], Embedder]


def _sentence_transformers(name: str, threads: int | None) -> Embedder:
    """Bundled models run through ONNX Runtime (same vectors, ~50x faster to import than torch); others, and
    any machine where the ONNX path cannot be set up, through sentence-transformers."""
    from atlas.embedding.sentence_transformers import SentenceTransformerEmbedder, bundled_path

    location = bundled_path(name)
    if location is not None:
        onnx = _onnx_or_none(name, location, threads)
        if onnx is not None:
            return onnx
    return SentenceTransformerEmbedder(name, threads=threads)


def _onnx_or_none(name: str, location: Path, threads: int | None) -> Embedder | None:
    from atlas.embedding import onnx
    from atlas.embedding.sentence_transformers import HUB_PREFIX

    if importlib.util.find_spec("onnxruntime") is None or not onnx.supports_onnx(location):
        return None
    graph = onnx.onnx_cache_path(name.removeprefix(HUB_PREFIX))
    try:
        if not graph.is_file():
            onnx.export_onnx(location, graph)
        return onnx.OnnxEmbedder(HUB_PREFIX + name.removeprefix(HUB_PREFIX), location, graph, threads=threads)
    except Exception:  # ONNX is only a faster path to the same vectors; torch still works
        return None


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
