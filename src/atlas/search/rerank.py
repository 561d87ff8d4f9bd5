"""Re-rank fused candidates with evidence the first stage could not afford to compute for every window.

No cross-encoder ships offline here, so the reranker scores each shortlisted window by what is already
stored: the window's cosine to the query, its best sentence's and best adjacent pair's cosines (a window that
*contains* the answer in one remark beats one that is vaguely about the topic throughout), and its keyword
coverage. Users with a hub connection can plug a cross-encoder in behind the same Protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from atlas.search.evidence import span_evidence
from atlas.search.text import matched_terms


@dataclass(frozen=True, slots=True)
class RerankInput:
    key: int
    text: str
    window_vector: npt.NDArray[np.float32]
    sentence_vectors: npt.NDArray[np.float32]


class Reranker(Protocol):
    def rerank(
        self, query_vector: npt.NDArray[np.float32], terms: list[str], items: Sequence[RerankInput]
    ) -> list[tuple[int, float]]:
        """(key, score) best first."""
        ...


@dataclass(frozen=True, slots=True)
class EvidenceReranker:
    """A weighted sum of the window's, best sentence's and best pair's cosines and keyword coverage.

    Weights were fitted on the dev half of benchmarks/queries.jsonl by a grid search scored by R@5 + MRR for
    both bundled embedders at once (benchmarks/README.md, Quality): the pair adds ~2 points of dev R@5 with
    all-mpnet-base-v2 and nothing with MiniLM, whose best weights were the previous 0.45/0.35/0/0.2.
    """

    window_weight: float = 0.40
    sentence_weight: float = 0.27
    pair_weight: float = 0.13
    keyword_weight: float = 0.20

    def rerank(
        self, query_vector: npt.NDArray[np.float32], terms: list[str], items: Sequence[RerankInput]
    ) -> list[tuple[int, float]]:
        scored: list[tuple[int, float]] = []
        for item in items:
            window_cos = float(item.window_vector @ query_vector)
            if len(item.sentence_vectors):
                evidence = span_evidence(item.sentence_vectors, query_vector)
                sentence_cos, pair_cos = evidence.best_single, evidence.best_pair
            else:
                sentence_cos = pair_cos = window_cos
            coverage = len(matched_terms(terms, item.text)) / len(terms) if terms else 0.0
            score = (
                self.window_weight * window_cos
                + self.sentence_weight * sentence_cos
                + self.pair_weight * pair_cos
                + self.keyword_weight * coverage
            )
            scored.append((item.key, score))
        scored.sort(key=lambda pair: -pair[1])
        return scored
