"""Group sentences into overlapping windows bounded by words and seconds.

Segment-count windows (the product we replace used 6 Whisper segments, stride 3) drift badly in length and it
stored the wrong end time. Here a window is whole sentences, closed once it holds ``target_words`` or would
pass ``max_words`` / ``max_seconds``; its start and end are those of the first and last sentence inside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from atlas.chunking.sentences import time_bounds
from atlas.config import WindowSettings
from atlas.models import Sentence, Window


def _words(sentence: Sentence) -> int:
    return len(sentence.text.split())


def _span_seconds(first: Sentence, last: Sentence) -> float:
    if first.start is None or last.end is None:
        return 0.0
    return last.end - first.start


def build_windows(sentences: Sequence[Sentence], settings: WindowSettings) -> list[Window]:
    windows: list[Window] = []
    begin = 0
    n = len(sentences)
    while begin < n:
        end = begin  # inclusive
        words = _words(sentences[begin])
        while end + 1 < n and words < settings.target_words:
            nxt = sentences[end + 1]
            if words + _words(nxt) > settings.max_words:
                break
            if _span_seconds(sentences[begin], nxt) > settings.max_seconds:
                break
            end += 1
            words += _words(nxt)
        windows.append(_make_window(len(windows), sentences[begin : end + 1]))
        if end == n - 1:
            break
        count = end - begin + 1
        # Start the next window so that `overlap` of this one's sentences repeat, always moving forward.
        begin += max(1, math.ceil(count * (1.0 - settings.overlap)))
    return windows


def _make_window(index: int, members: Sequence[Sentence]) -> Window:
    start, end = time_bounds(members)
    return Window(
        index=index,
        text=" ".join(s.text for s in members),
        start=start,
        end=end,
        first_sentence=members[0].index,
        last_sentence=members[-1].index,
    )
