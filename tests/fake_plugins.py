"""The test suite's plugins, registered the way any third party's are (atlas/plugins.py): a fast deterministic
embedder, ``fake/hashing-64`` (and ``-32``, ``-256``), that Atlas itself knows nothing about.

tests/conftest.py imports this module, which registers it in the pytest process; a child ``atlas`` process
gets it through ``ATLAS_PLUGINS`` (``plugin_env``), as a deployment would load a plugin module of its own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from atlas.config import ENV_PLUGINS
from atlas.embedding.base import Embedder, Kind, Matrix
from atlas.embedding.registry import EMBEDDERS

ROOT = Path(__file__).resolve().parents[1]
FAKE_EMBEDDER = "fake/hashing-64"
HASHING_DIMS = (32, 64, 256)  # a second width lets tests build a library another embedder cannot open

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    """A hashed bag of word stems: no model, no torch, instant. Texts that share words get similar vectors,
    which is enough to exercise fusion, pinning and the store."""

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


def create_hashing(name: str, threads: int | None) -> Embedder:
    """The ``atlas.embedders`` factory: the width is the number the name ends with."""
    return HashingEmbedder(int(name.rsplit("-", 1)[-1]))


def plugin_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a child process that should find these plugins: this module named in ``ATLAS_PLUGINS``,
    and the checkout on ``PYTHONPATH``, so it imports from any folder (the ``atlas`` script's is its bin/)."""
    path = [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    return {**env, ENV_PLUGINS: __name__, "PYTHONPATH": os.pathsep.join(path)}


for _dim in HASHING_DIMS:
    EMBEDDERS.register(f"fake/hashing-{_dim}", create_hashing)
