"""Question-shaped retrieval over the real sample talks with the bundled MiniLM: a question of two parts, each
answered by a different talk, gets moments, and cited sentences, for both parts."""

from __future__ import annotations

import pytest

from atlas.library import Library
from atlas.models import AskOptions

pytestmark = pytest.mark.real_model

# The first part is answered by the Berkeley lecture, the second by the NormConf talk; searched whole, the
# question's moments all came from the lecture (the price overwhelms the name).
QUESTION = "How much does a 2080 Ti machine cost to build, and what is MobileNet?"


def test_a_two_part_question_cites_moments_for_both_parts(real_library: Library) -> None:
    answer = real_library.ask(QUESTION, AskOptions(generator="extractive"))
    assert answer.answered
    videos = {c.number: c.hit.video.video_id for c in answer.citations}
    cited = {videos[n] for s in answer.sentences for n in s.citations}
    assert {"berkeley-ai-rubric-lecture", "normconf-ml-cost-talk"} <= cited
    assert "2080" in answer.text and "$7,000" in answer.text  # the first part's answer
    assert "MobileNet" in answer.text  # the second part's
    for citation in answer.citations:  # each citation spans what was read and is pinned inside it
        hit = citation.hit
        if hit.video.timed:
            assert hit.window.start is not None and hit.window.end is not None and hit.moment is not None
            assert hit.window.start <= hit.moment <= hit.window.end
