"""A fast deterministic embedder for unit tests: hashed bag of word stems, no model, no torch.

Texts that share words get similar vectors, which is enough to exercise fusion, pinning and the store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from atlas.embedding.base import Embedder, Kind, Matrix

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.id = f"fake/hashing-{dim}"
        self.batch_size = 256

    def _encode(self, texts: Sequence[str], kind: Kind) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                stem = word[:5]  # crude stemming so "prices"/"priced" meet
                digest = hashlib.blake2b(stem.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
        return out
