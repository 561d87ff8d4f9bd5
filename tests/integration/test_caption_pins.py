"""Unpunctuated captions: a hit opens at the caption line that holds the matched words, not at the start of
the 15-second slice around it (issue 16, item 6)."""

from __future__ import annotations

from pathlib import Path

from atlas.library import Library


def write_captions(path: Path) -> float:
    """Thirty 3-second cues without punctuation; cue 14 names the opening. Returns that cue's start."""
    lines = []
    for i in range(30):
        text = (
            "here he plays the sicilian najdorf against the champion"
            if i == 14
            else f"on move {i} he thinks again"
        )
        start, end = 3 * i, 3 * i + 3
        lines.append(f"{i + 1}\n00:00:{start:02d},000 --> 00:00:{end:02d},000\n{text}\n")
    path.write_text("\n".join(lines), encoding="utf-8")
    return 42.0


def test_moment_lands_within_a_piece_of_the_matching_cue(fake_library: Library, tmp_path: Path) -> None:
    captions = tmp_path / "chess-commentary.srt"
    cue_start = write_captions(captions)
    report = fake_library.ingest([str(captions)])
    assert not report.failed
    for mode in ("keyword", "hybrid"):
        top = fake_library.search("sicilian najdorf", limit=1, mode=mode)[0]
        assert top.moment is not None
        # Whole 15-second slices put this moment up to 15 s early; a piece closes at the first cue after 6 s.
        assert cue_start - 6.0 <= top.moment <= cue_start, (mode, top.moment)
        assert top.window.start is not None and top.window.end is not None
        assert top.window.start <= top.moment <= top.window.end
        assert "najdorf" in top.snippet
