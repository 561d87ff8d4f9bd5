"""The embedding contract: texts in, L2-normalised float32 rows out.

Batching lives here, on the base class, so an implementation writes one method (``_encode``).
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

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length waste little on padding (a batch is padded to its longest text).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
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
