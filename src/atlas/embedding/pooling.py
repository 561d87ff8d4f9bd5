"""Window vectors: each window's text embedded on its own (``embed``, the recipe every library had before),
or pooled from the vectors of the sentences inside it (``sentence-mean``), which costs no model call at all.

The pooled vector is the word-weighted mean of the window's sentence vectors, normalised: a model that
mean-pools its tokens weighs a long sentence by its length too. It is not the same vector as embedding the
window's text (mean cosine ~0.82 to it for MiniLM on a lecture), so a library records which recipe built it
(``WindowSettings.as_dict``) and keeps that recipe for its lifetime.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from atlas.embedding.base import Embedder, Matrix
from atlas.models import Sentence, Window

#: The key in a library's recorded window settings that marks sentence-pooled window vectors (absent: the
#: windows were embedded, as in every library made before the key existed).
RECIPE_KEY = "vectors_from_sentences"

#: Embedders whose new libraries embed each window's text. all-mpnet-base-v2 is chosen for quality, and its
#: own window vectors found more than pooled ones on the dev queries (benchmarks/README.md, issue 12: R@5
#: 0.85 -> 0.88, paraphrases 0.72 -> 0.80) for ~4x its pooled ingest time. Every other embedder pools: for
#: MiniLM, the default, pooled windows measured better and ingest 2.7x faster.
EMBEDS_WINDOWS = frozenset({"all-mpnet-base-v2"})


def pools_windows(embedder_name: str) -> bool:
    """Whether a new library with this embedder pools its window vectors from its sentence vectors."""
    from atlas.embedding.registry import embedder_id_for, embedder_name_for

    recorded_id = embedder_id_for(embedder_name)  # None for a plugin: no plugin is in EMBEDS_WINDOWS
    return recorded_id is None or embedder_name_for(recorded_id) not in EMBEDS_WINDOWS


def pooled_from_sentences(
    windows: Sequence[Window], sentences: Sequence[Sentence], sentence_vectors: Matrix
) -> Matrix:
    """One L2-normalised row per window: the word-weighted mean of its sentences' vectors."""
    dim = sentence_vectors.shape[1]
    if not windows:
        return np.zeros((0, dim), dtype=np.float32)
    row_of = {s.index: row for row, s in enumerate(sentences)}
    weights = np.array([max(1, len(s.text.split())) for s in sentences], dtype=np.float32)
    weighted = sentence_vectors.astype(np.float32, copy=False) * weights[:, None]
    # Prefix sums turn each window's sum into one subtraction (windows overlap by half).
    cumulative = np.vstack(
        [np.zeros((1, dim), dtype=np.float64), np.cumsum(weighted, axis=0, dtype=np.float64)]
    )
    first = np.array([row_of[w.first_sentence] for w in windows])
    last = np.array([row_of[w.last_sentence] for w in windows])
    sums = (cumulative[last + 1] - cumulative[first]).astype(np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    pooled: Matrix = (sums / norms).astype(np.float32, copy=False)
    return pooled


def window_vectors(
    embedder: Embedder,
    windows: Sequence[Window],
    sentences: Sequence[Sentence],
    sentence_vectors: Matrix,
    recorded_windows: dict[str, float | int],
) -> Matrix:
    """The window vectors by the recipe in ``recorded_windows`` (the library's recorded window settings)."""
    if recorded_windows.get(RECIPE_KEY):
        return pooled_from_sentences(windows, sentences, sentence_vectors)
    return embedder.embed([w.text for w in windows])
