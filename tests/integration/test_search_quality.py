"""The README's headline searches, with the bundled model over the real samples: the meant moment, to the
second, for queries that share no words with what is said."""

from __future__ import annotations

import pytest

from atlas.library import Library
from atlas.search.links import format_moment


@pytest.mark.real_model
def test_renting_versus_buying_lands_on_the_server_rack_line(real_library: Library) -> None:
    hits = real_library.search("renting servers versus buying your own hardware", limit=5)
    top = hits[0]
    assert top.video.video_id == "berkeley-ai-rubric-lecture"
    # "Going beyond four GPUs, you need like server rack mounts" is spoken at 0:28:23.1
    assert top.moment is not None and abs(top.moment - 1703.1) <= 3.0, (top.moment, top.snippet)
    assert format_moment(top.moment) == "0:28:23"
    assert top.url.endswith("#t=1703")
    assert top.snippet.startswith("Going beyond four GPUs")


@pytest.mark.real_model
def test_a_rare_name_is_pinned_to_the_sentence_that_says_it(real_library: Library) -> None:
    top = real_library.search("Pedalboard", limit=3)[0]
    assert top.video.video_id == "normconf-ml-cost-talk"
    assert top.matched_terms == ("pedalboard",)
    assert "pedalboard" in top.snippet.lower().split(". ")[0]  # the pinned sentence itself names it
