"""Reciprocal rank fusion: rank-based, so BM25 and cosine scores never need calibrating against each other."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.index.base import Candidate


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Candidate]], k: int = 60, weights: Sequence[float] | None = None
) -> list[Candidate]:
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, cand in enumerate(ranking, start=1):
            scores[cand.key] = scores.get(cand.key, 0.0) + weight / (k + rank)
    fused = [Candidate(key, score) for key, score in scores.items()]
    fused.sort(key=lambda c: (-c.score, c.key))
    return fused
