"""What a window's stored sentence vectors say about a query: the cosine of each sentence and of each run of
adjacent sentences. Used by the reranker to judge which window holds the answer.

A paraphrase of one remark is sharper against that remark than against a 90-word window, and a remark that
spills over two sentences ("So if you have an 80 layer network... the second 40 layers on GPU two") is
sharper against the pair than against either half. All of it is dot products over vectors stored at ingest:
no model call at query time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SpanEvidence:
    """Cosines of a window's sentences (``single[i]``) and adjacent pairs (``pair[i]``: sentences i, i+1)."""

    single: npt.NDArray[np.float32]
    pair: npt.NDArray[np.float32]

    @property
    def best_single(self) -> float:
        return float(self.single.max()) if len(self.single) else 0.0

    @property
    def best_pair(self) -> float:
        """A one-sentence window's best pair is its sentence."""
        return float(self.pair.max()) if len(self.pair) else self.best_single


def span_evidence(sentence_vectors: Vectors, query_vector: Vectors) -> SpanEvidence:
    vectors = sentence_vectors.astype(np.float32, copy=False)
    single = (vectors @ query_vector).astype(np.float32)
    if len(vectors) < 2:
        return SpanEvidence(single, np.zeros(0, dtype=np.float32))
    sums = vectors[:-1] + vectors[1:]
    norms = np.linalg.norm(sums, axis=1)
    norms[norms == 0] = 1.0
    pair = ((sums @ query_vector) / norms).astype(np.float32)
    return SpanEvidence(single, pair)
