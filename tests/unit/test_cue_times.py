"""cue_times: the repair rules one by one, and the timing lines a format could not read."""

from __future__ import annotations

from atlas.models import Segment, Word
from atlas.sources.cue_times import MAX_SECONDS, repair_times, unreadable_timings


def test_each_rule_fixes_or_drops_and_counts() -> None:
    segments = [
        Segment("fine", 1.0, 2.0),
        Segment("reversed", 9.0, 7.0),
        Segment("starts before zero", -1.0, 3.0),
        Segment("wholly negative", -5.0, -4.0),
        Segment("absurd end", 10.0, 99_999 * 3600.0),
        Segment("absurd start", 99_999 * 3600.0, 99_999 * 3600.0 + 1),
        Segment("words", 20.0, 21.0, (Word("a", 20.5, 20.2), Word("b", -1.0, 20.9))),
        Segment("untimed"),
    ]
    fixed, warning = repair_times(segments)
    assert [s.text for s in fixed] == [
        "fine",
        "reversed",
        "starts before zero",
        "absurd end",
        "words",
        "untimed",
    ]
    assert (fixed[1].start, fixed[1].end) == (9.0, 9.0)
    assert (fixed[2].start, fixed[2].end) == (0.0, 3.0)
    assert (fixed[3].start, fixed[3].end) == (10.0, 10.0)
    assert fixed[4].words == (Word("a", 20.5, 20.5), Word("b", 0.0, 20.9))
    for s in fixed:
        assert s.start is None or s.end is None or 0 <= s.start <= s.end <= MAX_SECONDS
    assert warning is not None
    for count in (
        "1 negative",
        "1 cue(s) starting before 0",
        "after 48 h dropped",
        "ending before they start",
    ):
        assert count in warning


def test_good_times_are_left_alone() -> None:
    segments = [Segment("a", 0.0, 1.0, (Word("a", 0.0, 1.0),)), Segment("b", 1.0, 2.5)]
    fixed, warning = repair_times(segments)
    assert fixed == segments and warning is None


def test_unreadable_timing_lines_are_counted() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n-00:00:05,000 --> 00:00:06,000\nnegative\n"
    assert "1 timing line(s)" in (unreadable_timings(srt, "srt") or "")
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000 align:start\nok\n\n0.000 --> 3.480\nbare seconds\n"
    assert unreadable_timings(vtt, "vtt") is None
    whisper = "[00:00:01.000 -> 00:00:02.000] a\n[0:0:0:13 --> 00:00:14.000] b\n"
    warning = unreadable_timings(whisper, "plain") or ""
    assert warning.startswith("read as untimed text: 2 line(s)")
    assert unreadable_timings("the ratio went 2 to 3 over the year\n", "plain") is None
