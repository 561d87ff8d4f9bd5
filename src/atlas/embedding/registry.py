"""Embedders by name: a plugin's (the ``atlas.embedders`` entry point, or one registered in ``EMBEDDERS``: a
callable taking ``name`` and ``threads``), else any sentence-transformers model name."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from atlas.embedding.base import Embedder
from atlas.errors import UserInputError
from atlas.plugins import Registry

Factory = Callable[[str, int | None], Embedder]

# No built-in names: any name no plugin takes is a sentence-transformers model (from the Hub, or bundled).
EMBEDDERS: Registry[Factory] = Registry("atlas.embedders", "embedder")


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


def create_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """A plugin's name, or any sentence-transformers model name."""
    factory = EMBEDDERS.find(name)
    if factory is not None:
        return factory(name, threads)
    if not name.strip():
        raise UserInputError("embedder name is empty", hint="use e.g. --embedder all-MiniLM-L6-v2")
    return _sentence_transformers(name, threads)


def embedder_id_for(name: str) -> str | None:
    """The id an embedder of this name records, known without loading it (None for plugins: only loading
    one tells its id)."""
    if name in EMBEDDERS:
        return None
    from atlas.embedding.sentence_transformers import HUB_PREFIX

    return HUB_PREFIX + name.removeprefix(HUB_PREFIX)


def embedder_name_for(embedder_id: str) -> str:
    """The name to load for a recorded id (inverse of ``embedder_id_for`` for built-ins)."""
    from atlas.embedding.sentence_transformers import HUB_PREFIX

    return embedder_id.removeprefix(HUB_PREFIX)
