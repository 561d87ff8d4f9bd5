"""Optimal segmentation by dynamic programming: the cut that makes chapters most internally alike.

A chapter's cost is how far its sentence vectors spread around their centroid (for unit vectors weighted by
the seconds each sentence takes, ``W - |sum w v|^2 / W``); the segmentation minimises the total cost plus a
fixed ``penalty`` per chapter, exactly, under the length limits. The penalty is ``beta`` times the spread of
the whole talk taken as one chapter, so a talk's structure, not its length, sets how many chapters it gets: a
7-minute talk of four subjects and a 40-minute one both get four. ``beta`` = 0.02 was chosen on the
benchmark's dev talks (benchmarks/bench_chapters.py --sweep): a penalty in absolute units (per sentence or
per second of spread) fitted the 12-60 minute text talks as well but merged every subject of the 5-minute
spoken one; smoothing the vectors over 10-45 s first gained nothing clear.
"""

from __future__ import annotations

import numpy as np

from atlas.chapters.base import Axis, Limits, Vectors, normalise

WEIGHT_UNIT_SECONDS = 10.0
MIN_WEIGHT_SECONDS = 1.0
MAX_WEIGHT_SECONDS = 30.0


class Optimal:
    name = "optimal"

    def __init__(self, beta: float = 0.02) -> None:
        self.beta = beta

    def segment(self, vectors: Vectors, axis: Axis, limits: Limits) -> list[int]:
        n = len(vectors)
        if n < 2 * limits.min_sentences:
            return [0]
        at = np.asarray(axis, dtype=np.float64)
        # Each sentence weighs what it takes to say (capped: a long pause after it adds nothing), so the
        # penalty means the same for a transcript cut into many short sentences as for few long ones.
        weights = np.clip(np.diff(at), MIN_WEIGHT_SECONDS, MAX_WEIGHT_SECONDS) / WEIGHT_UNIT_SECONDS
        unit = normalise(vectors).astype(np.float64)
        prefix = np.vstack([np.zeros((1, unit.shape[1])), np.cumsum(unit * weights[:, None], axis=0)])
        counts = np.concatenate([[0.0], np.cumsum(weights)])
        whole = counts[n] - float(prefix[n] @ prefix[n]) / counts[n]
        penalty = self.beta * max(whole, 1e-6)
        best = np.full(n + 1, np.inf)
        best[0] = 0.0
        back = np.zeros(n + 1, dtype=np.int64)
        for j in range(1, n + 1):
            last = j - limits.min_sentences + 1
            first = int(np.searchsorted(at, at[j] - limits.max_length, side="left"))
            begins = np.arange(min(first, last), last)
            length = at[j] - at[begins]
            within = (length >= limits.min_length) & np.isfinite(best[begins])
            if j == n and not within.any():
                # Nothing fits under the maximum (a long silence, a huge sentence): an over-long last
                # chapter beats no chapters.
                begins = np.arange(0, max(last, 0))
                length = at[j] - at[begins]
                within = (length >= limits.min_length) & np.isfinite(best[begins])
                if not within.any():
                    within = np.isfinite(best[begins]) & (begins == 0)
            if not within.any():
                continue
            begins = begins[within]
            sums = prefix[j] - prefix[begins]
            sizes = counts[j] - counts[begins]
            cost = sizes - np.einsum("ij,ij->i", sums, sums) / sizes
            total = best[begins] + cost + penalty
            pick = int(np.argmin(total))
            best[j] = total[pick]
            back[j] = begins[pick]
        if not np.isfinite(best[n]):
            return [0]
        starts: list[int] = []
        j = n
        while j > 0:
            j = int(back[j])
            starts.append(j)
        return sorted(starts)
