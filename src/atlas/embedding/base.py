"""The embedding contract: texts in, L2-normalised float32 rows out.

Batching lives here, on the base class, so an implementation writes one method (``_encode``) and may tell
how long a text is to the model (``_lengths``, e.g. in word pieces) so batches are cut with little padding.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["query", "passage"]
Matrix = npt.NDArray[np.float32]


class Embedder(ABC):
    #: Stable identity recorded in the index; an index refuses to be searched with another id.
    id: str
    dim: int
    batch_size: int = 32

    @abstractmethod
    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        """Encode one batch. Rows need not be normalised; ``embed`` does that."""

    def _lengths(self, texts: Sequence[str]) -> list[int]:
        """How long each text is to the model; batches are cut from texts sorted by it. Characters here; an
        embedder with a tokenizer counts tokens (a batch is padded to its longest text)."""
        return [len(text) for text in texts]

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Each distinct text is encoded once (a repeated line, a jingle, a sign-off), then copied back.
        slot: dict[str, int] = {}
        where = np.array([slot.setdefault(text, len(slot)) for text in texts], dtype=np.intp)
        distinct = list(slot)
        vectors = self._embed_distinct(distinct, kind)
        out: Matrix = vectors if len(distinct) == len(texts) else vectors[where]
        return out

    def _embed_distinct(self, texts: list[str], kind: Kind) -> Matrix:
        # Batches of similar length waste little on padding (a batch is padded to its longest text). The
        # sort is stable, so equal lengths keep their input order and the batches are deterministic.
        lengths = self._lengths(texts)
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        ordered = [texts[i] for i in order]
        parts = [
            self._encode(ordered[i : i + self.batch_size], kind)
            for i in range(0, len(texts), self.batch_size)
        ]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = np.vstack(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        normalised: Matrix = (out / norms).astype(np.float32, copy=False)
        return normalised

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        row: npt.NDArray[np.float32] = self.embed([text], kind="query")[0]
        return row
