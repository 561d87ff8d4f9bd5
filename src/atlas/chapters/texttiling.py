"""TextTiling over sentence vectors (Hearst 1997, with embeddings for word counts).

At every gap between two sentences, compare the mean vector of the sentences spoken in the ``block`` seconds
before it with the mean of those in the ``block`` seconds after (cosine). Where a topic turns, that
similarity dips; a gap's *depth* is how far it lies below the highest similarity reached on each side before
the curve falls again. Gaps at local minima deeper than ``mean - cutoff * std`` of those minima are
boundaries; then chapters too short lose their shallowest boundary and chapters too long are split at their
deepest gap. (Hearst's own cut-off, ``mean - std / 2``, keeps most minima: with a minimum at nearly every
other gap of a sentence-level curve, it cut a 25-minute talk into 20 chapters; ``mean + cutoff * std`` with a
positive ``cutoff`` keeps only the clear turns.)

Blocks are measured in seconds, not sentences, so a run of short sentences ("Yes." "Right.") weighs what it
takes to say, not one vote each.
"""

from __future__ import annotations

import numpy as np

from atlas.chapters.base import Axis, Limits, Vectors, enforce_max, enforce_min, normalise


class TextTiling:
    name = "texttiling"

    def __init__(self, block: float = 120.0, cutoff: float = 1.5, min_block_sentences: int = 2) -> None:
        self.block = block
        self.cutoff = cutoff
        self.min_block_sentences = min_block_sentences

    def similarities(self, vectors: Vectors, axis: Axis) -> np.ndarray:
        """``sim[g]`` for the gap before sentence g (g = 1..n-1; ``sim[0]`` is 1, no gap there)."""
        n = len(vectors)
        unit = normalise(vectors).astype(np.float64)
        prefix = np.vstack([np.zeros((1, unit.shape[1])), np.cumsum(unit, axis=0)])
        starts = np.asarray(axis[:n], dtype=np.float64)
        sims = np.ones(n, dtype=np.float64)
        k = self.min_block_sentences
        for g in range(1, n):
            lo = int(np.searchsorted(starts, starts[g] - self.block, side="left"))
            hi = int(np.searchsorted(starts, starts[g] + self.block, side="left"))
            lo = max(0, min(lo, g - k))
            hi = min(n, max(hi, g + k))
            left = prefix[g] - prefix[lo]
            right = prefix[hi] - prefix[g]
            denominator = float(np.linalg.norm(left) * np.linalg.norm(right))
            sims[g] = float(left @ right) / denominator if denominator > 0 else 1.0
        return sims

    def depths(self, sims: np.ndarray) -> np.ndarray:
        n = len(sims)
        depth = np.zeros(n, dtype=np.float64)
        for g in range(1, n):
            left = sims[g]
            i = g - 1
            while i >= 1 and sims[i] >= left:
                left = sims[i]
                i -= 1
            right = sims[g]
            i = g + 1
            while i < n and sims[i] >= right:
                right = sims[i]
                i += 1
            depth[g] = (left - sims[g]) + (right - sims[g])
        return depth

    def segment(self, vectors: Vectors, axis: Axis, limits: Limits) -> list[int]:
        n = len(vectors)
        if n < 2 * limits.min_sentences:
            return [0]
        sims = self.similarities(vectors, axis)
        depth = self.depths(sims)
        minima = [
            g
            for g in range(1, n)
            if sims[g] <= sims[g - 1] and (g + 1 >= n or sims[g] <= sims[g + 1]) and depth[g] > 0
        ]
        starts = [0]
        if minima:
            values = depth[minima]
            threshold = float(values.mean() + self.cutoff * values.std())
            starts += [g for g in minima if depth[g] > threshold]
        strength = depth.tolist()
        starts = enforce_min(starts, axis, limits, strength)
        return enforce_max(starts, axis, limits, strength)
